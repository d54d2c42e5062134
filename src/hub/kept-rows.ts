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
  /** Keys read and not found, kept as absent (`get` with `keepAbsent`, `keepAbsent`). */
  private readonly absent = new Set<string>()

  /**
   * A copy of the kept row of `key`, else what `load` reads (kept when it is a row). With
   * `keepAbsent`, a row `load` did not find is kept as absent too (read once, undefined after):
   * only for rows the transaction itself never inserts before its commit (trust records: their
   * writes wait for the commit, trust-changes.ts).
   */
  async get<T extends object> (key: string, load: () => Promise<T | undefined> | T | undefined, opts: { keepAbsent?: boolean } = {}): Promise<T | undefined> {
    if (this.absent.has(key)) return undefined
    let row = this.rows.get(key)
    if (row == null) {
      const loaded = await load()
      if (loaded == null) {
        if (opts.keepAbsent === true) this.absent.add(key)
        return undefined
      }
      row = loaded as Record<string, unknown>
      this.rows.set(key, row)
    }
    return { ...row } as T
  }

  /** Keep `row` as read for `key` (a row read with others, in one query), unless one is kept already. */
  keep (key: string, row: object): void {
    this.absent.delete(key)
    if (!this.rows.has(key)) this.rows.set(key, { ...row } as Record<string, unknown>)
  }

  /** Keep `key` as absent (read with others, in one query, and not found), unless a row is kept for it. */
  keepAbsent (key: string): void {
    if (!this.rows.has(key)) this.absent.add(key)
  }

  /** Keep `row` for `key` when `key` is kept as absent (the transaction inserted it). */
  fillAbsent (key: string, row: object): void {
    if (this.absent.delete(key)) this.rows.set(key, { ...row } as Record<string, unknown>)
  }

  /** The kept row of `key` itself, not a copy (for a row holding a list the caller amends in place), or undefined. */
  peek (key: string): Record<string, unknown> | undefined {
    return this.rows.get(key)
  }

  /** Forget the kept row of `key` (read again when next asked for). */
  drop (key: string): void {
    this.rows.delete(key)
    this.absent.delete(key)
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
    this.absent.clear()
  }
}

/**
 * The kept-row key of a work unit, a job, a trust record, and (PostgreSQL's group commit reads them
 * for a whole group at once: PgResultOps.lockForSubmissions) a replica, the stored ack of its
 * result, its ledger entry and its partner-site lease.
 */
export const keptKey = {
  workUnit: (id: string): string => `wu:${id}`,
  replica: (id: string): string => `replica:${id}`,
  ack: (replicaId: string): string => `ack:${replicaId}`,
  /** A replica's ledger entry (its credit, once granted and committed). */
  ledger: (replicaId: string): string => `ledger:${replicaId}`,
  /** A replica's partner-site lease (sites.ts). */
  siteLease: (replicaId: string): string => `site:${replicaId}`,
  /** A work unit's results with their replicas' device class, in id order (`{ list }`: resultsForWorkUnit). */
  unitResults: (wuId: string): string => `results:${wuId}`,
  job: (id: string): string => `job:${id}`,
  trust: (peerId: string, kernel: string): string => `trust:${peerId}\u0000${kernel}`
}
