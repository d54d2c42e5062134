/**
 * Rows a store transaction has read by id, kept for the rest of that transaction (issue 14): a
 * submission reads its work unit, job and trust records several times over. Each write the
 * transaction makes to a kept row is made to the kept copy too (`amend`, the same change as the
 * UPDATE), so the row is read once; a savepoint rolled back and the end of the transaction drop
 * them all (`clear`). Callers get a copy of the row, never the kept one. A trust record's kept row
 * is as read and never amended: its writes wait for the commit (trust-changes.ts).
 *
 * Valid only for rows nobody else can change inside the transaction: SQLite's one writer; on
 * PostgreSQL the rows a write transaction locks (`FOR NO KEY UPDATE`), or rows whose concurrent changes
 * are counters (trust) where a read once per transaction is what READ COMMITTED gives anyway. A
 * job's row is kept as read and never amended: its writes wait for the commit (job-changes.ts).
 */
export class KeptRows {
  private readonly rows = new Map<string, Record<string, unknown>>()

  /** A copy of the kept row of `key`, else what `load` reads (kept when it is a row). */
  async get<T extends object> (key: string, load: () => Promise<T | undefined> | T | undefined): Promise<T | undefined> {
    let row = this.rows.get(key)
    if (row == null) {
      const loaded = await load()
      if (loaded == null) return undefined
      row = loaded as Record<string, unknown>
      this.rows.set(key, row)
    }
    return { ...row } as T
  }

  /** Keep `row` as read for `key` (a row read with others, in one query), unless one is kept already. */
  keep (key: string, row: object): void {
    if (!this.rows.has(key)) this.rows.set(key, { ...row } as Record<string, unknown>)
  }

  /** Make a write's change to the kept row of `key`, when one is kept. */
  amend (key: string, change: (row: Record<string, unknown>) => void): void {
    const row = this.rows.get(key)
    if (row != null) change(row)
  }

  /** Set columns of the kept row (an UPDATE … SET col = ?). */
  set (key: string, columns: readonly string[], values: object): void {
    this.amend(key, row => { for (const k of columns) row[k] = (values as Record<string, unknown>)[k] })
  }

  /** Add to a counter column of the kept row (an UPDATE … SET col = col + ?). */
  add (key: string, column: string, by: number): void {
    this.amend(key, row => { row[column] = Number(row[column]) + by })
  }

  /** Forget every kept row. */
  clear (): void {
    this.rows.clear()
  }
}

/** The kept-row key of a work unit, a job, a trust record. */
export const keptKey = {
  workUnit: (id: string): string => `wu:${id}`,
  job: (id: string): string => `job:${id}`,
  trust: (peerId: string, kernel: string): string => `trust:${peerId}\u0000${kernel}`
}
