/** An honest volunteer: leases a couple of units, computes each with the real WASM kernel, answers truly. */
import { truthful } from '../strategy.ts'
import type { Strategy } from '../strategy.ts'

export function honest (opts: { maxUnits?: number, pauseMs?: number } = {}): Strategy {
  return { name: 'honest', cheater: false, maxUnits: opts.maxUnits ?? 2, pauseMs: opts.pauseMs ?? 5, act: (_unit, tools) => ({ kind: 'result', count: truthful(tools) }) }
}
