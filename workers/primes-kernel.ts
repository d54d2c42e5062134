/**
 * Host wrapper for the prime-counting WASM kernel (`kernels/primes-sieve.ts`, kernel id
 * `primes-sieve/1`). Runs in Node and in a browser (Web) Worker: no Node imports.
 *
 * - {@link instantiatePrimesKernel} compiles the module and refuses it, before anything runs, if it
 *   imports anything outside {@link PRIMES_KERNEL_ALLOWED_IMPORTS}.
 * - {@link PrimesKernel.countRange} runs one range in slices of a few segments, so that V8 tiers the
 *   kernel up to its optimising compiler after the first slices (a single long first call stays
 *   on the baseline tier: design.md measured 3.5x slower), reports progress, honours an
 *   AbortSignal and yields to the event loop now and then so that messages are processed.
 *
 * Kernel ABI (all values f64, exact below 2^53): `init(lo, hi): i32` (0, -1 bad range, -2 out of
 * memory), `step(maxSegments): i32` (1 when finished), `count(): f64`, `done(): f64` (numbers
 * covered so far), optional `segmentNumbers(): f64` (numbers per segment), exported `memory`.
 *
 * The work-unit byte layouts (16-byte input [lo, hi) as two u64 LE, 8-byte output count u64 LE)
 * live in `src/protocol/primes.ts` and are re-exported here.
 */
import { checkPrimesRange } from '../src/protocol/primes.ts'
import { checkKernelImports, readAsString } from '../src/protocol/kernel-module.ts'
import { KernelRunError } from './wasm-kernel.ts'
import { runSlices } from './slice-loop.ts'
import type { SliceThrottle } from './duty-cycle.ts'

export {
  checkPrimesRange,
  encodePrimesInput,
  decodePrimesInput,
  encodePrimesOutput,
  decodePrimesOutput,
  PRIMES_MAX_HI
} from '../src/protocol/primes.ts'

export {
  KERNEL_ALLOWED_IMPORTS as PRIMES_KERNEL_ALLOWED_IMPORTS, KernelImportError, checkKernelImports
} from '../src/protocol/kernel-module.ts'

export { KernelRunError } from './wasm-kernel.ts'

/** Options of {@link PrimesKernel.countRange}. */
export interface CountRangeOptions {
  /** Segments per `step` call (default 1; one segment is {@link PrimesKernel.segmentNumbers} numbers, a few ms). */
  sliceSegments?: number
  /** Called with (numbers of the range covered so far, hi - lo), at most every `progressEveryMs`, and once at the end. */
  onProgress?: (doneNumbers: number, total: number) => void
  /** Checked between slices; when aborted, countRange rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Await a macrotask at most this often, in ms, so that messages (e.g. an abort) get processed (default 50). */
  yieldEveryMs?: number
  /** Minimum interval between onProgress calls, in ms (default 100). */
  progressEveryMs?: number
  /**
   * The governor's duty cycle and pause gate, consulted after every slice (see workers/duty-cycle.ts).
   * A pause waits at the slice boundary and the range goes on from there on resume.
   */
  throttle?: SliceThrottle
}

/** An instantiated prime-counting kernel. One range at a time: concurrent calls are queued. */
export interface PrimesKernel {
  /**
   * Count the primes p with lo <= p < hi, in slices (see {@link CountRangeOptions}).
   * @param lo range start, integer >= 0
   * @param hi range end (exclusive), integer, lo < hi <= 2^53
   * @returns the number of primes in [lo, hi)
   * @throws RangeError for a bad range; KernelRunError if the kernel fails; `signal.reason` when aborted
   */
  countRange: (lo: number, hi: number, opts?: CountRangeOptions) => Promise<number>
  /**
   * The same as countRange in one synchronous loop (benchmarks, tests). Blocks the thread.
   * @throws RangeError for a bad range; KernelRunError if the kernel fails or another countRange is running
   */
  countRangeSync: (lo: number, hi: number, sliceSegments?: number) => number
  /** Numbers sieved per segment (the unit of `sliceSegments`). */
  readonly segmentNumbers: number
  /** The kernel's linear memory (for inspection). */
  readonly memory: WebAssembly.Memory
}

interface PrimesExports {
  memory: WebAssembly.Memory
  init: (lo: number, hi: number) => number
  step: (maxSegments: number) => number
  count: () => number
  done: () => number
  segmentNumbers?: () => number
}

const now = (): number => performance.now()

/**
 * Compile and instantiate a primes kernel.
 * @param bytes the `.wasm` file
 * @param options.signal aborts before instantiation (rejects with `signal.reason`)
 * @throws KernelImportError if the module imports anything outside {@link PRIMES_KERNEL_ALLOWED_IMPORTS}
 *   (checked after compiling, before instantiating: no kernel code runs)
 * @throws KernelRunError if the module lacks an ABI export
 * @throws WebAssembly.CompileError for an invalid module
 */
export async function instantiatePrimesKernel (bytes: BufferSource, options?: { signal?: AbortSignal }): Promise<PrimesKernel> {
  options?.signal?.throwIfAborted()
  const module = await WebAssembly.compile(bytes)
  checkKernelImports(module)
  options?.signal?.throwIfAborted()

  let memory: WebAssembly.Memory | undefined
  const abort = (msgPtr: number, filePtr: number, line: number, column: number): never => {
    const msg = readAsString(memory, msgPtr >>> 0) || 'abort'
    const file = readAsString(memory, filePtr >>> 0)
    throw new KernelRunError(`kernel aborted: ${msg}${file !== '' ? ` at ${file}:${line >>> 0}:${column >>> 0}` : ''}`)
  }
  const instance = await WebAssembly.instantiate(module, { env: { abort } })
  const ex = instance.exports as unknown as PrimesExports
  for (const name of ['init', 'step', 'count', 'done'] as const) {
    if (typeof ex[name] !== 'function') throw new KernelRunError(`kernel lacks the export "${name}"`)
  }
  if (!(ex.memory instanceof WebAssembly.Memory)) throw new KernelRunError('kernel lacks the export "memory"')
  memory = ex.memory
  const segmentNumbers = typeof ex.segmentNumbers === 'function' ? ex.segmentNumbers() : 1

  let busy = false
  let queue: Promise<unknown> = Promise.resolve()

  /** Runs a kernel call, turning traps into KernelRunError. */
  const call = <T>(f: () => T): T => {
    try {
      return f()
    } catch (err) {
      if (err instanceof KernelRunError) throw err
      if (err instanceof WebAssembly.RuntimeError) throw new KernelRunError(`kernel trapped: ${err.message}`, { cause: err })
      throw err
    }
  }

  const start = (lo: number, hi: number): void => {
    checkPrimesRange(lo, hi)
    const rc = call(() => ex.init(lo, hi))
    if (rc === -1) throw new RangeError(`kernel refused the range [${lo}, ${hi})`)
    if (rc === -2) throw new KernelRunError(`kernel out of memory for [${lo}, ${hi})`)
    if (rc !== 0) throw new KernelRunError(`kernel init returned ${rc}`)
  }

  const sliceOf = (s: number | undefined): number => {
    const v = Math.floor(s ?? 1)
    return Number.isFinite(v) && v >= 1 ? Math.min(v, 0x7fffffff) : 1
  }

  const run = async (lo: number, hi: number, opts: CountRangeOptions): Promise<number> => {
    const { onProgress } = opts
    const slice = sliceOf(opts.sliceSegments)
    const progressEvery = opts.progressEveryMs ?? 100
    opts.signal?.throwIfAborted()
    busy = true
    try {
      start(lo, hi)
      const total = hi - lo
      let lastProgress = now()
      onProgress?.(0, total)
      await runSlices(() => call(() => ex.step(slice)) !== 0, {
        signal: opts.signal,
        throttle: opts.throttle,
        yieldEveryMs: opts.yieldEveryMs,
        onSlice: onProgress == null
          ? undefined
          : () => {
              const t = now()
              if (t - lastProgress < progressEvery) return
              lastProgress = t
              onProgress(call(() => ex.done()), total)
            }
      })
      const count = call(() => ex.count())
      onProgress?.(total, total)
      return count
    } finally {
      busy = false
    }
  }

  return {
    segmentNumbers,
    memory: ex.memory,
    countRange (lo: number, hi: number, opts: CountRangeOptions = {}): Promise<number> {
      const p = queue.then(() => run(lo, hi, opts))
      queue = p.catch(() => undefined)
      return p
    },
    countRangeSync (lo: number, hi: number, sliceSegments?: number): number {
      if (busy) throw new KernelRunError('kernel busy: a countRange is running')
      start(lo, hi)
      const slice = sliceOf(sliceSegments)
      while (call(() => ex.step(slice)) === 0) { /* sieve */ }
      return call(() => ex.count())
    }
  }
}
