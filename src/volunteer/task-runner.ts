/**
 * Worker slots: one Web Worker per slot, driven through comlink. A slot runs one replica at a time;
 * a run past the work unit's deadline is ended with `worker.terminate()` and reported as a client
 * error; stopping terminates the worker at once (the slot makes a fresh one next time).
 */
import { wrap } from 'comlink'
import { proxy } from 'comlink'
import { PRIMES_KERNEL_ID, decodePrimesInput, encodePrimesOutput } from '../protocol/index.ts'
import type { ResultOutcome } from '../protocol/index.ts'
import type { WasmRunner } from '../../workers/wasm-runner.ts'
import type { Remote } from 'comlink'

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
}

/** The run was stopped by the visitor (not a client error: the replica is released, not reported). */
export class RunAbortedError extends Error {
  constructor () {
    super('run stopped')
    this.name = 'RunAbortedError'
  }
}

/**
 * The worker or its kernel could not be loaded (e.g. the hub serving the .wasm is unreachable).
 * Transient: the replica is kept and retried, not reported as a client error.
 */
export class KernelLoadError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'KernelLoadError'
  }
}

export type WorkerFactory = () => Worker

export class WasmSlot {
  private worker: Worker | undefined
  private remote: Remote<WasmRunner> | undefined

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
    } catch (err) {
      this.terminate()
      throw new KernelLoadError(`kernel load failed: ${(err as Error)?.message ?? String(err)}`)
    }
    this.remote = remote
    return remote
  }

  /** Kill the worker now (stop button, deadline). */
  terminate (): void {
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
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      const outcome = await new Promise<RunReport>((resolve, reject) => {
        onAbort = () => { this.terminate(); reject(new RunAbortedError()) }
        opts.signal.addEventListener('abort', onAbort, { once: true })
        timer = setTimeout(() => {
          this.terminate()
          resolve(clientError(`deadline of ${unit.deadlineMs} ms exceeded`))
        }, unit.deadlineMs)
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
      clearTimeout(timer)
      if (onAbort != null) opts.signal.removeEventListener('abort', onAbort)
    }
  }
}
