/**
 * Peer-row writes at the commit (issue 14). Every result touched its sender's row three times —
 * `last_seen_ms`, `results`, then `valid_results` when its unit validated — and every lease twice,
 * one statement each: at 100 volunteers, ~36 us of SQLite per result. Here a transaction's peer
 * writes are queued (RepoTx.queueForCommit, before-commit.ts) and written just before its COMMIT,
 * one statement per peer (ids in sorted order, so two PostgreSQL transactions lock the rows in the
 * same order): an upsert when the peer was touched (the row is created if missing, `last_seen_ms`
 * raised), else an UPDATE (no row: nothing, as before). A savepoint rolled back drops its changes.
 *
 * Inside the transaction `getPeer` returns the stored row with the queued changes applied
 * (`view`); a peer touched in it and not yet stored reads as a new row.
 */
import type { BeforeCommitQueue, CommitBatch } from './before-commit.ts'
import type { PeerRow } from './repository.ts'

/** One queued peer write. */
export type PeerChange =
  | { peerId: string, kind: 'touch', atMs: number }
  | { peerId: string, kind: 'add', column: string, by: number }
  | { peerId: string, kind: 'paused', paused: string, atMs: number }

/** A peer's queued writes, merged: the latest touch, counters summed, the latest pause report. */
interface Merged {
  touchedAtMs?: number
  adds: Record<string, number>
  paused?: { paused: string, atMs: number }
}

function merge (changes: readonly PeerChange[], peerId?: string): Map<string, Merged> {
  const out = new Map<string, Merged>()
  for (const c of changes) {
    if (peerId != null && c.peerId !== peerId) continue
    let m = out.get(c.peerId)
    if (m == null) { m = { adds: {} }; out.set(c.peerId, m) }
    if (c.kind === 'touch') m.touchedAtMs = Math.max(m.touchedAtMs ?? c.atMs, c.atMs)
    else if (c.kind === 'add') m.adds[c.column] = (m.adds[c.column] ?? 0) + c.by
    else m.paused = { paused: c.paused, atMs: c.atMs }
  }
  return out
}

/** A new peer's row as the table's defaults make it. */
function newPeerRow (peerId: string, atMs: number): PeerRow {
  return { peer_id: peerId, first_seen_ms: atMs, last_seen_ms: atMs, leases: 0, results: 0, valid_results: 0, invalid_results: 0, client_errors: 0, no_replies: 0, cannot_runs: 0, paused: '', paused_at_ms: 0 }
}

/** What a dialect gives `PeerChanges`: its one statement, its `max`, its column check (as TrustStatements). */
export interface PeerStatements {
  /** Run one statement (`?` placeholders). */
  run: (sql: string, params: Array<string | number>) => Promise<void> | void
  /** `max` (SQLite) or `greatest` (PostgreSQL). */
  greatest: 'max' | 'greatest'
  /** @returns `name` when it is a peer counter; @throws Error otherwise */
  counter: (name: string) => string
}

/**
 * One transaction's peer writes, queued in its BeforeCommitQueue and written at its commit: what
 * both repositories' `touchPeer`, `addToPeer`, `setPeerPaused` and `getPeer` do.
 */
export class PeerChanges {
  private readonly batch: CommitBatch<PeerChange>

  constructor (private readonly queue: BeforeCommitQueue, private readonly sql: PeerStatements) {
    this.batch = {
      flush: async changes => {
        const merged = merge(changes)
        for (const peerId of [...merged.keys()].sort()) {
          const m = merged.get(peerId) as Merged
          const sets: Record<string, string | number> = m.paused == null ? {} : { paused: m.paused.paused, paused_at_ms: m.paused.atMs }
          const a = Object.keys(m.adds)
          const k = Object.keys(sets)
          const values = [...a.map(c => m.adds[c]), ...k.map(c => sets[c])]
          if (m.touchedAtMs != null) {
            // the row created when missing (first_seen_ms = last_seen_ms = the touch), else last_seen_ms raised
            const cols = ['peer_id', 'first_seen_ms', 'last_seen_ms', ...a, ...k]
            await sql.run(`INSERT INTO peers (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
              ON CONFLICT (peer_id) DO UPDATE SET last_seen_ms = ${sql.greatest}(peers.last_seen_ms, excluded.last_seen_ms)${a.map(c => `, ${c} = peers.${c} + excluded.${c}`).join('')}${k.map(c => `, ${c} = excluded.${c}`).join('')}`,
            [peerId, m.touchedAtMs, m.touchedAtMs, ...values])
          } else if (values.length > 0) {
            // no row: nothing, as an UPDATE of a peer never seen
            await sql.run(`UPDATE peers SET ${[...a.map(c => `${c} = ${c} + ?`), ...k.map(c => `${c} = ?`)].join(', ')} WHERE peer_id = ?`, [...values, peerId])
          }
        }
      }
    }
  }

  touch (peerId: string, atMs: number): void {
    this.queue.addToBatch(this.batch, { peerId, kind: 'touch', atMs })
  }

  /** @throws Error for a column that is not a peer counter */
  add (peerId: string, counter: string, by: number): void {
    const column = this.sql.counter(counter)
    if (by !== 0) this.queue.addToBatch(this.batch, { peerId, kind: 'add', column, by })
  }

  /** The pause reasons of the peer's latest work request (sorted, comma-separated; none: running) at `atMs`. */
  paused (peerId: string, reasons: readonly string[], atMs: number): void {
    this.queue.addToBatch(this.batch, { peerId, kind: 'paused', paused: [...reasons].sort().join(','), atMs })
  }

  /** `row` (as stored, or undefined) of `peerId` with this transaction's queued writes applied. */
  view (peerId: string, row: PeerRow | undefined): PeerRow | undefined {
    const m = merge(this.queue.queued(this.batch), peerId).get(peerId)
    if (m == null) return row
    if (row == null && m.touchedAtMs == null) return undefined
    const out = (row == null ? newPeerRow(peerId, m.touchedAtMs as number) : { ...row }) as unknown as Record<string, unknown>
    if (m.touchedAtMs != null) out.last_seen_ms = Math.max(Number(out.last_seen_ms), m.touchedAtMs)
    for (const [k, by] of Object.entries(m.adds)) out[k] = Number(out[k]) + by
    if (m.paused != null) { out.paused = m.paused.paused; out.paused_at_ms = m.paused.atMs }
    return out as unknown as PeerRow
  }
}
