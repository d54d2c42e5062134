/**
 * HubCore: the hub without networking. One object per data directory; the libp2p host calls
 * `lease` for /sparecycles/work and `submit` + `creditsFor` for /sparecycles/result, passing the
 * noise-authenticated remote peer id.
 *
 * A result is acknowledged only after the transaction that stores it (and validates, credits and
 * assimilates) has committed; a restart on the same data directory loses no acknowledged result
 * or credit, and the job goes on.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ProtocolError, BadOutputError, LeaseExpiredError, ReplicaNotLeasedError, SignerMismatchError } from '../protocol/errors.ts'
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { ResultAck, SignedResult } from '../protocol/pb/messages.ts'
import { PRIMES_KERNEL_ID } from '../protocol/primes.ts'
import { checkResultPayload, checkWorkRequest } from '../protocol/schema.ts'
import { bytesEqual, sha256Bytes, signReceipt, verifySignedResult } from '../protocol/signing.ts'
import { assimilateWorkUnit } from './assimilator.ts'
import { Ledger } from './ledger.ts'
import { Scheduler } from './scheduler.ts'
import { SiteCredits } from './sites.ts'
import { HubStore } from './store.ts'
import { validateWorkUnit, validationPolicy } from './validator.ts'
import { createPrimesJob } from './work-generator.ts'
import { createMatmulJob } from './matmul-job.ts'
import { blobStoreFor } from './blob-store.ts'
import type { MatmulJobSpec } from './matmul-job.ts'
import type { BlobStore } from './blob-store.ts'
import type { ChainCheck } from './ledger.ts'
import type { JobRow, JobState } from './store.ts'
import type { PrimesJobSpec } from './work-generator.ts'
import type { HubReceipt, ResultResponse, WorkRequest, WorkResponse } from '../protocol/pb/messages.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface HubCoreOptions {
  /** Directory of `hub.sqlite`; created when missing. */
  dataDir: string
  /** The hub's Ed25519 key: signs acks and credit receipts. A data dir stays bound to one key. */
  hubKey: PrivateKey
  /** Clock, Unix ms (default Date.now); tests inject one. */
  now?: () => number
  /** Fixed lease duration in ms (default per WU: deadlineMs * 2 + 30 s). */
  leaseMs?: number
  /** Replicas one WU may get before it is marked failed (default 6). */
  maxReplicasPerUnit?: number
  /** retryAfterMs sent when no work is available (default 5000 ms). */
  retryAfterMs?: number
}

export interface JobStatus {
  id: string
  kernel: string
  from: number
  to: number
  unit: number
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

export interface HubPeerStats {
  /** Peers ever seen. */
  peers: number
  /** Peers seen in the last 10 minutes. */
  activePeers: number
  results: number
  validResults: number
  invalidResults: number
  clientErrors: number
  noReplies: number
  ledgerEntries: number
  totalCredit: number
}

/** A FIFO async mutex: one holder at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>(resolve => { release = resolve })
    await prev
    try {
      return await fn()
    } finally {
      release()
    }
  }
}

const ACTIVE_PEER_WINDOW_MS = 10 * 60_000

export class HubCore {
  /** The hub's peer id (base58btc), derived from hubKey. */
  readonly peerId: string
  /** Internals, exposed for tools and tests. */
  readonly store: HubStore
  readonly scheduler: Scheduler
  readonly ledger: Ledger
  /** Partner-site credit attribution (sites.ts). */
  readonly sites: SiteCredits
  private readonly hubKey: PrivateKey
  private readonly now: () => number
  private readonly retryAfterMs: number
  private readonly mutex = new Mutex()
  private closed = false

  private constructor (store: HubStore, opts: HubCoreOptions) {
    this.store = store
    this.hubKey = opts.hubKey
    this.now = opts.now ?? Date.now
    this.retryAfterMs = opts.retryAfterMs ?? 5_000
    this.scheduler = new Scheduler(store, { leaseMs: opts.leaseMs })
    this.ledger = new Ledger(store, opts.hubKey)
    this.sites = new SiteCredits(store)
    this.ledger.onGrant(entry => { this.sites.onGrant(entry) })
    this.peerId = peerIdFromPrivateKey(opts.hubKey).toString()
  }

  /**
   * Open (or create) the hub's store in `dataDir`.
   * @throws Error when the data dir belongs to another hub key, or its schema is newer
   * @throws RangeError for bad options
   */
  static open (opts: HubCoreOptions): HubCore {
    const store = HubStore.open({ dataDir: opts.dataDir, maxReplicasPerUnit: opts.maxReplicasPerUnit })
    try {
      const hub = new HubCore(store, opts)
      const owner = store.getMeta('hub_peer_id')
      if (owner == null) store.transaction(() => { store.setMeta('hub_peer_id', hub.peerId) })
      else if (owner !== hub.peerId) throw new Error(`${store.path} belongs to hub ${owner}, not ${hub.peerId}`)
      return hub
    } catch (err) {
      store.close()
      throw err
    }
  }

  /**
   * Create a primes-sieve job (see work-generator.ts for the split and the credit rate).
   * @throws RangeError naming the bad field; nothing is written then
   */
  createPrimesJob (spec: PrimesJobSpec): JobStatus {
    const { jobId } = createPrimesJob(this.store, spec, this.now())
    return this.jobStatus(jobId) as JobStatus
  }

  /**
   * Create a matrix-multiply job (matmul-job.ts): operands from `.f32mat` files, matrices, or a
   * seed; cut into tiles verified by Freivalds' check.
   * @throws MatrixFormatError (bad file, size, NaN/Inf, non-conforming) or RangeError, before any
   *   work unit is created
   */
  createMatmulJob (spec: MatmulJobSpec): JobStatus {
    this.assertOpen()
    const { jobId } = createMatmulJob(this.store, spec, this.now())
    return this.jobStatus(jobId) as JobStatus
  }

  /** Content-addressed blobs served over /sparecycles/blob/1.0.0 (`<dataDir>/blobs`). */
  get blobs (): BlobStore {
    return blobStoreFor(this.store)
  }

  /**
   * Answer a WorkRequest from `peerId`: sweep expired leases, release `req.release`, then lease up
   * to `req.maxUnits` replicas. A malformed request is answered with `error` set, nothing changed.
   * `opts.siteKey` (from /sparecycles/work/1.1.0, a partner's embed) attributes the leases to that site.
   */
  lease (peerId: string, req: WorkRequest, opts: { siteKey?: string } = {}): WorkResponse {
    this.assertOpen()
    try {
      checkWorkRequest(req)
    } catch (err) {
      return { leases: [], retryAfterMs: this.retryAfterMs, error: (err as Error).name, message: (err as Error).message }
    }
    const now = this.now()
    const leases = this.store.transaction(() => {
      this.scheduler.expire(now)
      this.scheduler.release(peerId, req.release, now)
      const leased = this.scheduler.lease(peerId, req.maxUnits, req.deviceClass, now)
      // /sparecycles/work/1.1.0 (a partner's embed): remember the site key of every replica leased
      if (opts.siteKey != null) this.sites.recordLeases(opts.siteKey, peerId, leased, now)
      return leased
    })
    const retryAfterMs = leases.length === 0 && req.maxUnits > 0 ? this.retryAfterMs : 0
    return { leases, retryAfterMs, error: '', message: '' }
  }

  /**
   * Submit one signed result from the authenticated `remotePeerId`. Checks, in order: signature,
   * signer = remote peer, payload schema, duplicate (answered with the first ack, nothing credited
   * again), replica leased to this peer and in progress, lease not expired, output digest and shape.
   * Then stores, validates, credits and assimilates in one transaction and acks after COMMIT.
   * `opts.maxOutputBytes`: the output cap of the protocol version it came over (default 1.0.0's).
   * Rejections (status 'rejected', `error` = class name) write nothing. `credits` is left empty:
   * fill it with `creditsFor`.
   * @throws only on internal failures (e.g. the database), never for a bad submission
   */
  async submit (remotePeerId: string, signed: SignedResult, opts: { maxOutputBytes?: number } = {}): Promise<ResultResponse> {
    return await this.mutex.run(async () => {
      this.assertOpen()
      try {
        const { payload, signerPeerId } = await verifySignedResult(signed)
        if (signerPeerId !== remotePeerId) throw new SignerMismatchError(`result signed by ${signerPeerId}, not by the remote peer ${remotePeerId}`)
        checkResultPayload(payload, opts.maxOutputBytes)
        const now = this.now()

        const earlier = this.store.get<{ ack: Uint8Array }>('SELECT ack FROM results WHERE replica_id = ? AND peer_id = ?', payload.replicaId, signerPeerId)
        if (earlier != null) return this.response('duplicate', await signReceipt(earlier.ack as Uint8Array<ArrayBuffer>, this.hubKey))

        const replica = this.store.getReplica(payload.replicaId)
        if (replica == null || replica.peer_id !== signerPeerId || replica.wu_id !== payload.wuId) {
          throw new ReplicaNotLeasedError(`replica ${payload.replicaId} of ${payload.wuId} is not leased to ${signerPeerId}`)
        }
        if (replica.released !== 0) throw new ReplicaNotLeasedError(`replica ${replica.id} was released`)
        if (now >= replica.expires_at_ms) throw new LeaseExpiredError(`lease of ${replica.id} expired at ${replica.expires_at_ms}`)
        if (replica.state !== 'in-progress') throw new ReplicaNotLeasedError(`replica ${replica.id} is ${replica.state}`)
        const wu = this.store.getWorkUnit(replica.wu_id)
        if (wu == null) throw new ReplicaNotLeasedError(`work unit ${replica.wu_id} is missing`)
        if (payload.outcome === 'success') {
          if (!bytesEqual(sha256Bytes(payload.output), payload.outputSha256)) throw new BadOutputError('outputSha256 is not the sha-256 of output')
          validationPolicy(wu.kernel).checkOutput(payload.output, wu)
        }

        const ack = ResultAck.encode({
          replicaId: replica.id, wuId: wu.id, peerId: signerPeerId, outputSha256: payload.outputSha256, acceptedAtMs: now
        })
        this.store.transaction(() => {
          this.store.run(`INSERT INTO results (replica_id, wu_id, job_id, peer_id, outcome, output, output_sha256, elapsed_ms,
              device_class, error_message, received_at_ms, signed, ack) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          replica.id, wu.id, wu.job_id, signerPeerId, payload.outcome, payload.output, payload.outputSha256, payload.elapsedMs,
          payload.deviceClass, payload.errorMessage, now, SignedResult.encode(signed), ack)
          this.store.run("UPDATE replicas SET state = 'over', outcome = ?, over_at_ms = ? WHERE id = ?", payload.outcome, now, replica.id)
          this.store.run('UPDATE work_units SET in_progress = in_progress - 1 WHERE id = ?', wu.id)
          this.store.bumpPeer(signerPeerId, now, 'results')
          if (payload.outcome === 'client-error') this.store.bumpPeer(signerPeerId, null, 'client_errors')
          const v = validateWorkUnit(this.store, this.ledger, wu.id, now)
          if (v.newCanonicalResultId != null) assimilateWorkUnit(this.store, wu.id)
        })
        return this.response('accepted', await signReceipt(ack, this.hubKey))
      } catch (err) {
        if (err instanceof ProtocolError) {
          return { status: 'rejected', error: err.name, message: err.message, credits: [], creditsUpTo: 0 }
        }
        throw err
      }
    })
  }

  private response (status: 'accepted' | 'duplicate', ack: HubReceipt): ResultResponse {
    return { status, error: '', message: '', ack, credits: [], creditsUpTo: 0 }
  }

  /**
   * Hub-signed credit receipts for `peerId` with seq > afterSeq, oldest first, at most `max`
   * (default and cap MAX_CREDITS_PER_RESPONSE). `upTo`: the seq of the last receipt returned, or
   * the peer's highest seq when none was — the next `afterSeq`.
   */
  async creditsFor (peerId: string, afterSeq: number, max = MAX_CREDITS_PER_RESPONSE): Promise<{ credits: HubReceipt[], upTo: number }> {
    this.assertOpen()
    const page = await this.ledger.receiptsFor(peerId, afterSeq, max)
    return { credits: page.receipts, upTo: page.upTo }
  }

  /** Progress of one job, or undefined for an unknown id. */
  jobStatus (jobId: string): JobStatus | undefined {
    const job = this.store.getJob(jobId)
    return job == null ? undefined : this.statusOf(job)
  }

  /** All jobs, oldest first. */
  listJobs (): JobStatus[] {
    return this.store.listJobs().map(job => this.statusOf(job))
  }

  private statusOf (job: JobRow): JobStatus {
    const s = this.store
    const output = JSON.parse(job.output) as unknown
    const count = (sql: string): number => s.get<{ n: number | null }>(sql, job.id)?.n ?? 0
    return {
      id: job.id,
      kernel: job.kernel,
      from: job.range_from,
      to: job.range_to,
      unit: job.unit,
      quorum: job.quorum,
      state: job.state,
      workUnits: job.wu_count,
      validated: job.wu_validated,
      unsent: s.get<{ n: number | null }>("SELECT sum(wanted) AS n FROM work_units WHERE job_seq = ? AND state = 'open' AND wanted > 0", job.seq)?.n ?? 0,
      inProgress: count("SELECT count(*) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'"),
      failed: job.wu_failed,
      primes: job.kernel === PRIMES_KERNEL_ID ? (output as { primes: number }).primes : 0,
      output,
      replicasIssued: job.replicas_issued,
      replicasPerUnit: job.quorum,
      volunteers: count("SELECT count(DISTINCT peer_id) AS n FROM results WHERE job_id = ? AND validate_state = 'valid'"),
      credit: this.ledger.balances(job.id),
      invalidResults: count("SELECT count(*) AS n FROM results WHERE job_id = ? AND validate_state = 'invalid'")
    }
  }

  /** Total credit granted to a peer. */
  ledgerBalance (peerId: string): number {
    return this.ledger.balance(peerId)
  }

  /** Re-walk the ledger's hash chain. */
  verifyLedger (): ChainCheck {
    return this.ledger.verifyChain()
  }

  /** Counts for a status page. */
  hubPeerStats (): HubPeerStats {
    const p = this.store.get<Record<string, number | null>>(`SELECT count(*) AS peers, sum(last_seen_ms >= ?) AS active,
        sum(results) AS results, sum(valid_results) AS valid, sum(invalid_results) AS invalid,
        sum(client_errors) AS clientErrors, sum(no_replies) AS noReplies FROM peers`, this.now() - ACTIVE_PEER_WINDOW_MS) ?? {}
    const l = this.store.get<{ n: number, c: number | null }>('SELECT count(*) AS n, sum(credit) AS c FROM ledger')
    return {
      peers: p.peers ?? 0,
      activePeers: p.active ?? 0,
      results: p.results ?? 0,
      validResults: p.valid ?? 0,
      invalidResults: p.invalid ?? 0,
      clientErrors: p.clientErrors ?? 0,
      noReplies: p.noReplies ?? 0,
      ledgerEntries: l?.n ?? 0,
      totalCredit: l?.c ?? 0
    }
  }

  /** Wait for submissions in flight, then close the store. Idempotent. */
  async close (): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return
      this.closed = true
      this.store.close()
    })
  }

  private assertOpen (): void {
    if (this.closed) throw new Error('HubCore is closed')
  }
}
