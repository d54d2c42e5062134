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
 * Optional block exports (`setBlockBytes`, `blockCounts`, `blockCount`) give per-block counts;
 * {@link PrimesKernel.primesOutput} builds the unit's output with its checkpoints from them.
 *
 * The work-unit byte layouts (16-byte input [lo, hi) as two u64 LE; output: the count, then
 * checkpoints, u64 LE) live in `src/protocol/primes.ts` and are re-exported here.
 */
import { checkPrimesRange, encodePrimesOutput, primesBlockRange, primesBlocks } from '../src/protocol/primes.ts'
import type { PrimesCheckpoint } from '../src/protocol/primes.ts'
import { abortMessage, checkKernelImports } from '../src/protocol/kernel-module.ts'
import { KernelRunError } from './wasm-kernel.ts'
import { runSlices } from './slice-loop.ts'
import type { SliceThrottle } from './duty-cycle.ts'

export {
  checkPrimesRange,
  encodePrimesInput,
  decodePrimesInput,
  encodePrimesOutput,
  decodePrimesOutput,
  decodePrimesResult,
  primesBlocks,
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
  /**
   * Count the primes in the unit [lo, hi) as countRange does, recording a checkpoint at the end of
   * every block (src/protocol/primes.ts `primesBlocks`), and return the unit's output bytes:
   * the count and the checkpoints. The bytes depend on [lo, hi) only, never on slicing or timing.
   * @throws as countRange; KernelRunError if the kernel lacks the block exports
   */
  primesOutput: (lo: number, hi: number, opts?: CountRangeOptions) => Promise<Uint8Array>
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
  setBlockBytes?: (bytes: number) => number
  blockCounts?: () => number
  blockCount?: (j: number) => number
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
  const imports = kernelImports()
  return wrapInstance(await WebAssembly.instantiate(module, imports.object), imports)
}

/**
 * The same as {@link instantiatePrimesKernel}, synchronously (the hub's spot check in Node; a
 * browser's main thread refuses to compile modules this large synchronously).
 * @throws as instantiatePrimesKernel
 */
export function instantiatePrimesKernelSync (bytes: BufferSource): PrimesKernel {
  const module = new WebAssembly.Module(bytes)
  checkKernelImports(module)
  const imports = kernelImports()
  return wrapInstance(new WebAssembly.Instance(module, imports.object), imports)
}

interface KernelImports { object: WebAssembly.Imports, setMemory: (m: WebAssembly.Memory) => void }

/** The whitelisted imports (`env.abort`, turning an abort into KernelRunError). */
function kernelImports (): KernelImports {
  let memory: WebAssembly.Memory | undefined
  const abort = (msgPtr: number, filePtr: number, line: number, column: number): never => {
    throw new KernelRunError(`kernel aborted: ${abortMessage(memory, msgPtr, filePtr, line, column)}`)
  }
  return { object: { env: { abort } }, setMemory: m => { memory = m } }
}

function wrapInstance (instance: WebAssembly.Instance, imports: KernelImports): PrimesKernel {
  const ex = instance.exports as unknown as PrimesExports
  for (const name of ['init', 'step', 'count', 'done'] as const) {
    if (typeof ex[name] !== 'function') throw new KernelRunError(`kernel lacks the export "${name}"`)
  }
  if (!(ex.memory instanceof WebAssembly.Memory)) throw new KernelRunError('kernel lacks the export "memory"')
  imports.setMemory(ex.memory)
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

  /** Checkpoint recording of one run: set up after init, fed after every step(1). */
  const recorder = (lo: number, hi: number): { after: () => void, checkpoints: PrimesCheckpoint[] } | null => {
    const blocks = primesBlocks(lo, hi)
    if (blocks == null || blocks.blocks === 1) return null
    const { setBlockBytes, blockCounts, blockCount } = ex
    if (setBlockBytes == null || blockCounts == null || blockCount == null) throw new KernelRunError('kernel lacks the block exports (setBlockBytes, blockCounts, blockCount)')
    if (call(() => setBlockBytes(blocks.blockBytes)) !== 0) throw new KernelRunError(`kernel refused blocks of ${blocks.blockBytes} bytes`)
    const checkpoints: PrimesCheckpoint[] = []
    let cum = call(() => ex.count()) // init counts 2, 3 and 5 (all in block 0) outside the segments
    return {
      checkpoints,
      after: () => {
        const n = call(() => blockCounts())
        for (let j = 0; j < n; j++) {
          cum += call(() => blockCount(j))
          const i = checkpoints.length
          if (i + 1 < blocks.blocks) checkpoints.push({ done: primesBlockRange(lo, hi, blocks.blockBytes, i).hi - lo, count: cum })
        }
      }
    }
  }

  const run = async (lo: number, hi: number, opts: CountRangeOptions, withCheckpoints = false): Promise<{ count: number, checkpoints: PrimesCheckpoint[] }> => {
    const { onProgress } = opts
    const slice = sliceOf(opts.sliceSegments)
    const progressEvery = opts.progressEveryMs ?? 100
    opts.signal?.throwIfAborted()
    busy = true
    try {
      start(lo, hi)
      const rec = withCheckpoints ? recorder(lo, hi) : null
      const total = hi - lo
      let lastProgress = now()
      onProgress?.(0, total)
      // with checkpoints, one segment a step so that each segment's block counts are read
      const sliceStep = rec == null
        ? () => call(() => ex.step(slice)) !== 0
        : () => {
            for (let s = 0; s < slice; s++) {
              const finished = call(() => ex.step(1)) !== 0
              rec.after()
              if (finished) return true
            }
            return false
          }
      await runSlices(sliceStep, {
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
      return { count, checkpoints: rec?.checkpoints ?? [] }
    } finally {
      busy = false
    }
  }

  return {
    segmentNumbers,
    memory: ex.memory,
    countRange (lo: number, hi: number, opts: CountRangeOptions = {}): Promise<number> {
      const p = queue.then(async () => (await run(lo, hi, opts)).count)
      queue = p.catch(() => undefined)
      return p
    },
    primesOutput (lo: number, hi: number, opts: CountRangeOptions = {}): Promise<Uint8Array> {
      const p = queue.then(async () => {
        const { count, checkpoints } = await run(lo, hi, opts, true)
        const want = (primesBlocks(lo, hi)?.blocks ?? 1) - 1
        if (checkpoints.length !== want) throw new KernelRunError(`kernel reported ${checkpoints.length + 1} blocks for [${lo}, ${hi}), not ${want + 1}`)
        return encodePrimesOutput(count, checkpoints)
      })
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
