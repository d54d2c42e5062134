/**
 * Job progress as the HTTP API, the CLI and the researcher protocol show it, read through the
 * repository.
 */
import { PRIMES_KERNEL_ID } from '../protocol/primes.ts'
import type { JobPolicy, JobRow, JobState, RepoReader } from './repository.ts'

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
}

/** The status of one job row. */
export async function jobStatusOf (tx: RepoReader, job: JobRow): Promise<JobStatus> {
  const output = JSON.parse(job.output) as unknown
  const spec = JSON.parse(job.spec) as Record<string, unknown>
  const progress = await tx.jobProgress(job.id)
  const primes = job.kernel === PRIMES_KERNEL_ID
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
    invalidResults: progress.invalidResults
  }
}
