/** Every strategy of issue 10's adversarial simulation, by name. */
import { churn } from './churn.ts'
import { greedy } from './greedy.ts'
import { honest } from './honest.ts'
import { impossibleColluder } from './impossible.ts'
import { lazy } from './lazy.ts'
import { patientNeedle } from './patient-needle.ts'
import { pntColluder } from './pnt-colluders.ts'
import { sumPreserving } from './sum-preserving.ts'
import { wrongAnswer } from './wrong.ts'
import type { Strategy } from '../strategy.ts'

export { churn, greedy, honest, impossibleColluder, lazy, patientNeedle, pntColluder, sumPreserving, wrongAnswer }

export const STRATEGIES: Record<string, () => Strategy> = {
  honest: () => honest(),
  'pnt-colluder': pntColluder,
  wrong: wrongAnswer,
  greedy,
  'sum-preserving': sumPreserving,
  impossible: impossibleColluder,
  lazy: () => lazy(),
  'churn-release': () => churn('release'),
  'churn-client-error': () => churn('client-error'),
  'patient-needle': () => patientNeedle()
}
