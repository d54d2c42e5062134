/**
 * HubCore: the hub without networking. One object per data directory; the libp2p host calls
 * `lease` / `leaseV2` for /sparecycles/work, `submit` + `creditsFor` for /sparecycles/result and
 * `postKernelJob` / `kernelJobInfo` for /sparecycles/job, passing the noise-authenticated peer id.
 *
 * Storage is a HubRepository (SQLite by default). `open` loads the kernel catalogue from it before
 * returning, so nothing can be leased before every stored kernel is known. A result is
 * acknowledged only after the transaction that stores, validates, credits and assimilates it
 * has committed; a restart on the same data directory loses no acknowledged result or credit.
 */
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { checkWorkRequestV2 } from '../protocol/capabilities.ts'
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { RateLimitedError } from '../protocol/errors.ts'
import { checkWorkRequest } from '../protocol/schema.ts'
import { Assimilator } from './assimilator.ts'
import { blobStoreIn } from './blob-store.ts'
import { KernelCatalogue } from './catalogue.ts'
import { createWork } from './create-work.ts'
import { resolveTrust } from './trust.ts'
import { withPolicy } from './create-work.ts'
import { HubQueries } from './hub-queries.ts'
import { jobStatusOf } from './job-status.ts'
import { kernelJobInfo, kernelJobPolicy, prepareKernelJob, researcherKernel } from './kernel-job.ts'
import { Ledger } from './ledger.ts'
import { Ed25519Verifier, cachedSigningKey } from './ed25519-keys.ts'
import { matmulKernel, matmulWorkPlan, resolveMatmulOperands } from './matmul-job.ts'
import { HubMetrics, MAX_PROBES_COUNTED, TOP_HOLDERS } from './metrics.ts'
import { SiteRegistry } from './site-registry.ts'
import { PeerRates, resolvePeerLimits } from './peer-limits.ts'
import { Scheduler } from './scheduler.ts'
import { SiteCredits } from './sites.ts'
import { SqliteHubRepository } from './sqlite-repository.ts'
import { GroupCommit } from './group-commit.ts'
import { submitBatch } from './submission.ts'
import type { Submission } from './submission.ts'
import { Transitioner } from './transitioner.ts'
import { Validator } from './validator.ts'
import { checkPrimesJobSpec, primesKernel, primesWorkPlan } from './work-generator.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelContext } from './catalogue.ts'
import type { JobStatus } from './job-status.ts'
import type { MatmulJobSpec } from './matmul-job.ts'
import type { PeerLimitName, PeerLimitOptions, PeerLimits } from './peer-limits.ts'
import type { HubRepository, JobPolicy, RepoTx, WorkUnitRow } from './repository.ts'
import type { PeerOffer, Release } from './scheduler.ts'
import type { TimedOperation } from './metrics.ts'
import type { TrustSettings } from './trust.ts'
import type { PrimesJobSpec } from './work-generator.ts'
import { BadJobError, StoreUnavailableError } from '../protocol/index.ts'
import { pseudonymKeyOf } from '../protocol/pseudonym.ts'
import { sameKey, signLedgerDelegation } from '../protocol/ledger-key.ts'
import type { HubReceipt, LedgerDelegation, JobInfo, JobQuery, PostJob, ResultResponse, SignedResult, SubmitOutcome, WorkRequest, WorkRequestV2, WorkResponse } from '../protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'

export type { JobStatus } from './job-status.ts'
export type { HubPeerStats } from './hub-queries.ts'

/** Who asked, as the transport knows it. */
export interface RequestOrigin {
  /** IP address of the connection (two replicas of a unit avoid one address); absent: unknown. */
  remoteAddr?: string
  /**
   * When the request's connection opened (Unix ms, the clock of `now`) and the replica ids already
   * resent on it (the host keeps one set per connection; the hub adds to it). With them, a work
   * request first gets back the peer's in-progress replicas leased before this connection opened
   * (their response may have died with the old connection), each once per connection.
   */
  connection?: { openedAtMs: number, resent: Set<string> }
}

export interface HubCoreOptions {
  /** Directory of `hub.sqlite`, blobs and job outputs; created when missing. */
  dataDir: string
  /** The hub's Ed25519 key (its libp2p identity): signs kernel tickets and the delegation to the ledger key; without `ledgerKey`, also acks and credit receipts. */
  hubKey: PrivateKey
  /** Storage (default: SQLite in dataDir; PgHubRepository for several hubs on one database). */
  repository?: HubRepository
  /**
   * The deployment's ledger key (default hubKey): it signs every ack and credit receipt, derives
   * the volunteers' ledger pseudonyms, and the store is bound to it (`meta.hub_peer_id` is its
   * peer id). Hubs sharing one database are given the same ledgerKey beside their own hubKey, so
   * the chain names each volunteer by one pseudonym and every hub's receipts verify with one key;
   * each hub presents it with its delegation (`ledgerDelegation`, protocol/ledger-key.ts).
   */
  ledgerKey?: PrivateKey
  /** Clock, Unix ms (default Date.now); tests inject one. */
  now?: () => number
  /** Fixed lease duration in ms (default per WU: deadlineMs * 2 + 30 s). */
  leaseMs?: number
  /** Established peers' client errors that fail a WU (default 3; releases, expiries and fresh keys never count). */
  maxErrorsPerUnit?: number
  /** @deprecated the old name of maxErrorsPerUnit (replicas no longer fail a unit). */
  maxReplicasPerUnit?: number
  /** Trust settings (trust.ts; default DEFAULT_TRUST). */
  trust?: Partial<TrustSettings>
  /** Uniform [0, 1) draws for the validator's sampling and spot checks (default the CSPRNG; tests seed one). */
  random?: () => number
  /** Policy of jobs created without one (default `adaptive`; tests of quorum semantics use `replicate`). */
  defaultPolicy?: JobPolicy
  /** Lease order inside a job (default `random`; `sequential`, the old steerable order, is for tests only). */
  leaseOrder?: 'random' | 'sequential'
  /** retryAfterMs sent when no work is available (default 5000 ms). */
  retryAfterMs?: number
  /** Per-peer caps and rates (peer-limits.ts; default DEFAULT_PEER_LIMITS). */
  limits?: PeerLimitOptions
  /** Registered partner sites and their origins (site-registry.ts; default `<dataDir>/sites.json`). */
  sitesFile?: string
  /** Where counters go (default: a HubMetrics of its own, `core.metrics`). */
  metrics?: HubMetrics
  /** Monotonic clock of the rate buckets, ms (default performance.now). */
  rateClock?: () => number
  /** Called for every limit hit, beside the metrics counter (e.g. a log line). */
  onLimitHit?: (name: PeerLimitName, detail: string) => void
  /**
   * Group commit of submissions: a submission waits at most `maxDelayMs` (default 5 ms) for
   * others, and at most `maxResults` (default 64) are stored in one transaction; each is acked
   * only after its transaction commits.
   */
  groupCommit?: { maxDelayMs?: number, maxResults?: number }
}


export class HubCore extends HubQueries {
  /** The hub's peer id (base58btc), derived from hubKey. */
  readonly peerId: string
  /** The peer id of the ledger key (HubCoreOptions.ledgerKey; the hub's own without one): the store is bound to it. */
  readonly ledgerPeerId: string
  readonly dataDir: string
  /** Which site keys earn credit from which origins (re-read when the file changes). */
  readonly sites: SiteRegistry
  /** Services, exposed for tools and tests; all state goes through `repo`. */
  readonly repo: HubRepository
  readonly catalogue: KernelCatalogue
  readonly transitioner: Transitioner
  readonly scheduler: Scheduler
  readonly validator: Validator
  readonly assimilator: Assimilator
  readonly ledger: Ledger
  /** Content-addressed blobs served over /sparecycles/blob/1.0.0 (`<dataDir>/blobs`). */
  readonly blobs: BlobStore
  /** Clock, Unix ms. */
  readonly now: () => number
  /** Counters and gauges served by `GET /metrics`. */
  readonly metrics: HubMetrics
  /** The per-peer limits in force. */
  readonly limits: PeerLimits
  /** The hub key, its sign() on a key object imported once (ed25519-keys.ts). */
  private readonly hubKey: PrivateKey
  /** The ledger key (HubCoreOptions.ledgerKey, else the hub key): signs acks and receipts. */
  private readonly ledgerKey: PrivateKey
  /** Signed in `open`. */
  private delegation: LedgerDelegation | undefined
  /** Whether the ledger key is another key than the hub's: result responses then carry the delegation. */
  readonly delegatesLedger: boolean
  /** Result signatures, checked with key objects kept per volunteer. */
  private readonly verifier = new Ed25519Verifier()
  private readonly checkSignature = this.verifier.verify.bind(this.verifier)
  private readonly rates: PeerRates
  private readonly limitHit: (name: PeerLimitName, detail: string) => void
  private readonly retryAfterMs: number
  private readonly defaultPolicy: JobPolicy
  /** Submissions, committed in groups (group-commit.ts); also the store's single writer at close. */
  private readonly submissions: GroupCommit<Submission, ResultResponse>
  private closed = false

  private constructor (repo: HubRepository, opts: HubCoreOptions) {
    super()
    this.repo = repo
    this.dataDir = opts.dataDir
    this.sites = new SiteRegistry(opts.sitesFile ?? join(this.dataDir, 'sites.json'))
    this.hubKey = cachedSigningKey(opts.hubKey)
    this.ledgerKey = opts.ledgerKey == null ? this.hubKey : cachedSigningKey(opts.ledgerKey)
    this.delegatesLedger = opts.ledgerKey != null && !sameKey(opts.ledgerKey.publicKey, opts.hubKey.publicKey)
    this.now = opts.now ?? Date.now
    this.retryAfterMs = opts.retryAfterMs ?? 5_000
    this.submissions = new GroupCommit({
      maxDelayMs: opts.groupCommit?.maxDelayMs ?? 5,
      maxItems: opts.groupCommit?.maxResults ?? 64,
      commit: async batch => {
        this.assertOpen()
        const onAckSigned = (when: 'grant' | 'lazy'): void => { this.metrics.receiptSigned('ack', when) }
        return await submitBatch({ ...this.services(), ledgerKey: this.ledgerKey, checkSignature: this.checkSignature, now: this.now, onAckSigned }, batch)
      },
      onGroup: (size, seconds) => { this.metrics.groupCommitted(size, seconds) }
    })
    this.defaultPolicy = checkPolicy(opts.defaultPolicy ?? 'adaptive')
    this.blobs = blobStoreIn(opts.dataDir)
    this.catalogue = new KernelCatalogue([primesKernel(), matmulKernel()], researcherKernel)
    const trust = resolveTrust(opts.trust)
    this.transitioner = new Transitioner(opts.maxErrorsPerUnit ?? opts.maxReplicasPerUnit, trust)
    const metrics = this.metrics = opts.metrics ?? new HubMetrics()
    this.limits = resolvePeerLimits(opts.limits)
    this.limitHit = (name, detail) => { metrics.limitHit(name, detail); opts.onLimitHit?.(name, detail) }
    this.rates = new PeerRates(this.limits, opts.rateClock)
    metrics.listHolders(async () => this.closed ? [] : await this.repo.read(async tx => await tx.topHolders(TOP_HOLDERS)))
    metrics.countQueued(() => this.submissions.queueLength)
    metrics.countProbesQueued(async () => this.closed ? 0 : (await this.repo.read(async tx => await tx.queuedProbes(MAX_PROBES_COUNTED))).length)
    this.scheduler = new Scheduler(this.catalogue, this.transitioner, { leaseMs: opts.leaseMs, limits: this.limits, onLimitHit: this.limitHit, trust, order: opts.leaseOrder })
    this.ledger = new Ledger(this.ledgerKey, pseudonymKeyOf((opts.ledgerKey ?? opts.hubKey).raw), when => metrics.receiptSigned('credit', when))
    this.ledger.onGrant(SiteCredits.onGrant)
    const context = this.kernelContext.bind(this)
    this.validator = new Validator(this.catalogue, this.transitioner, this.ledger, context, { random: opts.random, trust })
    this.assimilator = new Assimilator(this.catalogue, this.transitioner, context)
    this.peerId = peerIdFromPrivateKey(opts.hubKey).toString()
    this.ledgerPeerId = opts.ledgerKey == null ? this.peerId : peerIdFromPrivateKey(opts.ledgerKey).toString()
  }

  /**
   * Open (or create) the hub's store in `dataDir` (or use `opts.repository`) and load its kernel catalogue.
   * @throws Error when the store belongs to another hub key (another ledger key), or its schema is newer
   * @throws RangeError for bad options
   */
  static async open (opts: HubCoreOptions): Promise<HubCore> {
    const repo = opts.repository ?? SqliteHubRepository.open(opts.dataDir)
    try {
      const hub = new HubCore(repo, opts)
      hub.delegation = await signLedgerDelegation(hub.hubKey, (opts.ledgerKey ?? opts.hubKey).publicKey)
      await repo.transaction(async tx => {
        const owner = await tx.getMeta('hub_peer_id')
        if (owner == null) await tx.setMeta('hub_peer_id', hub.ledgerPeerId)
        else if (owner !== hub.ledgerPeerId) throw new Error(`${opts.repository != null ? 'the store' : opts.dataDir} belongs to hub ${owner}, not ${hub.ledgerPeerId}`)
        await hub.catalogue.load(tx)
      })
      return hub
    } catch (err) {
      await repo.close()
      throw err
    }
  }

  /**
   * The hub's delegation to the ledger key (its own key's signature naming the ledger public key,
   * protocol/ledger-key.ts): served in `/hub.json` (a single hub's names its own key) and, when
   * `delegatesLedger`, in result responses that carry receipts.
   */
  get ledgerDelegation (): LedgerDelegation {
    if (this.delegation == null) throw new Error('HubCore is not open')
    return this.delegation
  }

  /** What a result response carries as `ledgerKey`: the delegation when the ledger key is not the hub's own and receipts are in it. */
  ledgerKeyFor (hasReceipts: boolean): LedgerDelegation | undefined {
    return this.delegatesLedger && hasReceipts ? this.ledgerDelegation : undefined
  }

  private services (): Pick<HubCore, 'repo' | 'catalogue' | 'transitioner' | 'validator' | 'assimilator'> {
    return { repo: this.repo, catalogue: this.catalogue, transitioner: this.transitioner, validator: this.validator, assimilator: this.assimilator }
  }

  private async kernelContext (tx: RepoTx, wu: WorkUnitRow): Promise<KernelContext> {
    const job = await tx.getJob(wu.job_id)
    return { blobs: this.blobs, dataDir: this.dataDir, spec: job == null ? {} : JSON.parse(job.spec) }
  }

  /**
   * Create a primes-sieve job (see work-generator.ts for the split and the credit rate).
   * `opts.policy` (trust.ts): `replicate` when `spec.quorum` is given (the researcher chose a
   * quorum), else the hub's default policy (`adaptive` unless configured otherwise).
   * @throws RangeError naming the bad field; nothing is written then
   */
  async createPrimesJob (spec: PrimesJobSpec, opts: { policy?: JobPolicy } = {}): Promise<JobStatus> {
    this.assertOpen()
    const plan = primesWorkPlan(checkPrimesJobSpec(spec))
    const policy = checkPolicy(opts.policy ?? (spec.quorum != null ? 'replicate' : this.defaultPolicy))
    return await this.created(await this.repo.transaction(async tx => await createWork(tx, this.now(), withPolicy(() => plan, policy))))
  }

  /**
   * Revive a failed job (its researcher's call): every failed unit is open again, the job running.
   * @returns units reopened, or undefined for an unknown job
   */
  async reviveJob (jobId: string): Promise<number | undefined> {
    this.assertOpen()
    return await this.repo.transaction(async tx => (await tx.getJob(jobId)) == null ? undefined : await this.transitioner.reviveJob(tx, jobId))
  }

  /**
   * A researcher revives one of their own failed kernel jobs (over /sparecycles/job).
   * @returns units reopened (0 when nothing had failed) and the job's status afterwards
   * @throws UnknownJobError for an unknown job or one posted by someone else
   */
  async reviveKernelJob (remotePeerId: string, jobId: string): Promise<{ reopened: number, job: JobInfo }> {
    await this.kernelJobInfo(remotePeerId, { jobId, outputsFrom: 0, outputsMax: 0 })
    const reopened = await this.reviveJob(jobId) ?? 0
    return { reopened, job: await this.kernelJobInfo(remotePeerId, { jobId, outputsFrom: 0, outputsMax: 0 }) }
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
    this.assertOpen()
    const before = await this.kernelJobInfo(remotePeerId, { jobId, outputsFrom: 0, outputsMax: 0 })
    if (!['cancel', 'pause', 'resume'].includes(action)) throw new BadJobError(`action must be cancel, pause or resume, got ${JSON.stringify(action.slice(0, 20))}`)
    if (before.hold === 'cancelled' && action !== 'cancel') throw new BadJobError(`${jobId} was cancelled; post it again instead`)
    if (before.state === 'complete' && action !== 'resume') throw new BadJobError(`${jobId} is complete`)
    const reopened = await this.repo.transaction(async tx => {
      if (action === 'resume') return await this.transitioner.resume(tx, jobId)
      await this.transitioner.hold(tx, jobId, action === 'cancel' ? 'cancelled' : 'paused', action === 'cancel' ? 'cancelled by its researcher' : 'paused by its researcher')
      return 0
    })
    return { reopened, job: await this.kernelJobInfo(remotePeerId, { jobId, outputsFrom: 0, outputsMax: 0 }) }
  }

  /**
   * Create a matrix-multiply job (matmul-job.ts): operands from `.f32mat` files, matrices, or a
   * seed; cut into tiles verified by Freivalds' check.
   * @throws MatrixFormatError (bad file, size, NaN/Inf, non-conforming) or RangeError, before any
   *   work unit is created
   */
  async createMatmulJob (spec: MatmulJobSpec): Promise<JobStatus> {
    this.assertOpen()
    const plan = matmulWorkPlan(resolveMatmulOperands(spec), this.blobs, this.dataDir)
    return await this.created(await this.repo.transaction(async tx => await createWork(tx, this.now(), withPolicy(plan, 'certify'))))
  }

  /**
   * Check and create a researcher-kernel job posted by `remotePeerId`; its kernel joins the catalogue.
   * @param allowed peer ids allowed to post
   * @throws ManifestError, ManifestSignatureError, ResearcherMismatchError, ResearcherNotAllowedError,
   *   KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError, BadJobError —
   *   all before any job is written
   */
  async postKernelJob (remotePeerId: string, post: PostJob, allowed: Set<string>): Promise<{ jobId: string, workUnits: number, kernelRef: string }> {
    this.assertOpen()
    const prepared = await prepareKernelJob({
      hubKey: this.hubKey, hubPeerId: this.peerId, blobs: this.blobs, dataDir: this.dataDir, allowed, remotePeerId, nowMs: this.now()
    }, post)
    const created = await this.repo.transaction(async tx => {
      await this.catalogue.register(tx, prepared.kernel)
      // the researcher's policy; a quorum alone means replicate; neither: the hub's default (adaptive)
      return await createWork(tx, this.now(), withPolicy(prepared.plan, kernelJobPolicy(post) ?? this.defaultPolicy))
    })
    return { ...created, kernelRef: prepared.kernel.id }
  }

  /**
   * Status and a page of canonical outputs of a researcher's own job.
   * @throws UnknownJobError for an unknown job or one posted by someone else
   */
  async kernelJobInfo (remotePeerId: string, query: JobQuery): Promise<JobInfo> {
    const { job, status } = await this.repo.read(async tx => {
      const job = await tx.getJob(query.jobId)
      return { job, status: job == null ? undefined : await jobStatusOf(tx, job, this.now()) }
    })
    return kernelJobInfo(job, remotePeerId, query, status)
  }

  private async created (c: { jobId: string }): Promise<JobStatus> {
    return await this.jobStatus(c.jobId) as JobStatus
  }

  /**
   * /sparecycles/work/1.0.0 and 1.1.0: sweep expired leases, release `req.release` (reason
   * `stopped`: counted), then lease up to `req.maxUnits` replicas of any kernel, as `req.deviceClass`.
   * A malformed request is answered with `error` set, nothing changed. `opts.siteKey` (1.1.0, a
   * partner's embed) is accepted but earns the site nothing: 1.1.0 cannot say which origin the
   * frame runs on, and only a registered origin earns (site-registry.ts; work/2.0.0's siteOrigin).
   */
  async lease (peerId: string, req: WorkRequest, opts: { siteKey?: string } & RequestOrigin = {}): Promise<WorkResponse> {
    return await this.timed('lease', async () => await this.unlessStoreGone(async () => await this.leaseV1(peerId, req, opts)))
  }

  /** Run `fn`, its duration observed as `operation` in `sparecycles_operation_duration_seconds` (thrown or not). */
  private async timed<T> (operation: TimedOperation, fn: () => Promise<T>): Promise<T> {
    const startedMs = performance.now()
    try {
      return await fn()
    } finally {
      this.metrics.operationTook(operation, (performance.now() - startedMs) / 1000)
    }
  }

  private async leaseV1 (peerId: string, req: WorkRequest, opts: { siteKey?: string } & RequestOrigin): Promise<WorkResponse> {
    this.assertOpen()
    const limited = this.overWorkRate(peerId)
    if (limited != null) return limited
    try {
      checkWorkRequest(req)
    } catch (err) {
      return this.refused(err as Error)
    }
    const releases = req.release.map(replicaId => ({ replicaId, reason: 'stopped' as const }))
    return await this.leaseWith(peerId, req.maxUnits, releases, { legacyDeviceClass: req.deviceClass }, undefined, opts)
  }

  /**
   * /sparecycles/work/2.0.0: the same with the page's capabilities: only units it can run are
   * leased, each give-back names its reason (`cannot-run` is not counted against the unit).
   * A malformed request (MalformedMessageError) is answered with `error` set, nothing changed.
   */
  async leaseV2 (peerId: string, req: WorkRequestV2, origin: RequestOrigin = {}): Promise<WorkResponse> {
    return await this.timed('lease', async () => await this.unlessStoreGone(async () => await this.leaseWithCapabilities(peerId, req, origin)))
  }

  private async leaseWithCapabilities (peerId: string, req: WorkRequestV2, origin: RequestOrigin): Promise<WorkResponse> {
    this.assertOpen()
    const limited = this.overWorkRate(peerId)
    if (limited != null) return limited
    try {
      checkWorkRequestV2(req)
    } catch (err) {
      return this.refused(err as Error)
    }
    const releases: Release[] = req.release.map(r => ({ replicaId: r.replicaId, reason: r.reason as Release['reason'] }))
    // checkWorkRequestV2 guarantees capabilities are present
    // a site key earns the site credit only when registered for the origin the frame reports (site-registry.ts)
    const siteKey = req.siteKey !== '' && this.sites.allows(req.siteKey, req.siteOrigin) ? req.siteKey : undefined
    return await this.leaseWith(peerId, req.maxUnits, releases, { capabilities: req.capabilities! }, siteKey, origin, req.paused)
  }

  /** A work request over the peer's `work-rate`: no leases, nothing done, retry when a token is there. */
  private overWorkRate (peerId: string): WorkResponse | undefined {
    const waitMs = this.rates.work.take(peerId)
    if (waitMs === 0) return undefined
    this.limitHit('work-rate', `${peerId}: retry after ${waitMs} ms`)
    return { leases: [], retryAfterMs: waitMs, error: '', message: '' }
  }

  /** `fn`'s answer, or a named refusal (StoreUnavailableError, retry after retryAfterMs) while the store is unreachable. */
  private async unlessStoreGone (fn: () => Promise<WorkResponse>): Promise<WorkResponse> {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      return this.refused(err)
    }
  }

  private refused (err: Error): WorkResponse {
    return { leases: [], retryAfterMs: this.retryAfterMs, error: err.name, message: err.message }
  }

  private async leaseWith (peerId: string, maxUnits: number, releases: Release[], offer: PeerOffer, siteKey?: string, origin: RequestOrigin = {}, paused?: readonly string[]): Promise<WorkResponse> {
    const now = this.now()
    const conn = origin.connection
    const { leases, resumed } = await this.repo.transaction(async tx => {
      await this.scheduler.expire(tx, now)
      await this.scheduler.release(tx, peerId, releases, now)
      // the peer's own leases from before this connection first (released ones are over by now)
      const resumed = conn == null ? [] : await this.scheduler.resume(tx, peerId, maxUnits, now, conn.openedAtMs, conn.resent)
      const leased = [...resumed, ...await this.scheduler.lease(tx, peerId, maxUnits - resumed.length, offer, now, origin.remoteAddr ?? null)]
      // the scheduler touched the peer's row: what it says about pausing is its latest word
      if (paused != null) await tx.setPeerPaused(peerId, paused, now)
      if (siteKey != null) await SiteCredits.recordLeases(tx, siteKey, peerId, leased.slice(resumed.length), now)
      return { leases: leased, resumed }
    })
    // marked resent once committed (a repository may run the transaction's function again: PgHubRepository)
    for (const l of resumed) conn?.resent.add(l.replicaId)
    const retryAfterMs = leases.length === 0 && maxUnits > 0 ? this.retryAfterMs : 0
    return { leases, retryAfterMs, error: '', message: '' }
  }

  /**
   * Submit one signed result from the authenticated `remotePeerId` (submission.ts has the checks).
   * `opts.maxOutputBytes`: the output cap of the protocol version it came over (default 1.0.0's).
   * It joins the next group commit (`groupCommit`): resolved only after that transaction commits.
   * @throws RateLimitedError over the peer's `result-rate` (the stream is reset; the page keeps the
   *   result and sends it again); otherwise only on internal failures (e.g. the database, a closed
   *   hub), never for a bad submission
   */
  async submit (remotePeerId: string, signed: SignedResult, opts: { maxOutputBytes?: number } = {}): Promise<ResultResponse> {
    return await this.timed('submit', async () => {
      try {
        const res = await this.submitOne(remotePeerId, signed, opts)
        this.metrics.resultReceived(res.status)
        return res
      } catch (err) {
        this.metrics.resultReceived('error')
        throw err
      }
    })
  }

  private async submitOne (remotePeerId: string, signed: SignedResult, opts: { maxOutputBytes?: number }): Promise<ResultResponse> {
    const waitMs = this.rates.result.take(remotePeerId)
    if (waitMs > 0) {
      this.limitHit('result-rate', `${remotePeerId}: retry after ${waitMs} ms`)
      throw new RateLimitedError(`more than ${this.limits.resultRate.perSecond} results/s; retry after ${waitMs} ms`)
    }
    this.assertOpen()
    const res = await this.submissions.add({ remotePeerId, signed, maxOutputBytes: opts.maxOutputBytes })
    if (res.status === 'accepted') this.metrics.resultAccepted()
    return res
  }

  /**
   * Submit many signed results from `remotePeerId` (result/2.0.0): each is checked and stored as
   * `submit` does, all join the same group commit (a rejected one is rolled back alone), and the
   * outcomes come back in order once committed. The peer's `result-rate` is charged one token per
   * result (a batch larger than the burst is admitted once, then the peer waits off the debt).
   * @throws RateLimitedError over the peer's `result-rate` (nothing of the batch is stored; the
   *   page sends it again); otherwise only on internal failures, never for a bad submission
   */
  async submitBatch (remotePeerId: string, signed: readonly SignedResult[]): Promise<SubmitOutcome[]> {
    if (signed.length === 0) return []
    const waitMs = this.rates.result.take(remotePeerId, signed.length)
    if (waitMs > 0) {
      this.limitHit('result-rate', `${remotePeerId}: retry after ${waitMs} ms`)
      throw new RateLimitedError(`more than ${this.limits.resultRate.perSecond} results/s; retry after ${waitMs} ms`)
    }
    this.assertOpen()
    return await this.timed('submit', async () => {
      const responses = await Promise.all(signed.map(async s => await this.submissions.add({ remotePeerId, signed: s })))
      return responses.map(res => {
        this.metrics.resultReceived(res.status)
        if (res.status === 'accepted') this.metrics.resultAccepted()
        return { status: res.status, error: res.error, message: res.message, ack: res.ack }
      })
    })
  }

  /**
   * Hub-signed credit receipts for `peerId` with seq > afterSeq, oldest first, at most `max`
   * (default and cap MAX_CREDITS_PER_RESPONSE). `upTo`: the seq of the last receipt returned, or
   * the peer's highest seq when none was — the next `afterSeq`. Receipts carry the signatures
   * stored at grant time; only entries older than schema 3 are signed, once each. Over the peer's
   * `receipts-rate` the page is empty and `upTo` is `afterSeq`.
   */
  async creditsFor (peerId: string, afterSeq: number, max = MAX_CREDITS_PER_RESPONSE): Promise<{ credits: HubReceipt[], upTo: number }> {
    this.assertOpen()
    const waitMs = this.rates.receipts.take(peerId)
    if (waitMs > 0) {
      this.limitHit('receipts-rate', `${peerId}: retry after ${waitMs} ms`)
      return { credits: [], upTo: afterSeq }
    }
    let page = await this.repo.read(async tx => await this.ledger.receiptsFor(tx, peerId, afterSeq, max))
    if (page.rows.some(r => r.receipt_signature == null)) {
      page = await this.repo.transaction(async tx => {
        const p = await this.ledger.receiptsFor(tx, peerId, afterSeq, max)
        await this.ledger.signMissing(tx, p.rows)
        return p
      })
    }
    return { credits: this.ledger.receipts(page.rows), upTo: page.upTo }
  }

  /** Commit the submissions queued and wait for those in flight, then close the store. Idempotent. */
  async close (): Promise<void> {
    if (this.closed) return
    await this.submissions.drain(async () => {
      if (this.closed) return
      this.closed = true
      await this.repo.close()
    })
  }

  private assertOpen (): void {
    if (this.closed) throw new Error('HubCore is closed')
  }
}

const POLICIES: readonly JobPolicy[] = ['replicate', 'adaptive', 'certify']

/** @throws RangeError for a policy that is not one of replicate, adaptive, certify */
function checkPolicy (policy: JobPolicy): JobPolicy {
  if (!POLICIES.includes(policy)) throw new RangeError(`policy must be one of ${POLICIES.join(', ')}, got ${String(policy)}`)
  return policy
}
