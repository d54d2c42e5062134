/**
 * Scheduler: decides which work units a peer gets; the transitioner writes the leases.
 *
 * Rules:
 * - only what the peer can run (work/2.0.0 capabilities, matched against the kernel catalogue:
 *   kernel id or ABI, backend, GPU limits; each unit's memory at most `capabilities.memoryBytes`
 *   when that is set). work/1.x requests carry no capabilities: every kernel, as their device class;
 * - never two replicas of one WU to the same peer, ever (also UNIQUE (wu_id, peer_id));
 * - order: older jobs first, then at random (issue 10: never "the next requester gets the unit that
 *   already has one result", which lets colluders steer a unit's second replica to each other);
 *   units with a replica leased from the requester's IP address come last, so two replicas of one
 *   unit go to peers that look like one party only when nothing else is left;
 * - no units of a kernel the peer is banned for (trust.ts: a failed spot check, repeated invalid
 *   results; `banned`), and no work at all past the peer's failure budget (`failure-budget`);
 * - a lease runs out at `nowMs + leaseMs` (default `deadlineMs * 2 + 30 s`); an expired replica is
 *   `over` / `no-reply` and its WU is reissued, to another peer; a given-back replica likewise, at once;
 * - a non-exact kernel's WU is pinned to the first device class leased (homogeneous redundancy);
 *   exact and certificate-validated kernels are never pinned;
 * - per-peer caps (peer-limits.ts): a peer never holds more than `maxReplicasHeld(peer)` replicas
 *   in progress (`replicas-held`), and fresh peers (no valid result yet) together hold at most
 *   `freshHeldCap` replicas of one job (`fresh-share`), except one first replica for a fresh peer
 *   holding nothing. A request cut short by either is reported to `onLimitHit`.
 */
import { pinsDeviceClass, runnableAs } from './catalogue.ts'
import { freshHeldCap, isFresh, maxReplicasHeld, overFailureBudget, resolvePeerLimits } from './peer-limits.ts'
import { isBanned } from './trust.ts'
import type { PeerLimitName, PeerLimits } from './peer-limits.ts'
import type { KernelCatalogue } from './catalogue.ts'
import type { CandidateQuery, ReleaseReason, RepoTx, RunnableKernel, WorkUnitRow } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { Capabilities, Lease } from '../protocol/pb/messages.ts'
import type { TrustSettings } from './trust.ts'

export interface SchedulerOptions {
  /** Fixed lease duration in ms; default per WU: deadlineMs * 2 + 30_000. */
  leaseMs?: number
  /** Per-peer caps (default DEFAULT_PEER_LIMITS; only the held-replica and fresh-share fields are used here). */
  limits?: PeerLimits
  /** Called when a cap cut a lease request short (`replicas-held`, `fresh-share`), with a detail for logs. */
  onLimitHit?: (name: PeerLimitName, detail: string) => void
  trust?: TrustSettings
  /** `random` (default) or `sequential`: the old order (older jobs, units with a result, lower index), for tests only. */
  order?: 'random' | 'sequential'
}

/** Default lease duration for a WU with this run deadline (ms). */
export function defaultLeaseMs (deadlineMs: number): number {
  return deadlineMs * 2 + 30_000
}

/** What a peer offers: its capabilities (work/2.0.0), or a work/1.x device class and no capabilities. */
export type PeerOffer = { capabilities: Capabilities } | { legacyDeviceClass: string }

/** One replica given back, and why. */
export interface Release { replicaId: string, reason: ReleaseReason }

export class Scheduler {
  private readonly leaseMs?: number
  private readonly limits: PeerLimits
  private readonly onLimitHit?: (name: PeerLimitName, detail: string) => void
  private readonly trust?: TrustSettings
  private readonly order: 'random' | 'sequential'

  /** @throws RangeError for a non-positive leaseMs */
  constructor (private readonly catalogue: KernelCatalogue, private readonly transitioner: Transitioner, opts: SchedulerOptions = {}) {
    if (opts.leaseMs != null && (!Number.isSafeInteger(opts.leaseMs) || opts.leaseMs <= 0)) {
      throw new RangeError(`leaseMs must be a positive integer, got ${opts.leaseMs}`)
    }
    this.leaseMs = opts.leaseMs
    this.limits = opts.limits ?? resolvePeerLimits()
    this.onLimitHit = opts.onLimitHit
    this.trust = opts.trust
    this.order = opts.order ?? 'random'
  }

  /** Lease duration (ms) for a WU with this run deadline. */
  leaseMsFor (deadlineMs: number): number {
    return this.leaseMs ?? defaultLeaseMs(deadlineMs)
  }

  /** Kernels of running jobs that a peer with these capabilities can run, with their device class. */
  async runnableKernels (tx: RepoTx, caps: Capabilities): Promise<RunnableKernel[]> {
    const out: RunnableKernel[] = []
    for (const def of await this.catalogue.resolveAll(tx, await tx.kernelsOfRunningJobs())) {
      const deviceClass = runnableAs(def, caps)
      if (deviceClass != null) out.push({ kernel: def.id, deviceClass })
    }
    return out
  }

  /**
   * Lease up to `maxUnits` replicas to `peerId`, each of a different WU this peer never had and
   * can run. Call `expire` first in the same transaction.
   * @param nowMs Unix ms
   * @param remoteAddr the IP address of the request's connection (null when unknown)
   * @throws UnknownKernelError when a running job's kernel is in neither catalogue nor store
   */
  async lease (tx: RepoTx, peerId: string, maxUnits: number, offer: PeerOffer, nowMs: number, remoteAddr: string | null = null): Promise<Lease[]> {
    if (maxUnits <= 0) return []
    const row = await tx.getPeer(peerId)
    const trust = {
      validResults: row?.valid_results ?? 0,
      invalidResults: row?.invalid_results ?? 0,
      failures: (row?.no_replies ?? 0) + (row?.client_errors ?? 0) + (row?.invalid_results ?? 0)
    }
    if (overFailureBudget(trust, this.limits)) {
      this.onLimitHit?.('failure-budget', `${peerId}: ${trust.failures} failures, ${trust.validResults} valid`)
      await tx.touchPeer(peerId, nowMs)
      return []
    }
    const banned = (await tx.trustOf(peerId)).filter(t => isBanned(t, this.trust)).map(t => t.kernel)
    const held = await tx.heldBy(peerId)
    const cap = maxReplicasHeld(trust, this.limits)
    const want = Math.min(maxUnits, Math.max(0, cap - held))
    if (want < maxUnits) this.onLimitHit?.('replicas-held', `${peerId} holds ${held} of ${cap}`)
    await tx.touchPeer(peerId, nowMs)
    if (want === 0) return []
    const common = { peerId, maxReplicas: this.transitioner.maxReplicasPerUnit, excludeKernels: banned, remoteAddr, sequential: this.order === 'sequential' }
    const query: Omit<CandidateQuery, 'limit' | 'excludeJobs'> = 'capabilities' in offer
      ? { ...common, kernels: (await this.runnableKernels(tx, offer.capabilities)).filter(k => !banned.includes(k.kernel)), maxMemoryBytes: offer.capabilities.memoryBytes }
      : { ...common, kernels: 'any', anyDeviceClass: offer.legacyDeviceClass, maxMemoryBytes: 0 }
    if (banned.length > 0) this.onLimitHit?.('banned', `${peerId} is banned for ${banned.join(', ')}`)
    // fresh peers together hold at most freshHeldCap replicas of a job; `room` is what is left per job
    const room = new Map<string, number>()
    if (isFresh(trust)) {
      for (const f of await tx.freshHeldByJob()) room.set(f.jobId, freshHeldCap(f.wuCount, this.limits) - f.held)
    }
    const full = [...room].filter(([, n]) => n <= 0).map(([id]) => id)
    let candidates = await tx.candidateUnitsFor({ ...query, excludeJobs: full, limit: want })
    let firstReplica = false
    if (candidates.length === 0 && full.length > 0 && held === 0) {
      // a fresh peer holding nothing still gets one replica, so an honest newcomer always starts
      candidates = await tx.candidateUnitsFor({ ...query, limit: 1 })
      firstReplica = true
    }
    const leases: Lease[] = []
    let skipped = full.length > 0
    for (const wu of candidates) {
      if (isFresh(trust) && !room.has(wu.job_id)) room.set(wu.job_id, freshHeldCap((await tx.getJob(wu.job_id))?.wu_count ?? 0, this.limits))
      const left = room.get(wu.job_id)
      if (left != null && !firstReplica) {
        if (left <= 0) { skipped = true; continue }
        room.set(wu.job_id, left - 1)
      }
      const def = await this.catalogue.resolve(tx, wu.kernel)
      const expiresAtMs = nowMs + this.leaseMsFor(wu.deadline_ms)
      const id = await this.transitioner.lease(tx, { wu, peerId, deviceClass: wu.lease_device_class, pin: pinsDeviceClass(def), nowMs, expiresAtMs, remoteAddr })
      leases.push(leaseOf(wu, id, expiresAtMs))
    }
    await tx.addToPeer(peerId, 'leases', leases.length)
    if (skipped && leases.length < want) this.onLimitHit?.('fresh-share', `${peerId} is fresh; ${full.length} job(s) at their fresh-peer cap`)
    return leases
  }

  /**
   * The peer's own in-progress, unexpired, unreleased replicas issued before `issuedBeforeMs`
   * (Unix ms) and not in `skip`, as leases again (same replica ids, same expiry), oldest first, at
   * most `maxUnits`: a volunteer whose work response was lost (the hub died after committing the
   * lease) gets that work back instead of leaving it stranded until it expires.
   */
  async resume (tx: RepoTx, peerId: string, maxUnits: number, nowMs: number, issuedBeforeMs: number, skip: ReadonlySet<string>): Promise<Lease[]> {
    if (maxUnits <= 0) return []
    const held = await tx.resumableLeases(peerId, nowMs, issuedBeforeMs, maxUnits + skip.size)
    return held.filter(h => !skip.has(h.replica.id)).slice(0, maxUnits).map(h => leaseOf(h.wu, h.replica.id, h.replica.expires_at_ms))
  }

  /**
   * The peer's lost leases: its unexpired in-progress replicas that are not among those its page
   * says it holds (`holding`), oldest first, at most `maxUnits` — a lease whose response never
   * arrived (a timeout, a dropped connection, a hub restart), sent again with the same replica id
   * (BOINC's "resend lost results", which compares the client's list of results in progress).
   */
  async resendLost (tx: RepoTx, peerId: string, maxUnits: number, nowMs: number, holding: ReadonlySet<string>): Promise<Lease[]> {
    return await this.resume(tx, peerId, maxUnits, nowMs, nowMs + 1, holding)
  }

  /**
   * A peer gives back replicas leased to it; they end as `over` / `no-reply` (released) and their
   * WUs are reissued at once (to other peers). Ids not in progress for this peer are ignored.
   * @returns the number of replicas released
   */
  async release (tx: RepoTx, peerId: string, releases: readonly Release[], nowMs: number): Promise<number> {
    let n = 0
    for (const { replicaId, reason } of releases) {
      const r = await tx.getReplica(replicaId)
      if (r == null || r.peer_id !== peerId || r.state !== 'in-progress') continue
      await this.transitioner.endNoReply(tx, r, nowMs, { reason })
      n++
    }
    return n
  }

  /**
   * Sweep leases that ran out (expires_at_ms <= nowMs): `over` / `no-reply`, WU reissued.
   * @returns the number of replicas expired
   */
  async expire (tx: RepoTx, nowMs: number): Promise<number> {
    const expired = await tx.expiredReplicas(nowMs)
    for (const r of expired) await this.transitioner.endNoReply(tx, r, nowMs, null)
    return expired.length
  }
}

/** The Lease message of replica `replicaId` of `wu`, leased until `expiresAtMs` (Unix ms). */
function leaseOf (wu: WorkUnitRow, replicaId: string, expiresAtMs: number): Lease {
  return {
    replicaId,
    wuId: wu.id,
    jobId: wu.job_id,
    kernel: wu.kernel,
    input: wu.input as Uint8Array<ArrayBuffer>,
    estOps: wu.est_ops,
    memoryBytes: wu.memory_bytes,
    deadlineMs: wu.deadline_ms,
    leaseExpiresAtMs: expiresAtMs,
    credit: wu.credit
  }
}
