/**
 * Cheaters whose wrong counts sum to exactly the right total: they compute the truth, then add 1
 * on even-numbered units and take 1 off odd-numbered ones (unit number = lo / (hi − lo)), so a job
 * total that pairs them up is right while every unit they win is wrong. Only a per-unit check
 * sees the fraud. The shift sits in the unit's last sub-range.
 */
import type { Strategy } from '../strategy.ts'

export function sumPreserving (): Strategy {
  return {
    name: 'sum-preserving',
    cheater: true,
    maxUnits: 2,
    pauseMs: 5,
    act: ({ lo, hi }, tools) => {
      const shift = Math.floor(lo / (hi - lo)) % 2 === 0 ? 1 : -1
      return { kind: 'result', count: (a, b) => BigInt(Math.max(0, tools.truth(a, b) + (b === hi ? shift : 0))) }
    }
  }
}
