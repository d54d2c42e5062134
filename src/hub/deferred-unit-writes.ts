/**
 * A SQLite transaction's work-unit writes, deferred and merged (issue 14). A result touched its
 * unit two or three times one statement each — `in_progress` down, then the validator's
 * `max_group`/`has_result` or its done state, then `assimilated` — at ~10 µs a statement. Here
 * `changeWorkUnit` records the change (columns set: the last value; counters: the sum, folded into
 * a value set before them) and the unit's one UPDATE is written when anything could see the
 * difference:
 * - before any statement that names `work_units` (SqliteStore.beforeStatement: a scan, a count,
 *   a read of a row not kept), so SQL never reads a unit without its writes;
 * - before a SAVEPOINT, so what is deferred at a ROLLBACK TO was recorded inside that savepoint
 *   and is dropped with it (`drop`);
 * - before COMMIT (after the before-commit queue ran).
 * SQLite only: one writer, so the kept rows (kept-rows.ts), amended at once, are what the table
 * will hold; PostgreSQL writes each change as it comes (pipelined, pg-tx-ops.ts).
 */
import { workUnitUpdate } from './shared-queries.ts'
import type { SqliteStore } from './store.ts'
import type { WorkUnitChange, WorkUnitPatch } from './repository.ts'
import type { WorkUnitUpdate } from './shared-queries.ts'

interface Merged {
  set: Record<string, unknown>
  add: Record<string, number>
}

export class DeferredUnitWrites {
  private pending = new Map<string, Merged>()

  constructor (private readonly s: SqliteStore) {
    s.beforeStatement = sql => {
      if (this.pending.size > 0 && sql.includes('work_units')) this.flush()
    }
  }

  /**
   * Record `change` to unit `id`.
   * @returns what it changes (undefined: nothing), checked as its statement would be
   * @throws Error for a column that may not be set or a counter that is not one
   */
  add (id: string, change: WorkUnitChange): WorkUnitUpdate | undefined {
    const u = workUnitUpdate(id, change)
    if (u == null) return undefined
    let m = this.pending.get(id)
    if (m == null) { m = { set: {}, add: {} }; this.pending.set(id, m) }
    const values = (change.set ?? {}) as Record<string, unknown>
    for (const k of u.set) { m.set[k] = values[k]; delete m.add[k] }
    for (const [k, by] of u.add) {
      if (k in m.set) m.set[k] = Number(m.set[k]) + by
      else m.add[k] = (m.add[k] ?? 0) + by
    }
    return u
  }

  /** Write every deferred change, one UPDATE a unit, in the order the units were first changed. */
  flush (): void {
    if (this.pending.size === 0) return
    const pending = this.pending
    // emptied first: the UPDATEs name work_units and come back through beforeStatement
    this.pending = new Map()
    for (const [id, m] of pending) {
      const u = workUnitUpdate(id, { set: m.set as WorkUnitPatch, add: m.add })
      if (u != null) this.s.run(u.sql, ...u.params)
    }
  }

  /** Forget the deferred changes (their transaction or savepoint rolled back). */
  drop (): void {
    this.pending.clear()
  }
}
