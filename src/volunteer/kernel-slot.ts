/**
 * A worker slot for researcher kernels (ABI 1 and 2, docs/kernel-abi.md): runs a `k1:` lease in
 * its own Web Worker (workers/kernel-runner.ts) through {@link runInWorker}. Before anything runs,
 * the kernel is resolved and verified (hub -> researcher -> kernel, kernel-resolver.ts); the worker
 * then refuses a WASM module that imports outside the whitelist or declares too much memory, and
 * compiles a WGSL kernel on its own WebGPU device. A run past its deadline is ended with
 * `worker.terminate()`; an output past its cap is refused; each is a client error and the next
 * work unit runs in a fresh worker.
 *
 * How each kind obeys the governor (plans set with applyThrottle / applyGpuThrottle):
 *
 * | kernel | share | pause | deadline counts |
 * |---|---|---|---|
 * | wasm, ABI 2 | duty cycle inside the worker, ~4 ms slices | at the next slice boundary; the unit goes on at resume | allowed compute time (duty × unpaused wall time) |
 * | wasm, ABI 1 | waits for the gate before a unit, rests busy × (1 − d) / d after it | the worker is terminated at once (RunPreemptedError) and the unit reruns from the start at resume | wall time while it runs |
 * | webgpu | as ABI 1, in the GPU share | at the next unit (one dispatch is short) | wall time |
 */
import { KERNEL_REFUSAL_NAMES } from '../protocol/index.ts'
import { GovernedSlot } from './governed-slot.ts'
import { runInWorker } from './run-in-worker.ts'
import { KernelLoadError, RunAbortedError, RunPreemptedError, clientErrorReport, failureReport } from './runner-types.ts'
import { ThrottleGate } from './throttle.ts'
import type { WorkerHost } from './run-in-worker.ts'
import type { ResolvedKernel } from './kernel-resolver.ts'
import type { RunReport, RunnableUnit, ThrottleSettings, WorkerFactory } from './runner-types.ts'
import type { KernelLimits, KernelRunner } from '../../workers/kernel-runner.ts'
import type { ErrorName } from '../protocol/index.ts'

/** This browser cannot run the kernel (a webgpu kernel without WebGPU): give the lease back. */
export class KernelUnsupportedError extends Error {
  static override readonly name: ErrorName = 'KernelUnsupportedError'
  override readonly name: ErrorName = 'KernelUnsupportedError'
  constructor (message: string) { super(message) }
}

export class KernelSlot extends GovernedSlot<KernelRunner> {
  private readonly gpu = new ThrottleGate()

  /** @param createWorker makes a workers/kernel-runner.ts worker (may throw KernelLoadError) */
  constructor (createWorker: WorkerFactory) {
    super(createWorker, 'kernel worker failed to start')
  }

  // applyThrottle (the CPU plan), paused, busyMs, alive, terminate: GovernedSlot. An ABI 2
  // kernel's worker applies the plan at its next slice boundary; ABI 1 units are gated and rested
  // by it, and a pause preempts a running ABI 1 unit.

  /** The governor's GPU plan (`gpuPlan()`: the GPU share as duty, paused) for WGSL kernels, applied between units. */
  applyGpuThrottle (settings: ThrottleSettings): void {
    this.gpu.set(settings)
  }

  /**
   * Resolve and run one researcher-kernel unit.
   * @param resolveKernel fetches and verifies the kernel (may throw a refusal or a network error)
   * @throws RunAbortedError when `signal` aborts; KernelLoadError when the kernel could not be
   *   fetched (transient: retry later); KernelUnsupportedError for a webgpu kernel without WebGPU
   */
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, resolveKernel: () => Promise<ResolvedKernel> }): Promise<RunReport> {
    const started = performance.now()
    let kernel: ResolvedKernel
    try {
      kernel = await opts.resolveKernel()
    } catch (err) {
      if (opts.signal.aborted) throw new RunAbortedError()
      const e = err as Error
      if (KERNEL_REFUSAL_NAMES.has(e.name as ErrorName) || KERNEL_REFUSAL_NAMES.has(((e as { remoteName?: string }).remoteName ?? '') as ErrorName)) return clientErrorReport(`kernel refused: ${e.name}: ${e.message}`, started)
      throw new KernelLoadError(`kernel fetch failed: ${e.message}`)
    }
    if (opts.signal.aborted) throw new RunAbortedError()
    const { manifest } = kernel
    if (manifest.backend === 'webgpu' && (globalThis.navigator as { gpu?: unknown } | undefined)?.gpu == null) {
      throw new KernelUnsupportedError('this browser has no WebGPU for a webgpu kernel')
    }
    const deviceClass = manifest.backend === 'webgpu' ? 'webgpu' : 'wasm'
    const limits: KernelLimits = {
      kernelId: manifest.kernelId,
      abi: manifest.abi,
      backend: deviceClass,
      memoryBytes: manifest.memoryBytes,
      maxOutputBytes: manifest.maxOutputBytes,
      workgroupSize: manifest.workgroupSize,
      outputBytes: manifest.outputBytes
    }
    const job = async (remote: KernelRunnerRemote): Promise<Uint8Array> => await remote.run(kernel.bytes, limits, unit.input)
    const deadlineMs = Math.min(unit.deadlineMs, manifest.deadlineMs)
    try {
      const output = deviceClass === 'wasm' && manifest.abi >= 2
        ? await this.runSliced(job, deadlineMs, opts.signal)
        : await this.runBetweenUnits(job, deadlineMs, opts.signal, deviceClass === 'webgpu' ? this.gpu : this.gate, deviceClass === 'wasm')
      return { outcome: 'success', output, elapsedMs: Math.round(performance.now() - started), errorMessage: '', deviceClass }
    } catch (err) {
      return failureReport(err, started, deviceClass)
    }
  }

  /** ABI 2: the worker obeys the duty cycle and pause; the deadline counts allowed compute time. */
  private async runSliced (job: (remote: KernelRunnerRemote) => Promise<Uint8Array>, deadlineMs: number, signal: AbortSignal): Promise<Uint8Array> {
    const clock = this.gate.clock('governed')
    try {
      return await runInWorker(this.host, job, { signal, deadlineMs, clock })
    } finally {
      clock.dispose()
    }
  }

  /**
   * A unit that cannot be sliced (ABI 1, WGSL): start it only while `gate` is not paused, rest
   * after it so the share holds, and with `preempt` end it at a pause and rerun it at resume (the
   * deadline counts the time it ran in all its tries).
   */
  private async runBetweenUnits (job: (remote: KernelRunnerRemote) => Promise<Uint8Array>, deadlineMs: number, signal: AbortSignal, gate: ThrottleGate, preempt: boolean): Promise<Uint8Array> {
    const clock = gate.clock(preempt ? 'running' : 'wall')
    let busyMs = 0
    try {
      for (;;) {
        await gate.whenRunning(signal)
        const t0 = performance.now()
        try {
          return await runInWorker(this.host, job, { signal, deadlineMs, clock, preemptOnPause: preempt })
        } catch (err) {
          if (!(err instanceof RunPreemptedError)) throw err
        } finally {
          busyMs += performance.now() - t0
        }
      }
    } finally {
      clock.dispose()
      if (!signal.aborted) await gate.rest(busyMs, signal)
    }
  }
}

type KernelRunnerRemote = NonNullable<WorkerHost<KernelRunner>['remote']>
