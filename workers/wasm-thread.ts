/**
 * Run a WASM kernel on one input in a Node worker thread (the hub's failure probe; the CLI's
 * `kernel test` and ringers), with the manifest's checks and limits as a volunteer's worker
 * applies them: a fresh instance, the deadline enforced by `worker.terminate()`, the heap capped.
 */
import { Worker } from 'node:worker_threads'

/** The manifest fields a run needs. */
export interface WasmRunLimits {
  kernelId: string
  abi: number
  memoryBytes: number
  maxOutputBytes: number
  /** Wall-clock limit of the run, ms. */
  deadlineMs: number
}

/** How one run ended: the output, or the error's `<name>: <message>` (`DeadlineExceeded: …` past the deadline). */
export interface WasmRun {
  ok: boolean
  output?: Uint8Array
  error?: string
  /** Wall ms of the run (the kernel's own time when it succeeded). */
  ms: number
}

/**
 * Run `bytes` (checked against `limits` first, in the thread) on `input`. Never rejects: every
 * failure is a `{ ok: false, error }` run. `signal` aborts it (the thread is terminated).
 */
export async function runWasmInThread (bytes: Uint8Array, limits: WasmRunLimits, input: Uint8Array, signal?: AbortSignal): Promise<WasmRun> {
  return await new Promise(resolveRun => {
    const started = performance.now()
    const worker = new Worker(new URL('./wasm-thread-worker.ts', import.meta.url), {
      workerData: { bytes, manifest: limits, input },
      execArgv: ['--import', 'tsx'],
      resourceLimits: { maxOldGenerationSizeMb: 256 }
    })
    let settled = false
    const finish = (run: WasmRun): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      void worker.terminate()
      resolveRun(run)
    }
    const timer = setTimeout(() => finish({ ok: false, error: `DeadlineExceeded: past the manifest's ${limits.deadlineMs} ms; worker terminated`, ms: performance.now() - started }), limits.deadlineMs)
    const onAbort = (): void => finish({ ok: false, error: `AbortError: ${String(signal?.reason ?? 'aborted')}`, ms: performance.now() - started })
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted === true) onAbort()
    worker.once('message', (msg: { ok: boolean, output?: Uint8Array, ms?: number, name?: string, message?: string }) => {
      finish(msg.ok ? { ok: true, output: msg.output, ms: msg.ms ?? 0 } : { ok: false, error: `${msg.name ?? 'Error'}: ${msg.message ?? ''}`, ms: performance.now() - started })
    })
    worker.once('error', err => finish({ ok: false, error: `${err.name}: ${err.message}`, ms: performance.now() - started }))
    worker.once('exit', code => finish({ ok: false, error: `WorkerExit: the kernel's thread exited (${code}) without a result`, ms: performance.now() - started }))
  })
}
