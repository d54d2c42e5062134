/**
 * The hub's own check of a primes-sieve/1 output (the catalogue's `spotCheck` seam): re-sieve k
 * blocks of the unit, chosen with the hub's `random`, with the same WASM kernel the volunteers
 * run, here in Node, and compare each with the difference of the output's checkpoints around it
 * (layout: src/protocol/primes.ts). A peer that fakes a fraction f of its blocks is caught with
 * probability 1 - (1 - f)^k by one check; one wrong block is caught for certain when it is drawn.
 *
 * Synchronous: the kernel is compiled and instantiated with the synchronous WebAssembly API,
 * once per process ({@link hubPrimesKernel}), and its exports are synchronous.
 *
 * Cost (`node --import tsx bench/spot-check.ts`, this project's 2-core machine shared with other
 * work, load ~3.5, Node 24; medians): a block costs the kernel's setup for the unit's sieving
 * primes (every p <= sqrt(hi), ~60 ns each) plus its <= 122,880 numbers, so the setup dominates
 * and grows with sqrt(hi), not with the unit. With the default k = 2, against the unit's own
 * compute:
 *
 * | unit | check | unit | check / unit |
 * |---|---|---|---|
 * | [0, 10^8) | 0.4–1.4 ms | 20–28 ms | 1.5–5 % |
 * | [9.9·10^9, +10^8) | 1.4–2.3 ms | 30–34 ms | 5–7 % |
 * | [10^12, +10^8) | 6.5–11.5 ms | 67–97 ms | 7–17 % |
 * | [10^12, +10^9) | 13 ms | 868 ms | 1.5 % |
 * | [10^15, +10^8) | 136 ms | 151 ms | 90 % |
 * | [10^15, +10^9) | 198 ms | 1381 ms | 14 % |
 *
 * so far out the cure is longer units (up to PRIMES_MAX_UNIT) or checking only a sample of
 * results (the validator's choice); `checkedOps` is always a small share of the numbers
 * (2 blocks of at most 1/814 of a 10^8 unit each).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { decodePrimesInput, decodePrimesResult } from '../protocol/primes.ts'
import { instantiatePrimesKernelSync } from '../../workers/primes-kernel.ts'
import type { PrimesKernel } from '../../workers/primes-kernel.ts'
import type { ArbitrationVerdict, KernelContext, SpotCheckVerdict } from './catalogue.ts'
import type { WorkUnitRow } from './repository.ts'

/** Blocks re-sieved by one check unless told otherwise. */
export const DEFAULT_SPOT_CHECK_BLOCKS = 2
/** The kernel the hub checks with: the build of kernels/primes-sieve.ts that the page serves. */
export const PRIMES_WASM_PATH = fileURLToPath(new URL('../../build/kernels/primes-sieve.wasm', import.meta.url))

const kernels = new Map<string, PrimesKernel>()

/**
 * The process's primes kernel for checks (compiled and instantiated on the first call per path).
 * @throws Error when the .wasm is missing (run `npm run build:kernels`); KernelImportError or
 *   KernelRunError for a module that is not a primes kernel
 */
export function hubPrimesKernel (path = PRIMES_WASM_PATH): PrimesKernel {
  let kernel = kernels.get(path)
  if (kernel == null) {
    let bytes: Uint8Array
    try {
      bytes = readFileSync(path)
    } catch (err) {
      throw new Error(`the hub's spot check needs ${path} (npm run build:kernels)`, { cause: err })
    }
    kernel = instantiatePrimesKernelSync(bytes as Uint8Array<ArrayBuffer>)
    kernels.set(path, kernel)
  }
  return kernel
}

export interface PrimesSpotCheckOptions {
  /** Blocks re-sieved per check (default {@link DEFAULT_SPOT_CHECK_BLOCKS}); fewer when the unit has fewer. */
  blocks?: number
  /** The kernel to re-sieve with (default {@link hubPrimesKernel}()). */
  kernel?: () => PrimesKernel
}

/**
 * `k` distinct indices of 0 .. n - 1 (all of them when k >= n), each set equally likely, by a
 * partial Fisher–Yates shuffle with `random` (uniform [0, 1); a value outside is clamped, NaN read as 0).
 */
export function pickBlocks (n: number, k: number, random: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i)
  const want = Math.min(n, k)
  for (let j = 0; j < want; j++) {
    const v = random()
    const r = j + (Number.isFinite(v) ? Math.min(n - 1 - j, Math.max(0, Math.floor(v * (n - j)))) : 0)
    const t = idx[j]
    idx[j] = idx[r]
    idx[r] = t
  }
  return idx.slice(0, want)
}

/**
 * The primes kernel's spot check. The output is expected to have passed the kernel's
 * checkOutput at submit; one that does not decode is judged not ok (nothing re-sieved).
 * A unit too long for checkpoints (over PRIMES_MAX_UNIT numbers; such units are no longer
 * created) cannot be checked in a few ms: ok, `unchecked`, with checkedOps 0 and a reason saying so.
 * @returns the verdict; `checkedOps` = numbers re-sieved
 */
export function primesSpotCheck (opts: PrimesSpotCheckOptions = {}): (ctx: KernelContext, wu: WorkUnitRow, output: Uint8Array, random: () => number) => SpotCheckVerdict {
  const k = Math.max(1, Math.floor(opts.blocks ?? DEFAULT_SPOT_CHECK_BLOCKS))
  const kernelOf = opts.kernel ?? (() => hubPrimesKernel())
  return (_ctx, wu, output, random) => {
    const { lo, hi } = decodePrimesInput(wu.input)
    let result
    try {
      result = decodePrimesResult(output, lo, hi)
    } catch (err) {
      return { ok: false, reason: `malformed output: ${(err as Error).message}`, checkedOps: 0 }
    }
    if (result.blocks == null) return { ok: true, reason: `unit of ${hi - lo} numbers has no checkpoints: not checked`, checkedOps: 0, unchecked: true }
    const kernel = kernelOf()
    const cps = result.checkpoints
    let checkedOps = 0
    for (const i of pickBlocks(cps.length, k, random)) {
      const a = lo + (i === 0 ? 0 : cps[i - 1].done)
      const b = lo + cps[i].done
      const claimed = cps[i].count - (i === 0 ? 0 : cps[i - 1].count)
      const counted = kernel.countRangeSync(a, b)
      checkedOps += b - a
      if (counted !== claimed) {
        return { ok: false, reason: `block ${i} [${a}, ${b}) claims ${claimed} primes; the hub counted ${counted}`, checkedOps }
      }
    }
    return { ok: true, reason: '', checkedOps }
  }
}

/**
 * The primes kernel's arbitration between two outputs of one unit (the catalogue's `arbitrate`
 * seam): the blocks whose claimed counts (differences of consecutive checkpoints) differ, one of
 * them chosen with `random`, re-sieved by the hub; each output whose claim there is not the hub's
 * count is wrong. Outputs that do not decode are wrong without a re-sieve (they passed
 * checkOutput at submit, so this is a second line only). One block's cost (at most 122,880
 * numbers plus the sieving primes' setup).
 * @returns the verdict; null when the two claim the same count for every block
 */
export function primesArbitrate (opts: Pick<PrimesSpotCheckOptions, 'kernel'> = {}): (ctx: KernelContext, wu: WorkUnitRow, a: Uint8Array, b: Uint8Array, random: () => number) => ArbitrationVerdict | null {
  const kernelOf = opts.kernel ?? (() => hubPrimesKernel())
  return (_ctx, wu, a, b, random) => {
    const { lo, hi } = decodePrimesInput(wu.input)
    const decode = (bytes: Uint8Array): ReturnType<typeof decodePrimesResult> | null => {
      try { return decodePrimesResult(bytes, lo, hi) } catch { return null }
    }
    const ra = decode(a)
    const rb = decode(b)
    if (ra == null || rb == null) {
      if (ra == null && rb == null) return { aWrong: true, bWrong: true, reason: 'neither output decodes', checkedOps: 0 }
      return { aWrong: ra == null, bWrong: rb == null, reason: `output ${ra == null ? 'a' : 'b'} does not decode`, checkedOps: 0 }
    }
    const delta = (cps: typeof ra.checkpoints, i: number): number => cps[i].count - (i === 0 ? 0 : cps[i - 1].count)
    const differ: number[] = []
    for (let i = 0; i < ra.checkpoints.length; i++) if (delta(ra.checkpoints, i) !== delta(rb.checkpoints, i)) differ.push(i)
    if (differ.length === 0) return null
    const i = differ[pickBlocks(differ.length, 1, random)[0]]
    const from = lo + (i === 0 ? 0 : ra.checkpoints[i - 1].done)
    const to = lo + ra.checkpoints[i].done
    const counted = kernelOf().countRangeSync(from, to)
    const ca = delta(ra.checkpoints, i)
    const cb = delta(rb.checkpoints, i)
    return {
      aWrong: ca !== counted,
      bWrong: cb !== counted,
      reason: `block ${i} [${from}, ${to}): the hub counted ${counted}, a claims ${ca}, b claims ${cb}`,
      checkedOps: to - from
    }
  }
}
