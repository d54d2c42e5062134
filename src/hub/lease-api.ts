/**
 * The volunteer's work requests (/sparecycles/work/1.0.0, 1.1.0 and 2.0.0): the peer's
 * `work-rate`, the request's schema, then ONE repository transaction that sweeps expired leases,
 * takes the peer's give-backs, resends the peer's own in-progress leases it lost (those not in the
 * request's `holding`, or without one those from before this connection) and leases the rest
 * (scheduler.ts owns those changes). A refusal is an answer with
 * `error` set (the error class's name), never a throw: a malformed request
 * (MalformedMessageError), a store that is unreachable (StoreUnavailableError).
 */
import { checkWorkRequestV2 } from '../protocol/capabilities.ts'
import { StoreUnavailableError } from '../protocol/errors.ts'
import { checkWorkRequest } from '../protocol/schema.ts'
import { SiteCredits } from './sites.ts'
import type { HubMetrics } from './metrics.ts'
import type { PeerLimitName, PeerRates } from './peer-limits.ts'
import type { HubRepository } from './repository.ts'
import type { PeerOffer, Release, Scheduler } from './scheduler.ts'
import type { SiteRegistry } from './site-registry.ts'
import type { WorkRequest, WorkRequestV2, WorkResponse } from '../protocol/index.ts'

/** Who asked, as the transport knows it. */
export interface RequestOrigin {
  /** IP address of the connection (two replicas of a unit avoid one address); absent: unknown. */
  remoteAddr?: string
  /**
   * When the request's connection opened (Unix ms, the clock of `now`) and the replica ids already
   * resent on it (the host keeps one set per connection; the hub adds to it). With them, a work
   * request first gets back the peer's in-progress replicas leased before this connection opened
   * (their response may have died with the old connection), each once per connection.
   */
  connection?: { openedAtMs: number, resent: Set<string> }
}

/** A work/2.0.0 request's list of what the page holds (`reportsHolding`): the replica ids not to resend. */
interface Resend { holding: ReadonlySet<string> }

export interface LeaseApiDeps {
  repo: HubRepository
  scheduler: Scheduler
  /** Which site keys earn credit from which origins. */
  sites: SiteRegistry
  /** The per-peer buckets; `work` is charged one token a request. */
  rates: PeerRates
  limitHit: (name: PeerLimitName, detail: string) => void
  metrics: HubMetrics
  /** retryAfterMs of an answer with no work (and of a refusal), ms. */
  retryAfterMs: number
  /** Clock, Unix ms. */
  now: () => number
  /** @throws Error when the hub is closed */
  assertOpen: () => void
}

export class LeaseApi {
  constructor (private readonly d: LeaseApiDeps) {}

  /**
   * /sparecycles/work/1.0.0 and 1.1.0: sweep expired leases, release `req.release` (reason
   * `stopped`: counted), then lease up to `req.maxUnits` replicas of any kernel, as `req.deviceClass`.
   * A malformed request is answered with `error` set, nothing changed. `opts.siteKey` (1.1.0, a
   * partner's embed) is accepted but earns the site nothing: 1.1.0 cannot say which origin the
   * frame runs on, and only a registered origin earns (site-registry.ts; work/2.0.0's siteOrigin).
   */
  async lease (peerId: string, req: WorkRequest, opts: { siteKey?: string } & RequestOrigin = {}): Promise<WorkResponse> {
    return await this.d.metrics.timed('lease', async () => await this.unlessStoreGone(async () => {
      this.d.assertOpen()
      const refused = this.overWorkRate(peerId) ?? this.malformed(() => checkWorkRequest(req))
      if (refused != null) return refused
      const releases = req.release.map(replicaId => ({ replicaId, reason: 'stopped' as const }))
      return await this.leaseWith(peerId, req.maxUnits, releases, { legacyDeviceClass: req.deviceClass }, undefined, opts)
    }))
  }

  /**
   * /sparecycles/work/2.0.0: the same with the page's capabilities: only units it can run are
   * leased, each give-back names its reason (`cannot-run` is not counted against the unit).
   * A malformed request (MalformedMessageError) is answered with `error` set, nothing changed.
   */
  async leaseV2 (peerId: string, req: WorkRequestV2, origin: RequestOrigin = {}): Promise<WorkResponse> {
    return await this.d.metrics.timed('lease', async () => await this.unlessStoreGone(async () => {
      this.d.assertOpen()
      const refused = this.overWorkRate(peerId) ?? this.malformed(() => checkWorkRequestV2(req))
      if (refused != null) return refused
      const releases: Release[] = req.release.map(r => ({ replicaId: r.replicaId, reason: r.reason as Release['reason'] }))
      // a site key earns the site credit only when registered for the origin the frame reports (site-registry.ts)
      const siteKey = req.siteKey !== '' && this.d.sites.allows(req.siteKey, req.siteOrigin) ? req.siteKey : undefined
      // checkWorkRequestV2 guarantees capabilities are present
      const resend: Resend | undefined = req.reportsHolding ? { holding: new Set([...req.holding, ...releases.map(r => r.replicaId)]) } : undefined
      return await this.leaseWith(peerId, req.maxUnits, releases, { capabilities: req.capabilities! }, siteKey, origin, req.paused, resend)
    }))
  }

  /** A work request over the peer's `work-rate`: no leases, nothing done, retry when a token is there. */
  private overWorkRate (peerId: string): WorkResponse | undefined {
    const waitMs = this.d.rates.work.take(peerId)
    if (waitMs === 0) return undefined
    this.d.limitHit('work-rate', `${peerId}: retry after ${waitMs} ms`)
    return { leases: [], retryAfterMs: waitMs, error: '', message: '' }
  }

  /** The refusal of a request `check` throws for (its error's name), or undefined when it passes. */
  private malformed (check: () => void): WorkResponse | undefined {
    try {
      check()
      return undefined
    } catch (err) {
      return this.refused(err as Error)
    }
  }

  /** `fn`'s answer, or a named refusal (StoreUnavailableError, retry after retryAfterMs) while the store is unreachable. */
  private async unlessStoreGone (fn: () => Promise<WorkResponse>): Promise<WorkResponse> {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      return this.refused(err)
    }
  }

  private refused (err: Error): WorkResponse {
    return { leases: [], retryAfterMs: this.d.retryAfterMs, error: err.name, message: err.message }
  }

  private async leaseWith (peerId: string, maxUnits: number, releases: Release[], offer: PeerOffer, siteKey?: string, origin: RequestOrigin = {}, paused?: readonly string[], resend?: Resend): Promise<WorkResponse> {
    const { scheduler } = this.d
    const now = this.d.now()
    // a page that lists what it holds gets its lost leases back; otherwise those from before this connection
    const conn = resend == null ? origin.connection : undefined
    const { leases, resumed } = await this.d.repo.transaction(async tx => {
      await scheduler.expire(tx, now)
      await scheduler.release(tx, peerId, releases, now)
      // the peer's own leases first (released ones are over by now)
      const resumed = resend != null
        ? await scheduler.resendLost(tx, peerId, maxUnits, now, resend.holding)
        : conn == null ? [] : await scheduler.resume(tx, peerId, maxUnits, now, conn.openedAtMs, conn.resent)
      const leased = [...resumed, ...await scheduler.lease(tx, peerId, maxUnits - resumed.length, offer, now, origin.remoteAddr ?? null)]
      // the scheduler touched the peer's row: what it says about pausing is its latest word
      if (paused != null) await tx.setPeerPaused(peerId, paused, now)
      if (siteKey != null) await SiteCredits.recordLeases(tx, siteKey, peerId, leased.slice(resumed.length), now)
      return { leases: leased, resumed }
    // a lease need not wait for the disk (CommitMode): lost only with the machine, and then the hub
    // refuses its result (ReplicaNotLeasedError) and leases the unit again
    }, { commit: 'asynchronous' })
    // marked resent once committed (a repository may run the transaction's function again: PgHubRepository)
    for (const l of resumed) conn?.resent.add(l.replicaId)
    const retryAfterMs = leases.length === 0 && maxUnits > 0 ? this.d.retryAfterMs : 0
    return { leases, retryAfterMs, error: '', message: '' }
  }
}
