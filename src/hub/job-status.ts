/**
 * Job progress as the HTTP API, the CLI and the researcher protocol show it, read through the
 * repository.
 */
import { PRIMES_KERNEL_ID } from '../protocol/primes.ts'
import type { ClientErrorKind, JobHold, JobPolicy, JobRow, JobState, RepoReader } from './repository.ts'

/** The window of the recent validated rate behind `etaMs`, ms. */
export const ETA_WINDOW_MS = 5 * 60_000
/** A page's word that it is paused counts this long, ms (pages repeat it every 15 s while paused). */
export const PAUSE_FRESH_MS = 60_000
/** Client-error groups a status lists at most. */
export const MAX_ERROR_KINDS = 8

export interface JobStatus {
  id: string
  kernel: string
  /** Primes jobs: the range [from, to) and the numbers per work unit (absent for other kernels). */
  from?: number
  to?: number
  unit?: number
  /** Agreeing results per WU under `replicate`; under `adaptive` the quorum a forced replica raises a unit to. */
  quorum: number
  /** How results are trusted (trust.ts): replicate, adaptive or certify. */
  policy: JobPolicy
  state: JobState
  /** Number of work units. */
  workUnits: number
  /** WUs with a canonical result. */
  validated: number
  /** Replicas wanted but not yet leased (sum over open WUs). */
  unsent: number
  /** Replicas leased and not yet returned or expired. */
  inProgress: number
  /** WUs that ran out of replicas. */
  failed: number
  /** Primes jobs: sum of the canonical counts so far (0 for other kernels). */
  primes: number
  /** The job's spec (JSON value: primes range, matmul dimensions, kernel ticket ref). */
  spec: unknown
  /** The assimilator's job output (JSON value). */
  output: unknown
  replicasIssued: number
  /** Measured: replicas issued / work units (not the configured quorum). */
  replicasPerUnit: number
  /** Replicas issued per validated work unit (0 before any is validated). */
  replicasPerValidated: number
  /** Spot checks the hub ran on this job's results, and how many failed (each a proven cheat). */
  spotChecks: number
  spotCheckFailures: number
  /** The hub's checking work as a fraction of the volunteers' (checked ops / ops of successful results received; 0 when none). */
  checkingCost: number
  /** Wall milliseconds the hub spent in its own checks (spot checks, arbitrations) of this job's results, measured. */
  checkMs: number
  /** Done units reopened because their canonical result's sender was later proven a cheater. */
  reopened: number
  /** Σ compute ms of the successful results as the volunteers report it (a claim, not a measurement by the hub). */
  reportedMs: number
  /** checkMs ÷ reportedMs (0 when nothing reported): the hub's checking time as a share of the volunteers' reported compute. */
  checkingCostTime: number
  /** Distinct peers with at least one valid result in this job. */
  volunteers: number
  /** Credit granted in this job, per peer id. */
  credit: Record<string, number>
  /** Results of this job judged invalid. */
  invalidResults: number
  /** Why a running job leases nothing (`paused`, `cancelled`), or null. */
  hold: JobHold | null
  holdReason: string
  /** Client-error results received (the volunteers' claims: their kernels failed). */
  clientErrorResults: number
  /** Those results by error kind and device class, most first (at most MAX_ERROR_KINDS groups; kind ≤ 64 and sample ≤ 300 characters). */
  clientErrors: ClientErrorKind[]
  /** Units the hub ran itself because volunteers reported them failing, and how many failed on the hub too. */
  probes: number
  probeFailures: number
  /** Volunteers holding a replica of this job now. */
  workers: number
  /** Of those, the ones whose pages said in the last PAUSE_FRESH_MS that they are paused, and their reasons (volunteers per reason). */
  pausedWorkers: number
  pauseReasons: Record<string, number>
  /** Units validated in the last ETA_WINDOW_MS. */
  validatedRecently: number
  /** Estimated ms to completion from the recent validated rate; 0 when nothing was validated recently (no ETA while nothing moves) or the job is not running. */
  etaMs: number
}

/** The status of one job row. */
export async function jobStatusOf (tx: RepoReader, job: JobRow, nowMs: number = Date.now()): Promise<JobStatus> {
  const output = JSON.parse(job.output) as unknown
  const spec = JSON.parse(job.spec) as Record<string, unknown>
  const progress = await tx.jobProgress(job.id)
  const primes = job.kernel === PRIMES_KERNEL_ID
  // all client-error groups, for the total (few: kinds × device classes); the status lists the first MAX_ERROR_KINDS
  const errors = await tx.clientErrorKinds(job.id, 1000)
  // the recent rate: units validated in the last window (or since the job began, when younger)
  const windowMs = Math.max(1000, Math.min(ETA_WINDOW_MS, nowMs - job.created_at_ms))
  const recent = await tx.validatedSince(job.id, nowMs - windowMs)
  const paused = await tx.pausedWorkers(job.id, nowMs - PAUSE_FRESH_MS)
  return {
    id: job.id,
    kernel: job.kernel,
    ...(primes ? { from: spec.from as number, to: spec.to as number, unit: spec.unit as number } : {}),
    quorum: job.quorum,
    policy: job.policy,
    state: job.state,
    workUnits: job.wu_count,
    validated: job.wu_validated,
    unsent: progress.unsent,
    inProgress: progress.inProgress,
    failed: job.wu_failed,
    primes: primes ? (output as { primes: number }).primes : 0,
    spec,
    output,
    replicasIssued: job.replicas_issued,
    replicasPerUnit: job.wu_count > 0 ? job.replicas_issued / job.wu_count : 0,
    replicasPerValidated: job.wu_validated > 0 ? job.replicas_issued / job.wu_validated : 0,
    spotChecks: job.spot_checks,
    spotCheckFailures: job.spot_failures,
    checkingCost: job.result_ops > 0 ? job.checked_ops / job.result_ops : 0,
    checkMs: Math.round(job.checked_ms * 1000) / 1000,
    reopened: job.wu_reopened,
    reportedMs: progress.reportedMs,
    checkingCostTime: progress.reportedMs > 0 ? job.checked_ms / progress.reportedMs : 0,
    volunteers: progress.volunteers,
    credit: await tx.balances(job.id),
    invalidResults: progress.invalidResults,
    hold: job.hold,
    holdReason: job.hold_reason,
    clientErrorResults: errors.reduce((n, e) => n + e.results, 0),
    clientErrors: errors.slice(0, MAX_ERROR_KINDS).map(e => ({ ...e, kind: e.kind.slice(0, 64), sample: e.sample.slice(0, 300) })),
    probes: job.probes,
    probeFailures: await tx.probeFailures(job.id),
    workers: await tx.jobWorkers(job.id),
    pausedWorkers: paused.peers,
    pauseReasons: paused.reasons,
    validatedRecently: recent,
    etaMs: job.state === 'running' && job.hold == null && recent > 0 ? Math.round((job.wu_count - job.wu_validated - job.wu_failed) * windowMs / recent) : 0
  }
}
