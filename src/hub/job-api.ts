/**
 * The researcher's side of the hub: create primes and matmul jobs, post a kernel job, read a
 * kernel job's status and outputs, and revive, cancel, pause or resume a job. HubCore exposes these
 * (its /sparecycles/job handler and the CLI call them); every state change is one repository
 * transaction through createWork (create-work.ts) or the transitioner.
 */
import { createWork, withPolicy } from './create-work.ts'
import { jobStatusOf } from './job-status.ts'
import { kernelJobInfo, kernelJobPolicy, prepareKernelJob } from './kernel-job.ts'
import { matmulWorkPlan, resolveMatmulOperands } from './matmul-job.ts'
import { checkPrimesJobSpec, primesWorkPlan } from './work-generator.ts'
import { BadJobError } from '../protocol/job-protocol.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelCatalogue } from './catalogue.ts'
import type { JobStatus } from './job-status.ts'
import type { MatmulJobSpec } from './matmul-job.ts'
import type { HubRepository, JobPolicy } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { PrimesJobSpec } from './work-generator.ts'
import type { JobInfo, JobQuery, PostJob } from '../protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface JobApiDeps {
  repo: HubRepository
  catalogue: KernelCatalogue
  transitioner: Transitioner
  /** Where operand and kernel blobs go (`<dataDir>/blobs`). */
  blobs: BlobStore
  dataDir: string
  /** Signs kernel tickets (the hub's own key, not the ledger key). */
  hubKey: PrivateKey
  /** The hub's peer id (base58btc), named in kernel tickets. */
  hubPeerId: string
  /** Clock, Unix ms. */
  now: () => number
  /** Policy of jobs posted without one (checked with checkPolicy). */
  defaultPolicy: JobPolicy
  /** A job's status after it was created (HubQueries.jobStatus). */
  jobStatus: (jobId: string) => Promise<JobStatus | undefined>
  /** @throws Error when the hub is closed */
  assertOpen: () => void
}

const POLICIES: readonly JobPolicy[] = ['replicate', 'adaptive', 'certify']

/** @throws RangeError for a policy that is not one of replicate, adaptive, certify */
export function checkPolicy (policy: JobPolicy): JobPolicy {
  if (!POLICIES.includes(policy)) throw new RangeError(`policy must be one of ${POLICIES.join(', ')}, got ${String(policy)}`)
  return policy
}

const STATUS_ONLY = { outputsFrom: 0, outputsMax: 0 }

export class JobApi {
  constructor (private readonly d: JobApiDeps) {}

  /**
   * Create a primes-sieve job (see work-generator.ts for the split and the credit rate).
   * `opts.policy` (trust.ts): `replicate` when `spec.quorum` is given (the researcher chose a
   * quorum), else the hub's default policy (`adaptive` unless configured otherwise).
   * @throws RangeError naming the bad field; nothing is written then
   */
  async createPrimesJob (spec: PrimesJobSpec, opts: { policy?: JobPolicy } = {}): Promise<JobStatus> {
    this.d.assertOpen()
    const plan = primesWorkPlan(checkPrimesJobSpec(spec))
    const policy = checkPolicy(opts.policy ?? (spec.quorum != null ? 'replicate' : this.d.defaultPolicy))
    return await this.created(await this.d.repo.transaction(async tx => await createWork(tx, this.d.now(), withPolicy(() => plan, policy))))
  }

  /**
   * Create a matrix-multiply job (matmul-job.ts): operands from `.f32mat` files, matrices, or a
   * seed; cut into tiles verified by Freivalds' check.
   * @throws MatrixFormatError (bad file, size, NaN/Inf, non-conforming) or RangeError, before any
   *   work unit is created
   */
  async createMatmulJob (spec: MatmulJobSpec): Promise<JobStatus> {
    this.d.assertOpen()
    const plan = matmulWorkPlan(resolveMatmulOperands(spec), this.d.blobs, this.d.dataDir)
    return await this.created(await this.d.repo.transaction(async tx => await createWork(tx, this.d.now(), withPolicy(plan, 'certify'))))
  }

  /**
   * Check and create a researcher-kernel job posted by `remotePeerId`; its kernel joins the catalogue.
   * @param allowed peer ids allowed to post
   * @throws ManifestError, ManifestSignatureError, ResearcherMismatchError, ResearcherNotAllowedError,
   *   KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError, BadJobError —
   *   all before any job is written
   */
  async postKernelJob (remotePeerId: string, post: PostJob, allowed: Set<string>): Promise<{ jobId: string, workUnits: number, kernelRef: string }> {
    this.d.assertOpen()
    const { hubKey, hubPeerId, blobs, dataDir } = this.d
    const prepared = await prepareKernelJob({ hubKey, hubPeerId, blobs, dataDir, allowed, remotePeerId, nowMs: this.d.now() }, post)
    const created = await this.d.repo.transaction(async tx => {
      await this.d.catalogue.register(tx, prepared.kernel)
      // the researcher's policy; a quorum alone means replicate; neither: the hub's default (adaptive)
      return await createWork(tx, this.d.now(), withPolicy(prepared.plan, kernelJobPolicy(post) ?? this.d.defaultPolicy))
    })
    return { ...created, kernelRef: prepared.kernel.id }
  }

  /**
   * Status and a page of canonical outputs of a researcher's own job.
   * @throws UnknownJobError for an unknown job or one posted by someone else
   */
  async kernelJobInfo (remotePeerId: string, query: JobQuery): Promise<JobInfo> {
    const { job, status } = await this.d.repo.read(async tx => {
      const job = await tx.getJob(query.jobId)
      return { job, status: job == null ? undefined : await jobStatusOf(tx, job, this.d.now()) }
    })
    return kernelJobInfo(job, remotePeerId, query, status)
  }

  /**
   * Revive a failed job (its researcher's call): every failed unit is open again, the job running.
   * @returns units reopened, or undefined for an unknown job
   */
  async reviveJob (jobId: string): Promise<number | undefined> {
    this.d.assertOpen()
    return await this.d.repo.transaction(async tx => (await tx.getJob(jobId)) == null ? undefined : await this.d.transitioner.reviveJob(tx, jobId))
  }

  /**
   * A researcher revives one of their own failed kernel jobs (over /sparecycles/job).
   * @returns units reopened (0 when nothing had failed) and the job's status afterwards
   * @throws UnknownJobError for an unknown job or one posted by someone else
   */
  async reviveKernelJob (remotePeerId: string, jobId: string): Promise<{ reopened: number, job: JobInfo }> {
    await this.kernelJobInfo(remotePeerId, { jobId, ...STATUS_ONLY })
    const reopened = await this.reviveJob(jobId) ?? 0
    return { reopened, job: await this.kernelJobInfo(remotePeerId, { jobId, ...STATUS_ONLY }) }
  }

  /**
   * A researcher cancels, pauses or resumes one of their own kernel jobs (over /sparecycles/job):
   * `cancel` and `pause` hold it (it leases nothing more; replicas out may still report),
   * `resume` lets it lease again with its failed units open again. A settled job cannot be held.
   * @returns units reopened by a resume (0 otherwise) and the job's status afterwards
   * @throws UnknownJobError for an unknown job or one posted by someone else; BadJobError for an
   *   unknown action, a cancelled job resumed, or a complete job held
   */
  async controlKernelJob (remotePeerId: string, jobId: string, action: string): Promise<{ reopened: number, job: JobInfo }> {
    this.d.assertOpen()
    const before = await this.kernelJobInfo(remotePeerId, { jobId, ...STATUS_ONLY })
    if (!['cancel', 'pause', 'resume'].includes(action)) throw new BadJobError(`action must be cancel, pause or resume, got ${JSON.stringify(action.slice(0, 20))}`)
    if (before.hold === 'cancelled' && action !== 'cancel') throw new BadJobError(`${jobId} was cancelled; post it again instead`)
    if (before.state === 'complete' && action !== 'resume') throw new BadJobError(`${jobId} is complete`)
    const reopened = await this.d.repo.transaction(async tx => {
      if (action === 'resume') return await this.d.transitioner.resume(tx, jobId)
      await this.d.transitioner.hold(tx, jobId, action === 'cancel' ? 'cancelled' : 'paused', action === 'cancel' ? 'cancelled by its researcher' : 'paused by its researcher')
      return 0
    })
    return { reopened, job: await this.kernelJobInfo(remotePeerId, { jobId, ...STATUS_ONLY }) }
  }

  private async created (c: { jobId: string }): Promise<JobStatus> {
    return await this.d.jobStatus(c.jobId) as JobStatus
  }
}
