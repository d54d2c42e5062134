/**
 * Cheaters that behave like ordinary clients (lease 2, pace like the page, run the real kernel)
 * but answer wrong: the true count plus 1..5, the offset chosen from the unit's id so every key
 * running this modified client agrees on the same wrong number. The fraud sits in the unit's last
 * sub-range (a checkpointed output's checkpoints are true up to the last one).
 */
import { hash32 } from '../rng.ts'
import type { Strategy } from '../strategy.ts'

export function wrongAnswer (): Strategy {
  return {
    name: 'wrong',
    cheater: true,
    maxUnits: 2,
    pauseMs: 5,
    act: ({ lease, hi }, tools) => {
      const offset = 1 + hash32(lease.wuId) % 5
      return { kind: 'result', count: (a, b) => BigInt(tools.truth(a, b) + (b === hi ? offset : 0)) }
    }
  }
}
