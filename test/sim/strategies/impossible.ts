/**
 * Colluders agreeing on impossible counts: 10^12 primes on even-numbered units (unit number =
 * lo / (hi − lo)) — more primes than the unit has numbers (10^5 … 10^8 of them in the scenarios),
 * and every block of a checkpointed output likewise claims more primes than numbers — and 2^53 + 7
 * (beyond any exact JS number, written as raw u64 bytes) on odd ones; they lease 16 at a time and
 * answer at once, computing nothing. Sub-ranges get the total pro rata through the cumulative
 * claim C(x) = ⌊total (x − lo) / (hi − lo)⌋, so the blocks of a checkpointed output add up to the
 * total exactly (a one-block unit claims the total, as before).
 */
import type { Strategy } from '../strategy.ts'

export const IMPOSSIBLE_COUNTS = [10n ** 12n, 2n ** 53n + 7n] as const

export function impossibleColluder (): Strategy {
  return {
    name: 'impossible',
    cheater: true,
    maxUnits: 16,
    early: true,
    usesTruth: false,
    act: ({ lo, hi }) => {
      const total = IMPOSSIBLE_COUNTS[Math.floor(lo / (hi - lo)) % 2]
      const claim = (x: number): bigint => total * BigInt(x - lo) / BigInt(hi - lo)
      return { kind: 'result', count: (a, b) => claim(b) - claim(a) }
    }
  }
}
