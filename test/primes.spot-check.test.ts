/**
 * The checkpointed primes output (src/protocol/primes.ts), the proven bounds on counts
 * (src/hub/prime-bounds.ts) and the hub's spot check (src/hub/spot-check.ts), with the real kernel
 * in Node: honest outputs agree with Debian's `primecount` and pass; a result with one block off
 * by one is caught whenever that block is drawn (seeded random); bad layouts are refused by
 * checkOutput as BadOutputError; the counts of known-answers.md pass the bounds. Prints the
 * measured cost of a check beside the unit's compute.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BadOutputError, PRIMES_MAX_UNIT, decodePrimesOutput, decodePrimesResult, encodePrimesInput, encodePrimesOutput,
  primesBlockRange, primesBlocks, primesOutputBytes
} from '../src/protocol/index.ts'
import { checkPrimeCounts, piLower, piUpper, primeCountBounds, wheelBound } from '../src/hub/prime-bounds.ts'
import { pickBlocks, primesSpotCheck } from '../src/hub/spot-check.ts'
import { primesKernel } from '../src/hub/work-generator.ts'
import { instantiatePrimesKernelSync } from '../workers/primes-kernel.ts'
import { KNOWN_ANSWERS_PATH, REPO_ROOT, knownPi } from './helpers.ts'
import { seededRandom } from './seeded-random.ts'
import { countPrimes } from './hub-fixtures.ts'
import type { KernelContext } from '../src/hub/catalogue.ts'
import type { WorkUnitRow } from '../src/hub/repository.ts'
import type { PrimesKernel } from '../workers/primes-kernel.ts'

let kernel: PrimesKernel
beforeAll(() => { kernel = instantiatePrimesKernelSync(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm'))) })

/** π(x) by Debian's primecount (0 for x < 2). */
function pc (x: number): number {
  return x < 2 ? 0 : Number(execFileSync('primecount', [String(x)]).toString().trim())
}
/** Primes in [a, b) by primecount. */
const pcRange = (a: number, b: number): number => pc(b - 1) - pc(a - 1)

const seeded = seededRandom

const ctx = {} as KernelContext
const unit = (lo: number, hi: number): WorkUnitRow => ({ input: encodePrimesInput(lo, hi) }) as unknown as WorkUnitRow

/** The same output with block j's count one higher (cumulative counts from j on and the total + 1). */
function offByOne (output: Uint8Array, j: number): Uint8Array {
  const out = output.slice()
  const view = new DataView(out.buffer)
  view.setBigUint64(0, view.getBigUint64(0, true) + 1n, true)
  for (let i = j; 16 + 16 * i < out.length; i++) view.setBigUint64(16 + 16 * i, view.getBigUint64(16 + 16 * i, true) + 1n, true)
  return out
}

describe('checkpointed primes output', () => {
  it('splits a unit into at most 1024 power-of-two blocks of at most one segment; one-block units keep the 8-byte form', () => {
    expect(primesBlocks(0, 1e5)).toEqual({ blockBytes: 4096, blocks: 1 })
    expect(primesOutputBytes(0, 1e5)).toBe(8)
    expect(primesBlocks(0, 1e8)).toEqual({ blockBytes: 4096, blocks: 814 })
    expect(primesBlocks(1e12, 1e12 + 1e10)).toMatchObject({ blockBytes: 2 ** 19 })
    expect(primesOutputBytes(0, 1e10)).toBeLessThanOrEqual(8 + 16 * 1023)
    expect(primesBlocks(0, PRIMES_MAX_UNIT)?.blocks).toBeLessThanOrEqual(1024)
    expect(primesBlocks(7, 7 + PRIMES_MAX_UNIT)?.blocks).toBeLessThanOrEqual(1024)
    expect(primesBlocks(0, PRIMES_MAX_UNIT + 61)).toBeNull()
    // the blocks tile [lo, hi) exactly
    for (const [lo, hi] of [[7, 1e6 + 13], [29, 31 + 4096 * 30 * 3], [1e15 + 1, 1e15 + 2e8]]) {
      const b = primesBlocks(lo, hi)!
      let at = lo
      for (let i = 0; i < b.blocks; i++) {
        const r = primesBlockRange(lo, hi, b.blockBytes, i)
        expect(r.lo).toBe(at)
        expect(r.hi - r.lo).toBeGreaterThan(0)
        expect(r.hi - r.lo).toBeLessThanOrEqual(b.blockBytes * 30)
        at = r.hi
      }
      expect(at).toBe(hi)
    }
  })

  it('encodes and decodes the count and checkpoints; refuses lengths, positions and counts that do not fit the unit', () => {
    const lo = 1e6
    const hi = 1e6 + 3e5
    const { blockBytes, blocks } = primesBlocks(lo, hi)!
    expect(blocks).toBe(3)
    const ends = [0, 1].map(i => primesBlockRange(lo, hi, blockBytes, i).hi - lo)
    const bytes = encodePrimesOutput(20, [{ done: ends[0], count: 5 }, { done: ends[1], count: 12 }])
    expect(bytes.length).toBe(8 + 2 * 16)
    expect(decodePrimesOutput(bytes)).toBe(20)
    expect(decodePrimesResult(bytes, lo, hi)).toEqual({
      count: 20, blocks: { blockBytes, blocks }, checkpoints: [{ done: ends[0], count: 5 }, { done: ends[1], count: 12 }, { done: hi - lo, count: 20 }]
    })
    expect(() => decodePrimesResult(encodePrimesOutput(20), lo, hi)).toThrow(/must be 40 bytes/)
    expect(() => decodePrimesResult(encodePrimesOutput(20, [{ done: ends[0] + 30, count: 5 }, { done: ends[1], count: 12 }]), lo, hi)).toThrow(/checkpoint 0 must be at/)
    expect(() => decodePrimesResult(encodePrimesOutput(20, [{ done: ends[0], count: 13 }, { done: ends[1], count: 12 }]), lo, hi)).toThrow(/below the previous/)
    expect(() => decodePrimesResult(encodePrimesOutput(11, [{ done: ends[0], count: 5 }, { done: ends[1], count: 12 }]), lo, hi)).toThrow(/below the last checkpoint/)
    const huge = bytes.slice()
    new DataView(huge.buffer).setBigUint64(16, 2n ** 53n + 7n, true)
    expect(() => decodePrimesResult(huge, lo, hi)).toThrow(/not below 2\^53/)
    expect(() => decodePrimesOutput(new Uint8Array(7))).toThrow(RangeError)
    expect(() => decodePrimesOutput(new Uint8Array(17))).toThrow(RangeError)
  })

  it('honest outputs from the kernel agree with primecount, block by block, and are the same however the run is sliced', async () => {
    for (const [lo, hi] of [[0, 1e6], [7, 1e8 + 13], [1e12 + 11, 1e12 + 3e7 + 1]]) {
      const out = await kernel.primesOutput(lo, hi)
      expect(await kernel.primesOutput(lo, hi, { sliceSegments: 5 })).toEqual(out)
      const r = decodePrimesResult(out, lo, hi)
      expect(r.count, `[${lo}, ${hi})`).toBe(pcRange(lo, hi))
      const n = r.checkpoints.length
      for (const i of [0, 1, Math.floor(n / 2), n - 1]) {
        const a = lo + (i === 0 ? 0 : r.checkpoints[i - 1].done)
        const b = lo + r.checkpoints[i].done
        expect(r.checkpoints[i].count - (i === 0 ? 0 : r.checkpoints[i - 1].count), `block ${i} of [${lo}, ${hi})`).toBe(pcRange(a, b))
      }
      expect(() => { primesKernel({ kernel: () => kernel }).checkOutput(out, unit(lo, hi)) }).not.toThrow()
    }
  })
})

describe('spot check', () => {
  it('passes honest outputs, every block re-sieved', async () => {
    const check = primesSpotCheck({ kernel: () => kernel, blocks: 10_000 })
    for (const [lo, hi] of [[0, 1e5], [0, 2e6], [1e9 + 1, 1e9 + 1e7], [2 ** 53 - 3e5, 2 ** 53]]) {
      const out = await kernel.primesOutput(lo, hi)
      expect(check(ctx, unit(lo, hi), out, Math.random), `[${lo}, ${hi})`).toEqual({ ok: true, reason: '', checkedOps: hi - lo })
    }
  })

  it('catches a result with one block off by one exactly when that block is drawn (seeded)', async () => {
    const lo = 1e9 + 1
    const hi = 1e9 + 1e7
    const honest = await kernel.primesOutput(lo, hi)
    const n = primesBlocks(lo, hi)!.blocks
    expect(n).toBe(82)
    const j = 41
    const bad = offByOne(honest, j)
    expect(() => { primesKernel({ kernel: () => kernel }).checkOutput(bad, unit(lo, hi)) }).not.toThrow() // plausible: only a check finds it
    const k = 4
    const check = primesSpotCheck({ kernel: () => kernel, blocks: k })
    let caught = 0
    const seeds = 60
    for (let seed = 1; seed <= seeds; seed++) {
      const picked = pickBlocks(n, k, seeded(seed))
      const v = check(ctx, unit(lo, hi), bad, seeded(seed))
      expect(v.ok, `seed ${seed} drew ${picked.join(',')}`).toBe(!picked.includes(j))
      if (!v.ok) {
        caught++
        expect(v.reason).toMatch(new RegExp(`^block ${j} \\[`))
      }
      expect(v.checkedOps).toBeLessThanOrEqual(k * 4096 * 30)
      expect(check(ctx, unit(lo, hi), honest, seeded(seed)).ok).toBe(true)
    }
    expect(caught).toBeGreaterThan(0) // 1 - (1 - 4/82)^60 ≈ 0.95 that some seed draws it; these seeds do
    // checking every block catches it for certain
    expect(primesSpotCheck({ kernel: () => kernel, blocks: n })(ctx, unit(lo, hi), bad, seeded(7))).toMatchObject({ ok: false })
  })

  it('draws k distinct blocks, all of them when k >= n, whatever random returns', () => {
    expect(new Set(pickBlocks(100, 5, seeded(3))).size).toBe(5)
    expect(pickBlocks(3, 9, seeded(3)).sort()).toEqual([0, 1, 2])
    expect(new Set(pickBlocks(10, 4, () => 0)).size).toBe(4)
    expect(new Set(pickBlocks(10, 4, () => NaN)).size).toBe(4)
    expect(new Set(pickBlocks(10, 4, () => 1.5)).size).toBe(4)
  })

  it('prints its cost beside the unit\'s compute (10^8-number units)', async () => {
    const check = primesSpotCheck({ kernel: () => kernel })
    for (const lo of [0, 9.9e9, 1e12]) {
      const hi = lo + 1e8
      await kernel.primesOutput(lo, hi) // warm
      let t = performance.now()
      const out = await kernel.primesOutput(lo, hi)
      const unitMs = performance.now() - t
      t = performance.now()
      const runs = 10
      let ops = 0
      for (let s = 0; s < runs; s++) ops += check(ctx, unit(lo, hi), out, seeded(s)).checkedOps
      const checkMs = (performance.now() - t) / runs
      expect(ops / runs).toBeLessThan(0.01 * 1e8) // 2 blocks of <= 122,880 numbers
      console.log(`spot check (k = 2) of [${lo}, ${lo} + 1e8): ${checkMs.toFixed(2)} ms vs ${unitMs.toFixed(1)} ms to compute, ${(100 * checkMs / unitMs).toFixed(1)} %; ${(100 * ops / runs / 1e8).toFixed(2)} % of the numbers`)
    }
  })
})

describe('checkOutput: layout and proven bounds', () => {
  const def = primesKernel({ kernel: () => { throw new Error('no kernel needed') } })
  const refuse = (out: Uint8Array, lo: number, hi: number): unknown => { try { def.checkOutput(out, unit(lo, hi)); return null } catch (e) { return e } }

  it('refuses impossible counts and bad layouts with BadOutputError', () => {
    const e1 = refuse(encodePrimesOutput(1e12), 1e12, 1e12 + 1e5)
    expect(e1).toBeInstanceOf(BadOutputError)
    expect((e1 as Error).name).toBe('BadOutputError')
    const big = new Uint8Array(8)
    new DataView(big.buffer).setBigUint64(0, 2n ** 53n + 7n, true)
    expect(refuse(big, 1e12, 1e12 + 1e5)).toBeInstanceOf(BadOutputError)
    expect(refuse(encodePrimesOutput(0), 1e6, 1e6 + 1e5)).toBeInstanceOf(BadOutputError) // Dusart: at least ~7,000 there
    expect(refuse(encodePrimesOutput(5), 0, 10)).toBeInstanceOf(BadOutputError) // the wheel: 2, 3, 5, 7 are all
    expect(refuse(encodePrimesOutput(4), 0, 10)).toBeNull()
    expect(refuse(new Uint8Array(0), 0, 10)).toBeInstanceOf(BadOutputError)
    expect(refuse(encodePrimesOutput(78498), 0, 1e6)).toBeInstanceOf(BadOutputError) // 9 blocks: checkpoints missing
    const { blockBytes } = primesBlocks(0, 3e5)!
    const e0 = primesBlockRange(0, 3e5, blockBytes, 0).hi
    const e1b = primesBlockRange(0, 3e5, blockBytes, 1).hi
    // a block claiming more primes than its candidates
    expect(refuse(encodePrimesOutput(25997, [{ done: e0, count: e0 }, { done: e1b, count: e0 + 1 }]), 0, 3e5)).toBeInstanceOf(BadOutputError)
  })

  it('passes the counts of known-answers.md and of intervals checked by the reference sieve', () => {
    const text = readFileSync(KNOWN_ANSWERS_PATH, 'utf8')
    for (const [x, pi] of knownPi()) {
      const { min, max } = primeCountBounds(0, x + 1)
      expect(pi, `π(${x}) in [${min}, ${max}]`).toBeGreaterThanOrEqual(min)
      expect(pi).toBeLessThanOrEqual(max)
    }
    const intervals = [...text.matchAll(/^\|\s*(1[3-5])\s*\|\s*([\d,]+)\s*\|\s*$/gm)].map(m => [Number(m[1]), Number(m[2].replace(/,/g, ''))])
    expect(intervals.map(([i]) => i)).toEqual([13, 14, 15])
    for (const [i, count] of intervals) {
      const lo = 10 ** i
      const hi = lo + 1e8 + 1
      const { min, max } = primeCountBounds(lo, hi)
      expect(count).toBeGreaterThanOrEqual(min)
      expect(count).toBeLessThanOrEqual(max)
      expect(() => { checkPrimeCounts({ count, checkpoints: [{ done: hi - lo, count }], blocks: null }, lo, hi) }).not.toThrow()
    }
    for (const x of [2, 16, 17, 100, 598, 599, 1000, 355_990, 355_991, 1e6, 1e9, 1e12, 1e15]) {
      const pi = pc(x)
      expect(piLower(x), `π(${x}) = ${pi}`).toBeLessThanOrEqual(pi)
      expect(piUpper(x), `π(${x}) = ${pi}`).toBeGreaterThanOrEqual(pi)
    }
    const rnd = seeded(11)
    for (let t = 0; t < 300; t++) {
      const lo = Math.floor(rnd() * 4e5)
      const hi = lo + 1 + Math.floor(rnd() * 2e4)
      const c = countPrimes(lo, hi)
      const { min, max } = primeCountBounds(lo, hi)
      expect(c >= min && c <= max && max <= hi - lo && max <= wheelBound(lo, hi), `[${lo}, ${hi}): ${c} in [${min}, ${max}]`).toBe(true)
    }
  })
})
