/**
 * A patient cheater: honest for its first `honestUnits` units (long enough to become trusted, CV
 * >= 10), then wrong by +1 in one block of every unit — the block chosen with its own seeded
 * randomness, so a k-block spot check meets it with probability k / blocks. The hardest case
 * for any sampling check: only someone else recomputing that block can see it, so each faked unit
 * stands with probability about (1 − 1/CV)(1 − k/n) when the hub samples at 1/CV. It is in the
 * benchmark, not in the test's demands (which list strategies that cheat from their first unit).
 */
import { primesBlockRange, primesBlocks } from '../../../src/protocol/primes.ts'
import type { Strategy } from '../strategy.ts'

export function patientNeedle (opts: { honestUnits?: number } = {}): Strategy {
  const honestUnits = opts.honestUnits ?? 12
  let done = 0
  return {
    name: 'patient-needle',
    cheater: true,
    maxUnits: 2,
    pauseMs: 5,
    act: ({ lo, hi }, tools) => {
      done++
      if (done <= honestUnits) return { kind: 'result', count: (a, b) => BigInt(tools.truth(a, b)) }
      const layout = primesBlocks(lo, hi)
      const n = layout?.blocks ?? 1
      const i = Math.min(n - 1, Math.floor(tools.random() * n))
      const end = layout == null ? hi : primesBlockRange(lo, hi, layout.blockBytes, i).hi
      return { kind: 'result', count: (a, b) => BigInt(tools.truth(a, b) + (b === end ? 1 : 0)) }
    }
  }
}
