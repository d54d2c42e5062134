/**
 * Job progress as the HTTP API, the CLI and the researcher protocol show it, read through the
 * repository.
 */
import { PRIMES_KERNEL_ID } from '../protocol/primes.ts'
import type { JobRow, JobState, RepoReader } from './repository.ts'

export interface JobStatus {
  id: string
  kernel: string
  /** Primes jobs: the range [from, to) and the numbers per work unit (absent for other kernels). */
  from?: number
  to?: number
  unit?: number
  quorum: number
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
  /** Agreeing results needed per WU (the quorum). */
  replicasPerUnit: number
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
    replicasPerUnit: job.quorum,
    volunteers: progress.volunteers,
    credit: await tx.balances(job.id),
    invalidResults: progress.invalidResults
  }
}
