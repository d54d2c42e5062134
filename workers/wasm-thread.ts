/**
 * Run a WASM kernel in a Node worker thread (`kernel test`, `job post --ringers`, the hub's
 * failure probe) with the manifest's checks and limits as a volunteer's worker applies them: each
 * unit's deadline enforced by `worker.terminate()`, the heap capped, `fresh` instances per unit
 * (what volunteers do) or one reused instance (to find kernels that keep state between units).
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * tsx's loader as a file URL, for `--import` in the workers and children that run kernels: a bare
 * `tsx` would be looked up from the current folder, which need not be this project's.
 */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** The manifest fields a run needs. */
export interface WasmRunLimits {
  kernelId: string
  abi: number
  memoryBytes: number
  maxOutputBytes: number
  /** Wall-clock limit of one unit's run, ms. */
  deadlineMs: number
}

/** How one unit's run ended: the output, or the error as `<name>: <message>` (`DeadlineExceeded: …` past the deadline). */
export interface WasmRun {
  ok: boolean
  output?: Uint8Array
  error?: string
  /** Wall ms of the run (the kernel's own time when it succeeded). */
  ms: number
}

export interface WasmThreadOptions {
  /** Each unit in a new instance (default true); false: all in one reused instance. */
  fresh?: boolean
  /** Called after each unit. */
  onRun?: (run: WasmRun) => void
  /** Aborts the runs: the thread is terminated and the unit in flight fails with `AbortError`. */
  signal?: AbortSignal
}

/**
 * Run `bytes` (checked against `limits` first, in the thread) on `inputs` in order, in one worker
 * thread. Never rejects: a failure is a `{ ok: false, error }` run. A unit past its deadline ends
 * the thread; the runs returned are those of the units reached (all but those after it).
 */
export async function runWasmInThread (bytes: Uint8Array, limits: WasmRunLimits, inputs: Uint8Array[], opts: WasmThreadOptions = {}): Promise<WasmRun[]> {
  return await new Promise(resolveRuns => {
    const runs: WasmRun[] = []
    let started = performance.now()
    const worker = new Worker(new URL('./wasm-thread-worker.ts', import.meta.url), {
      workerData: { bytes, manifest: limits, inputs, fresh: opts.fresh ?? true },
      execArgv: ['--import', TSX_LOADER],
      resourceLimits: { maxOldGenerationSizeMb: 256 }
    })
    let settled = false
    const add = (run: WasmRun): void => {
      runs.push(run)
      opts.onRun?.(run)
      started = performance.now()
    }
    const finish = (error?: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      void worker.terminate()
      if (error != null && runs.length < inputs.length) add({ ok: false, error, ms: performance.now() - started })
      resolveRuns(runs)
    }
    const deadline = (): NodeJS.Timeout => setTimeout(() => { finish(`DeadlineExceeded: past the manifest's ${limits.deadlineMs} ms; worker terminated`) }, limits.deadlineMs)
    let timer = deadline()
    const onAbort = (): void => { finish(`AbortError: ${String(opts.signal?.reason ?? 'aborted')}`) }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) onAbort()
    worker.on('message', (msg: { ok: boolean, output?: Uint8Array, ms?: number, name?: string, message?: string }) => {
      if (settled) return
      clearTimeout(timer)
      add(msg.ok ? { ok: true, output: msg.output, ms: msg.ms ?? 0 } : { ok: false, error: `${msg.name ?? 'Error'}: ${msg.message ?? ''}`, ms: performance.now() - started })
      if (runs.length >= inputs.length) finish()
      else timer = deadline()
    })
    worker.once('error', err => { finish(`${err.name}: ${err.message}`) })
    worker.once('exit', code => { finish(`WorkerExit: the kernel's thread exited (${code}) without a result`) })
  })
}
