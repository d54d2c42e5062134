/**
 * Colluding fresh keys that rush the job at its start: each leases as much as it can (16 a
 * request, no pause) and answers at once, computing nothing, with the prime-number-theorem
 * estimate — the same number for the same unit from every colluder, so they agree with each other.
 */
import { counting, pntEstimate } from '../strategy.ts'
import type { Strategy } from '../strategy.ts'

export function pntColluder (): Strategy {
  return { name: 'pnt-colluder', cheater: true, maxUnits: 16, early: true, usesTruth: false, act: () => ({ kind: 'result', count: counting(pntEstimate) }) }
}
