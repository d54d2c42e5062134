/**
 * The governor: how much of the visitor's machine Spare Cycles may use, and when it must pause.
 * Every source of work obeys it: the WASM worker slots (worker count + duty cycle, applied inside
 * the kernel's slice loop, see workers/duty-cycle.ts) and a GPU worker (`gpuPlan()`: the fraction
 * of wall time it may keep the GPU busy between dispatches, and the same pause gate).
 *
 * CPU share s (0.1-1) is a share of the machine's logical cores C (navigator.hardwareConcurrency):
 * the page may keep s x C cores busy. It is met with k = min(maxWorkers, ceil(s x C)) workers, each
 * computing a fraction d = min(1, s x C / k) of wall time. When maxWorkers caps k, the share
 * reached is k x d / C (`reachableCpuShare`).
 *
 * Pauses: each reason (tab hidden, battery low, CPU pressure) is set by a sensor; the governor is
 * paused while any reason is active. Sensors set a reason at once and clear it only after the
 * condition has been good for a hold time (hysteresis), so that a flickering signal does not
 * start and stop the workers. A pause is applied at the next slice boundary (a few ms); the
 * running unit waits and continues on resume, and its lease is kept.
 */
import type { ErrorName } from '../protocol/index.ts'

export type PauseReason = 'tab-hidden' | 'battery-low' | 'cpu-pressure'

/** Human-readable text for each pause reason (the page shows it). */
export const PAUSE_REASON_TEXT: Record<PauseReason, string> = {
  'tab-hidden': 'the tab is hidden',
  'battery-low': 'the battery is discharging and low',
  'cpu-pressure': 'the system reports serious CPU pressure'
}

export interface GovernorSettings {
  /** Share of the machine's CPU cores, 0.1-1. */
  cpuShare: number
  /** Share of GPU time, 0.1-1. */
  gpuShare: number
}

export interface GovernorState extends GovernorSettings {
  /** Logical cores of the machine. */
  cores: number
  /** Worker slots that may run now (0 while paused). */
  workers: number
  /** Worker slots the share calls for (whether paused or not). */
  plannedWorkers: number
  /** Fraction of wall time each running worker computes, (0, 1]. */
  dutyCycle: number
  /** The CPU share the worker cap allows (≤ cpuShare). */
  reachableCpuShare: number
  paused: boolean
  pauseReasons: PauseReason[]
}

export const MIN_SHARE = 0.1
export const MAX_SHARE = 1
export const DEFAULT_SETTINGS: GovernorSettings = { cpuShare: 0.5, gpuShare: 0.5 }

/** A share outside 10%-100% (or not a number). */
export class ShareOutOfRangeError extends RangeError {
  static override readonly name: ErrorName = 'ShareOutOfRangeError'
  override readonly name: ErrorName = 'ShareOutOfRangeError'
  constructor (what: string, value: unknown) {
    super(`${what} share must be between ${MIN_SHARE * 100}% and ${MAX_SHARE * 100}%, got ${String(value)}`)
  }
}

function checkShare (what: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_SHARE - 1e-9 || value > MAX_SHARE + 1e-9) throw new ShareOutOfRangeError(what, value)
  return Math.round(value * 100) / 100
}

/** Settings read from storage: invalid or missing values fall back to the defaults. */
export function sanitizeSettings (raw: unknown): GovernorSettings {
  const r = (raw ?? {}) as Partial<GovernorSettings>
  const pick = (what: string, v: unknown, fallback: number): number => {
    try { return checkShare(what, v as number) } catch { return fallback }
  }
  return { cpuShare: pick('CPU', r.cpuShare, DEFAULT_SETTINGS.cpuShare), gpuShare: pick('GPU', r.gpuShare, DEFAULT_SETTINGS.gpuShare) }
}

export class Governor {
  private settings: GovernorSettings
  private readonly reasons = new Set<PauseReason>()
  private readonly listeners = new Set<(state: GovernorState) => void>()
  private waiters: Array<() => void> = []

  /**
   * @param cores logical cores of the machine (≥ 1)
   * @param maxWorkers most worker slots the page has (≥ 1)
   */
  constructor (readonly cores: number, readonly maxWorkers: number, settings: GovernorSettings = DEFAULT_SETTINGS) {
    this.cores = Math.max(1, Math.floor(cores))
    this.maxWorkers = Math.max(1, Math.floor(maxWorkers))
    this.settings = sanitizeSettings(settings)
  }

  get state (): GovernorState {
    const { workers, duty } = this.cpuPlanUnpaused()
    const paused = this.reasons.size > 0
    return {
      ...this.settings,
      cores: this.cores,
      workers: paused ? 0 : workers,
      plannedWorkers: workers,
      dutyCycle: duty,
      reachableCpuShare: Math.min(this.settings.cpuShare, workers * duty / this.cores),
      paused,
      pauseReasons: [...this.reasons].sort()
    }
  }

  get paused (): boolean { return this.reasons.size > 0 }

  private cpuPlanUnpaused (): { workers: number, duty: number } {
    const cores = this.settings.cpuShare * this.cores
    const workers = Math.max(1, Math.min(this.maxWorkers, Math.ceil(cores - 1e-9)))
    return { workers, duty: Math.min(1, cores / workers) }
  }

  /** Worker count and per-worker duty cycle for the WASM slots (workers 0 while paused). */
  cpuPlan (): { workers: number, duty: number, paused: boolean } {
    const plan = this.cpuPlanUnpaused()
    return { ...plan, paused: this.paused, workers: this.paused ? 0 : plan.workers }
  }

  /** What a GPU worker obeys: the fraction of wall time it may keep the GPU busy, and the pause gate. */
  gpuPlan (): { duty: number, paused: boolean } {
    return { duty: this.settings.gpuShare, paused: this.paused }
  }

  /**
   * Change the shares (each 0.1-1; an omitted one is kept).
   * @throws ShareOutOfRangeError for a value outside 10%-100%
   */
  setShares (update: Partial<GovernorSettings>): GovernorSettings {
    const next = { ...this.settings }
    if (update.cpuShare != null) next.cpuShare = checkShare('CPU', update.cpuShare)
    if (update.gpuShare != null) next.gpuShare = checkShare('GPU', update.gpuShare)
    this.settings = next
    this.emit()
    return { ...next }
  }

  /** Set or clear one pause reason (sensors apply their own hysteresis before clearing). */
  setPause (reason: PauseReason, active: boolean): void {
    if (active === this.reasons.has(reason)) return
    if (active) this.reasons.add(reason)
    else this.reasons.delete(reason)
    this.emit()
  }

  subscribe (fn: (state: GovernorState) => void): () => void {
    this.listeners.add(fn)
    fn(this.state)
    return () => { this.listeners.delete(fn) }
  }

  /**
   * Resolves when slot `index` may take work (not paused and index < allowed workers), or when
   * `signal` aborts.
   */
  async whenSlotMayRun (index: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && (this.paused || index >= this.cpuPlan().workers)) {
      await new Promise<void>(resolve => {
        const done = (): void => { signal.removeEventListener('abort', done); resolve() }
        this.waiters.push(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }

  /**
   * GPU work's gate: resolves when not paused (or when `signal` aborts). The GPU worker then keeps
   * to its share by resting `gpuRestMs(busyMs)` after each tile.
   */
  async whenGpuMayRun (signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.paused) {
      await new Promise<void>(resolve => {
        const done = (): void => { signal.removeEventListener('abort', done); resolve() }
        this.waiters.push(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }

  /** Rest (ms) after `busyMs` of GPU work so that busy / (busy + rest) equals the GPU share. */
  gpuRestMs (busyMs: number): number {
    const duty = this.settings.gpuShare
    return duty >= 1 ? 0 : busyMs * (1 - duty) / duty
  }

  private emit (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
    const s = this.state
    for (const fn of this.listeners) fn(s)
  }
}

/** Hold times (ms) a condition must stay good before its pause reason is cleared. */
export interface SensorOptions {
  /** Tab visible again -> resume after this long (default 1000 ms). */
  visibleHoldMs?: number
  /** Battery charging or above threshold + 5 points -> resume after this long (default 5000 ms). */
  batteryHoldMs?: number
  /** Pause when discharging below this level, 0-1 (default 0.2). */
  batteryThreshold?: number
  /**
   * Pressure back to nominal/fair -> resume after this long (default 10000 ms; doubles, up to
   * 5 min, when pressure returns within a minute of resuming: the workers' own load is part of
   * the pressure, and the backoff keeps that from flapping).
   */
  pressureHoldMs?: number
  /** A pressure reading back to normal within this long of a pressure pause means it was our own load (default 4000 ms; 0 disables the probe). */
  pressureProbeMs?: number
  /**
   * Told each Compute Pressure record's `ownContributionEstimate` (0-1: the browser's estimate of
   * this origin's share of the CPU pressure) where the browser reports one (Chromium, behind a flag
   * or origin trial); never called where it does not.
   */
  onOwnContribution?: (estimate: number) => void
  signal?: AbortSignal
}

/**
 * One pause reason with hysteresis: `bad()` sets it now, `good()` clears it after `holdMs` of
 * uninterrupted good readings.
 */
export class Hysteresis {
  private timer: ReturnType<typeof setTimeout> | undefined
  private hold: number
  private lastResumeAt = -Infinity

  /**
   * @param holdMs good time needed before the reason clears
   * @param backoff when true, a reason that comes back within a minute of clearing doubles the
   *   hold (up to 5 min); 10 min without it resets the hold
   */
  constructor (private readonly governor: Governor, private readonly reason: PauseReason, private readonly holdMs: number, private readonly backoff = false) {
    this.hold = holdMs
  }

  bad (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.governor.state.pauseReasons.includes(this.reason)) return
    if (this.backoff) {
      const since = Date.now() - this.lastResumeAt
      if (since < 60_000) this.hold = Math.min(this.hold * 2, 300_000)
      else if (since > 600_000) this.hold = this.holdMs
    }
    this.governor.setPause(this.reason, true)
  }

  good (): void {
    if (this.timer != null || !this.governor.state.pauseReasons.includes(this.reason)) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.lastResumeAt = Date.now()
      this.governor.setPause(this.reason, false)
    }, this.hold)
  }

  /** Clear the reason now (no hold). */
  clearNow (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.lastResumeAt = Date.now()
    this.governor.setPause(this.reason, false)
  }

  dispose (): void { clearTimeout(this.timer) }
}

/** After a pressure pause, a reading back to nominal/fair within this long means the pressure was our own load (ms). */
export const PRESSURE_PROBE_MS = 4000
/** How long pressure is ignored once it has been shown to be our own load (ms). */
export const PRESSURE_SELF_IGNORE_MS = 5 * 60_000

interface BatteryLike extends EventTarget { charging: boolean, level: number }
type PressureRecordLike = { state: 'nominal' | 'fair' | 'serious' | 'critical', ownContributionEstimate?: number }
interface PressureObserverLike { observe: (source: 'cpu', options?: { sampleInterval?: number }) => Promise<void>, disconnect: () => void }

/**
 * A pressure record's `ownContributionEstimate` (0-1, the browser's estimate of this origin's share
 * of the pressure), or null where the browser does not report one or reports a value outside 0-1.
 */
export function ownContributionOf (record: { ownContributionEstimate?: unknown }): number | null {
  const own = record.ownContributionEstimate
  return typeof own === 'number' && own >= 0 && own <= 1 ? own : null
}

/** Which sensors were found in this browser. */
export interface SensorReport { visibility: boolean, battery: boolean, pressure: boolean }

/**
 * Attach the browser's signals to the governor: Page Visibility, the Battery Status API (where
 * present) and the Compute Pressure API (where present). Missing APIs are skipped.
 */
export async function attachBrowserSensors (governor: Governor, opts: SensorOptions = {}): Promise<SensorReport> {
  const report: SensorReport = { visibility: false, battery: false, pressure: false }
  const signal = opts.signal
  const g = globalThis as unknown as {
    document?: Document
    navigator?: { getBattery?: () => Promise<BatteryLike> }
    PressureObserver?: new (cb: (records: PressureRecordLike[]) => void) => PressureObserverLike
  }

  if (g.document != null) {
    const doc = g.document
    const h = new Hysteresis(governor, 'tab-hidden', opts.visibleHoldMs ?? 1000)
    const check = (): void => { if (doc.visibilityState === 'hidden') h.bad(); else h.good() }
    doc.addEventListener('visibilitychange', check, { signal })
    signal?.addEventListener('abort', () => { h.dispose() }, { once: true })
    check()
    report.visibility = true
  }

  if (typeof g.navigator?.getBattery === 'function') {
    try {
      const battery = await g.navigator.getBattery()
      const threshold = opts.batteryThreshold ?? 0.2
      const h = new Hysteresis(governor, 'battery-low', opts.batteryHoldMs ?? 5000)
      const check = (): void => {
        if (!battery.charging && battery.level < threshold) h.bad()
        else if (battery.charging || battery.level >= threshold + 0.05) h.good()
      }
      battery.addEventListener('chargingchange', check, { signal })
      battery.addEventListener('levelchange', check, { signal })
      signal?.addEventListener('abort', () => { h.dispose() }, { once: true })
      check()
      report.battery = true
    } catch { /* not allowed here (e.g. permissions policy) */ }
  }

  if (typeof g.PressureObserver === 'function') {
    try {
      const h = new Hysteresis(governor, 'cpu-pressure', opts.pressureHoldMs ?? 10_000, true)
      // The pressure is the whole system's, our workers included. A pause is also a probe: when the
      // reading falls back to nominal/fair within PRESSURE_PROBE_MS of pausing, the pressure was our
      // own load at the share the visitor chose, so work resumes at once and pressure is ignored for
      // PRESSURE_SELF_IGNORE_MS (one short probe per 5 min, no flapping). Pressure that stays up
      // while we are paused is someone else's: the pause holds until nominal/fair for the hold time.
      let pausedAt = 0
      let ignoreUntil = 0
      const observer = new g.PressureObserver(records => {
        const last = records[records.length - 1]
        if (last == null) return
        const now = Date.now()
        const pausedByPressure = governor.state.pauseReasons.includes('cpu-pressure')
        // where the browser estimates this origin's own share of the pressure, 'serious' pressure
        // mostly caused by the workers does not pause; 'critical' does
        const own = ownContributionOf(last)
        if (own != null) opts.onOwnContribution?.(own)
        const ours = own != null && own > 0.5
        if (last.state === 'critical' || (last.state === 'serious' && !ours)) {
          if (now < ignoreUntil) return
          if (!pausedByPressure) pausedAt = now
          h.bad()
        } else if (pausedByPressure && now - pausedAt <= (opts.pressureProbeMs ?? PRESSURE_PROBE_MS)) {
          ignoreUntil = now + PRESSURE_SELF_IGNORE_MS
          h.clearNow()
        } else {
          h.good()
        }
      })
      await observer.observe('cpu', { sampleInterval: 1000 })
      signal?.addEventListener('abort', () => { observer.disconnect(); h.dispose() }, { once: true })
      report.pressure = true
    } catch { /* source not supported on this platform */ }
  }
  return report
}
