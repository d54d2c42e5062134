/**
 * A lazy peer: answers mostly invalid — 80 % of its units get a random count in [0, (hi − lo) / 10)
 * (its own seeded randomness, so no two lazy keys agree), the rest the true count, to look alive.
 */
import { truthful } from '../strategy.ts'
import type { Strategy } from '../strategy.ts'

export function lazy (opts: { invalidShare?: number } = {}): Strategy {
  const share = opts.invalidShare ?? 0.8
  return {
    name: 'lazy',
    cheater: true,
    maxUnits: 4,
    pauseMs: 5,
    act: ({ lo, hi }, tools) => {
      if (tools.random() >= share) return { kind: 'result', count: truthful(tools) }
      const guess = BigInt(Math.floor(tools.random() * (hi - lo) / 10))
      return { kind: 'result', count: (a, b) => guess * BigInt(b - a) / BigInt(hi - lo) }
    }
  }
}
