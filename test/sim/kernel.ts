/**
 * Honest computation: the real WASM kernel (build/kernels/primes-sieve.wasm via
 * workers/primes-kernel.ts) run in Node, timed. Two instances per process, shared by every
 * simulated volunteer: one runs whole units with their checkpoints ({@link HonestCounter.unit},
 * `PrimesKernel.primesOutput`, one unit at a time), the other counts any other range
 * synchronously ({@link HonestCounter.count}, `countRangeSync`), so that a synchronous count never
 * meets the unit kernel busy. Who is billed for what (numbers sieved, compute ms) is the
 * volunteer's business (volunteer.ts): here every call only reports its own wall time.
 */
import { existsSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { decodePrimesResult } from '../../src/protocol/primes.ts'
import { instantiatePrimesKernel } from '../../workers/primes-kernel.ts'
import type { PrimesResult } from '../../src/protocol/primes.ts'
import type { PrimesKernel } from '../../workers/primes-kernel.ts'

const ROOT = new URL('../..', import.meta.url).pathname
export const PRIMES_WASM = join(ROOT, 'build', 'kernels', 'primes-sieve.wasm')

let kernels: Promise<[PrimesKernel, PrimesKernel]> | undefined

/** The kernel's bytes, built with `npm run build:kernels` first if missing. */
function wasmBytes (): Uint8Array<ArrayBuffer> {
  if (!existsSync(PRIMES_WASM)) execFileSync('npm', ['run', '--silent', 'build:kernels'], { cwd: ROOT, stdio: 'inherit' })
  return readFileSync(PRIMES_WASM) as Uint8Array<ArrayBuffer>
}

/** The process's two kernel instances (unit runs, synchronous ranges). */
async function simKernels (): Promise<[PrimesKernel, PrimesKernel]> {
  if (kernels == null) {
    const bytes = wasmBytes()
    kernels = Promise.all([instantiatePrimesKernel(bytes), instantiatePrimesKernel(bytes)])
  }
  return await kernels
}

/** The (unit-run) kernel, built with `npm run build:kernels` first if it is missing. */
export async function primesKernel (): Promise<PrimesKernel> {
  return (await simKernels())[0]
}

/** One real kernel run of a whole unit: its decoded output (count and per-block checkpoints) and wall time. */
export interface UnitRun {
  lo: number
  hi: number
  result: PrimesResult
  /** Wall ms of the kernel run (performance.now around it; the run does not yield to the event loop). */
  ms: number
  /**
   * Primes in [a, b) when a and b are both block boundaries of the unit (lo, a checkpoint's end, or
   * hi): a difference of checkpoints, no kernel call; else null.
   */
  countOf: (a: number, b: number) => number | null
}

/** Runs the real kernel for the simulated volunteers and times each run. */
export class HonestCounter {
  private chain: Promise<unknown> = Promise.resolve()
  constructor (private readonly unitKernel: PrimesKernel, private readonly rangeKernel: PrimesKernel) {}

  static async create (): Promise<HonestCounter> { return new HonestCounter(...await simKernels()) }

  /**
   * The unit [lo, hi) by one kernel run with checkpoints (PrimesKernel.primesOutput). Runs are
   * queued here, one at a time, and the clock starts when a run's turn comes, so a wait for
   * another volunteer's run is not timed; the run never yields (yieldEveryMs: Infinity), so its
   * wall time is its compute.
   * @throws as PrimesKernel.primesOutput
   */
  async unit (lo: number, hi: number): Promise<UnitRun> {
    const p = this.chain.then(async () => {
      const t0 = performance.now()
      const output = await this.unitKernel.primesOutput(lo, hi, { yieldEveryMs: Infinity })
      const ms = performance.now() - t0
      const result = decodePrimesResult(output, lo, hi)
      const cum = new Map<number, number>([[0, 0], ...result.checkpoints.map(c => [c.done, c.count] as [number, number])])
      const countOf = (a: number, b: number): number | null => {
        const ca = cum.get(a - lo)
        const cb = cum.get(b - lo)
        return a < b && ca != null && cb != null ? cb - ca : null
      }
      return { lo, hi, result, ms, countOf }
    })
    this.chain = p.catch(() => undefined)
    return await p
  }

  /** Primes in [lo, hi) by the kernel, synchronously (countRangeSync: the sieving-prime setup every call), and its wall ms. */
  count (lo: number, hi: number): { count: number, ms: number } {
    const t0 = performance.now()
    const count = this.rangeKernel.countRangeSync(lo, hi)
    return { count, ms: performance.now() - t0 }
  }
}
