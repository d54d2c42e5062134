/**
 * HubCore: the hub without networking. One object per data directory; the libp2p host calls
 * `lease` / `leaseV2` for /sparecycles/work, `submit` + `creditsFor` for /sparecycles/result and
 * `postKernelJob` / `kernelJobInfo` for /sparecycles/job, passing the noise-authenticated peer id.
 * HubCore builds the services and wires them: the researcher's calls are in job-api.ts, work
 * requests in lease-api.ts, results and receipts in result-api.ts, reads in hub-queries.ts.
 *
 * Storage is a HubRepository (SQLite by default). `open` loads the kernel catalogue from it before
 * returning, so nothing can be leased before every stored kernel is known. A result is
 * acknowledged only after the transaction that stores, validates, credits and assimilates it
 * has committed; a restart on the same data directory loses no acknowledged result or credit.
 */
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { pseudonymKeyOf } from '../protocol/pseudonym.ts'
import { sameKey, signLedgerDelegation } from '../protocol/ledger-key.ts'
import { Assimilator } from './assimilator.ts'
import { blobStoreIn } from './blob-store.ts'
import { KernelCatalogue } from './catalogue.ts'
import { Ed25519Verifier, cachedSigningKey } from './ed25519-keys.ts'
import { HubQueries } from './hub-queries.ts'
import { JobApi, checkPolicy } from './job-api.ts'
import { researcherKernel } from './kernel-job.ts'
import { LeaseApi } from './lease-api.ts'
import { Ledger } from './ledger.ts'
import { matmulKernel } from './matmul-job.ts'
import { HubMetrics, MAX_PROBES_COUNTED, TOP_HOLDERS } from './metrics.ts'
import { PeerRates, resolvePeerLimits } from './peer-limits.ts'
import { ResultApi } from './result-api.ts'
import { Scheduler } from './scheduler.ts'
import { SiteRegistry } from './site-registry.ts'
import { SiteCredits } from './sites.ts'
import { SqliteHubRepository } from './sqlite-repository.ts'
import { Transitioner } from './transitioner.ts'
import { resolveTrust } from './trust.ts'
import { Validator } from './validator.ts'
import { primesKernel } from './work-generator.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelContext } from './catalogue.ts'
import type { JobStatus } from './job-status.ts'
import type { RequestOrigin } from './lease-api.ts'
import type { MatmulJobSpec } from './matmul-job.ts'
import type { PeerLimitName, PeerLimitOptions, PeerLimits } from './peer-limits.ts'
import type { HubRepository, JobPolicy, RepoTx, WorkUnitRow } from './repository.ts'
import type { TrustSettings } from './trust.ts'
import type { PrimesJobSpec } from './work-generator.ts'
import type { HubReceipt, LedgerDelegation, JobInfo, JobQuery, PostJob, ResultResponse, SignedResult, SignedResultBatchRequest, SubmitOutcome, WorkRequest, WorkRequestV2, WorkResponse } from '../protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'

export type { JobStatus } from './job-status.ts'
export type { HubPeerStats } from './hub-queries.ts'
export type { RequestOrigin } from './lease-api.ts'

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
  /** The researcher's calls (job-api.ts). */
  private readonly jobs: JobApi
  /** Work requests (lease-api.ts). */
  private readonly leasing: LeaseApi
  /** Results and receipts, and the group commit that is the store's single writer at close (result-api.ts). */
  private readonly results: ResultApi
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
    const retryAfterMs = opts.retryAfterMs ?? 5_000
    const defaultPolicy = checkPolicy(opts.defaultPolicy ?? 'adaptive')
    this.blobs = blobStoreIn(opts.dataDir)
    this.catalogue = new KernelCatalogue([primesKernel(), matmulKernel()], researcherKernel)
    const trust = resolveTrust(opts.trust)
    this.transitioner = new Transitioner(opts.maxErrorsPerUnit ?? opts.maxReplicasPerUnit, trust)
    const metrics = this.metrics = opts.metrics ?? new HubMetrics()
    const limits = this.limits = resolvePeerLimits(opts.limits)
    const limitHit = (name: PeerLimitName, detail: string): void => { metrics.limitHit(name, detail); opts.onLimitHit?.(name, detail) }
    const rates = new PeerRates(limits, opts.rateClock)
    this.scheduler = new Scheduler(this.catalogue, this.transitioner, { leaseMs: opts.leaseMs, limits, onLimitHit: limitHit, trust, order: opts.leaseOrder })
    this.ledger = new Ledger(this.ledgerKey, pseudonymKeyOf((opts.ledgerKey ?? opts.hubKey).raw), when => metrics.receiptSigned('credit', when))
    this.ledger.onGrant(SiteCredits.onGrant)
    const context = this.kernelContext.bind(this)
    this.validator = new Validator(this.catalogue, this.transitioner, this.ledger, context, { random: opts.random, trust })
    this.assimilator = new Assimilator(this.catalogue, this.transitioner, context)
    this.peerId = peerIdFromPrivateKey(opts.hubKey).toString()
    this.ledgerPeerId = opts.ledgerKey == null ? this.peerId : peerIdFromPrivateKey(opts.ledgerKey).toString()

    const assertOpen = this.assertOpen.bind(this)
    const { catalogue, transitioner, validator, assimilator, ledger, ledgerKey, blobs, dataDir, now, scheduler, sites } = this
    this.jobs = new JobApi({ repo, catalogue, transitioner, blobs, dataDir, now, defaultPolicy, hubKey: this.hubKey, hubPeerId: this.peerId, jobStatus: async id => await this.jobStatus(id), assertOpen })
    this.leasing = new LeaseApi({ repo, scheduler, sites, rates, limitHit, metrics, retryAfterMs, now, assertOpen })
    // result signatures checked with key objects kept per volunteer, in libuv's pool (ed25519-keys.ts)
    const verifier = new Ed25519Verifier()
    this.results = new ResultApi({
      repo, catalogue, transitioner, validator, assimilator, ledger, ledgerKey, now, rates, limits, limitHit, metrics,
      checkSignature: verifier.verify.bind(verifier), groupCommit: opts.groupCommit, assertOpen
    })
    metrics.listHolders(async () => this.closed ? [] : await this.repo.read(async tx => await tx.topHolders(TOP_HOLDERS)))
    metrics.countQueued(() => this.results.queueLength)
    metrics.countProbesQueued(async () => this.closed ? 0 : (await this.repo.read(async tx => await tx.queuedProbes(MAX_PROBES_COUNTED))).length)
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

  private async kernelContext (tx: RepoTx, wu: WorkUnitRow): Promise<KernelContext> {
    const job = await tx.getJob(wu.job_id)
    return { blobs: this.blobs, dataDir: this.dataDir, spec: job == null ? {} : JSON.parse(job.spec) }
  }

  // The researcher's calls (job-api.ts has their contracts).

  /** JobApi.createPrimesJob. @throws RangeError naming the bad field; nothing is written then */
  async createPrimesJob (spec: PrimesJobSpec, opts: { policy?: JobPolicy } = {}): Promise<JobStatus> { return await this.jobs.createPrimesJob(spec, opts) }
  /** JobApi.createMatmulJob. @throws MatrixFormatError or RangeError, before any work unit is created */
  async createMatmulJob (spec: MatmulJobSpec): Promise<JobStatus> { return await this.jobs.createMatmulJob(spec) }
  /** JobApi.postKernelJob. @throws the manifest and kernel checks' errors (job-api.ts), before any job is written */
  async postKernelJob (remotePeerId: string, post: PostJob, allowed: Set<string>): Promise<{ jobId: string, workUnits: number, kernelRef: string }> { return await this.jobs.postKernelJob(remotePeerId, post, allowed) }
  /** JobApi.kernelJobInfo. @throws UnknownJobError for an unknown job or one posted by someone else */
  async kernelJobInfo (remotePeerId: string, query: JobQuery): Promise<JobInfo> { return await this.jobs.kernelJobInfo(remotePeerId, query) }
  /** JobApi.reviveJob: units reopened, or undefined for an unknown job. */
  async reviveJob (jobId: string): Promise<number | undefined> { return await this.jobs.reviveJob(jobId) }
  /** JobApi.reviveKernelJob. @throws UnknownJobError */
  async reviveKernelJob (remotePeerId: string, jobId: string): Promise<{ reopened: number, job: JobInfo }> { return await this.jobs.reviveKernelJob(remotePeerId, jobId) }
  /** JobApi.controlKernelJob. @throws UnknownJobError, BadJobError */
  async controlKernelJob (remotePeerId: string, jobId: string, action: string): Promise<{ reopened: number, job: JobInfo }> { return await this.jobs.controlKernelJob(remotePeerId, jobId, action) }

  // The volunteer's calls (lease-api.ts and result-api.ts have their contracts).

  /** LeaseApi.lease (/sparecycles/work/1.0.0 and 1.1.0): refusals are answers with `error` set. */
  async lease (peerId: string, req: WorkRequest, opts: { siteKey?: string } & RequestOrigin = {}): Promise<WorkResponse> { return await this.leasing.lease(peerId, req, opts) }
  /** LeaseApi.leaseV2 (/sparecycles/work/2.0.0): refusals are answers with `error` set. */
  async leaseV2 (peerId: string, req: WorkRequestV2, origin: RequestOrigin = {}): Promise<WorkResponse> { return await this.leasing.leaseV2(peerId, req, origin) }
  /** ResultApi.submit. @throws RateLimitedError over the peer's result-rate; otherwise only on internal failures */
  async submit (remotePeerId: string, signed: SignedResult, opts: { maxOutputBytes?: number } = {}): Promise<ResultResponse> { return await this.results.submit(remotePeerId, signed, opts) }
  /** ResultApi.submitBatch. @throws RateLimitedError over the peer's result-rate; otherwise only on internal failures */
  async submitBatch (remotePeerId: string, signed: readonly SignedResult[]): Promise<SubmitOutcome[]> { return await this.results.submitBatch(remotePeerId, signed) }
  /** ResultApi.submitSignedBatch (result/3.0.0). @throws RateLimitedError over the peer's result-rate; otherwise only on internal failures */
  async submitSignedBatch (remotePeerId: string, req: Pick<SignedResultBatchRequest, 'payloads' | 'publicKey' | 'signature'>): Promise<SubmitOutcome[]> { return await this.results.submitSignedBatch(remotePeerId, req) }
  /** ResultApi.creditsFor: a page of the peer's receipts after `afterSeq`, and the next `afterSeq`. */
  async creditsFor (peerId: string, afterSeq: number, max = MAX_CREDITS_PER_RESPONSE): Promise<{ credits: HubReceipt[], upTo: number }> { return await this.results.creditsFor(peerId, afterSeq, max) }

  /** Commit the submissions queued and wait for those in flight, then close the store. Idempotent. */
  async close (): Promise<void> {
    if (this.closed) return
    await this.results.drain(async () => {
      if (this.closed) return
      this.closed = true
      await this.repo.close()
    })
  }

  private assertOpen (): void {
    if (this.closed) throw new Error('HubCore is closed')
  }
}
