/**
 * Freivalds' check (src/hub/matmul-verify.ts): honest f32 tiles always pass (including worst-case
 * rounding: long all-positive dot products summed sequentially in f32); a tile with ONE corrupted
 * element (off by more than the row's tolerance) is caught with probability >= 1 - 2^-t, measured
 * over many seeded trials; non-finite and inflated tiles are refused outright.
 */
import { describe, expect, it } from 'vitest'
import { freivaldsCheck, freivaldsTolerance } from '../src/hub/matmul-verify.ts'
import { generateMatrix } from '../src/protocol/matmul.ts'
// f32 product computed the way a kernel may: sequential f32 accumulation (Math.fround each step)
import { f32Product } from './hub-fixtures.ts'

/** A seeded 32-bit generator (mulberry32) for reproducible trials. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

describe("Freivalds' check of a tile", () => {
  const R = 24
  const K = 96
  const S = 20
  const a = generateMatrix(R, K, 11, 0).data
  const b = generateMatrix(K, S, 11, 1).data
  const honest = f32Product(a, b, R, K, S)

  it('accepts honest f32 tiles, also with worst-case rounding (positive entries, k = 4096, sequential sum)', () => {
    expect(freivaldsCheck(a, b, honest, R, K, S, { checks: 20, randomU32: rng(1) }).ok).toBe(true)
    const K2 = 4096
    const pa = generateMatrix(4, K2, 3, 0).data.map(Math.abs)
    const pb = generateMatrix(K2, 6, 3, 1).data.map(Math.abs)
    const pc = f32Product(pa, pb, 4, K2, 6)
    for (let trial = 0; trial < 50; trial++) {
      const v = freivaldsCheck(pa, pb, pc, 4, K2, 6, { checks: 20, randomU32: rng(100 + trial) })
      expect(v.ok, v.reason).toBe(true)
      expect(v.worstRatio).toBeLessThan(1)
    }
  })

  /** Corrupt one random element by more than its row's tolerance; count how often it slips through. */
  function falseAccepts (checks: number, trials: number, seed: number): number {
    const { tau } = freivaldsTolerance(a, b, R, K, S)
    const pick = rng(seed)
    let accepted = 0
    for (let trial = 0; trial < trials; trial++) {
      const c = honest.slice()
      const idx = pick() % c.length
      const r = Math.floor(idx / S)
      const sign = pick() & 1 ? 1 : -1
      c[idx] += sign * tau[r] * (1.01 + (pick() % 1000) / 100)
      if (freivaldsCheck(a, b, c, R, K, S, { checks, randomU32: rng(seed * 7919 + trial) }).ok) accepted++
    }
    return accepted
  }

  it('catches a single corrupted element at the promised rate: false accepts <= 2^-t (t = 1, 2, 3), none at t = 20', () => {
    const trials = 1000
    for (const t of [1, 2, 3]) {
      const rate = falseAccepts(t, trials, 40 + t) / trials
      const sigma = Math.sqrt(2 ** -t * (1 - 2 ** -t) / trials)
      // the bound is a ceiling: the measured rate must not exceed it by more than 4 sigma
      expect(rate, `t=${t}`).toBeLessThanOrEqual(2 ** -t + 4 * sigma)
    }
    expect(falseAccepts(20, 500, 77)).toBe(0)
  })

  it('refuses NaN, Inf and rows no f32 product of these operands could reach', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const c = honest.slice()
      c[5] = bad
      const v = freivaldsCheck(a, b, c, R, K, S, { checks: 20 })
      expect(v.ok).toBe(false)
      expect(v.reason).toMatch(/entry \(0, 5\)/)
    }
    const c = honest.slice()
    c[3] = 1e30
    expect(freivaldsCheck(a, b, c, R, K, S, { checks: 20 }).reason).toMatch(/larger than any f32 product/)
  })

  it('catches a flipped exponent bit and a transposed-looking tile with the default 20 vectors', () => {
    const c = honest.slice()
    const u = new Uint32Array(c.buffer)
    u[17] ^= 1 << 26
    expect(freivaldsCheck(a, b, c, R, K, S, { checks: 20 }).ok).toBe(false)
    const shuffled = honest.slice().reverse()
    expect(freivaldsCheck(a, b, shuffled, R, K, S, { checks: 20 }).ok).toBe(false)
  })
})
