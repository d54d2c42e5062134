/**
 * Greedy keys: lease 16 at a time and answer at once, without computing: (hi − lo) / ln lo,
 * rounded down — every greedy key guesses the same number for a unit.
 */
import { counting } from '../strategy.ts'
import type { Strategy } from '../strategy.ts'

export function greedy (): Strategy {
  return { name: 'greedy', cheater: true, maxUnits: 16, usesTruth: false, act: () => ({ kind: 'result', count: counting((a, b) => Math.floor((b - a) / Math.log(Math.max(a, 3)))) }) }
}
