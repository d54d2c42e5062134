/**
 * The page side of the governor's plan for one slot: the slot's current {@link ThrottleSettings}
 * (duty cycle and pause), the clocks that count a run's deadline in governor-allowed compute time,
 * and the gate and rest that throttle work which cannot be sliced inside the worker (GPU tiles,
 * WGSL dispatches, ABI 1 kernels) between units.
 */
import { RunAbortedError } from './runner-types.ts'
import type { ThrottleSettings } from './runner-types.ts'

/**
 * Compute time a run has been allowed so far, for its deadline (read by runInWorker).
 * `usedMs` grows at `rate` ms per wall ms; listeners hear every change of rate or pause.
 */
export interface ComputeClock {
  /** Allowed compute time since the clock was made, in ms. */
  readonly usedMs: number
  /** Allowed ms per wall ms now, in [0, 1] (0 while paused). */
  readonly rate: number
  /** True while the governor pauses the work. */
  readonly paused: boolean
  /** @returns a function that removes the listener */
  onChange: (fn: () => void) => () => void
}

/** Shortest rest worth a timer, in ms. */
const MIN_REST_MS = 4

/** A slot's governor settings, with waiters for resume and listeners for changes. */
export class ThrottleGate {
  private current: ThrottleSettings = { duty: 1, paused: false }
  private readonly listeners = new Set<() => void>()

  get settings (): ThrottleSettings { return { ...this.current } }
  get paused (): boolean { return this.current.paused }

  /** Apply new settings (duty in (0, 1], clamped to [0.01, 1]). @returns whether anything changed */
  set (settings: ThrottleSettings): boolean {
    const duty = Number.isFinite(settings.duty) ? Math.min(1, Math.max(0.01, settings.duty)) : 1
    if (duty === this.current.duty && settings.paused === this.current.paused) return false
    this.current = { duty, paused: settings.paused }
    for (const fn of [...this.listeners]) fn()
    return true
  }

  /** @returns a function that removes the listener */
  onChange (fn: () => void): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  /**
   * Resolves at once when not paused, else at resume.
   * @throws RunAbortedError when `signal` aborts first
   */
  async whenRunning (signal: AbortSignal): Promise<void> {
    while (this.current.paused) {
      if (signal.aborted) throw new RunAbortedError()
      await new Promise<void>(resolve => {
        const done = (): void => { off(); signal.removeEventListener('abort', done); resolve() }
        const off = this.onChange(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
    if (signal.aborted) throw new RunAbortedError()
  }

  /**
   * After `busyMs` of unsliced work, rest busy × (1 − duty) / duty ms so that busy / (busy + rest)
   * equals the duty, then wait while paused. A change of settings recomputes the rest.
   * @throws RunAbortedError when `signal` aborts
   */
  async rest (busyMs: number, signal: AbortSignal): Promise<void> {
    const started = performance.now()
    for (;;) {
      const { duty } = this.current
      const left = (duty >= 1 ? 0 : busyMs * (1 - duty) / duty) - (performance.now() - started)
      if (left < MIN_REST_MS || this.current.paused) break
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); off(); signal.removeEventListener('abort', done); resolve() }
        const timer = setTimeout(done, left)
        const off = this.onChange(done)
        signal.addEventListener('abort', done, { once: true })
      })
      if (signal.aborted) throw new RunAbortedError()
    }
    await this.whenRunning(signal)
  }

  /**
   * A clock for one run's deadline; `dispose()` it when the unit is over.
   * @param mode 'governed': allowed time accrues at the duty and stops while paused (work that
   *   obeys the duty cycle inside the worker); 'running': at 1 ms per ms, stopped while paused
   *   (unsliced work that is preempted on pause); 'wall': at 1 ms per ms, pauses ignored
   *   (unsliced work that runs on to its end, such as one GPU tile)
   */
  clock (mode: 'governed' | 'running' | 'wall'): ComputeClock & { dispose: () => void } {
    const rateOf = (s: ThrottleSettings): number => mode === 'wall' ? 1 : s.paused ? 0 : mode === 'running' ? 1 : s.duty
    let used = 0
    let since = performance.now()
    let rate = rateOf(this.current)
    const listeners = new Set<() => void>()
    const off = this.onChange(() => {
      const t = performance.now()
      used += (t - since) * rate
      since = t
      rate = rateOf(this.current)
      for (const fn of [...listeners]) fn()
    })
    const gate = this
    return {
      get usedMs () { return used + (performance.now() - since) * rate },
      get rate () { return rate },
      get paused () { return gate.current.paused },
      onChange (fn) {
        listeners.add(fn)
        return () => { listeners.delete(fn) }
      },
      dispose () { off(); listeners.clear() }
    }
  }
}

/**
 * Busy time of a slot's workers as they report it (`stats().busyMs`), kept across terminations:
 * a terminated worker's last report is added to the total.
 */
export class BusyCounter {
  private ended = 0
  private last = 0
  private source: unknown

  /** The worker was terminated: keep its last report. */
  workerEnded (): void {
    this.ended += this.last
    this.last = 0
    this.source = undefined
  }

  /**
   * Total busy ms: asks `read()` (the live worker's counter, or undefined without one), waiting at
   * most 1 s; on a timeout or abort the last report is used.
   * @param owner identifies the worker asked, so a report from a worker ended meanwhile is dropped
   */
  async total (read: (() => Promise<number>) | undefined, owner: unknown, signal?: AbortSignal): Promise<number> {
    if (read != null) {
      this.source = owner
      try {
        const busy = await withTimeout(read(), 1000, signal)
        if (this.source === owner) this.last = busy
      } catch { /* keep the last report */ }
    }
    return this.ended + this.last
  }
}

/** `p`, or a rejection after `ms` or when `signal` aborts. */
async function withTimeout<T> (p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error('timeout')) }, ms)
      onAbort = () => { reject(new RunAbortedError()) }
      signal?.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    clearTimeout(timer)
    if (onAbort != null) signal?.removeEventListener('abort', onAbort)
  }
}
