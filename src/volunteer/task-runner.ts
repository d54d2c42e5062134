/**
 * Worker slots: one Web Worker per slot, driven through comlink. A slot runs one replica at a time;
 * a run past the work unit's deadline is ended with `worker.terminate()` and reported as a client
 * error; stopping terminates the worker at once (the slot makes a fresh one next time).
 */
import { wrap } from 'comlink'
import { proxy } from 'comlink'
import { PRIMES_KERNEL_ID, decodePrimesInput, encodePrimesOutput } from '../protocol/index.ts'
import type { DeviceClass, ResultOutcome } from '../protocol/index.ts'
import type { WasmRunner } from '../../workers/wasm-runner.ts'
import type { ThrottleSettings } from '../../workers/duty-cycle.ts'
import type { Remote } from 'comlink'
import type { ErrorName } from '../protocol/index.ts'

export interface RunnableUnit {
  kernel: string
  /** Kernel input bytes (primes-sieve: [lo, hi) as two u64 LE). */
  input: Uint8Array
  /** Wall-clock limit for this run, in milliseconds. */
  deadlineMs: number
}

export interface RunReport {
  outcome: ResultOutcome
  output: Uint8Array
  elapsedMs: number
  errorMessage: string
  /** The class of device that computed it (default 'wasm'); replicas are compared within a class. */
  deviceClass?: DeviceClass
}

/** The run was stopped by the visitor (not a client error: the replica is released, not reported). */
export class RunAbortedError extends Error {
  static override readonly name: ErrorName = 'RunAbortedError'
  override readonly name: ErrorName = 'RunAbortedError'
  constructor () {
    super('run stopped')
  }
}

/**
 * The worker or its kernel could not be loaded (e.g. the hub serving the .wasm is unreachable).
 * Transient: the replica is kept and retried, not reported as a client error.
 */
export class KernelLoadError extends Error {
  static override readonly name: ErrorName = 'KernelLoadError'
  override readonly name: ErrorName = 'KernelLoadError'
  constructor (message: string) {
    super(message)
  }
}

export type WorkerFactory = () => Worker

export class WasmSlot {
  private worker: Worker | undefined
  private remote: Remote<WasmRunner> | undefined
  private throttle: ThrottleSettings = { duty: 1, paused: false }
  /** Busy ms of workers this slot has terminated (their counters are gone). */
  private busyOfEndedWorkers = 0
  private lastBusy = 0

  constructor (private readonly createWorker: WorkerFactory, private readonly wasmUrl: string) {}

  /** Whether a worker is currently alive in this slot. */
  get alive (): boolean { return this.worker != null }

  /** @throws KernelLoadError when the worker cannot load the kernel */
  private async ensureWorker (): Promise<Remote<WasmRunner>> {
    if (this.remote != null) return this.remote
    const worker = this.createWorker()
    this.worker = worker
    const remote = wrap<WasmRunner>(worker)
    try {
      await remote.load(new URL(this.wasmUrl, globalThis.location?.href).toString())
      await remote.setThrottle(this.throttle)
    } catch (err) {
      this.terminate()
      throw new KernelLoadError(`kernel load failed: ${(err as Error)?.message ?? String(err)}`)
    }
    this.remote = remote
    return remote
  }

  /**
   * The governor's duty cycle and pause flag for this slot; sent to the worker now (it applies
   * them at its next slice boundary) and to every worker this slot makes later.
   */
  applyThrottle (settings: ThrottleSettings): void {
    if (settings.duty === this.throttle.duty && settings.paused === this.throttle.paused) return
    this.throttle = { ...settings }
    this.remote?.setThrottle(this.throttle).catch(() => { /* the worker was terminated */ })
  }

  /** Whether this slot's work is paused by the governor. */
  get paused (): boolean { return this.throttle.paused }

  /**
   * Total ms this slot's workers have spent computing (a worker reports its own slice time; a
   * terminated worker's last report is kept).
   */
  async busyMs (signal?: AbortSignal): Promise<number> {
    const remote = this.remote
    if (remote != null) {
      try {
        const stats = await Promise.race([
          remote.stats(),
          new Promise<never>((_resolve, reject) => {
            const t = setTimeout(() => { reject(new Error('stats timeout')) }, 1000)
            signal?.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')) }, { once: true })
          })
        ])
        if (remote === this.remote) this.lastBusy = stats.busyMs
      } catch { /* keep the last report */ }
    }
    return this.busyOfEndedWorkers + this.lastBusy
  }

  /** Kill the worker now (stop button, deadline). */
  terminate (): void {
    if (this.worker != null) { this.busyOfEndedWorkers += this.lastBusy; this.lastBusy = 0 }
    this.worker?.terminate()
    this.worker = undefined
    this.remote = undefined
  }

  /**
   * Run one unit. Resolves with a success or client-error report.
   * @param onProgress numbers sieved so far and the unit's total, at most every ~100 ms
   * @throws RunAbortedError when `signal` aborts (the worker has been terminated)
   * @throws KernelLoadError when the kernel could not be loaded (transient; retry the unit later)
   */
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<RunReport> {
    const started = performance.now()
    const clientError = (message: string): RunReport => ({ outcome: 'client-error', output: new Uint8Array(0), elapsedMs: Math.round(performance.now() - started), errorMessage: message.slice(0, 1000) })
    if (unit.kernel !== PRIMES_KERNEL_ID) return clientError(`unknown kernel ${unit.kernel}`)
    let range
    try {
      range = decodePrimesInput(unit.input)
    } catch (err) {
      return clientError(`bad input: ${(err as Error).message}`)
    }
    if (opts.signal.aborted) throw new RunAbortedError()
    const remote = await this.ensureWorker()
    if (opts.signal.aborted) { this.terminate(); throw new RunAbortedError() }
    let timer: ReturnType<typeof setInterval> | undefined
    let onAbort: (() => void) | undefined
    try {
      const outcome = await new Promise<RunReport>((resolve, reject) => {
        onAbort = () => { this.terminate(); reject(new RunAbortedError()) }
        opts.signal.addEventListener('abort', onAbort, { once: true })
        // The deadline counts compute time the governor allowed: paused time not at all, and time
        // under a duty cycle d at the rate d (a unit at 30% takes ~3.3x the wall time).
        let used = 0
        let last = performance.now()
        timer = setInterval(() => {
          const t = performance.now()
          if (!this.throttle.paused) used += (t - last) * this.throttle.duty
          last = t
          if (used >= unit.deadlineMs) {
            this.terminate()
            resolve(clientError(`deadline of ${unit.deadlineMs} ms exceeded`))
          }
        }, Math.max(10, Math.min(250, unit.deadlineMs / 4)))
        remote.countPrimes(range.lo, range.hi, opts.onProgress != null ? proxy(opts.onProgress) : undefined)
          .then(count => { resolve({ outcome: 'success', output: encodePrimesOutput(count), elapsedMs: Math.round(performance.now() - started), errorMessage: '' }) })
          .catch(err => {
            if (opts.signal.aborted) { reject(new RunAbortedError()); return }
            this.terminate()
            resolve(clientError(`kernel failed: ${(err as Error)?.message ?? String(err)}`))
          })
      })
      return outcome
    } finally {
      clearInterval(timer)
      if (onAbort != null) opts.signal.removeEventListener('abort', onAbort)
    }
  }
}
