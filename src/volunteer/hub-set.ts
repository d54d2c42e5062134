/**
 * The hubs this page works for: the page's own hub, and those the visitor added by URL or took
 * from the own hub's recommendations (kept in IndexedDB `meta.hubs`, so a reload works for them
 * again). One HubSession each (hub-session.ts); the runner pool sees them as one work source that
 * asks them in turn, under the one governor, and hands each result to the outbox of the hub that
 * leased it. Owns `hubs` and `recommendedHubs` of the state.
 *
 * The same key works for every hub, so its credit follows the person as with key backup. Each hub
 * keeps its own leases, outbox, acks and receipts (IndexedDB keys them by hub peer id).
 */
import { MAX_HUBS, BadHubUrlError, normalizeHubUrl } from '../protocol/hub-urls.ts'
import type { HubSession } from './hub-session.ts'
import type { WorkSource } from './runner-pool.ts'
import type { HubView, StateBus } from './state.ts'
import type { VolunteerStore } from './store.ts'
import type { TakeResult } from './work-fetch.ts'
import type { Lease, ReleaseReason } from '../protocol/index.ts'
import type { RunReport } from './task-runner.ts'

export interface HubSetOptions {
  /** The page's own hub's base URL (as given: not checked, it is where the page came from). */
  primaryUrl: string
  bus: Pick<StateBus, 'patch' | 'get' | 'error'>
  store: Pick<VolunteerStore, 'getMeta' | 'putMeta'>
  /** A session for `url` (not started). @throws BadHubUrlError */
  makeSession: (url: string, primary: boolean) => HubSession
  /** Start a session made by makeSession (create-volunteer.ts wires its onConnect). */
  startSession: (session: HubSession) => void
  /** Whether the visitor may add hubs here (the visitor page: yes; a partner's embed frame: no). */
  allowAdding: boolean
}

/** How long one hub's answer "no work" holds before the pool asks the hubs again, at most (ms). */
const MAX_IDLE_RETRY_MS = 10_000

export class HubSet implements WorkSource {
  private readonly sessions: HubSession[] = []
  private readonly views = new Map<HubSession, HubView>()
  /** Sessions being removed: they take no new work, and stop once their running leases are done. */
  private readonly draining = new Set<HubSession>()
  private cursor = 0
  private started = false

  constructor (private readonly opts: HubSetOptions) {}

  /** The page's own hub. */
  get primary (): HubSession { return this.sessions[0] }

  /** Every session, the page's own first. */
  get all (): readonly HubSession[] { return this.sessions }

  /** The session of the hub with this peer id (connected now or before), or undefined. */
  sessionOf (hubPeerId: string): HubSession | undefined {
    return this.sessions.find(s => s.hubPeerId === hubPeerId)
  }

  /** Make and start the page's own hub's session and those added before (meta `hubs`). */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.open(this.opts.primaryUrl, true)
    if (this.opts.allowAdding) {
      for (const h of await this.opts.store.getMeta('hubs') ?? []) {
        try { this.open(h.url, false) } catch (err) { this.opts.bus.error(`hub ${h.url}`, err) }
      }
    }
    this.publish()
  }

  /** Stop every session (what is stored stays: a reload works for the same hubs). */
  async stop (): Promise<void> {
    this.started = false
    await Promise.all(this.sessions.map(async s => { await s.stop() }))
  }

  /**
   * Work for one more hub as well: remembered across reloads, connected at once.
   * @returns the hub's base URL as kept
   * @throws BadHubUrlError for a URL that is not a hub URL, one already added (or the page's own),
   *   more than MAX_HUBS added, or on a page that does not add hubs (a partner's embed frame)
   */
  async add (text: string): Promise<string> {
    if (!this.opts.allowAdding) throw new BadHubUrlError('this page works only for its own hub')
    const url = normalizeHubUrl(text)
    if (this.sessions.some(s => s.url === url)) throw new BadHubUrlError(`already working for ${url}`)
    if (this.sessions.length - 1 >= MAX_HUBS) throw new BadHubUrlError(`at most ${MAX_HUBS} hubs besides this page's own`)
    const kept = await this.opts.store.getMeta('hubs') ?? []
    await this.opts.store.putMeta('hubs', [...kept.filter(h => h.url !== url), { url, addedAtMs: Date.now() }])
    this.open(url, false)
    this.publish()
    return url
  }

  /**
   * Stop working for an added hub: it is forgotten at once (a reload does not return to it), takes
   * no new work, and its session stops once the units it is running are done; its stored leases
   * are given back ('stopped'). Results still in its outbox stay stored (added again, it sends them).
   * @throws BadHubUrlError for the page's own hub or a hub not added
   */
  async remove (text: string): Promise<void> {
    const url = normalizeHubUrl(text)
    const session = this.sessions.find(s => s.url === url)
    if (session == null) throw new BadHubUrlError(`not working for ${url}`)
    if (session.primary) throw new BadHubUrlError('the page\'s own hub cannot be removed')
    await this.opts.store.putMeta('hubs', (await this.opts.store.getMeta('hubs') ?? []).filter(h => h.url !== url))
    this.draining.add(session)
    await this.closeIfIdle(session)
  }

  /** A session's runners are done with it: give back its stored leases, send its outbox, stop it. */
  private async closeIfIdle (session: HubSession): Promise<void> {
    if (!this.draining.has(session) || session.workFetch.running.size > 0) return
    this.draining.delete(session)
    const i = this.sessions.indexOf(session)
    if (i < 0) return
    this.sessions.splice(i, 1)
    this.views.delete(session)
    this.publish()
    await session.workFetch.releaseStored('stopped')
    await session.outbox.flush()
    await session.stop()
  }

  private open (url: string, primary: boolean): HubSession {
    const session = this.opts.makeSession(url, primary)
    this.sessions.push(session)
    this.views.set(session, { url, peerId: null, connection: 'idle', primary, lastError: null })
    this.opts.startSession(session)
    return session
  }

  /** A session's connection state or error changed (HubSessionOptions.onView). */
  viewChanged (url: string, update: Partial<HubView>): void {
    const session = this.sessions.find(s => s.url === url)
    const view = session != null ? this.views.get(session) : undefined
    if (view == null) return
    Object.assign(view, update)
    this.publish()
  }

  /** Publish `hubs` and the own hub's recommendations not yet taken. */
  publish (): void {
    const hubs = this.sessions.map(s => ({ ...this.views.get(s) as HubView }))
    const taken = new Set(this.sessions.map(s => s.url))
    const recommended = this.opts.allowAdding ? (this.primary?.hub?.recommendedHubs ?? []).filter(u => !taken.has(u)).slice(0, MAX_HUBS) : []
    this.opts.bus.patch({ hubs, recommendedHubs: recommended })
  }

  // ---- the runner pool's work source: the hubs in turn ----

  /**
   * The next lease from the hubs: the hub running the fewest of this page's units first, ties in
   * turn after the hub that gave the last one (so a hub whose units run long — or a hostile one
   * that sets long deadlines — holds no more slots than the others while they have work); a hub
   * that fails is reported (its own lastError) and skipped. When none has work: the shortest wait
   * any of them asked for.
   */
  async take (signal: AbortSignal): Promise<TakeResult> {
    const live = this.sessions.filter(s => !this.draining.has(s))
    const turn = (s: HubSession): number => (live.indexOf(s) - this.cursor + live.length) % live.length
    const order = [...live].sort((x, y) => (x.workFetch.running.size - y.workFetch.running.size) || (turn(x) - turn(y)))
    let retryAfterMs = MAX_IDLE_RETRY_MS
    for (const session of order) {
      signal.throwIfAborted()
      let next: TakeResult
      try {
        next = await session.workFetch.take(signal)
      } catch (err) {
        if (signal.aborted) throw err
        session.sink.error('work fetch', err)
        retryAfterMs = Math.min(retryAfterMs, 2000)
        continue
      }
      if ('lease' in next) {
        this.cursor = (live.indexOf(session) + 1) % live.length
        return next
      }
      retryAfterMs = Math.min(retryAfterMs, next.retryAfterMs)
    }
    return { retryAfterMs }
  }

  finish (hubPeerId: string, replicaId: string): void {
    const s = this.sessionOf(hubPeerId)
    s?.workFetch.finish(replicaId)
    if (s != null) void this.closeIfIdle(s)
  }

  putBack (hubPeerId: string, replicaId: string): void {
    const s = this.sessionOf(hubPeerId)
    s?.workFetch.putBack(replicaId)
    if (s != null) void this.closeIfIdle(s)
  }

  async release (hubPeerId: string, replicaId: string, reason: ReleaseReason): Promise<void> {
    const s = this.sessionOf(hubPeerId)
    await s?.workFetch.release(replicaId, reason)
    if (s != null) await this.closeIfIdle(s)
  }

  async releaseStored (reason: ReleaseReason, opts?: { alsoCheckedOut?: boolean }): Promise<void> {
    await Promise.all(this.sessions.map(async s => { await s.workFetch.releaseStored(reason, opts) }))
    for (const s of [...this.draining]) await this.closeIfIdle(s)
  }

  /** Tell every hub this page's pause state (work-fetch.ts reportPause). */
  async reportPause (): Promise<void> {
    await Promise.all(this.sessions.map(async s => { await s.workFetch.reportPause() }))
  }

  // ---- the runner pool's outbox: each result to the hub that leased it ----

  /** @throws Error when no session holds the hub (it cannot happen while its lease runs: removal waits) */
  async record (lease: Lease, report: RunReport, hubPeerId: string): Promise<void> {
    const s = this.sessionOf(hubPeerId)
    if (s == null) throw new Error(`no session for hub ${hubPeerId}`)
    await s.outbox.record(lease, report, hubPeerId)
  }

  /** Send every hub's outbox now. */
  async flush (): Promise<void> {
    await Promise.all(this.sessions.map(async s => { await s.outbox.flush() }))
  }
}
