/**
 * Scheduler: decides which work units a peer gets; the transitioner writes the leases.
 *
 * Rules:
 * - only what the peer can run (work/2.0.0 capabilities, matched against the kernel catalogue:
 *   kernel id or ABI, backend, GPU limits; each unit's memory at most `capabilities.memoryBytes`
 *   when that is set). work/1.x requests carry no capabilities: every kernel, as their device class;
 * - never two replicas of one WU to the same peer, ever (also UNIQUE (wu_id, peer_id));
 * - order: older jobs first, then WUs that already have a result (to finish them), then lower index;
 * - a lease runs out at `nowMs + leaseMs` (default `deadlineMs * 2 + 30 s`); an expired replica is
 *   `over` / `no-reply` and its WU is reissued, to another peer; a given-back replica likewise, at once;
 * - a non-exact kernel's WU is pinned to the first device class leased (homogeneous redundancy);
 *   exact and certificate-validated kernels are never pinned.
 */
import { pinsDeviceClass, runnableAs } from './catalogue.ts'
import type { KernelCatalogue } from './catalogue.ts'
import type { ReleaseReason, RepoTx, RunnableKernel } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { Capabilities, Lease } from '../protocol/pb/messages.ts'

export interface SchedulerOptions {
  /** Fixed lease duration in ms; default per WU: deadlineMs * 2 + 30_000. */
  leaseMs?: number
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

  /** @throws RangeError for a non-positive leaseMs */
  constructor (private readonly catalogue: KernelCatalogue, private readonly transitioner: Transitioner, opts: SchedulerOptions = {}) {
    if (opts.leaseMs != null && (!Number.isSafeInteger(opts.leaseMs) || opts.leaseMs <= 0)) {
      throw new RangeError(`leaseMs must be a positive integer, got ${opts.leaseMs}`)
    }
    this.leaseMs = opts.leaseMs
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
   * @throws UnknownKernelError when a running job's kernel is in neither catalogue nor store
   */
  async lease (tx: RepoTx, peerId: string, maxUnits: number, offer: PeerOffer, nowMs: number): Promise<Lease[]> {
    if (maxUnits <= 0) return []
    const candidates = 'capabilities' in offer
      ? await tx.candidateUnitsFor({
        peerId, kernels: await this.runnableKernels(tx, offer.capabilities), maxMemoryBytes: offer.capabilities.memoryBytes,
        maxReplicas: this.transitioner.maxReplicasPerUnit, limit: maxUnits
      })
      : await tx.candidateUnitsFor({
        peerId, kernels: 'any', anyDeviceClass: offer.legacyDeviceClass, maxMemoryBytes: 0, maxReplicas: this.transitioner.maxReplicasPerUnit, limit: maxUnits
      })
    const leases: Lease[] = []
    await tx.touchPeer(peerId, nowMs)
    for (const wu of candidates) {
      const def = await this.catalogue.resolve(tx, wu.kernel)
      const expiresAtMs = nowMs + this.leaseMsFor(wu.deadline_ms)
      const id = await this.transitioner.lease(tx, { wu, peerId, deviceClass: wu.lease_device_class, pin: pinsDeviceClass(def), nowMs, expiresAtMs })
      leases.push({
        replicaId: id,
        wuId: wu.id,
        jobId: wu.job_id,
        kernel: wu.kernel,
        input: wu.input as Uint8Array<ArrayBuffer>,
        estOps: wu.est_ops,
        memoryBytes: wu.memory_bytes,
        deadlineMs: wu.deadline_ms,
        leaseExpiresAtMs: expiresAtMs,
        credit: wu.credit
      })
    }
    await tx.addToPeer(peerId, 'leases', leases.length)
    return leases
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
