/**
 * Primes-sieve jobs (kernel `primes-sieve/1`): the spec check, the work plan for createWork and
 * the kernel's catalogue entry (exact, WebAssembly only, output the count and its checkpoints
 * (src/protocol/primes.ts), checked at submit against proven bounds (prime-bounds.ts), spot
 * checked by re-sieving blocks (spot-check.ts), job output `{primes}`).
 *
 * Primes-sieve jobs count the primes in [from, to), split into WUs [lo, min(lo + unit, to)).
 * Credit rate: by default 1 credit per million numbers sieved (`creditPerOps = 1e-6`), so a WU's
 * pre-assigned credit is `estOps * creditPerOps` = `(hi - lo) / 1e6`, rounded to 1e-9 credit
 * (so that e.g. a unit of 10^5 numbers is exactly 0.1 credit, not 0.09999999999999999).
 */
import { BadOutputError } from '../protocol/errors.ts'
import { PRIMES_KERNEL_ID, PRIMES_MAX_UNIT, checkPrimesRange, decodePrimesInput, decodePrimesOutput, decodePrimesResult, encodePrimesInput } from '../protocol/primes.ts'
import { checkPrimeCounts } from './prime-bounds.ts'
import { hubPrimesKernel, primesArbitrate, primesSpotCheck } from './spot-check.ts'
import type { KernelDef } from './catalogue.ts'
import type { PrimesSpotCheckOptions } from './spot-check.ts'
import type { UnitPlan, WorkPlan } from './create-work.ts'

export interface PrimesJobSpec {
  /** Range start (inclusive), a non-negative integer. */
  from: number
  /** Range end (exclusive), at most 2^53. */
  to: number
  /** Numbers per work unit, a positive integer of at most PRIMES_MAX_UNIT (~1.6 * 10^10: 1024 checkpointed blocks). */
  unit: number
  /** Agreeing results from distinct volunteers needed per WU, 1..8 (default 2). */
  quorum?: number
  /** Credit per number sieved (default 1e-6: 1 credit per million numbers). */
  creditPerOps?: number
  /** Wall-clock limit per run, in ms (default: primesDeadlineMs(estOps) of each WU). */
  deadlineMs?: number
}

/** Default quorum: two agreeing results from distinct volunteers. */
export const DEFAULT_QUORUM = 2
export const MAX_QUORUM = 8
/** Default credit rate: 1 credit per million numbers sieved. */
export const DEFAULT_CREDIT_PER_OPS = 1e-6
/** Memory bound of a primes-sieve WU: 128 MiB. */
export const PRIMES_MEMORY_BYTES = 128 * 1024 * 1024
/** Most work units one job may have. */
export const MAX_WORK_UNITS_PER_JOB = 10_000_000
/** Largest deadline a Lease can carry (uint32 ms). */
const MAX_DEADLINE_MS = 0xFFFF_FFFF

/** Wall-clock limit (ms) for one primes-sieve run of `estOps` numbers: 60 s + 10 µs per number. */
export function primesDeadlineMs (estOps: number): number {
  return Math.min(MAX_DEADLINE_MS, Math.ceil(60_000 + estOps / 1e5))
}

/** Credit for `estOps` operations at `creditPerOps`, rounded to 1e-9 credit. */
export function creditFor (estOps: number, creditPerOps: number): number {
  return Math.round(estOps * creditPerOps * 1e9) / 1e9
}

/**
 * Check a primes job spec without touching the store.
 * @throws RangeError whose message starts with the name of the bad field
 * @returns the spec with defaults filled in and the number of WUs
 */
export function checkPrimesJobSpec (spec: PrimesJobSpec): Required<Omit<PrimesJobSpec, 'deadlineMs'>> & { deadlineMs?: number, workUnits: number } {
  const { from, to, unit } = spec
  if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`from must be a non-negative safe integer, got ${from}`)
  if (!Number.isSafeInteger(to) && to !== 2 ** 53) throw new RangeError(`to must be an integer of at most 2^53, got ${to}`)
  try {
    checkPrimesRange(from, to)
  } catch (err) {
    throw new RangeError(`from/to: ${(err as Error).message}`)
  }
  if (!Number.isSafeInteger(unit) || unit <= 0) throw new RangeError(`unit must be a positive safe integer, got ${unit}`)
  if (unit > PRIMES_MAX_UNIT) throw new RangeError(`unit must be at most ${PRIMES_MAX_UNIT} numbers (1024 checkpointed blocks), got ${unit}`)
  const quorum = spec.quorum ?? DEFAULT_QUORUM
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > MAX_QUORUM) throw new RangeError(`quorum must be an integer from 1 to ${MAX_QUORUM}, got ${quorum}`)
  const creditPerOps = spec.creditPerOps ?? DEFAULT_CREDIT_PER_OPS
  if (typeof creditPerOps !== 'number' || !Number.isFinite(creditPerOps) || creditPerOps < 0) {
    throw new RangeError(`creditPerOps must be a finite non-negative number, got ${creditPerOps}`)
  }
  const deadlineMs = spec.deadlineMs
  if (deadlineMs !== undefined && (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > MAX_DEADLINE_MS)) {
    throw new RangeError(`deadlineMs must be an integer from 1 to ${MAX_DEADLINE_MS}, got ${deadlineMs}`)
  }
  const workUnits = Math.ceil((to - from) / unit)
  if (workUnits > MAX_WORK_UNITS_PER_JOB) {
    throw new RangeError(`unit ${unit} makes ${workUnits} work units, more than ${MAX_WORK_UNITS_PER_JOB}; use a larger unit`)
  }
  return { from, to, unit, quorum, creditPerOps, deadlineMs, workUnits }
}

/** The job spec stored for a primes job (job_specs.spec). */
export interface PrimesSpec { from: number, to: number, unit: number }

/** Output of a primes job. */
export interface PrimesJobOutput {
  /** Sum of the canonical prime counts of the WUs assimilated so far. */
  primes: number
}

/**
 * The createWork plan of a primes job: WUs [lo, min(lo + unit, to)). Check the spec first
 * (checkPrimesJobSpec).
 */
export function primesWorkPlan (s: ReturnType<typeof checkPrimesJobSpec>): WorkPlan {
  function * units (): Generator<UnitPlan> {
    for (let lo = s.from; lo < s.to;) {
      const hi = Math.min(lo + s.unit, s.to)
      const estOps = hi - lo
      yield { input: encodePrimesInput(lo, hi), estOps, credit: creditFor(estOps, s.creditPerOps), memoryBytes: PRIMES_MEMORY_BYTES, deadlineMs: s.deadlineMs ?? primesDeadlineMs(estOps) }
      lo = hi
    }
  }
  const spec: PrimesSpec = { from: s.from, to: s.to, unit: s.unit }
  const output: PrimesJobOutput = { primes: 0 }
  return { kernel: PRIMES_KERNEL_ID, quorum: s.quorum, creditPerOps: s.creditPerOps, spec, output, units: units() }
}

/**
 * Catalogue entry of primes-sieve/1: integer counts, bit-exact everywhere; runs on WebAssembly.
 * `checkOutput` refuses, before anything is stored, an output whose layout does not fit the unit
 * (length, checkpoint positions, decreasing or >= 2^53 counts) or whose counts are impossible
 * (prime-bounds.ts), so the assimilator's sum only ever sees counts within [0, hi - lo].
 * `spotCheck` re-sieves random blocks with the kernel in Node and `arbitrate` one block where two
 * outputs differ (spot-check.ts); the kernel is
 * loaded here when the .wasm is built (else on the first check, which then fails loudly).
 */
export function primesKernel (spot: PrimesSpotCheckOptions = {}): KernelDef {
  if (spot.kernel == null) {
    try { hubPrimesKernel() } catch { /* not built: the first spot check names the missing file */ }
  }
  return {
    id: PRIMES_KERNEL_ID,
    backends: ['wasm'],
    exact: true,
    checkOutput (output, wu) {
      const { lo, hi } = decodePrimesInput(wu.input)
      let result
      try {
        result = decodePrimesResult(output, lo, hi)
      } catch (err) {
        throw new BadOutputError(`primes output: ${(err as Error).message}`)
      }
      checkPrimeCounts(result, lo, hi)
    },
    spotCheck: primesSpotCheck(spot),
    arbitrate: primesArbitrate(spot),
    assimilator: {
      fold: (acc: PrimesJobOutput, output: Uint8Array): PrimesJobOutput => ({ primes: acc.primes + decodePrimesOutput(output) }),
      unfold: (acc: PrimesJobOutput, output: Uint8Array): PrimesJobOutput => ({ primes: acc.primes - decodePrimesOutput(output) })
    }
  }
}
