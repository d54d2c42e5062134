/**
 * What a simulated volunteer is: a Strategy decides how many units to ask for and what to do with
 * each lease; the volunteer loop (volunteer.ts) does the talking to the hub over libp2p. Strategies
 * are attacker code: they see only what a peer sees (its leases, its own key's answers, what its
 * colluders agree on in advance), never the hub's objects.
 */
import type { CountFn } from './output.ts'
import type { Lease } from '../../src/protocol/index.ts'
import type { ReleaseReason } from '../../src/protocol/capabilities.ts'

/** What a strategy does with one lease. */
export type Action =
  | { kind: 'result', count: CountFn }
  | { kind: 'raw-result', output: Uint8Array }
  | { kind: 'client-error', message: string }
  | { kind: 'release', reason: ReleaseReason }
  | { kind: 'hold' }

/** What a strategy may use: the real kernel (honest work, counted), its own seeded randomness. */
export interface Tools {
  /**
   * Primes in [a, b) by the real WASM kernel, counted as volunteer compute. A range whose ends are
   * block boundaries of the unit being handled (a block, several, or the whole unit) is answered
   * from ONE checkpointed kernel run of that unit, made before `act`; the first such call bills the
   * peer the whole unit (its numbers and the run's wall ms), later ones nothing. Any other range is
   * a synchronous kernel call of its own, billed as such.
   */
  truth: (a: number, b: number) => number
  /** This peer's seeded generator. */
  random: () => number
}

/** One unit as the strategy sees it: the lease and its decoded range. */
export interface UnitView { lease: Lease, lo: number, hi: number }

export interface Strategy {
  /** Short name (reports). */
  readonly name: string
  /** Whether this key is a cheater (its net credit must end at 0). */
  readonly cheater: boolean
  /** Units asked for per work request (1..16). */
  readonly maxUnits: number
  /** Ask for work before honest peers start (a job-start rush). */
  readonly early?: boolean
  /** Milliseconds to wait after handling a batch (simulated compute or pacing); default 0. */
  readonly pauseMs?: number
  /**
   * Whether `act` may call `tools.truth` (default true). False only saves the simulation the unit's
   * kernel run before `act`; billing follows the calls actually made either way (a strategy that
   * says false and calls truth all the same gets synchronous kernel calls, billed).
   */
  readonly usesTruth?: boolean
  /** Decide what to do with one leased unit. */
  act: (unit: UnitView, tools: Tools) => Action
}

/** A CountFn from a number-valued function. */
export function counting (f: (a: number, b: number) => number): CountFn {
  return (a, b) => BigInt(f(a, b))
}

/** The honest answer: the kernel's count of every sub-range asked for. */
export function truthful (tools: Tools): CountFn {
  return counting((a, b) => tools.truth(a, b))
}

/** ∫ dt / ln t over [a, b) by the midpoint rule: the prime-number-theorem estimate, rounded. */
export function pntEstimate (a: number, b: number): number {
  return Math.round((b - a) / Math.log((a + b) / 2))
}
