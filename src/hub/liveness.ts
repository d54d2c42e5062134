/**
 * The hub's liveness pings (issue 14). libp2p's connection monitor pings every open connection in
 * the same instant, once per interval: at 3,000 volunteers that was a burst of 3,000 ping streams
 * every minute, during which leases waited up to 4.6 s (bench:hub, p99). Here each connection is
 * pinged once per `intervalMs`, on the anniversary of its opening, and at most an even share of
 * the connections (twice over, plus 4) start in one tick (the rest wait for the next ticks, oldest
 * first): the pings are spread evenly over the interval whatever the connections' opening times.
 *
 * A ping is libp2p's `/ipfs/ping/1.0.0` exchange (32 random bytes echoed), as the connection
 * monitor does it; a peer that answers the stream's protocol negotiation with "unsupported" is
 * alive too. A connection whose ping fails or is not answered within `timeoutMs` is aborted and
 * reported as the limit hit 'ping-timeout'. Volunteers detect a dead hub themselves (their node
 * pings once a minute, VOLUNTEER_PING_INTERVAL_MS), so the hub's pings only find volunteers that
 * vanished without closing their connection.
 */
import { PING_PROTOCOL } from '@libp2p/ping'
import { byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import type { LimitHitListener } from './limits.ts'
import type { Connection } from '@libp2p/interface'

/** Bytes of one ping (libp2p's PING_LENGTH). */
const PING_BYTES = 32

export interface LivenessOptions {
  /** Each connection is pinged once this often, ms (HubLimits.pingIntervalMs). */
  intervalMs: number
  /** A ping not answered within this long aborts its connection, ms (HubLimits.pingTimeoutMs). */
  timeoutMs: number
  /** How often due connections are looked for, ms. Default 1,000. */
  tickMs?: number
  /** Pings in flight at most. Default 256. */
  maxInFlight?: number
  /** Called for each connection aborted for its ping. */
  onLimitHit?: LimitHitListener
}

/** What the monitor needs of a libp2p node: its connections, and their opening and closing. */
export interface LivenessNode {
  getConnections: () => Connection[]
  addEventListener: (type: 'connection:open' | 'connection:close', listener: (evt: CustomEvent<Connection>) => void) => void
  removeEventListener: (type: 'connection:open' | 'connection:close', listener: (evt: CustomEvent<Connection>) => void) => void
}

/** Counters of the monitor since it started. */
export interface LivenessFigures {
  /** Pings started. */
  pings: number
  /** Connections aborted because their ping failed or timed out. */
  aborted: number
  /** The most pings started in one tick. */
  maxPingsPerTick: number
  /** Connections due for a ping and not yet pinged (waiting for a tick's room). */
  waiting: number
}

/**
 * Pings each of a node's connections once per interval, spread over it. Start it after the node
 * started, stop it before the node stops.
 */
export class LivenessMonitor {
  private readonly tickMs: number
  private readonly maxInFlight: number
  private timer: ReturnType<typeof setInterval> | undefined
  private abort = new AbortController()
  /** The last tick slot handled (slot = ceil(ms / tickMs)). */
  private lastSlot = 0
  /** Connections by the tick slot of their next ping; each connection's slot. */
  private readonly slots = new Map<number, Set<Connection>>()
  private readonly slotOf = new Map<Connection, number>()
  /** Due connections in the order they fell due (a Set keeps insertion order). */
  private readonly due = new Set<Connection>()
  private readonly onOpen = (evt: CustomEvent<Connection>): void => { this.schedule(evt.detail, evt.detail.timeline.open + this.opts.intervalMs) }
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.forget(evt.detail) }
  private inFlight = 0
  private readonly figures: Omit<LivenessFigures, 'waiting'> = { pings: 0, aborted: 0, maxPingsPerTick: 0 }

  constructor (private readonly node: LivenessNode, private readonly opts: LivenessOptions) {
    this.tickMs = opts.tickMs ?? 1_000
    this.maxInFlight = opts.maxInFlight ?? 256
    if (!(opts.intervalMs > 0) || !(opts.timeoutMs > 0) || !(this.tickMs > 0)) throw new RangeError('liveness intervalMs, timeoutMs and tickMs must be positive')
  }

  /** Follow the node's connections (those open now, and each one opened later) and start ticking. */
  start (nowMs = Date.now()): void {
    if (this.timer != null) return
    this.abort = new AbortController()
    this.lastSlot = Math.ceil(nowMs / this.tickMs)
    this.node.addEventListener('connection:open', this.onOpen)
    this.node.addEventListener('connection:close', this.onClose)
    for (const conn of this.node.getConnections()) this.schedule(conn, conn.timeline.open + this.opts.intervalMs)
    this.timer = setInterval(() => { this.tick(Date.now()) }, this.tickMs)
    this.timer.unref?.()
  }

  /** Stop ticking and following; pings in flight are aborted (their connections are left open). */
  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = undefined
    this.node.removeEventListener('connection:open', this.onOpen)
    this.node.removeEventListener('connection:close', this.onClose)
    this.abort.abort()
    this.due.clear()
    this.slots.clear()
    this.slotOf.clear()
  }

  /** Ping `conn` at the first tick at or after `atMs`. */
  private schedule (conn: Connection, atMs: number): void {
    this.forget(conn)
    const slot = Math.max(this.lastSlot + 1, Math.ceil(atMs / this.tickMs))
    let set = this.slots.get(slot)
    if (set == null) { set = new Set(); this.slots.set(slot, set) }
    set.add(conn)
    this.slotOf.set(conn, slot)
  }

  private forget (conn: Connection): void {
    const slot = this.slotOf.get(conn)
    if (slot != null) {
      this.slotOf.delete(conn)
      const set = this.slots.get(slot)
      set?.delete(conn)
      if (set?.size === 0) this.slots.delete(slot)
    }
    this.due.delete(conn)
  }

  /** Counters since start. */
  stats (): LivenessFigures {
    return { ...this.figures, waiting: this.due.size }
  }

  /** Connections followed (each with its next ping scheduled or due). */
  get size (): number {
    return this.slotOf.size
  }

  /**
   * One tick at `nowMs`: the connections scheduled up to now fall due; then pings start for the
   * oldest due ones, at most the tick's share. Costs O(connections due), not O(connections).
   */
  tick (nowMs: number): void {
    const slot = Math.ceil(nowMs / this.tickMs)
    for (let s = this.lastSlot + 1; s <= slot; s++) {
      const set = this.slots.get(s)
      if (set == null) continue
      this.slots.delete(s)
      for (const conn of set) this.due.add(conn)
    }
    this.lastSlot = Math.max(this.lastSlot, slot)
    // an even share of the connections a tick, twice over (for jitter), and a few more
    const share = Math.ceil(2 * this.slotOf.size * this.tickMs / this.opts.intervalMs) + 4
    let started = 0
    for (const conn of this.due) {
      if (started >= share || this.inFlight >= this.maxInFlight) break
      this.due.delete(conn)
      this.slotOf.delete(conn)
      if (conn.status !== 'open') continue
      started++
      this.ping(conn, nowMs)
    }
    this.figures.maxPingsPerTick = Math.max(this.figures.maxPingsPerTick, started)
  }

  /** Ping `conn`; when it answers, its next ping is one interval after this one. */
  private ping (conn: Connection, nowMs: number): void {
    this.inFlight++
    this.figures.pings++
    const stopped = this.abort.signal
    const signal = AbortSignal.any([stopped, AbortSignal.timeout(this.opts.timeoutMs)])
    void (async () => {
      const stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      try {
        const bytes = byteStream(stream)
        const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
        const [, echoed] = await Promise.all([bytes.write(sent, { signal }), bytes.read({ bytes: PING_BYTES, signal })])
        if (echoed == null || !equals(echoed.subarray(), sent)) throw new Error('ping answered with other bytes')
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    })().then(() => { if (!stopped.aborted) this.alive(conn, nowMs) }, (err: Error) => {
      if (stopped.aborted) return
      // "unsupported protocol": the peer negotiated, so it is alive
      if (err.name === 'UnsupportedProtocolError') { this.alive(conn, nowMs); return }
      this.figures.aborted++
      this.opts.onLimitHit?.('ping-timeout', { peer: conn.remotePeer.toString(), message: err.message })
      conn.abort(err)
    }).finally(() => { this.inFlight-- })
  }

  private alive (conn: Connection, pingedAtMs: number): void {
    if (conn.status === 'open') this.schedule(conn, pingedAtMs + this.opts.intervalMs)
  }
}

