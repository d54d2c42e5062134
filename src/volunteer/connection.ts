/**
 * The connection to the hub: fetch `/hub.json` (peer id, multiaddrs, and the ledger key with the
 * hub's delegation to it), dial the hub, check that the noise-authenticated peer is the one
 * /hub.json named and that it signed the delegation (protocol/ledger-key.ts), and redial with backoff (0.5 s doubling
 * to 10 s) whenever the hub disconnects. Owns `connection`, `hubPeerId` and `hubMultiaddr` of the
 * state; tells its `onConnect` listeners after every successful dial.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { BadLedgerDelegationError } from '../protocol/errors.ts'
import { checkHubUrls } from '../protocol/hub-urls.ts'
import { checkIceServers } from '../protocol/providers.ts'
import { ledgerKeyFromJson, ledgerKeyOf, sameKey } from '../protocol/ledger-key.ts'
import { sleep } from './async.ts'
import type { LedgerDelegation } from '../protocol/pb/messages.ts'
import type { StateSink } from './state.ts'
import type { Connection, Libp2p, PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * `/hub.json`: the hub's peer id and the multiaddrs to dial; from hubs that have ledger keys also
 * the ledger key and the hub's delegation to it (base64, protocol/ledger-key.ts LedgerKeyJson).
 */
export interface HubInfo { peerId: string, multiaddrs: string[], ledgerKey?: string, ledgerDelegation?: string, iceServers?: unknown, recommendedHubs?: unknown }

/** The hub this volunteer is connected to. */
export interface ConnectedHub {
  peer: PeerId
  /** The hub's Ed25519 key (from its peer id): it vouches for the ledger key. */
  publicKey: PublicKey
  multiaddr: string
  /** The key its receipts are checked against: the ledger key its delegation names, else `publicKey`. */
  ledgerKey: PublicKey
  /** The hub's delegation to `ledgerKey` (verified), absent when the hub presented none or its own key. */
  delegation?: LedgerDelegation
  /** STUN servers the hub names for WebRTC between volunteers (checked; none when absent or malformed). */
  iceServers?: string[]
  /** Other hubs this hub recommends to its volunteers (base URLs, checked; none when absent or malformed). */
  recommendedHubs?: string[]
}

/** What the connection needs of the libp2p node. */
export interface DialingNode {
  dial: (addr: Multiaddr, options: { signal: AbortSignal }) => Promise<Pick<Connection, 'remotePeer'>>
  addEventListener: (type: 'peer:disconnect', fn: (evt: CustomEvent<PeerId>) => void) => void
  removeEventListener: (type: 'peer:disconnect', fn: (evt: CustomEvent<PeerId>) => void) => void
}

export interface HubConnectionOptions {
  /** URL of the hub's `/hub.json`. */
  hubInfoUrl: string
  /** Time limit of the /hub.json fetch and of the dial, in ms (default 10 s). */
  timeoutMs?: number
  /** First retry delay, in ms (default 500; doubles up to maxBackoffMs). */
  backoffMs?: number
  /** Longest retry delay, in ms (default 10 s). */
  maxBackoffMs?: number
  /** fetch (tests give a fake). */
  fetch?: (url: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'status' | 'json'>>
}

export class HubConnection {
  private current: ConnectedHub | null = null
  private last: ConnectedHub | null = null
  private lifetime: AbortController | undefined
  private loop: Promise<void> | undefined
  private readonly connectListeners = new Set<(hub: ConnectedHub) => void | Promise<void>>()
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (this.current != null && evt.detail.equals(this.current.peer)) {
      this.current = null
      this.bus.patch({ connection: 'disconnected' })
      this.connect()
    }
  }

  constructor (private readonly node: DialingNode, private readonly bus: StateSink, private readonly opts: HubConnectionOptions) {}

  /** The connected hub, or null. */
  get hub (): ConnectedHub | null { return this.current }

  /** The hub of the latest connection, kept while it is away (its stored leases still run). */
  get lastHub (): ConnectedHub | null { return this.last }

  /** Call `fn` after every successful (re)connection; returns the unsubscribe function. */
  onConnect (fn: (hub: ConnectedHub) => void | Promise<void>): () => void {
    this.connectListeners.add(fn)
    return () => { this.connectListeners.delete(fn) }
  }

  /** Start connecting (and reconnecting after every disconnect). */
  start (): void {
    if (this.lifetime != null) return
    this.lifetime = new AbortController()
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    this.connect()
  }

  /** Stop: no more dials or retries; the listener is removed. Resolves when the loop has ended. */
  async stop (): Promise<void> {
    this.lifetime?.abort()
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.loop
    this.lifetime = undefined
    this.current = null
  }

  private connect (): void {
    const signal = this.lifetime?.signal
    if (signal == null || signal.aborted || this.loop != null) return
    this.loop = this.connectLoop(signal).then(hub => {
      this.loop = undefined
      // listeners run after the loop ended, so a disconnect while they run redials at once
      if (hub != null) for (const fn of [...this.connectListeners]) void this.notify(fn, hub)
    })
  }

  private async notify (fn: (hub: ConnectedHub) => void | Promise<void>, hub: ConnectedHub): Promise<void> {
    try { await fn(hub) } catch (err) { this.bus.error('after connect', err) }
  }

  private async connectLoop (signal: AbortSignal): Promise<ConnectedHub | null> {
    let backoffMs = this.opts.backoffMs ?? 500
    while (!signal.aborted) {
      this.bus.patch({ connection: 'connecting' })
      try {
        const hub = await this.dialOnce(signal)
        if (signal.aborted) return null
        this.current = hub
        this.last = hub
        this.bus.patch({ connection: 'connected', hubPeerId: hub.peer.toString(), hubMultiaddr: hub.multiaddr, lastError: null })
        return hub
      } catch (err) {
        if (signal.aborted) return null
        this.bus.patch({ connection: 'disconnected' })
        this.bus.error('connect', err instanceof BadLedgerDelegationError ? `${err.name}: ${err.message}` : err)
        await sleep(backoffMs, signal)
        backoffMs = Math.min(backoffMs * 2, this.opts.maxBackoffMs ?? 10_000)
      }
    }
    return null
  }

  /**
   * One attempt: /hub.json, then a dial to its WebSocket address.
   * @throws Error when /hub.json is unreadable, names no key, or the dialled peer is another one
   * @throws BadLedgerDelegationError when the hub's delegation to its ledger key does not verify
   */
  private async dialOnce (signal: AbortSignal): Promise<ConnectedHub> {
    const timeoutMs = this.opts.timeoutMs ?? 10_000
    const doFetch = this.opts.fetch ?? fetch
    const response = await doFetch(this.opts.hubInfoUrl, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), cache: 'no-store' })
    if (!response.ok) throw new Error(`hub info: HTTP ${response.status}`)
    const info = await response.json() as HubInfo
    if (typeof info?.peerId !== 'string' || !Array.isArray(info.multiaddrs) || info.multiaddrs.length === 0) throw new Error('hub info: not {peerId, multiaddrs}')
    const peer = peerIdFromString(info.peerId)
    if (peer.publicKey == null) throw new Error('hub peer id does not carry a public key')
    const offered = ledgerKeyFromJson(info)
    const ledgerKey = await ledgerKeyOf(peer.publicKey, offered)
    const addr = info.multiaddrs.find(a => a.includes('/ws')) ?? info.multiaddrs[0]
    const connection = await this.node.dial(multiaddr(addr), { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) })
    if (!connection.remotePeer.equals(peer)) throw new Error('hub answered with an unexpected peer id')
    const delegation = offered != null && !sameKey(ledgerKey, peer.publicKey) ? offered : undefined
    let iceServers: string[] = []
    try { iceServers = info.iceServers == null ? [] : checkIceServers(info.iceServers) } catch { /* a malformed list is ignored: host candidates only */ }
    let recommendedHubs: string[] = []
    try { recommendedHubs = info.recommendedHubs == null ? [] : checkHubUrls(info.recommendedHubs) } catch { /* a malformed list is ignored: nothing recommended */ }
    return {
      peer, publicKey: peer.publicKey, multiaddr: addr, ledgerKey, ...(delegation != null ? { delegation } : {}), ...(iceServers.length > 0 ? { iceServers } : {}),
      ...(recommendedHubs.length > 0 ? { recommendedHubs } : {})
    }
  }
}

/** A full libp2p node as a DialingNode. */
export function dialingNode (node: Libp2p): DialingNode {
  return {
    dial: async (addr, options) => await node.dial(addr, options),
    addEventListener: (type, fn) => { node.addEventListener(type, fn) },
    removeEventListener: (type, fn) => { node.removeEventListener(type, fn) }
  }
}
