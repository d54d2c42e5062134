/**
 * The hub's connection limits (HubLimits): a connection gater that counts connections and
 * unfinished upgrades per IP address and in all, a per-address rate of new connections, a pruner
 * that closes idle connections holding no lease once the hub is nearly full, and the WebSocket
 * transport with a frame cap and HTTP timeouts. Every refusal or closure is reported by its
 * LimitName. libp2p's own connection-manager limits stay configured as a looser backstop
 * (libp2p-host.ts).
 */
import { BlockList, isIP } from 'node:net'
import { webSockets } from '@libp2p/websockets'
import { RateLimiter, getNetConfig, isNetworkAddress } from '@libp2p/utils'
import type { HubLimits, LimitHitListener } from './limits.ts'
import type { ComponentLogger, Connection, ConnectionGater, Libp2p, Metrics, MultiaddrConnection, Transport, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'

/** Protocols that keep a connection busy without it doing any work (never count as activity). */
const HOUSEKEEPING_PROTOCOLS = new Set(['/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0'])

function hostOf (maConn: MultiaddrConnection | Connection): string | undefined {
  return isNetworkAddress(maConn.remoteAddr) ? getNetConfig(maConn.remoteAddr).host : undefined
}

interface Tracked { host: string, openedAt: number, upgraded: boolean }

export interface ConnectionGuardOptions {
  limits: HubLimits
  onLimitHit: LimitHitListener
  /** Replicas the peer holds now; a connection of a peer holding none may be pruned when idle. */
  leasesHeldBy: (peerId: string) => Promise<number>
}

export class ConnectionGuard {
  private readonly limits: HubLimits
  private readonly allowedAddresses = new BlockList()
  private readonly allowedPeers: Set<string>
  private readonly rate: RateLimiter
  private readonly connsByHost = new Map<string, number>()
  private readonly pendingByHost = new Map<string, number>()
  private readonly tracked = new WeakMap<MultiaddrConnection, Tracked>()
  private pending = 0
  /**
   * The node's open connections, followed by connection:open / connection:close: libp2p's
   * getConnections() concatenates its per-peer lists one at a time (quadratic in the number of
   * connections; 28.7 % of the hub's CPU while 2,500 volunteers dialled, with it called on every
   * admission and connection:open), so the guard counts its own.
   */
  private readonly open = new Set<Connection>()
  private node?: Libp2p
  private pruning = false
  private timer?: ReturnType<typeof setInterval>

  constructor (private readonly opts: ConnectionGuardOptions) {
    this.limits = opts.limits
    this.allowedPeers = new Set(opts.limits.allow.filter(a => isIP(a.split('/')[0]) === 0))
    for (const entry of opts.limits.allow) {
      const [ip, bits] = entry.split('/')
      const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
      if (isIP(ip) === 0) continue
      if (bits == null) this.allowedAddresses.addAddress(ip, type)
      else this.allowedAddresses.addSubnet(ip, Number(bits), type)
    }
    this.rate = new RateLimiter({ points: opts.limits.inboundConnectionsPerSecond, duration: 1 })
  }

  private allowedHost (host: string): boolean {
    const type = isIP(host) === 6 ? 'ipv6' : 'ipv4'
    return isIP(host) !== 0 && this.allowedAddresses.check(host, type)
  }

  /** Open connections now (as libp2p's getConnections().length, without its cost). */
  get openConnections (): number { return this.open.size }

  /** Unfinished inbound upgrades now (for tests and metrics). */
  get pendingUpgrades (): number { return this.pending }

  /** The gater to pass to createLibp2p: refusals happen before noise, so they cost no handshake. */
  readonly gater: ConnectionGater = {
    denyInboundConnection: (maConn) => this.admit(maConn),
    denyInboundUpgradedConnection: (_peer, maConn) => { this.upgraded(maConn); return false }
  }

  private admit (maConn: MultiaddrConnection): boolean {
    const host = hostOf(maConn)
    if (host == null || this.allowedHost(host)) return false
    const refuse = (name: Parameters<LimitHitListener>[0], message: string): boolean => {
      this.opts.onLimitHit(name, { address: host, message })
      return true
    }
    try {
      this.rate.consume(host, 1)
    } catch {
      return refuse('connection-rate', `more than ${this.limits.inboundConnectionsPerSecond} new connections a second from ${host}`)
    }
    if ((this.pendingByHost.get(host) ?? 0) >= this.limits.maxPendingUpgradesPerAddress) return refuse('pending-upgrades-per-address', `${this.limits.maxPendingUpgradesPerAddress} upgrades already pending from ${host}`)
    if (this.pending >= this.limits.maxPendingUpgrades) return refuse('pending-upgrades', `${this.limits.maxPendingUpgrades} upgrades already pending`)
    if ((this.connsByHost.get(host) ?? 0) >= this.limits.maxConnectionsPerAddress) return refuse('connections-per-address', `${this.limits.maxConnectionsPerAddress} connections already open from ${host}`)
    const total = this.open.size + this.pending
    if (total >= this.limits.pruneAboveConnections) void this.prune()
    if (total >= this.limits.maxConnections) return refuse('connections', `${this.limits.maxConnections} connections already open`)
    this.track(maConn, host)
    return false
  }

  private track (maConn: MultiaddrConnection, host: string): void {
    const entry: Tracked = { host, openedAt: Date.now(), upgraded: false }
    this.tracked.set(maConn, entry)
    this.pending++
    bump(this.pendingByHost, host, 1)
    bump(this.connsByHost, host, 1)
    maConn.addEventListener('close', () => {
      bump(this.connsByHost, host, -1)
      if (entry.upgraded) return
      this.endPending(entry)
      if (Date.now() - entry.openedAt >= this.limits.upgradeTimeoutMs * 0.9) {
        this.opts.onLimitHit('upgrade-timeout', { address: host, message: `no noise + yamux within ${this.limits.upgradeTimeoutMs} ms` })
      }
    }, { once: true })
  }

  private upgraded (maConn: MultiaddrConnection): void {
    const entry = this.tracked.get(maConn)
    if (entry == null || entry.upgraded) return
    entry.upgraded = true
    this.endPending(entry)
  }

  private endPending (entry: Tracked): void {
    this.pending--
    bump(this.pendingByHost, entry.host, -1)
  }

  /** Start pruning `node`'s idle connections (checked on every new connection and every second). */
  attach (node: Libp2p): void {
    this.node = node
    for (const conn of node.getConnections()) this.open.add(conn)
    node.addEventListener('connection:open', evt => {
      this.open.add(evt.detail)
      if (this.open.size >= this.limits.pruneAboveConnections) void this.prune()
    })
    node.addEventListener('connection:close', evt => { this.open.delete(evt.detail) })
    this.timer = setInterval(() => {
      if (this.open.size >= this.limits.pruneAboveConnections) void this.prune()
    }, 1000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /**
   * Close idle connections (inbound, older than pruneGraceMs, no stream but identify/ping, peer
   * holds no lease, not allow-listed), oldest first, until 90% of pruneAboveConnections are left.
   */
  async prune (): Promise<number> {
    const node = this.node
    if (node == null || this.pruning) return 0
    this.pruning = true
    let closed = 0
    try {
      const connections = [...this.open]
      const excess = connections.length - Math.floor(this.limits.pruneAboveConnections * 0.9)
      const now = Date.now()
      const candidates = connections
        .filter(c => c.direction === 'inbound' && c.status === 'open' && now - c.timeline.open >= this.limits.pruneGraceMs)
        .filter(c => !this.allowedPeers.has(c.remotePeer.toString()) && !this.allowedHost(hostOf(c) ?? ''))
        .filter(c => c.streams.every(s => HOUSEKEEPING_PROTOCOLS.has(s.protocol ?? '')))
        .sort((a, b) => a.timeline.open - b.timeline.open)
      for (const c of candidates) {
        if (closed >= excess) break
        const peer = c.remotePeer.toString()
        if (await this.leasesHeld(peer) > 0) continue
        closed++
        this.opts.onLimitHit('idle-pruned', { peer, address: hostOf(c), message: `idle for ${now - c.timeline.open} ms, no lease, ${connections.length} connections open` })
        c.abort(new Error('pruned: idle connection holding no lease'))
      }
    } finally {
      this.pruning = false
    }
    return closed
  }

  /** The peer's leases; 1 when the store cannot say (e.g. PostgreSQL is down): then it is kept. */
  private async leasesHeld (peer: string): Promise<number> {
    try {
      return await this.opts.leasesHeldBy(peer)
    } catch {
      return 1
    }
  }
}

/** The IP entries of an allow list as libp2p's connection manager takes them (`/ip4/10.0.0.0/ipcidr/8`). */
export function libp2pAllowList (allow: string[]): string[] {
  return allow.filter(a => isIP(a.split('/')[0]) !== 0).map(a => {
    const [ip, bits] = a.split('/')
    return `/${isIP(ip) === 6 ? 'ip6' : 'ip4'}/${ip}${bits != null ? `/ipcidr/${bits}` : ''}`
  })
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}

/** The part of `ws`'s WebSocketServer (inside @libp2p/websockets' listener) that this wraps. */
interface WsServerLike {
  options: { maxPayload?: number }
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WsLike, req: IncomingMessage) => void) => void
}
interface WsLike { on: (event: 'error', listener: (err: Error & { code?: string }) => void) => void }

interface TransportComponents { logger: ComponentLogger, metrics?: Metrics, events: TypedEventTarget<Libp2pEvents> }

/**
 * @libp2p/websockets with limits its factory does not expose: `ws`'s maxPayload (100 MiB by
 * default, buffered before noise) set to `maxWsFrameBytes`, and the HTTP server's header and
 * request timeouts set to `upgradeTimeoutMs` (a socket that never sends its upgrade request is
 * closed). An oversized frame closes the socket with 1009 and is reported as 'ws-frame'.
 * @throws Error at listen time if @libp2p/websockets no longer has the `ws` server this wraps
 */
export function limitedWebSockets (limits: HubLimits, onLimitHit: LimitHitListener): (components: TransportComponents) => Transport {
  const factory = webSockets({
    http: { headersTimeout: limits.upgradeTimeoutMs, requestTimeout: limits.upgradeTimeoutMs, connectionsCheckingInterval: 1000 }
  }) as unknown as (components: TransportComponents) => Transport
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      const wss = (listener as unknown as { wsServer?: WsServerLike }).wsServer
      if (wss?.options == null) throw new Error('@libp2p/websockets: listener has no ws server to limit (maxPayload)')
      wss.options.maxPayload = limits.maxWsFrameBytes
      const handleUpgrade = wss.handleUpgrade.bind(wss)
      wss.handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WsLike, req: IncomingMessage) => void): void => {
        handleUpgrade(req, socket, head, (ws, r) => {
          ws.on('error', (err) => {
            if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') onLimitHit('ws-frame', { address: r.socket.remoteAddress, message: err.message })
          })
          callback(ws, r)
        })
      }
      return listener
    }
    return transport
  }
}
