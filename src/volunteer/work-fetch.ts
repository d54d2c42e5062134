/**
 * Work fetch: leases replicas from the hub with this page's capabilities (work/2.0.0, via the
 * HubLink), keeps every lease in IndexedDB until its result is in the outbox, and gives leases
 * back with a reason. Owns which stored leases are checked out to a runner; a reload finds the
 * stored leases again (resumed if the tab was running, released otherwise).
 */
import { Lease, MAX_HOLDING_PER_REQUEST } from '../protocol/index.ts'
import { Mutex } from './async.ts'
import type { Capabilities, ReleaseReason, WorkRequestV2 } from '../protocol/index.ts'
import type { StoredLease } from './db.ts'
import type { HubLink } from './hub-client.ts'
import type { StateSink } from './state.ts'
import type { VolunteerStore } from './store.ts'

export type LeaseStore = Pick<VolunteerStore, 'leases' | 'putLease' | 'deleteLeases' | 'outbox'>

export interface WorkFetchOptions {
  store: LeaseStore
  link: HubLink
  bus: StateSink
  /** The peer id of the hub of the latest connection (kept while it is away), or null before one. */
  hubPeerId: () => string | null
  /** Whether the hub is connected now (new leases are asked for only then; default: always). */
  connected?: () => boolean
  /** What this page can run (asked before every request: the adapter may appear later). */
  capabilities: () => Capabilities
  /** A partner site's key (embed frame): sent in every request. */
  siteKey?: string
  /** The embedding page's origin as the browser reports it (embed frame), sent with the site key. */
  siteOrigin?: string
  /** Unix ms (tests give a fake clock). */
  now?: () => number
  /** Why the page is paused now (the governor's reasons; empty while it runs): sent with every request. */
  pauseReasons?: () => readonly string[]
}

/** How often a paused page holding leases tells the hub it is paused, ms. */
export const PAUSE_REPORT_MS = 15_000

/** A lease to run, or how long to wait before asking again (ms). */
export type TakeResult = { lease: Lease, stored: boolean, hubPeerId: string } | { retryAfterMs: number }

export class WorkFetch {
  private readonly mutex = new Mutex()
  /** Replica ids handed to a runner and not yet finished or released. */
  private readonly checkedOut = new Set<string>()
  private lifetime = new AbortController()

  constructor (private readonly opts: WorkFetchOptions) {}

  /** Replica ids checked out to runners now. */
  get running (): ReadonlySet<string> { return this.checkedOut }

  start (): void {
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController()
  }

  /** Abort every request in flight; stored leases stay stored. */
  stop (): void { this.lifetime.abort() }

  /**
   * A work/2.0.0 request; `holding` (when leasing): the replica ids this page holds for the hub,
   * so that the hub sends back any other lease it gave this peer (one whose response was lost).
   */
  private request (maxUnits: number, release: Array<{ replicaId: string, reason: ReleaseReason }>, holding?: string[]): WorkRequestV2 {
    return {
      maxUnits, release, capabilities: this.opts.capabilities(), siteKey: this.opts.siteKey ?? '', siteOrigin: this.opts.siteOrigin ?? '',
      paused: [...(this.opts.pauseReasons?.() ?? [])], holding: holding ?? [], reportsHolding: holding != null
    }
  }

  /**
   * What this page holds for `hub`: stored leases (not yet run or running) and results waiting in
   * the outbox, at most MAX_HOLDING_PER_REQUEST (then undefined: the list is not sent, and the hub
   * falls back to resending the leases from before this connection).
   */
  private async holdingFor (hub: string): Promise<string[] | undefined> {
    const ids = new Set<string>()
    for (const l of await this.opts.store.leases()) if (l.hubPeerId === hub) ids.add(l.replicaId)
    for (const e of await this.opts.store.outbox()) if (e.hubPeerId === hub) ids.add(e.replicaId)
    for (const id of this.checkedOut) ids.add(id)
    return ids.size <= MAX_HOLDING_PER_REQUEST ? [...ids] : undefined
  }

  /**
   * Tell the hub what this page's pause state is (a request leasing nothing), so its researcher
   * sees paused volunteers as paused (job status), not as progress. Only while it holds leases and
   * the hub is connected; a failure is reported in lastError.
   */
  async reportPause (): Promise<void> {
    if (this.checkedOut.size === 0 || this.opts.hubPeerId() == null || this.opts.connected?.() === false) return
    try {
      const response = await this.opts.link.work(this.request(0, []), this.lifetime.signal)
      if (response.error !== '') throw new Error(`${response.error}: ${response.message}`)
    } catch (err) {
      if (!this.lifetime.signal.aborted) this.opts.bus.error('pause report', err)
    }
  }

  /**
   * The next lease to run: a stored one of this hub (after a reload; expired ones are dropped),
   * else a new one from the hub. Stored leases run even while the hub is unreachable: their
   * results wait in the outbox.
   * @throws Error when the hub answers with an error, or the request fails
   */
  async take (signal: AbortSignal): Promise<TakeResult> {
    return await this.mutex.run(async () => {
      const hub = this.opts.hubPeerId()
      if (hub == null) return { retryAfterMs: 1000 }
      const now = (this.opts.now ?? Date.now)()
      const expired: string[] = []
      for (const stored of await this.opts.store.leases()) {
        if (this.checkedOut.has(stored.replicaId) || stored.hubPeerId !== hub) continue
        const lease = Lease.decode(stored.lease)
        if (lease.leaseExpiresAtMs - lease.deadlineMs <= now) { expired.push(stored.replicaId); continue }
        await this.opts.store.deleteLeases(hub, expired)
        this.checkedOut.add(lease.replicaId)
        return { lease, stored: true, hubPeerId: hub }
      }
      await this.opts.store.deleteLeases(hub, expired)
      if (this.opts.connected?.() === false) return { retryAfterMs: 1000 }
      const response = await this.opts.link.work(this.request(1, [], await this.holdingFor(hub)), AbortSignal.any([signal, this.lifetime.signal]))
      if (response.error !== '') throw new Error(`${response.error}: ${response.message}`)
      const lease = response.leases[0]
      if (lease == null) return { retryAfterMs: Math.max(200, Math.min(response.retryAfterMs || 2000, 10_000)) }
      // the hub hands the page its own lost leases first (or, to a page that lists nothing, those
      // from before this connection): one a runner of this page already has is not run twice
      if (this.checkedOut.has(lease.replicaId)) return { retryAfterMs: 0 }
      const stored: StoredLease = { replicaId: lease.replicaId, hubPeerId: hub, lease: Lease.encode(lease), storedAtMs: now }
      await this.opts.store.putLease(stored)
      this.checkedOut.add(lease.replicaId)
      return { lease, stored: false, hubPeerId: hub }
    })
  }

  /** The lease's result is in the outbox (its stored lease went in the same transaction). */
  finish (replicaId: string): void { this.checkedOut.delete(replicaId) }

  /** A runner gave the lease up without releasing it (stop): it may be taken again. */
  putBack (replicaId: string): void { this.checkedOut.delete(replicaId) }

  /**
   * Give one lease back to the hub now and forget it. A failure is reported in lastError and the
   * lease stays stored (it runs out on the hub by itself).
   */
  async release (replicaId: string, reason: ReleaseReason): Promise<void> {
    await this.releaseMany([replicaId], reason)
  }

  /**
   * Give back every stored lease of the connected hub that no runner holds (after Stop, or after a
   * reload of a stopped tab), with `reason`; `alsoCheckedOut` first forgets which ones runners
   * hold (Stop: every runner has been terminated).
   */
  async releaseStored (reason: ReleaseReason, opts: { alsoCheckedOut?: boolean } = {}): Promise<void> {
    if (opts.alsoCheckedOut === true) this.checkedOut.clear()
    const hub = this.opts.hubPeerId()
    if (hub == null) return
    const mine = (await this.opts.store.leases()).filter(s => s.hubPeerId === hub && !this.checkedOut.has(s.replicaId))
    await this.releaseMany(mine.map(s => s.replicaId), reason)
  }

  private async releaseMany (replicaIds: string[], reason: ReleaseReason): Promise<void> {
    for (const id of replicaIds) this.checkedOut.delete(id)
    const hub = this.opts.hubPeerId()
    if (replicaIds.length === 0 || hub == null) return
    try {
      const response = await this.opts.link.work(this.request(0, replicaIds.map(replicaId => ({ replicaId, reason }))), this.lifetime.signal)
      if (response.error !== '') throw new Error(`${response.error}: ${response.message}`)
      await this.opts.store.deleteLeases(hub, replicaIds)
    } catch (err) {
      this.opts.bus.error('release', err)
    }
  }
}
