/**
 * Scheduler: leases replicas of work units to volunteers.
 *
 * A WU wants `max(0, quorum - (largest group of agreeing results) - (in-progress replicas))` more
 * replicas (kept in `work_units.wanted`). Rules:
 * - never two replicas of one WU to the same peer, ever (also enforced by UNIQUE (wu_id, peer_id));
 * - order: older jobs first, then WUs that already have a result (to finish them), then lower index;
 * - a lease runs out at `nowMs + leaseMs` (default `deadlineMs * 2 + 30 s`); an expired in-progress
 *   replica becomes `over` / `no-reply` and its WU is reissued, to another peer;
 * - a released replica becomes `over` / `no-reply` with `released = 1` and is reissued at once;
 * - a WU that still wants replicas after `maxReplicasPerUnit` were issued is marked failed.
 * For kernels that are not `exact`, the first lease pins the WU to that device class
 * (homogeneous redundancy).
 */
import { validationPolicy } from './validator.ts'
import type { HubStore, ReplicaRow, WorkUnitRow } from './store.ts'
import type { Lease } from '../protocol/pb/messages.ts'

export interface SchedulerOptions {
  /** Fixed lease duration in ms; default per WU: deadlineMs * 2 + 30_000. */
  leaseMs?: number
}

/** Default lease duration for a WU with this run deadline (ms). */
export function defaultLeaseMs (deadlineMs: number): number {
  return deadlineMs * 2 + 30_000
}

/** Replica id of the k-th replica of a WU. */
export function replicaId (wuId: string, k: number): string {
  return `${wuId}/r${k}`
}

export class Scheduler {
  private readonly leaseMs?: number

  /** @throws RangeError for a non-positive leaseMs */
  constructor (private readonly store: HubStore, opts: SchedulerOptions = {}) {
    if (opts.leaseMs != null && (!Number.isSafeInteger(opts.leaseMs) || opts.leaseMs <= 0)) {
      throw new RangeError(`leaseMs must be a positive integer, got ${opts.leaseMs}`)
    }
    this.leaseMs = opts.leaseMs
  }

  /** Lease duration (ms) for a WU with this run deadline. */
  leaseMsFor (deadlineMs: number): number {
    return this.leaseMs ?? defaultLeaseMs(deadlineMs)
  }

  /**
   * Lease up to `maxUnits` replicas to `peerId`, each of a different WU this peer never had.
   * Expired leases are swept first. Runs in its own transaction (or joins the caller's).
   * @param nowMs Unix ms
   */
  lease (peerId: string, maxUnits: number, deviceClass: string, nowMs: number): Lease[] {
    if (maxUnits <= 0) return []
    return this.store.transaction(() => {
      this.expire(nowMs)
      const candidates = this.store.all<WorkUnitRow>(`SELECT w.* FROM work_units w
        WHERE w.state = 'open' AND w.wanted > 0 AND w.replicas_issued < ?
          AND (w.device_class IS NULL OR w.device_class = ?)
          AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.wu_id = w.id AND r.peer_id = ?)
        ORDER BY w.job_seq, w.has_result DESC, w.idx
        LIMIT ?`, this.store.maxReplicasPerUnit, deviceClass, peerId, maxUnits)
      const leases: Lease[] = []
      for (const wu of candidates) {
        const k = wu.replicas_issued
        const id = replicaId(wu.id, k)
        const expiresAt = nowMs + this.leaseMsFor(wu.deadline_ms)
        this.store.run(`INSERT INTO replicas (id, wu_id, job_id, peer_id, k, device_class, state, issued_at_ms, expires_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, 'in-progress', ?, ?)`, id, wu.id, wu.job_id, peerId, k, deviceClass, nowMs, expiresAt)
        // certificate-validated kernels compare no replicas, so they need no pinning either
        const policy = validationPolicy(wu.kernel)
        const pin = policy.exact || policy.certify != null ? null : deviceClass
        this.store.run(`UPDATE work_units SET replicas_issued = replicas_issued + 1, in_progress = in_progress + 1,
          device_class = coalesce(device_class, ?) WHERE id = ?`, pin, wu.id)
        this.store.run('UPDATE jobs SET replicas_issued = replicas_issued + 1 WHERE id = ?', wu.job_id)
        this.store.refreshNeed(wu.id)
        leases.push({
          replicaId: id,
          wuId: wu.id,
          jobId: wu.job_id,
          kernel: wu.kernel,
          input: wu.input as Uint8Array<ArrayBuffer>,
          estOps: wu.est_ops,
          memoryBytes: wu.memory_bytes,
          deadlineMs: wu.deadline_ms,
          leaseExpiresAtMs: expiresAt,
          credit: wu.credit
        })
      }
      this.store.bumpPeer(peerId, nowMs, 'leases', leases.length)
      return leases
    })
  }

  /**
   * A peer gives back replicas leased to it; they end as `over` / `no-reply` (released) and their
   * WUs are reissued at once (to other peers). Ids not in progress for this peer are ignored.
   * @returns the number of replicas released
   */
  release (peerId: string, replicaIds: readonly string[], nowMs: number): number {
    if (replicaIds.length === 0) return 0
    return this.store.transaction(() => {
      let n = 0
      for (const id of replicaIds) {
        const r = this.store.getReplica(id)
        if (r == null || r.peer_id !== peerId || r.state !== 'in-progress') continue
        this.endNoReply(r, nowMs, true)
        n++
      }
      return n
    })
  }

  /**
   * Sweep leases that ran out (expires_at_ms <= nowMs): `over` / `no-reply`, WU reissued.
   * @returns the number of replicas expired
   */
  expire (nowMs: number): number {
    return this.store.transaction(() => {
      const expired = this.store.all<ReplicaRow>(
        "SELECT * FROM replicas WHERE state = 'in-progress' AND expires_at_ms <= ? ORDER BY expires_at_ms", nowMs)
      for (const r of expired) this.endNoReply(r, nowMs, false)
      return expired.length
    })
  }

  private endNoReply (r: ReplicaRow, nowMs: number, released: boolean): void {
    this.store.run(`UPDATE replicas SET state = 'over', outcome = 'no-reply', released = ?, over_at_ms = ?
      WHERE id = ?`, released ? 1 : 0, nowMs, r.id)
    this.store.run('UPDATE work_units SET in_progress = in_progress - 1 WHERE id = ?', r.wu_id)
    this.store.bumpPeer(r.peer_id, null, 'no_replies')
    this.store.refreshNeed(r.wu_id)
  }
}
