/**
 * createWork: the one way a job and its work units come to exist, whatever the kernel (primes
 * ranges in work-generator.ts, matmul tiles in matmul-job.ts, researcher kernels in kernel-job.ts).
 * Job ids come from here only: `job-<seq>`, seq = 1 + the highest so far, in the caller's
 * transaction. Work units are `<jobId>/wu-<index>`, open. Their min_quorum and target_nresults
 * follow the job's policy (trust.ts): `replicate` — both the job's quorum; `adaptive` — both 1
 * (raised to the job's quorum, at least 2, when a result needs a replica); `certify` — both 1.
 */
import type { JobPolicy, RepoTx } from './repository.ts'

/** Work-unit id of the `index`-th WU of a job. */
export function workUnitId (jobId: string, index: number): string {
  return `${jobId}/wu-${index}`
}

/** One work unit to create. */
export interface UnitPlan {
  input: Uint8Array
  /** Estimated cost in kernel operations. */
  estOps: number
  /** Pre-assigned credit per valid result. */
  credit: number
  memoryBytes: number
  deadlineMs: number
  /** A ringer: the SHA-256 (32 bytes) of the output the unit must have, known to the hub alone. */
  knownOutputSha256?: Uint8Array
}

/** What a job consists of, given its id. */
export interface WorkPlan {
  kernel: string
  /** Agreeing results per WU under `replicate` (1 for certificate-validated kernels); under `adaptive` the quorum a forced replica raises a unit to. */
  quorum: number
  /** How results are trusted (default `replicate`; HubCore's job entry points default to `adaptive`). */
  policy?: JobPolicy
  creditPerOps: number
  /** The job's spec, stored as JSON in job_specs. */
  spec: unknown
  /** The job output before any WU is folded in (JSON value). */
  output: unknown
  units: Iterable<UnitPlan>
}

/** The same plan with a policy set (HubCore's entry points). */
export function withPolicy (plan: (jobId: string) => WorkPlan | Promise<WorkPlan>, policy: JobPolicy): (jobId: string) => Promise<WorkPlan> {
  return async jobId => ({ ...await plan(jobId), policy })
}

export interface CreatedJob {
  jobId: string
  workUnits: number
}

/** Rows inserted per repository call. */
const BATCH = 1000

/**
 * Create a job and all its work units in the caller's transaction. `plan` gets the new job's id
 * (for files named after it) and returns what to create; it must check everything it can before
 * any side effect.
 * @param nowMs creation time, Unix ms
 * @throws whatever `plan` throws (the transaction then rolls back)
 */
export async function createWork (tx: RepoTx, nowMs: number, plan: (jobId: string) => WorkPlan | Promise<WorkPlan>): Promise<CreatedJob> {
  const seq = await tx.maxJobSeq() + 1
  const jobId = `job-${seq}`
  const p = await plan(jobId)
  const policy = p.policy ?? 'replicate'
  const unitQuorum = policy === 'replicate' ? p.quorum : 1
  await tx.insertJob({
    id: jobId, seq, kernel: p.kernel, quorum: p.quorum, credit_per_ops: p.creditPerOps, state: 'running', created_at_ms: nowMs,
    spec: JSON.stringify(p.spec), output: JSON.stringify(p.output), policy
  })
  let index = 0
  let batch = []
  for (const u of p.units) {
    batch.push({
      id: workUnitId(jobId, index), job_id: jobId, job_seq: seq, idx: index, kernel: p.kernel, input: u.input, est_ops: u.estOps,
      credit: u.credit, memory_bytes: u.memoryBytes, deadline_ms: u.deadlineMs, quorum: unitQuorum, target_nresults: unitQuorum, wanted: unitQuorum, known_output_sha256: u.knownOutputSha256 ?? null
    })
    index++
    if (batch.length === BATCH) {
      await tx.insertWorkUnits(batch)
      batch = []
    }
  }
  if (batch.length > 0) await tx.insertWorkUnits(batch)
  await tx.patchJob(jobId, { wu_count: index })
  return { jobId, workUnits: index }
}
