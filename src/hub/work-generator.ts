/**
 * Work generator: turns a researcher's job spec into a job row and its work units.
 *
 * Primes-sieve jobs count the primes in [from, to), split into WUs [lo, min(lo + unit, to)).
 * Credit rate: by default 1 credit per million numbers sieved (`creditPerOps = 1e-6`), so a WU's
 * pre-assigned credit is `estOps * creditPerOps` = `(hi - lo) / 1e6`, rounded to 1e-9 credit
 * (so that e.g. a unit of 10^5 numbers is exactly 0.1 credit, not 0.09999999999999999).
 */
import { PRIMES_KERNEL_ID, checkPrimesRange, encodePrimesInput } from '../protocol/primes.ts'
import { initialJobOutput } from './assimilator.ts'
import type { HubStore } from './store.ts'

export interface PrimesJobSpec {
  /** Range start (inclusive), a non-negative integer. */
  from: number
  /** Range end (exclusive), at most 2^53. */
  to: number
  /** Numbers per work unit, a positive safe integer. */
  unit: number
  /** Agreeing results from distinct volunteers needed per WU, 1..8 (default 2). */
  quorum?: number
  /** Credit per number sieved (default 1e-6: 1 credit per million numbers). */
  creditPerOps?: number
  /** Wall-clock limit per run, in ms (default: primesDeadlineMs(estOps) of each WU). */
  deadlineMs?: number
}

export interface CreatedJob {
  jobId: string
  workUnits: number
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

/** Work-unit id of the `index`-th WU of a job. */
export function workUnitId (jobId: string, index: number): string {
  return `${jobId}/wu-${index}`
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

/**
 * Create a primes-sieve job and all its work units in one transaction. The spec is checked before
 * anything is written.
 * @param nowMs creation time, Unix ms
 * @throws RangeError naming the bad field (see checkPrimesJobSpec)
 */
export function createPrimesJob (store: HubStore, spec: PrimesJobSpec, nowMs = Date.now()): CreatedJob {
  const s = checkPrimesJobSpec(spec)
  return store.transaction(() => {
    const seq = (store.get<{ n: number | null }>('SELECT max(seq) AS n FROM jobs')?.n ?? 0) + 1
    const jobId = `job-${seq}`
    store.run(`INSERT INTO jobs (id, seq, kernel, range_from, range_to, unit, quorum, credit_per_ops, state,
        created_at_ms, wu_count, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
    jobId, seq, PRIMES_KERNEL_ID, s.from, s.to, s.unit, s.quorum, s.creditPerOps, nowMs, s.workUnits,
    initialJobOutput(PRIMES_KERNEL_ID))
    const insert = store.stmt(`INSERT INTO work_units (id, job_id, job_seq, idx, kernel, input, est_ops, credit,
        memory_bytes, deadline_ms, quorum, wanted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    let index = 0
    for (let lo = s.from; lo < s.to; index++) {
      const hi = Math.min(lo + s.unit, s.to)
      const estOps = hi - lo
      insert.run(workUnitId(jobId, index), jobId, seq, index, PRIMES_KERNEL_ID, encodePrimesInput(lo, hi), estOps,
        creditFor(estOps, s.creditPerOps), PRIMES_MEMORY_BYTES, s.deadlineMs ?? primesDeadlineMs(estOps), s.quorum, s.quorum)
      lo = hi
    }
    return { jobId, workUnits: index }
  })
}
