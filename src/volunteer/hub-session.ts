/**
 * One hub this page works for: its connection (hub.json, dial, redial), link, work fetch, outbox
 * and receipts, wired as they are for a single hub, over the page's one libp2p node, store, key
 * and state. The page's own hub patches the state's connection fields as before; every hub's
 * connection state and last error also go to its entry in `hubs` (hub-set.ts publishes them).
 *
 * ```
 * HubSession(url) = HubConnection ─▶ Libp2pHubLink ─▶ WorkFetch / Outbox / Receipts
 * ```
 */
import { HubConnection, dialingNode } from './connection.ts'
import { Libp2pHubLink } from './hub-client.ts'
import { Outbox } from './outbox.ts'
import { Receipts } from './receipts.ts'
import { WorkFetch } from './work-fetch.ts'
import { hubInfoUrlOf } from '../protocol/hub-urls.ts'
import type { ConnectedHub } from './connection.ts'
import type { AdapterInfo } from './device.ts'
import type { HubView, StateBus, StateSink, VolunteerState } from './state.ts'
import type { VolunteerStore } from './store.ts'
import type { ByteCounter, Capabilities } from '../protocol/index.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

export interface HubSessionOptions {
  /** The hub's base URL (protocol/hub-urls.ts normalizeHubUrl). */
  url: string
  /** Its /hub.json, when not `<url>hub.json` (the page's own hub: VolunteerOptions.hubInfoUrl as given). */
  hubInfoUrl?: string
  /** The page's own hub: its connection fills the state's `connection`, `hubPeerId` and `hubMultiaddr`. */
  primary: boolean
  node: Libp2p
  bus: StateBus
  store: VolunteerStore
  key: PrivateKey
  peerId: string
  onBytes: ByteCounter
  capabilities: () => Capabilities
  pauseReasons: () => readonly string[]
  adapter: () => AdapterInfo | null
  /** Whether the page is computing (receipts are polled then). */
  running: () => boolean
  siteKey?: string
  siteOrigin?: string
  receiptPollMs?: number
  /** Told this hub's connection state and last error whenever they change. */
  onView: (update: Partial<Pick<HubView, 'peerId' | 'connection' | 'lastError'>>) => void
  /** /hub.json fetch (tests). */
  fetch?: (url: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'status' | 'json'>>
}

/** The state fields a hub's connection owns. */
const CONNECTION_FIELDS = new Set<keyof VolunteerState>(['connection', 'hubPeerId', 'hubMultiaddr'])

/**
 * The bus as one hub's components see it: connection fields and errors go to the hub's own view
 * (and, for the page's own hub, to the state as before); every other field goes to the state.
 * An added hub's errors reach `lastError` prefixed with its host; its connection fields do not
 * touch the state's, and `resultsPending` reads as that hub's own pending count.
 */
class HubScopedSink implements StateSink {
  private view: Pick<HubView, 'peerId' | 'connection' | 'lastError'> = { peerId: null, connection: 'idle', lastError: null }

  constructor (private readonly bus: StateBus, private readonly primary: boolean, private readonly label: string,
    private readonly onView: HubSessionOptions['onView']) {}

  patch (update: Partial<VolunteerState>): void {
    const view: Partial<HubView> = {}
    if (update.connection !== undefined) view.connection = update.connection
    if (update.hubPeerId !== undefined) view.peerId = update.hubPeerId
    if (update.lastError !== undefined) view.lastError = update.lastError
    if (Object.keys(view).length > 0) {
      this.view = { ...this.view, ...view }
      this.onView(view)
    }
    if (this.primary) { this.bus.patch(update); return }
    const rest: Partial<VolunteerState> = {}
    for (const [k, v] of Object.entries(update) as Array<[keyof VolunteerState, never]>) {
      if (!CONNECTION_FIELDS.has(k) && k !== 'lastError') rest[k] = v
    }
    if (update.lastError != null) rest.lastError = `${this.label}: ${update.lastError}`
    if (Object.keys(rest).length > 0) this.bus.patch(rest)
  }

  get<K extends keyof VolunteerState> (key: K): VolunteerState[K] {
    if (key === 'resultsPending') return (this.view.peerId == null ? 0 : this.bus.get('perHub')[this.view.peerId]?.pending ?? 0) as VolunteerState[K]
    if (!this.primary && CONNECTION_FIELDS.has(key)) {
      return (key === 'connection' ? this.view.connection : key === 'hubPeerId' ? this.view.peerId : null) as VolunteerState[K]
    }
    return this.bus.get(key)
  }

  error (context: string, err: unknown): void {
    this.patch({ lastError: `${context}: ${(err as Error)?.message ?? String(err)}` })
  }
}

export class HubSession {
  readonly url: string
  readonly primary: boolean
  readonly connection: HubConnection
  readonly link: Libp2pHubLink
  readonly workFetch: WorkFetch
  readonly outbox: Outbox
  readonly receipts: Receipts
  readonly sink: StateSink
  private offConnect: (() => void) | undefined

  /** @throws BadHubUrlError when `opts.url` is not a hub URL */
  constructor (opts: HubSessionOptions) {
    this.url = opts.url
    this.primary = opts.primary
    let label = 'hub'
    try { label = new URL(opts.url).host || label } catch {}
    const sink = new HubScopedSink(opts.bus, opts.primary, label, opts.onView)
    this.sink = sink
    this.connection = new HubConnection(dialingNode(opts.node), sink, { hubInfoUrl: opts.hubInfoUrl ?? hubInfoUrlOf(opts.url), fetch: opts.fetch })
    this.link = new Libp2pHubLink(opts.node, () => this.connection.hub?.peer ?? null, opts.onBytes, opts.key)
    const hubPeerId = (): string | null => this.connection.hub?.peer.toString() ?? null
    this.workFetch = new WorkFetch({
      store: opts.store, link: this.link, bus: sink, siteKey: opts.siteKey, siteOrigin: opts.siteOrigin,
      hubPeerId: () => this.connection.lastHub?.peer.toString() ?? null,
      connected: () => this.connection.hub != null,
      capabilities: opts.capabilities,
      pauseReasons: opts.pauseReasons
    })
    this.receipts = new Receipts({
      store: opts.store, link: this.link, bus: sink, peerId: opts.peerId,
      hub: () => this.connection.hub,
      flushOutbox: async () => { await this.outbox.flush() },
      running: opts.running,
      pollMs: opts.receiptPollMs
    })
    this.outbox = new Outbox({ store: opts.store, link: this.link, bus: sink, key: opts.key, hubPeerId, receipts: this.receipts, adapter: opts.adapter })
  }

  /** The hub's peer id, once a connection authenticated it (kept while it is away). */
  get hubPeerId (): string | null { return this.connection.lastHub?.peer.toString() ?? null }

  /** The connected hub, or null. */
  get hub (): ConnectedHub | null { return this.connection.hub }

  /**
   * Start every component and connect; `onConnect` runs after every (re)connection (resume or
   * release stored work, re-send the outbox, fetch receipts: create-volunteer.ts).
   */
  start (onConnect: (session: HubSession, hub: ConnectedHub) => Promise<void>): void {
    this.offConnect = this.connection.onConnect(async hub => {
      this.link.resetNegotiation()
      await onConnect(this, hub)
    })
    this.workFetch.start()
    this.outbox.start()
    this.receipts.start()
    this.connection.start()
  }

  /** Stop every component and the connection; what is stored stays stored. */
  async stop (): Promise<void> {
    this.offConnect?.()
    await this.receipts.stop()
    await this.outbox.stop()
    this.workFetch.stop()
    await this.connection.stop()
  }
}
