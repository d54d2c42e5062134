/**
 * The worker side of the governor: a duty cycle and a pause gate applied at slice boundaries.
 * The page's governor (src/volunteer/governor.ts) decides; this only obeys. No protocol imports.
 *
 * Accounting: `busy` is the wall time spent inside kernel slices, `wall` the time since the
 * accounting window began. After a slice, when busy > duty x wall the runner rests for
 * busy / duty - wall ms, so that busy / wall converges on `duty`. Oversleeping by the timer is
 * absorbed (it counts as idle wall time). The window restarts every ~1 s (error: at most one slice
 * per window) and on every change of duty or pause, so that a pause is not "paid back" by a burst.
 */

/** What the kernel loop calls after each slice. */
export interface SliceThrottle {
  /**
   * @param sliceMs wall time of the slice just run, in ms
   * @returns a promise to await before the next slice (a rest or a pause), or undefined to go on
   */
  afterSlice: (sliceMs: number) => Promise<void> | undefined
  /** Count busy time without resting (the last slice of a range). */
  recordBusy: (sliceMs: number) => void
}

/** Duty cycle and pause state set by the page. */
export interface ThrottleSettings {
  /** Fraction of wall time this worker may compute, (0, 1]. */
  duty: number
  /** While true, the runner waits at the next slice boundary; the unit continues on resume. */
  paused: boolean
}

/** Shortest rest worth a timer, in ms (shorter debts are carried to the next slice). */
const MIN_REST_MS = 4
/** Length of an accounting window, in ms. */
const WINDOW_MS = 1000

export class DutyCycle implements SliceThrottle {
  private duty = 1
  private paused = false
  private windowStart = performance.now()
  private windowBusy = 0
  private totalBusy = 0
  private wake: (() => void) | undefined

  /** Apply new settings; wakes a resting or paused runner so that they take effect at once. */
  set (settings: ThrottleSettings): void {
    const duty = Number.isFinite(settings.duty) ? Math.min(1, Math.max(0.01, settings.duty)) : 1
    if (duty === this.duty && settings.paused === this.paused) return
    this.duty = duty
    this.paused = settings.paused
    this.resetWindow()
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Total ms spent computing slices since this object was made. */
  get busyMs (): number { return this.totalBusy }

  recordBusy (sliceMs: number): void {
    this.totalBusy += sliceMs
    this.windowBusy += sliceMs
  }

  afterSlice (sliceMs: number): Promise<void> | undefined {
    this.recordBusy(sliceMs)
    if (this.paused) return this.waitWhilePaused()
    if (this.duty >= 1) {
      if (performance.now() - this.windowStart > WINDOW_MS) this.resetWindow()
      return undefined
    }
    const wall = performance.now() - this.windowStart
    const rest = this.windowBusy / this.duty - wall
    if (rest < MIN_REST_MS) return undefined
    return this.rest(rest)
  }

  private resetWindow (): void {
    this.windowStart = performance.now()
    this.windowBusy = 0
  }

  private rest (ms: number): Promise<void> {
    return new Promise<void>(resolve => {
      const timer = setTimeout(() => { this.wake = undefined; done() }, ms)
      const done = (): void => {
        clearTimeout(timer)
        if (performance.now() - this.windowStart > WINDOW_MS) this.resetWindow()
        resolve()
      }
      this.wake = done
    }).then(() => this.paused ? this.waitWhilePaused() : undefined)
  }

  private async waitWhilePaused (): Promise<void> {
    while (this.paused) {
      await new Promise<void>(resolve => { this.wake = resolve })
    }
    this.resetWindow()
  }
}
