/**
 * Metrics for the dashboard, each with its unit in its name: numbers sieved per second
 * (primes-sieve/1), floating-point operations per second (matmul-f32/1 tiles), work units per
 * minute (any kernel), the workers' CPU use and busy time, GPU use, the page's own share of the CPU
 * pressure where the browser reports it, its network bytes (traffic.ts) and time contributing,
 * connected peers and a history of one sample a second. Owns those fields of the state; one
 * interval timer, from start() to stop().
 */
import { MATMUL_KERNEL_ID, PRIMES_KERNEL_ID } from '../protocol/index.ts'
import { bytesPerHour } from './traffic.ts'
import type { HistorySample, StateBus } from './state.ts'
import type { TrafficTotals } from './traffic.ts'
import type { PeerBlobStats } from './peer-blobs.ts'

/** Window of the per-second rates and of CPU and GPU use, in ms. */
export const RATE_WINDOW_MS = 5000
/** Window of unitsPerMinute, in ms. */
export const UNITS_WINDOW_MS = 60_000
/** Samples kept in the history (one a second: 10 minutes). */
export const HISTORY_MAX = 600

/** Amounts added over time; their sum and rate over a trailing window. */
export class RateWindow {
  private readonly entries: Array<{ t: number, amount: number }> = []

  constructor (private readonly windowMs: number) {}

  add (amount: number, t: number): void {
    if (amount > 0) this.entries.push({ t, amount })
  }

  private prune (t: number): void {
    while (this.entries.length > 1 && t - this.entries[0].t > this.windowMs) this.entries.shift()
    if (this.entries.length === 1 && t - this.entries[0].t > this.windowMs) this.entries.shift()
  }

  /** Sum of the amounts added within the window before `t`. */
  sumWithin (t: number): number {
    this.prune(t)
    return this.entries.reduce((sum, e) => sum + e.amount, 0)
  }

  /**
   * Per second at `t`: what was added after the window's first entry, over the time since it (at
   * least 1 s) — the first entry marks the start of the span, as a cumulative counter would.
   */
  perSecond (t: number): number {
    const sum = this.sumWithin(t)
    const first = this.entries[0]
    if (first == null) return 0
    return (sum - first.amount) / (Math.max(t - first.t, 1000) / 1000)
  }
}

export interface MetricsOptions {
  bus: StateBus
  /** Logical cores of the machine (CPU use is a share of all of them). */
  cores: number
  /** Total compute ms of all worker slots so far. */
  busyMs: (signal: AbortSignal) => Promise<number>
  /** libp2p peers connected now. */
  peers: () => number
  /** Bytes this page's protocol streams carried so far (traffic.ts; default: none counted). */
  traffic?: () => TrafficTotals
  /** Blob sharing with other volunteers (peer-blobs.ts; default: not sampled). */
  p2p?: () => PeerBlobStats
  /** Monotonic ms (default performance.now). */
  now?: () => number
  /** Unix ms (default Date.now). */
  wallClock?: () => number
  /** Sample interval, ms (default 1000). */
  intervalMs?: number
}

export class Metrics {
  private readonly numbers = new RateWindow(RATE_WINDOW_MS)
  private readonly flops = new RateWindow(RATE_WINDOW_MS)
  private readonly units = new RateWindow(UNITS_WINDOW_MS)
  private readonly gpuBusy = new RateWindow(RATE_WINDOW_MS)
  private readonly busySamples: Array<{ t: number, busy: number }> = []
  private timer: ReturnType<typeof setInterval> | undefined
  private lifetime = new AbortController()
  private sampling = false
  private runningMs = 0
  private lastSampleAt: number | undefined
  private ownContribution: number | null = null

  constructor (private readonly opts: MetricsOptions) {}

  private now (): number { return (this.opts.now ?? (() => performance.now()))() }

  /** Progress of a unit: `ops` more operations of `kernel` (numbers for primes, FLOPs for matmul). */
  recordOps (kernel: string, ops: number): void {
    if (kernel === PRIMES_KERNEL_ID) this.numbers.add(ops, this.now())
    else if (kernel === MATMUL_KERNEL_ID) this.flops.add(ops, this.now())
  }

  /** A unit finished (any kernel, any outcome). */
  recordUnit (): void { this.units.add(1, this.now()) }

  /** The GPU was busy `ms` (one tile). */
  recordGpuBusy (ms: number): void { this.gpuBusy.add(Math.max(ms, 0.001), this.now()) }

  /** The browser's latest estimate of this page's share of the CPU pressure, 0-1 (governor.ts's sensor). */
  recordOwnContribution (estimate: number): void { this.ownContribution = estimate }

  /** Sample once a second until stop(). */
  start (): void {
    if (this.timer != null) return
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController()
    this.timer = setInterval(() => { void this.sample() }, this.opts.intervalMs ?? 1000)
  }

  /** Clear the timer and abort a sample in flight. */
  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.lifetime.abort()
  }

  /** Take one sample now: rates, use, peers, one history entry. */
  async sample (): Promise<void> {
    if (this.sampling) return
    this.sampling = true
    try {
      const t = this.now()
      const numbersPerSecond = this.numbers.perSecond(t)
      const flopsPerSecond = this.flops.perSecond(t)
      const unitsPerMinute = this.units.sumWithin(t)
      const gpuSum = this.gpuBusy.sumWithin(t)
      const gpuUse = this.opts.bus.get('gpuUse') == null && gpuSum === 0 ? null : Math.min(1, gpuSum / RATE_WINDOW_MS)
      const busy = await this.opts.busyMs(this.lifetime.signal)
      if (this.lifetime.signal.aborted) return
      const bt = this.now()
      this.busySamples.push({ t: bt, busy })
      while (this.busySamples.length > 1 && bt - this.busySamples[0].t > RATE_WINDOW_MS) this.busySamples.shift()
      const first = this.busySamples[0]
      const cpuUse = bt - first.t > 0 ? Math.max(0, (busy - first.busy) / ((bt - first.t) * this.opts.cores)) : 0
      // time contributing: the span since the last sample counts when the run state is 'running' now
      if (this.lastSampleAt != null && this.opts.bus.get('run') === 'running') this.runningMs += bt - this.lastSampleAt
      this.lastSampleAt = bt
      const totals = this.opts.traffic?.() ?? { sentBytes: 0, receivedBytes: 0 }
      const traffic = { ...totals, runningMs: this.runningMs, bytesPerHour: bytesPerHour(totals.sentBytes + totals.receivedBytes, this.runningMs) }
      const sample: HistorySample = { t: Math.round((this.opts.wallClock ?? Date.now)() / 1000), numbersPerSecond, flopsPerSecond, cpuUse }
      const history = [...this.opts.bus.get('history'), sample].slice(-HISTORY_MAX)
      this.opts.bus.patch({ numbersPerSecond, flopsPerSecond, unitsPerMinute, gpuUse, cpuUse, cpuBusyMs: busy, peers: this.opts.peers(), history, traffic, ownContribution: this.ownContribution, ...(this.opts.p2p != null ? { p2p: this.opts.p2p() } : {}) })
    } finally {
      this.sampling = false
    }
  }
}
