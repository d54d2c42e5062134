/**
 * Host side of the kernel ABI for WASM kernels (docs/kernel-abi.md), usable in a Web Worker and in
 * Node: checks the module against its manifest before instantiating it, then runs it on input
 * bytes. ABI 1: one `sc_run` call per unit. ABI 2: `sc_init`, then `sc_step(maxIterations)` in
 * slices of ~{@link TARGET_SLICE_MS} ms under the governor's duty cycle and pause gate
 * (slice-loop.ts, duty-cycle.ts), then `sc_finish`. Each unit runs in a fresh instance of the
 * compiled module, so no state (globals, memory) carries from one unit to the next. Deadlines are
 * enforced outside, by terminating the worker that runs this.
 */
import { abortMessage, checkWasmKernel } from '../src/protocol/kernel-module.ts'
import { runSlices } from './slice-loop.ts'
import type { SliceLoopOptions } from './slice-loop.ts'
import type { KernelManifest } from '../src/protocol/pb/manifest.ts'
import type { ErrorName } from '../src/protocol/index.ts'

/** The kernel failed while running: abort(), a trap, out of memory, a negative return code, a bad output pointer or a missing export. */
export class KernelRunError extends Error {
  static override readonly name: ErrorName = 'KernelRunError'
  override readonly name: ErrorName = 'KernelRunError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
/** The kernel returned more output than its manifest's maxOutputBytes. */
export class KernelOutputTooLargeError extends Error {
  static override readonly name: ErrorName = 'KernelOutputTooLargeError'
  override readonly name: ErrorName = 'KernelOutputTooLargeError'
  constructor (message: string) { super(message) }
}

/** Wall time an ABI 2 slice aims at, in ms (the duty cycle's granularity). */
export const TARGET_SLICE_MS = 4
/** Largest `maxIterations` the host passes to `sc_step`. */
const MAX_ITERATIONS = 0x7fffffff

interface AbiExports {
  memory: WebAssembly.Memory
  sc_abi: () => number
  sc_input: (len: number) => number
  sc_output: () => number
  /** ABI 1 */
  sc_run?: (len: number) => number
  /** ABI 2 */
  sc_init?: (len: number) => number
  sc_step?: (maxIterations: number) => number
  sc_finish?: () => number
}

/** How an ABI 2 run is sliced (ignored by ABI 1 kernels, which run in one call). */
export interface KernelRunOptions extends SliceLoopOptions {
  /** First `maxIterations` passed to `sc_step` (default 1); later ones aim at TARGET_SLICE_MS. */
  firstIterations?: number
}

export interface WasmKernel {
  /** The module's ABI version (1 or 2), from its manifest and `sc_abi()`. */
  readonly abi: number
  /**
   * Run the kernel on one work unit's input bytes; returns the output bytes (a copy).
   * @throws KernelRunError, KernelOutputTooLargeError; `opts.signal.reason` when aborted
   */
  run: (input: Uint8Array, opts?: KernelRunOptions) => Promise<Uint8Array>
}

/** Next `maxIterations`: scaled so a slice takes ~TARGET_SLICE_MS, growing at most 8x a slice. */
export function nextIterations (iterations: number, sliceMs: number): number {
  const scale = sliceMs <= 0 ? 8 : Math.min(8, TARGET_SLICE_MS / sliceMs)
  return Math.max(1, Math.min(MAX_ITERATIONS, Math.floor(iterations * scale)))
}

type WasmKernelLimits = Pick<KernelManifest, 'kernelId' | 'memoryBytes' | 'maxOutputBytes'> & { abi?: number }

/**
 * Check (hash, imports, memory limit, exports for its ABI) and compile a WASM kernel; every `run`
 * then gets a fresh instance of the compiled module (what volunteers do: state cannot carry over
 * between units). The first instance is made here, to check `sc_abi()`.
 * @param manifest `abi` defaults to 1
 * @throws KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError (from the checks)
 * @throws KernelRunError when `sc_abi()` differs from the manifest's ABI
 */
export async function instantiateWasmKernel (bytes: Uint8Array, manifest: WasmKernelLimits): Promise<WasmKernel> {
  const limits = { ...manifest, abi: manifest.abi ?? 1 }
  const module = await checkWasmKernel(bytes, limits)
  let spare: WasmKernel | undefined = await instantiateOnce(module, limits)
  return {
    abi: limits.abi,
    async run (input, opts) {
      const instance = spare ?? await instantiateOnce(module, limits)
      spare = undefined
      return await instance.run(input, opts)
    }
  }
}

/**
 * One instance of a checked module (checkWasmKernel), reused by every `run` on it: globals and
 * memory persist from one unit to the next, and runs are queued. Volunteers never run two units in
 * one instance (instantiateWasmKernel); `kernel test` does, to find kernels that keep state.
 * @throws KernelRunError when `sc_abi()` differs from `manifest.abi`
 */
export async function instantiateOnce (module: WebAssembly.Module, manifest: WasmKernelLimits & { abi: number }): Promise<WasmKernel> {
  const expected = manifest.abi
  let memory: WebAssembly.Memory | undefined
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: (msg: number, file: number, line: number, col: number) => {
        throw new KernelRunError(`kernel aborted: ${abortMessage(memory, msg, file, line, col)}`)
      }
    }
  })
  const ex = instance.exports as unknown as AbiExports
  memory = ex.memory
  const abi = call(() => ex.sc_abi())
  if (abi !== expected) throw new KernelRunError(`kernel reports ABI ${abi}, its manifest says ${expected}`)

  const writeInput = (input: Uint8Array): void => {
    const inPtr = ex.sc_input(input.length)
    if (inPtr <= 0 || inPtr + input.length > ex.memory.buffer.byteLength) throw new KernelRunError(`kernel refused an input of ${input.length} bytes`)
    new Uint8Array(ex.memory.buffer, inPtr, input.length).set(input)
  }
  const readOutput = (outLen: number): Uint8Array => {
    if (outLen < 0) throw new KernelRunError(`kernel returned error code ${outLen}`)
    if (outLen > manifest.maxOutputBytes) throw new KernelOutputTooLargeError(`kernel returned ${outLen} bytes, more than its limit of ${manifest.maxOutputBytes}`)
    const outPtr = call(() => ex.sc_output())
    if (outPtr < 0 || outPtr + outLen > ex.memory.buffer.byteLength) throw new KernelRunError('kernel output lies outside its memory')
    return new Uint8Array(ex.memory.buffer, outPtr, outLen).slice()
  }

  let queue: Promise<unknown> = Promise.resolve()
  const runSliced = async (input: Uint8Array, opts: KernelRunOptions): Promise<Uint8Array> => {
    call(() => { writeInput(input) })
    const rc = call(() => ex.sc_init!(input.length))
    if (rc !== 0) throw new KernelRunError(`sc_init returned ${rc}`)
    let iterations = Math.max(1, Math.floor(opts.firstIterations ?? 1))
    await runSlices(() => {
      const t0 = performance.now()
      const step = call(() => ex.sc_step!(iterations))
      iterations = nextIterations(iterations, performance.now() - t0)
      if (step < 0) throw new KernelRunError(`sc_step returned error code ${step}`)
      if (step > 1) throw new KernelRunError(`sc_step returned ${step}; ABI 2 allows 0 (more), 1 (done) or a negative error`)
      return step === 1
    }, opts)
    return readOutput(call(() => ex.sc_finish!()))
  }

  return {
    abi,
    async run (input, opts = {}) {
      if (abi === 1) return readOutput(call(() => { writeInput(input); return ex.sc_run!(input.length) }))
      const p = queue.then(async () => await runSliced(input, opts))
      queue = p.catch(() => undefined)
      return await p
    }
  }
}

/** Runs a kernel call, turning traps into KernelRunError. */
function call<T> (f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof KernelRunError || err instanceof KernelOutputTooLargeError) throw err
    throw new KernelRunError(`kernel trapped: ${(err as Error).message}`, { cause: err })
  }
}
