/**
 * Colluders agreeing on impossible counts: 10^12 primes in a unit of 10^5 numbers on even-numbered
 * units, 2^53 + 7 (beyond any exact JS number, written as raw u64 bytes) on odd ones; they lease 16
 * at a time and answer at once. Sub-ranges get the total pro rata.
 */
import type { Strategy } from '../strategy.ts'

export const IMPOSSIBLE_COUNTS = [10n ** 12n, 2n ** 53n + 7n] as const

export function impossibleColluder (): Strategy {
  return {
    name: 'impossible',
    cheater: true,
    maxUnits: 16,
    early: true,
    act: ({ lo, hi }) => {
      const total = IMPOSSIBLE_COUNTS[Math.floor(lo / (hi - lo)) % 2]
      return { kind: 'result', count: (a, b) => b === hi && a === lo ? total : total * BigInt(b - a) / BigInt(hi - lo) }
    }
  }
}
