/**
 * Trust-record writes at the commit (issue 14), as peer-changes.ts does for peer rows: every
 * validated result wrote its sender's (peer, kernel) record twice — an upsert for `updated_at_ms`,
 * then the counters — ~16 us of SQLite a result. Here a transaction's changes are queued
 * (RepoTx.queueForCommit, before-commit.ts) and written just before its COMMIT, one upsert per
 * record (keys in sorted order, so two PostgreSQL transactions lock the rows in the same order):
 * counters added, `updated_at_ms` raised, `consecutive_valid` grown by the incs queued since the
 * last reset, or set by them when a reset was queued. A savepoint rolled back drops its changes.
 *
 * Inside the transaction `getTrust` and `trustOf` return the stored records with the queued
 * changes applied (`view`, `viewAll`); a record not yet stored reads as a new one.
 */
import type { BeforeCommitQueue, CommitBatch } from './before-commit.ts'
import type { TrustRow } from './repository.ts'

/** One queued trust change (RepoTx.addToTrust's arguments). */
export interface TrustChange {
  peerId: string
  kernel: string
  counters: Readonly<Record<string, number>>
  consecutive: 'inc' | 'reset' | 'keep'
  atMs: number
}

/** A record's queued changes, merged: counters summed, the latest time, CV as `+ n` or `= n` (a reset queued). */
interface Merged {
  peerId: string
  kernel: string
  counters: Record<string, number>
  atMs: number
  consecutive: { reset: boolean, n: number }
}

const keyOf = (peerId: string, kernel: string): string => `${peerId}\u0000${kernel}`

function merge (changes: readonly TrustChange[], peerId?: string): Map<string, Merged> {
  const out = new Map<string, Merged>()
  for (const c of changes) {
    if (peerId != null && c.peerId !== peerId) continue
    const key = keyOf(c.peerId, c.kernel)
    let m = out.get(key)
    if (m == null) { m = { peerId: c.peerId, kernel: c.kernel, counters: {}, atMs: c.atMs, consecutive: { reset: false, n: 0 } }; out.set(key, m) }
    m.atMs = Math.max(m.atMs, c.atMs)
    for (const [k, by] of Object.entries(c.counters)) m.counters[k] = (m.counters[k] ?? 0) + by
    if (c.consecutive === 'reset') m.consecutive = { reset: true, n: 0 }
    if (c.consecutive === 'inc') m.consecutive.n++
  }
  return out
}

function applied (peerId: string, kernel: string, row: TrustRow | undefined, m: Merged): TrustRow {
  const out = (row == null
    ? { peer_id: peerId, kernel, consecutive_valid: 0, valid_results: 0, verified_results: 0, invalid_results: 0, client_errors: 0, spot_checks: 0, spot_failures: 0, updated_at_ms: m.atMs }
    : { ...row }) as unknown as Record<string, number | string>
  out.updated_at_ms = Math.max(Number(out.updated_at_ms), m.atMs)
  for (const [k, by] of Object.entries(m.counters)) out[k] = Number(out[k]) + by
  out.consecutive_valid = m.consecutive.reset ? m.consecutive.n : Number(out.consecutive_valid) + m.consecutive.n
  return out as unknown as TrustRow
}

/** What a dialect gives `TrustChanges`: its one statement and its column check. */
export interface TrustStatements {
  /** Run one statement (`?` placeholders). */
  run: (sql: string, params: Array<string | number>) => Promise<void> | void
  /** `max` (SQLite) or `greatest` (PostgreSQL). */
  greatest: 'max' | 'greatest'
  /** @returns `name` when it is a trust counter; @throws Error otherwise */
  counter: (name: string) => string
}

/**
 * One transaction's trust writes, queued in its BeforeCommitQueue and written at its commit: what
 * both repositories' `addToTrust`, `getTrust` and `trustOf` do.
 */
export class TrustChanges {
  private readonly batch: CommitBatch<TrustChange>

  constructor (private readonly queue: BeforeCommitQueue, private readonly sql: TrustStatements) {
    this.batch = {
      flush: async changes => {
        const merged = merge(changes)
        for (const key of [...merged.keys()].sort()) {
          const m = merged.get(key) as Merged
          const cols = Object.keys(m.counters)
          const cv = m.consecutive.reset ? 'excluded.consecutive_valid' : 'trust.consecutive_valid + excluded.consecutive_valid'
          await sql.run(`INSERT INTO trust (peer_id, kernel, updated_at_ms, consecutive_valid${cols.map(c => `, ${c}`).join('')})
            VALUES (?, ?, ?, ?${cols.map(() => ', ?').join('')})
            ON CONFLICT (peer_id, kernel) DO UPDATE SET updated_at_ms = ${sql.greatest}(trust.updated_at_ms, excluded.updated_at_ms),
              consecutive_valid = ${cv}${cols.map(c => `, ${c} = trust.${c} + excluded.${c}`).join('')}`,
          [m.peerId, m.kernel, m.atMs, m.consecutive.n, ...cols.map(c => m.counters[c])])
        }
      }
    }
  }

  /** @throws Error for a column that is not a trust counter */
  add (peerId: string, kernel: string, counters: Readonly<Record<string, number>>, consecutive: 'inc' | 'reset' | 'keep', atMs: number): void {
    for (const k of Object.keys(counters)) this.sql.counter(k)
    this.queue.addToBatch(this.batch, { peerId, kernel, counters: { ...counters }, consecutive, atMs })
  }

  /** The record of (peerId, kernel) as stored (`row`, or undefined) with this transaction's queued changes applied. */
  view (peerId: string, kernel: string, row: TrustRow | undefined): TrustRow | undefined {
    const m = merge(this.queue.queued(this.batch), peerId).get(keyOf(peerId, kernel))
    return m == null ? row : applied(peerId, kernel, row, m)
  }

  /** The peer's records as stored (`rows`, by kernel) with the queued changes applied, new ones added, by kernel. */
  viewAll (peerId: string, rows: readonly TrustRow[]): TrustRow[] {
    const merged = merge(this.queue.queued(this.batch), peerId)
    if (merged.size === 0) return [...rows]
    const out = rows.map(r => { const m = merged.get(keyOf(peerId, r.kernel)); return m == null ? r : applied(peerId, r.kernel, r, m) })
    const stored = new Set(rows.map(r => r.kernel))
    for (const m of merged.values()) if (!stored.has(m.kernel)) out.push(applied(peerId, m.kernel, undefined, m))
    return out.sort((a, b) => a.kernel < b.kernel ? -1 : a.kernel > b.kernel ? 1 : 0)
  }
}
