/**
 * A worker slot for researcher kernels (ABI 1, docs/kernel-abi.md): runs a `k1:` lease in its own
 * Web Worker (workers/kernel-runner.ts). Before anything runs, the kernel is resolved and verified
 * (hub -> researcher -> kernel, kernel-resolver.ts); the worker then refuses a WASM module that
 * imports outside the whitelist or declares too much memory, and compiles a WGSL kernel on its own
 * WebGPU device. A run past the manifest's deadline is ended
 * with `worker.terminate()`; an output past its cap is refused; each is a client error and the
 * next work unit runs in a fresh worker.
 */
import { wrap } from 'comlink'
import { KernelLoadError, RunAbortedError } from './task-runner.ts'
import type { ResolvedKernel } from './kernel-resolver.ts'
import type { RunReport, RunnableUnit, WorkerFactory } from './task-runner.ts'
import type { KernelRunner } from '../../workers/kernel-runner.ts'
import type { Remote } from 'comlink'
import { KERNEL_REFUSAL_NAMES } from '../protocol/index.ts'
import type { ErrorName } from '../protocol/index.ts'


/** This browser cannot run the kernel (a webgpu kernel without WebGPU): give the lease back. */
export class KernelUnsupportedError extends Error {
  static override readonly name: ErrorName = 'KernelUnsupportedError'
  override readonly name: ErrorName = 'KernelUnsupportedError'
  constructor (message: string) { super(message) }
}

export class KernelSlot {
  private worker: Worker | undefined
  private remote: Remote<KernelRunner> | undefined

  constructor (private readonly createWorker: WorkerFactory) {}

  get alive (): boolean { return this.worker != null }

  terminate (): void {
    this.worker?.terminate()
    this.worker = undefined
    this.remote = undefined
  }

  /**
   * Resolve and run one researcher-kernel unit.
   * @param resolveKernel fetches and verifies the kernel (may throw a refusal or a network error)
   * @throws RunAbortedError when `signal` aborts; KernelLoadError when the kernel could not be
   *   fetched (transient: retry later); KernelUnsupportedError for a webgpu kernel without WebGPU
   */
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, resolveKernel: () => Promise<ResolvedKernel> }): Promise<RunReport> {
    const started = performance.now()
    const clientError = (message: string): RunReport => ({ outcome: 'client-error', output: new Uint8Array(0), elapsedMs: Math.round(performance.now() - started), errorMessage: message.slice(0, 1000) })
    let kernel: ResolvedKernel
    try {
      kernel = await opts.resolveKernel()
    } catch (err) {
      if (opts.signal.aborted) throw new RunAbortedError()
      const e = err as Error
      if (KERNEL_REFUSAL_NAMES.has(e.name as ErrorName) || KERNEL_REFUSAL_NAMES.has(((e as { remoteName?: string }).remoteName ?? '') as ErrorName)) return clientError(`kernel refused: ${e.name}: ${e.message}`)
      throw new KernelLoadError(`kernel fetch failed: ${e.message}`)
    }
    if (opts.signal.aborted) throw new RunAbortedError()
    if (kernel.manifest.backend === 'webgpu' && (globalThis.navigator as { gpu?: unknown } | undefined)?.gpu == null) {
      throw new KernelUnsupportedError('this browser has no WebGPU for a webgpu kernel')
    }
    if (this.remote == null) {
      this.worker = this.createWorker()
      this.remote = wrap<KernelRunner>(this.worker)
    }
    const remote = this.remote
    const { manifest } = kernel
    const deviceClass = manifest.backend === 'webgpu' ? 'webgpu' : 'wasm'
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      return await new Promise<RunReport>((resolve, reject) => {
        onAbort = () => { this.terminate(); reject(new RunAbortedError()) }
        opts.signal.addEventListener('abort', onAbort, { once: true })
        timer = setTimeout(() => {
          this.terminate()
          resolve(clientError(`deadline of ${manifest.deadlineMs} ms exceeded; worker terminated`))
        }, Math.min(unit.deadlineMs, manifest.deadlineMs))
        remote.run(kernel.bytes, {
          kernelId: manifest.kernelId,
          backend: deviceClass,
          memoryBytes: manifest.memoryBytes,
          maxOutputBytes: manifest.maxOutputBytes,
          workgroupSize: manifest.workgroupSize,
          outputBytes: manifest.outputBytes
        }, unit.input)
          .then(output => { resolve({ outcome: 'success', output, elapsedMs: Math.round(performance.now() - started), errorMessage: '', deviceClass }) })
          .catch(err => {
            if (opts.signal.aborted) { reject(new RunAbortedError()); return }
            this.terminate()
            const e = err as Error
            resolve(clientError(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`))
          })
      })
    } finally {
      clearTimeout(timer)
      if (onAbort != null) opts.signal.removeEventListener('abort', onAbort)
    }
  }
}
