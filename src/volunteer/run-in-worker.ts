/**
 * The one way a slot runs work in a Web Worker. {@link WorkerHost} owns a worker made on demand by
 * a factory (kept between runs, so a loaded kernel or a GPU device is reused) and its comlink
 * remote; {@link runInWorker} runs one job on it and ends it in exactly one of these ways:
 *
 * - the job resolves: its value is returned, the worker is kept;
 * - the caller's signal aborts: the worker is terminated, RunAbortedError;
 * - the deadline passes, counted in governor-allowed compute time (a {@link ComputeClock}: time the
 *   governor pauses the work does not count): terminated, DeadlineExceededError;
 * - the worker fires `error` or `messageerror`: terminated, WorkerCrashedError;
 * - the governor pauses work that cannot pause (`preemptOnPause`): terminated, RunPreemptedError;
 * - the worker is terminated by someone else (`host.terminate()`): RunAbortedError;
 * - the job rejects (the kernel failed in the worker): terminated, the job's error as is.
 *
 * Errors are the runner-types.ts family. Nothing here knows about kernels or the protocol.
 */
import { wrap } from 'comlink'
import { DeadlineExceededError, KernelLoadError, RunAbortedError, RunPreemptedError, WorkerCrashedError } from './runner-types.ts'
import type { Remote } from 'comlink'
import type { ComputeClock } from './throttle.ts'

/** What runInWorker needs of a Worker (a DOM Worker has it; tests pass a fake). */
export interface WorkerLike {
  postMessage: (message: unknown, transfer: Transferable[]) => void
  terminate: () => void
  addEventListener: (type: string, listener: (event: any) => void) => void
  removeEventListener: (type: string, listener: (event: any) => void) => void
}

export interface WorkerHostOptions<R> {
  /** Run once on every new worker before its first job (load a kernel, set the throttle). */
  setup?: (remote: Remote<R>, signal: AbortSignal) => Promise<void>
  /** Prefix of the KernelLoadError message when the worker cannot be made or set up. */
  loadErrorLabel?: string
  /** Called when a worker ends (terminated or crashed), e.g. to keep its busy counter. */
  onEnded?: () => void
}

/** Read through a function: TypeScript would keep an earlier narrowing of `signal.aborted`. */
const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true

/** A clock at 1 ms per wall ms (the default when a run has no governor clock). */
function wallClock (): ComputeClock {
  const t0 = performance.now()
  return { get usedMs () { return performance.now() - t0 }, rate: 1, paused: false, onChange: () => () => {} }
}

const describeEvent = (event: unknown): string => {
  const e = event as { type?: string, message?: string, filename?: string, lineno?: number } | undefined
  if (e?.message != null && e.message !== '') return `${e.message}${e.filename != null && e.filename !== '' ? ` at ${e.filename}:${e.lineno ?? 0}` : ''}`
  return e?.type === 'messageerror' ? 'a message from the worker could not be deserialized' : 'the worker failed'
}

export class WorkerHost<R> {
  private worker: WorkerLike | undefined
  private ready: Remote<R> | undefined
  private starting: Promise<Remote<R>> | undefined
  private readonly endListeners = new Set<(reason: Error) => void>()

  constructor (private readonly factory: () => WorkerLike, private readonly opts: WorkerHostOptions<R> = {}) {}

  /** Whether a worker is alive (made, not terminated). */
  get alive (): boolean { return this.worker != null }

  /** The set-up worker's remote, or undefined. */
  get remote (): Remote<R> | undefined { return this.ready }

  /**
   * The worker's remote, making and setting up a worker first if there is none.
   * @throws KernelLoadError when the factory throws, setup fails or the worker crashes during setup
   * @throws RunAbortedError when `signal` aborts first (the new worker is terminated)
   */
  async start (signal?: AbortSignal): Promise<Remote<R>> {
    if (this.ready != null) return this.ready
    this.starting ??= this.make(signal).finally(() => { this.starting = undefined })
    return await this.starting
  }

  private async make (signal: AbortSignal | undefined): Promise<Remote<R>> {
    const label = this.opts.loadErrorLabel ?? 'worker failed to start'
    if (signal?.aborted === true) throw new RunAbortedError()
    let worker: WorkerLike
    try {
      worker = this.factory()
    } catch (err) {
      if (err instanceof KernelLoadError) throw err
      throw new KernelLoadError(`${label}: ${(err as Error)?.message ?? String(err)}`)
    }
    this.worker = worker
    const onFail = (event: unknown): void => {
      if (this.worker !== worker) return
      this.end(new WorkerCrashedError(`worker crashed: ${describeEvent(event)}`))
    }
    worker.addEventListener('error', onFail)
    worker.addEventListener('messageerror', onFail)
    const remote = wrap<R>(worker as never)
    if (this.opts.setup != null) {
      try {
        await runGuarded(this, async s => { await this.opts.setup!(remote, s) }, signal)
      } catch (err) {
        if (this.worker === worker) this.terminate()
        if (err instanceof RunAbortedError && isAborted(signal)) throw err
        throw new KernelLoadError(`${label}: ${(err as Error)?.message ?? String(err)}`)
      }
    }
    if (this.worker !== worker) throw new KernelLoadError(`${label}: the worker ended during setup`)
    this.ready = remote
    return remote
  }

  /** Terminate the worker now (any run on it ends with RunAbortedError); the next start makes a new one. */
  terminate (): void {
    if (this.worker != null) this.end(new RunAbortedError('worker terminated'))
  }

  private end (reason: Error): void {
    const worker = this.worker
    this.worker = undefined
    this.ready = undefined
    worker?.terminate()
    this.opts.onEnded?.()
    for (const fn of [...this.endListeners]) fn(reason)
  }

  /** @returns a function that removes the listener */
  onEnd (fn: (reason: Error) => void): () => void {
    this.endListeners.add(fn)
    return () => { this.endListeners.delete(fn) }
  }
}

export interface RunInWorkerOptions {
  /** Aborting ends the run at once: the worker is terminated, RunAbortedError. */
  signal: AbortSignal
  /** Limit of the run, in ms of `clock.usedMs` (allowed compute time). */
  deadlineMs: number
  /** Counts the run's allowed compute time (default: wall time). ThrottleGate.clock makes one. */
  clock?: ComputeClock
  /** End the run with RunPreemptedError (worker terminated) as soon as `clock.paused` is true. */
  preemptOnPause?: boolean
}

/**
 * Run `job` on the host's worker (made and set up first when needed).
 * @param host a WorkerHost (kept after the run unless it had to be terminated), or a worker factory
 *   (a one-off worker, terminated when the run ends)
 * @param job calls the worker through its comlink remote; its signal aborts when the run ends
 * @returns what `job` resolved with
 * @throws RunAbortedError, DeadlineExceededError, WorkerCrashedError, RunPreemptedError,
 *   KernelLoadError (see the module comment), or the job's own error
 */
export async function runInWorker<R, T> (
  host: WorkerHost<R> | (() => WorkerLike),
  job: (remote: Remote<R>, signal: AbortSignal) => Promise<T>,
  opts: RunInWorkerOptions
): Promise<T> {
  const owned = typeof host === 'function' ? new WorkerHost<R>(host) : undefined
  const h = owned ?? host as WorkerHost<R>
  try {
    const remote = await h.start(opts.signal)
    return await runGuarded(h, async s => await job(remote, s), opts.signal, opts)
  } finally {
    owned?.terminate()
  }
}

const MAX_TIMER_MS = 0x7fffffff

/** Race `job` against abort, the host's end, and (with `limits`) the deadline and preemption. */
async function runGuarded<R, T> (host: WorkerHost<R>, job: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, limits?: Omit<RunInWorkerOptions, 'signal'>): Promise<T> {
  if (signal?.aborted === true) { host.terminate(); throw new RunAbortedError() }
  const clock = limits?.clock ?? wallClock()
  const runSignal = new AbortController()
  return await new Promise<T>((resolve, reject) => {
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const cleanup: Array<() => void> = []
    const finish = (ok: boolean, value: unknown, terminate: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const fn of cleanup) fn()
      runSignal.abort()
      if (terminate) host.terminate()
      if (ok) resolve(value as T)
      else reject(value)
    }
    const onAbort = (): void => { finish(false, new RunAbortedError(), true) }
    signal?.addEventListener('abort', onAbort, { once: true })
    cleanup.push(() => signal?.removeEventListener('abort', onAbort))
    cleanup.push(host.onEnd(reason => { finish(false, reason, false) }))
    const check = (): void => {
      clearTimeout(timer)
      if (limits == null || settled) return
      if (limits.preemptOnPause === true && clock.paused) {
        finish(false, new RunPreemptedError('paused by the governor: the run cannot pause, so its worker was terminated'), true)
        return
      }
      const left = limits.deadlineMs - clock.usedMs
      if (left <= 0) {
        finish(false, new DeadlineExceededError(`deadline of ${limits.deadlineMs} ms exceeded (compute time the governor allowed); worker terminated`), true)
        return
      }
      if (clock.rate > 0) timer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(1, left / clock.rate)))
    }
    cleanup.push(clock.onChange(check))
    check()
    if (settled) return
    job(runSignal.signal).then(
      value => { finish(true, value, false) },
      err => { finish(false, signal?.aborted === true ? new RunAbortedError() : err, true) }
    )
  })
}
