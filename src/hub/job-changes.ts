/**
 * Job-row writes at the commit (issue 14). Every write transaction that leases or validates
 * touches its job's row — `replicas_issued`, `result_ops`, `wu_validated`, the assimilated output,
 * the settled state — and on PostgreSQL a row written is locked to COMMIT, so with the writes where
 * they happen every transaction of every hub on one job waited for the one before it. Here a
 * transaction's job writes are queued (RepoTx.queueForCommit, before-commit.ts) and written just
 * before its COMMIT, one UPDATE per job (ids in sorted order, so two transactions lock them in the
 * same order; two when change functions need the row read): counters added, columns set, and
 * `change` functions — the assimilator's fold, the job's settling — run on the row as it is then
 * (PostgreSQL: read `FOR NO KEY UPDATE`, every hub's committed changes in it). A savepoint rolled back
 * drops its changes with its other writes.
 *
 * Inside the transaction `getJob` returns the stored row with the queued counters and sets applied
 * (`withQueued`); what a `change` function sets is seen once it ran, at the commit.
 */
import type { BeforeCommitQueue, CommitBatch } from './before-commit.ts'
import type { JobPatch, JobRow } from './repository.ts'

/** One queued job write. */
export type JobChange =
  | { id: string, kind: 'add', column: string, by: number }
  | { id: string, kind: 'set', patch: Readonly<Record<string, unknown>> }
  | { id: string, kind: 'change', fn: (job: JobRow) => JobPatch | undefined }

/** The dialect's side of a flush. */
export interface JobWriter {
  /** One UPDATE of job `id`: `adds` added to their counters, `sets` set (no column in both). */
  update: (id: string, adds: Readonly<Record<string, number>>, sets: Readonly<Record<string, unknown>>) => Promise<void>
  /** The job row as stored now, this transaction's writes so far in it (PostgreSQL: locked). */
  read: (id: string) => Promise<JobRow | undefined>
}

/** A copy of `row` with the queued adds and sets of its job applied, in order. */
export function withQueued (row: JobRow, changes: readonly JobChange[]): JobRow {
  const out = { ...row } as unknown as Record<string, unknown>
  for (const c of changes) {
    if (c.id !== row.id) continue
    if (c.kind === 'add') out[c.column] = Number(out[c.column]) + c.by
    else if (c.kind === 'set') Object.assign(out, c.patch)
  }
  return out as unknown as JobRow
}

/**
 * Write the queued changes: per job (sorted by id), its adds and sets merged into one UPDATE (a
 * set after an add of its column replaces it; an add after a set adds to the value set). At the
 * first `change` function the writes before it are made and the row read (locked, on PostgreSQL);
 * from there the row is followed in memory — every later add, set and change made to it too — so
 * each function sees the row as it would be stored, and the rest is written after the last.
 * @throws whatever the writer or a change function throws (the transaction rolls back)
 */
export async function flushJobChanges (changes: readonly JobChange[], w: JobWriter): Promise<void> {
  const ids = [...new Set(changes.map(c => c.id))].sort()
  for (const id of ids) {
    let adds: Record<string, number> = {}
    let sets: Record<string, unknown> = {}
    let row: Record<string, unknown> | undefined
    let read = false
    const set = (k: string, v: unknown): void => {
      sets[k] = v
      delete adds[k]
      if (row != null) row[k] = v
    }
    const write = async (): Promise<void> => {
      if (Object.keys(adds).length === 0 && Object.keys(sets).length === 0) return
      await w.update(id, adds, sets)
      adds = {}
      sets = {}
    }
    for (const c of changes) {
      if (c.id !== id) continue
      if (c.kind === 'add') {
        if (c.column in sets) sets[c.column] = Number(sets[c.column]) + c.by
        else adds[c.column] = (adds[c.column] ?? 0) + c.by
        if (row != null) row[c.column] = Number(row[c.column]) + c.by
      } else if (c.kind === 'set') {
        for (const [k, v] of Object.entries(c.patch)) set(k, v)
      } else {
        if (!read) {
          await write()
          row = await w.read(id) as Record<string, unknown> | undefined
          read = true
        }
        if (row == null) continue
        const patch = c.fn({ ...row } as unknown as JobRow)
        if (patch != null) for (const [k, v] of Object.entries(patch)) set(k, v)
      }
    }
    await write()
  }
}

/**
 * The one UPDATE of a `JobWriter`: SQL with `?` placeholders and its parameters, `column` checking
 * each column name (and returning it) as a counter (`add`) or a settable column (`set`).
 */
export function jobUpdate (id: string, adds: Readonly<Record<string, number>>, sets: Readonly<Record<string, unknown>>, column: (name: string, as: 'add' | 'set') => string): { sql: string, params: Array<string | number | null> } {
  const a = Object.keys(adds).map(k => column(k, 'add'))
  const k = Object.keys(sets).map(c => column(c, 'set'))
  return {
    sql: `UPDATE jobs SET ${[...a.map(c => `${c} = ${c} + ?`), ...k.map(c => `${c} = ?`)].join(', ')} WHERE id = ?`,
    params: [...a.map(c => adds[c]), ...k.map(c => sets[c] as string | number | null), id]
  }
}

/** What a dialect gives `JobChanges`: its one UPDATE statement, its locked read, its column check. */
export interface JobStatements {
  /** Run one UPDATE (`?` placeholders). */
  run: (sql: string, params: Array<string | number | null>) => Promise<void> | void
  /** The job row as stored now (PostgreSQL: read `FOR NO KEY UPDATE`). */
  read: (id: string) => Promise<JobRow | undefined> | JobRow | undefined
  /** @returns `name` when it is a counter (`add`) or a settable column (`set`); @throws Error otherwise */
  column: (name: string, as: 'add' | 'set') => string
}

/**
 * One transaction's job writes, queued in its BeforeCommitQueue and written at its commit: what
 * both repositories' `addToJob`, `patchJob`, `changeJobAtCommit` and `getJob` do.
 */
export class JobChanges {
  private readonly batch: CommitBatch<JobChange>

  constructor (private readonly queue: BeforeCommitQueue, private readonly sql: JobStatements) {
    this.batch = {
      flush: async changes => {
        await flushJobChanges(changes, {
          update: async (id, adds, sets) => { const u = jobUpdate(id, adds, sets, sql.column); await sql.run(u.sql, u.params) },
          read: async id => await sql.read(id)
        })
      }
    }
  }

  /** @throws Error for a column that is not a job counter */
  add (id: string, counter: string, by: number): void {
    this.queue.addToBatch(this.batch, { id, kind: 'add', column: this.sql.column(counter, 'add'), by })
  }

  /** @throws Error for a column that may not be set */
  set (id: string, patch: JobPatch): void {
    const keys = Object.keys(patch)
    for (const k of keys) this.sql.column(k, 'set')
    if (keys.length > 0) this.queue.addToBatch(this.batch, { id, kind: 'set', patch: { ...patch } })
  }

  change (id: string, fn: (job: JobRow) => JobPatch | undefined): void {
    this.queue.addToBatch(this.batch, { id, kind: 'change', fn })
  }

  /** `row` (as stored, or undefined) with this transaction's queued adds and sets applied. */
  view (row: JobRow | undefined): JobRow | undefined {
    return row == null ? undefined : withQueued(row, this.queue.queued(this.batch))
  }
}

