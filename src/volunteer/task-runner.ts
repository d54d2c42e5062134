/**
 * The primes slot: one Web Worker (workers/wasm-runner.ts) that runs `primes-sieve/1` units, driven
 * through comlink by {@link runInWorker}; the worker returns the unit's output bytes (the count
 * and its checkpoints, src/protocol/primes.ts). The worker obeys the governor's duty cycle and pause at
 * every ~4 ms slice (workers/duty-cycle.ts); the unit's deadline counts only the compute time the
 * governor allowed. A run past it, a crashed worker or a failed kernel is a client error; stopping
 * terminates the worker at once (the slot makes a fresh one next time).
 *
 * The types shared by every slot live in runner-types.ts; they are re-exported here for the
 * modules that import them from this file.
 */
import { proxy } from 'comlink'
import { PRIMES_KERNEL_ID, decodePrimesInput } from '../protocol/index.ts'
import { GovernedSlot } from './governed-slot.ts'
import { runInWorker } from './run-in-worker.ts'
import { clientErrorReport, failureReport } from './runner-types.ts'
import type { WasmRunner } from '../../workers/wasm-runner.ts'
import type { RunReport, RunnableUnit, WorkerFactory } from './runner-types.ts'

export {
  RunAbortedError, KernelLoadError, DeadlineExceededError, WorkerCrashedError, RunPreemptedError, RunnerError
} from './runner-types.ts'
export type { RunReport, RunnableUnit, WorkerFactory, ThrottleSettings } from './runner-types.ts'

export class WasmSlot extends GovernedSlot<WasmRunner> {
  /**
   * @param createWorker makes a workers/wasm-runner.ts worker
   * @param wasmUrl the primes kernel's .wasm, resolved against the page's location
   */
  constructor (createWorker: WorkerFactory, wasmUrl: string) {
    super(createWorker, 'kernel load failed', async remote => { await remote.load(new URL(wasmUrl, globalThis.location?.href).toString()) })
  }

  /**
   * Run one unit. Resolves with a success or client-error report.
   * @param onProgress numbers sieved so far and the unit's total, at most every ~100 ms
   * @throws RunAbortedError when `signal` aborts (the worker has been terminated)
   * @throws KernelLoadError when the kernel could not be loaded (transient; retry the unit later)
   */
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<RunReport> {
    const started = performance.now()
    if (unit.kernel !== PRIMES_KERNEL_ID) return clientErrorReport(`unknown kernel ${unit.kernel}`, started)
    let range
    try {
      range = decodePrimesInput(unit.input)
    } catch (err) {
      return clientErrorReport(`bad input: ${(err as Error).message}`, started)
    }
    const progress = opts.onProgress != null ? proxy(opts.onProgress) : undefined
    // the deadline counts compute time the governor allowed: paused time not at all, and time
    // under a duty cycle d at the rate d (a unit at 30% takes ~3.3x the wall time)
    const clock = this.gate.clock('governed')
    try {
      const output = await runInWorker(this.host, async remote => await remote.primesOutput(range.lo, range.hi, progress), { signal: opts.signal, deadlineMs: unit.deadlineMs, clock })
      return { outcome: 'success', output, elapsedMs: Math.round(performance.now() - started), errorMessage: '' }
    } catch (err) {
      return failureReport(err, started)
    } finally {
      clock.dispose()
    }
  }
}
