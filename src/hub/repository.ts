/**
 * The hub's storage behind an async repository with named operations. The scheduler, validator,
 * ledger, transitioner, assimilator, sites and job creation talk only to these interfaces; SQLite
 * (sqlite-repository.ts) is one implementation, a server database (PostgreSQL) can be another.
 *
 * Every operation runs inside a transaction opened by `HubRepository.transaction` (writes) or
 * `HubRepository.read` (reads only). Transactions of one repository never interleave; a
 * transaction whose function throws is rolled back and the error rethrown.
 *
 * Units: times are Unix ms, sizes bytes, credit in credit units. Row types mirror the tables.
 */
import type { Backend } from '../protocol/capabilities.ts'
import type { CommitBatch } from './before-commit.ts'
export type * from './repository-rows.ts'
import type {
  ReplicaState, ReplicaOutcome, ValidateState, WorkUnitState, JobState, ReleaseReason, JobPolicy, HubCheck, JobRow, WorkUnitRow, ReplicaRow, ResultRow, JudgedResultRow, LedgerRow, LedgerReceiptRow, PeerRow, TrustRow, TrustCounter, KernelRow, PeerCounter, WorkUnitCounter, JobCounter, WorkUnitPatch, WorkUnitChange, JobPatch, NewJob, NewWorkUnit, NewReplica, NewResult, RunnableKernel, CandidateQuery, FreshHeld, SiteStatsRow, JobProgress, PeerTotals, ClientErrorKind
} from './repository-rows.ts'

/** States of a payout epoch (payout-epochs.ts): written, root sent on chain, root mined. */
export type PayoutEpochStatus = 'intent' | 'posted' | 'confirmed'

/** One row of `payout_epochs` (schema 9). Amounts are decimal strings of integers (token or credit base units). */
export interface PayoutEpochRow {
  epoch: number
  ledger_seq: number
  /** 0x-hex entryHash of entry ledger_seq. */
  chain_head: string
  /** 0x-hex Merkle root. */
  root: string
  total_token_units: string
  total_credit_units: string
  /** JSON: [[address, cumulative token units (decimal string)], …] sorted as the tree has them. */
  leaves: string
  chain_id: number
  distributor: string
  status: PayoutEpochStatus
  tx_hash: string | null
  block_number: number | null
  created_at_ms: number
  posted_at_ms: number | null
  confirmed_at_ms: number | null
}

/** Read operations. */
export interface RepoReader {
  /** Payout epochs, oldest first (payout-epochs.ts). */
  payoutEpochs: () => Promise<PayoutEpochRow[]>
  /** The encoded entry of the peer's latest payout binding, and whether it was ever granted credit (shared-queries.ts). */
  payoutBindingState: (peerId: string) => Promise<{ lastBinding: Uint8Array | undefined, granted: boolean }>
  getMeta: (key: string) => Promise<string | undefined>
  getJob: (id: string) => Promise<JobRow | undefined>
  /** All jobs, oldest first. */
  listJobs: () => Promise<JobRow[]>
  /** Highest job seq so far (0 when none). */
  maxJobSeq: () => Promise<number>
  jobProgress: (jobId: string) => Promise<JobProgress>
  /** Distinct kernel ids of running jobs. */
  kernelsOfRunningJobs: () => Promise<string[]>
  getWorkUnit: (id: string) => Promise<WorkUnitRow | undefined>
  /** Open units wanting replicas that `q.peerId` never had, runnable by it, in scheduling order. */
  candidateUnitsFor: (q: CandidateQuery) => Promise<Array<WorkUnitRow & { lease_device_class: string }>>
  /** Canonical results of a job per replica device class. */
  canonicalDeviceClasses: (jobId: string) => Promise<Record<string, number>>
  getReplica: (id: string) => Promise<ReplicaRow | undefined>
  /** In-progress replicas leased to `peerId` whose lease runs past `nowMs` (the connection pruner keeps such peers). */
  leasesHeldBy: (peerId: string, nowMs: number) => Promise<number>
  /**
   * In-progress replicas leased to `peerId` (not released) whose lease runs past `nowMs` and that
   * were issued before `issuedBeforeMs`, with their work units, oldest first, at most `limit`.
   */
  resumableLeases: (peerId: string, nowMs: number, issuedBeforeMs: number, limit: number) => Promise<Array<{ replica: ReplicaRow, wu: WorkUnitRow }>>
  /** In-progress replicas whose lease ran out by `nowMs`, oldest expiry first. */
  expiredReplicas: (nowMs: number) => Promise<ReplicaRow[]>
  getResult: (id: number) => Promise<ResultRow | undefined>
  resultForReplica: (replicaId: string) => Promise<ResultRow | undefined>
  /** The ack (and its signature, when stored) of a replica's result from this peer (a duplicate submission). */
  ackFor: (replicaId: string, peerId: string) => Promise<{ ack: Uint8Array, ack_signature: Uint8Array | null } | undefined>
  /** In-progress replicas held by one peer. */
  heldBy: (peerId: string) => Promise<number>
  /** Per running job with any: in-progress replicas held by peers with no valid result (or no peers row). */
  freshHeldByJob: () => Promise<FreshHeld[]>
  /** The peers holding most in-progress replicas, most first, at most `limit`. */
  topHolders: (limit: number) => Promise<Array<{ peerId: string, held: number }>>
  /** Results of a work unit, oldest first, with their replica's device class. */
  resultsForWorkUnit: (wuId: string) => Promise<JudgedResultRow[]>
  ledgerByReplica: (replicaId: string) => Promise<LedgerRow | undefined>
  /** The last entry's seq and hash, or undefined for an empty ledger. */
  ledgerHead: () => Promise<{ seq: number, entry_hash: Uint8Array } | undefined>
  ledgerSize: () => Promise<number>
  ledgerEntry: (seq: number) => Promise<Uint8Array | undefined>
  /** Rows with seq >= fromSeq, in seq order, at most `limit`. */
  ledgerRows: (fromSeq: number, limit: number) => Promise<LedgerRow[]>
  /** A peer's entries with seq > afterSeq, oldest first, with their hashes and stored signatures. */
  ledgerEntriesFor: (peerId: string, afterSeq: number, limit: number) => Promise<LedgerReceiptRow[]>
  ledgerMaxSeqFor: (peerId: string) => Promise<number>
  /** Credit per peer, over all jobs or one. */
  balances: (jobId?: string) => Promise<Record<string, number>>
  balance: (peerId: string) => Promise<number>
  getPeer: (peerId: string) => Promise<PeerRow | undefined>
  peerTotals: (activeSinceMs: number) => Promise<PeerTotals>
  siteKeyOfReplica: (replicaId: string) => Promise<string | undefined>
  siteStats: (siteKey: string) => Promise<SiteStatsRow>
  /** Every site key seen, with its credit, highest first. */
  listSites: () => Promise<Array<{ siteKey: string, credit: number }>>
  getKernel: (id: string) => Promise<KernelRow | undefined>
  listKernels: () => Promise<KernelRow[]>
  /** A peer's trust record for a kernel (undefined: never judged). */
  getTrust: (peerId: string, kernel: string) => Promise<TrustRow | undefined>
  /** All of a peer's trust records. */
  trustOf: (peerId: string) => Promise<TrustRow[]>
  /** A peer's ledger entries that are grants (credit > 0) not reversed yet, oldest first. */
  unreversedGrantsOf: (peerId: string) => Promise<LedgerRow[]>
  /** Done work units of `kernel` in which `peerId` has a valid result (with that result's id), by job and index. */
  doneUnitsWithValidResultOf: (peerId: string, kernel: string) => Promise<Array<WorkUnitRow & { result_id: number }>>
  /** Failed work units of a job. */
  failedUnitsOf: (jobId: string) => Promise<WorkUnitRow[]>
  /** A job's client-error results grouped by error kind and device class, most first, at most `limit` groups. */
  clientErrorKinds: (jobId: string, limit: number) => Promise<ClientErrorKind[]>
  /** Distinct peers that reported a client error for a unit. */
  errorPeersOfUnit: (wuId: string) => Promise<number>
  /** Units whose probe is `queued`, oldest job first, at most `limit`. */
  queuedProbes: (limit: number) => Promise<WorkUnitRow[]>
  /** Units of a job whose probe failed (the hub saw the kernel fail too). */
  probeFailures: (jobId: string) => Promise<number>
  /** Units of a job that got their canonical result at or after `sinceMs`. */
  validatedSince: (jobId: string, sinceMs: number) => Promise<number>
  /** Distinct peers holding an in-progress replica of the job. */
  jobWorkers: (jobId: string) => Promise<number>
  /** Of those, the ones whose latest request (at or after `sinceMs`) said they are paused, per reason. */
  pausedWorkers: (jobId: string, sinceMs: number) => Promise<{ peers: number, reasons: Record<string, number> }>
}

/** Read and write operations, inside a write transaction. */
export interface RepoTx extends RepoReader {
  /** Insert a payout epoch, or update its status, tx_hash, block_number, posted_at_ms and confirmed_at_ms. */
  putPayoutEpoch: (row: PayoutEpochRow) => Promise<void>
  /**
   * Run `fn` inside a savepoint of this transaction: its writes are rolled back alone when it
   * rejects, and kept (until the transaction commits) when it resolves.
   * @throws whatever `fn` throws, after rolling back to the savepoint
   */
  savepoint: <T>(fn: () => Promise<T>) => Promise<T>
  /**
   * Run `fn` at the end of this transaction: after the function given to `transaction` resolved,
   * before COMMIT, in the order registered (before-commit.ts). Its writes are the transaction's.
   * Dropped when the savepoint it was registered in (or the transaction) rolls back.
   * A rejection of `fn` fails the transaction (nothing of it is committed).
   */
  beforeCommit: (fn: () => Promise<void>) => void
  /**
   * Queue `item` for `batch.flush` at the end of this transaction (before-commit.ts): a batch's
   * items are flushed together, in order, where the first of them stands among the functions of
   * `beforeCommit`. Dropped with the savepoint (or transaction) it was queued in.
   */
  queueForCommit: <T>(batch: CommitBatch<T>, item: T) => void
  /** The items of `batch` queued in this transaction and not rolled back, in order. */
  queuedForCommit: <T>(batch: CommitBatch<T>) => T[]
  setMeta: (key: string, value: string) => Promise<void>
  insertJob: (job: NewJob) => Promise<void>
  /**
   * Lock the replicas a group of submissions will end and their work units, replicas first, each in
   * id order (PostgreSQL, `FOR NO KEY UPDATE`; the units are kept, kept-rows.ts), so that two
   * hubs' groups sharing units take them in one order instead of deadlocking. Only a replica
   * leased to the peer that sent the result is locked, with its own unit: ids from the network
   * that name another peer's replica, or no replica, lock nothing. SQLite: nothing (one writer).
   */
  lockForSubmissions: (submissions: ReadonlyArray<{ replicaId: string, peerId: string }>) => Promise<void>
  /** Set columns of a job: written at the commit (job-changes.ts); `getJob` in this transaction sees them. */
  patchJob: (id: string, patch: JobPatch) => Promise<void>
  /** Add to a counter of a job: written at the commit (job-changes.ts); `getJob` in this transaction sees it. */
  addToJob: (id: string, counter: JobCounter, by: number) => Promise<void>
  /**
   * Run `fn` on job `id`'s row at the commit, after this transaction's job writes queued before
   * it (on PostgreSQL the row is read `FOR NO KEY UPDATE`, every hub's committed changes in it), and set
   * the columns it returns (job-changes.ts): for decisions that must see the job as it is then —
   * folding an output into the job's, settling its state. A rolled-back savepoint drops it.
   */
  changeJobAtCommit: (id: string, fn: (job: JobRow) => JobPatch | undefined) => void
  /** Many at once (one prepared statement). */
  insertWorkUnits: (units: readonly NewWorkUnit[]) => Promise<void>
  patchWorkUnit: (id: string, patch: WorkUnitPatch) => Promise<void>
  addToWorkUnit: (id: string, counter: WorkUnitCounter, by: number) => Promise<void>
  /**
   * Set columns and add to counters of work unit `id` in one statement (a lease's writes of its
   * unit: issue 14); `getWorkUnit` in this transaction sees them.
   * @throws Error for a column that may not be set or a counter that is not one
   */
  changeWorkUnit: (id: string, change: WorkUnitChange) => Promise<void>
  /** @throws Error (unique constraint) for a second replica of a WU to one peer */
  insertReplica: (replica: NewReplica) => Promise<void>
  /** Set a replica `over` with its outcome. */
  endReplica: (id: string, end: { outcome: ReplicaOutcome, released: boolean, reason: ReleaseReason | null, overAtMs: number }) => Promise<void>
  /** @returns the new result's id */
  insertResult: (result: NewResult) => Promise<number>
  setValidateState: (resultId: number, state: ValidateState) => Promise<void>
  /** Store the ack signature of a result that has none (rows older than schema 3). */
  setAckSignature: (replicaId: string, signature: Uint8Array) => Promise<void>
  /** Append one ledger row (the ledger computes seq and hashes). */
  ledgerAppend: (row: LedgerRow) => Promise<void>
  /** Store the receipt signature of an entry that has none (the only change the ledger allows). */
  setReceiptSignature: (seq: number, signature: Uint8Array) => Promise<void>
  /** Record the peer as seen at `nowMs` (created when missing). */
  touchPeer: (peerId: string, nowMs: number) => Promise<void>
  /** Record what the peer's latest work request said about pausing (`reasons` empty: running). */
  setPeerPaused: (peerId: string, reasons: readonly string[], nowMs: number) => Promise<void>
  /** Bump a counter of an existing peer row. */
  addToPeer: (peerId: string, counter: PeerCounter, by: number) => Promise<void>
  insertSiteLease: (lease: { replicaId: string, siteKey: string, peerId: string, jobId: string, leasedAtMs: number }) => Promise<void>
  /** `creditUnits`: base units (negative for a reversal). */
  insertSiteCredit: (credit: { seq: number, siteKey: string, peerId: string, jobId: string, replicaId: string, creditUnits: number, grantedAtMs: number }) => Promise<void>
  /** Idempotent: a second insert of the same id is ignored. */
  insertKernel: (kernel: KernelRow) => Promise<void>
  /**
   * Update a peer's trust record for a kernel (created when missing): add to `counters`, then set
   * consecutive_valid to 0 (`consecutive: 'reset'`) or add 1 to it (`'inc'`).
   */
  addToTrust: (peerId: string, kernel: string, counters: Partial<Record<TrustCounter, number>>, consecutive: 'inc' | 'reset' | 'keep', nowMs: number) => Promise<void>
  setHubCheck: (resultId: number, check: HubCheck) => Promise<void>
}

/**
 * How a write transaction commits (issue 14).
 * - 'synchronous' (the default): the promise resolves once the commit is on disk (SQLite
 *   `synchronous = FULL`, PostgreSQL `synchronous_commit = on`), so it survives a power loss.
 *   Anything acknowledged to a peer that it may rely on (a result's ack, a credit) commits so.
 * - 'asynchronous': committed, and visible to every later transaction, but not waited for on disk
 *   (SQLite `synchronous = NORMAL` in WAL mode for this commit, PostgreSQL `SET LOCAL
 *   synchronous_commit = off`): it survives the hub process being killed, and an operating-system
 *   crash or power loss (a PostgreSQL server crash) can lose it — together with every later
 *   transaction, never alone: both logs are written in commit order and a synchronous commit makes
 *   everything before it durable too. For leases: a lease lost that way is a replica the hub no
 *   longer knows (its result is refused, ReplicaNotLeasedError, and the unit leased again). A
 *   transaction that appended to the ledger commits synchronously whatever it asked
 *   (CommitBatch.synchronousCommit): a signed receipt is never taken back.
 *   Source: https://www.sqlite.org/pragma.html#pragma_synchronous and
 *   https://www.postgresql.org/docs/current/wal-async-commit.html
 */
export type CommitMode = 'synchronous' | 'asynchronous'

/** Options of HubRepository.transaction. */
export interface TransactionOptions {
  commit?: CommitMode
}

/** The hub's storage. One per data directory and process. */
export interface HubRepository {
  /** Where its files live, for blobs and job outputs beside it. */
  readonly dataDir: string
  /**
   * Run `fn` in a write transaction; commit when it resolves, roll back when it rejects.
   * `opts.commit` (default 'synchronous') says when the promise resolves: see TransactionOptions.
   * @throws whatever `fn` throws, after rolling back
   * @throws Error when the repository is closed
   */
  transaction: <T>(fn: (tx: RepoTx) => Promise<T>, opts?: TransactionOptions) => Promise<T>
  /** Run `fn` with read access only (a consistent snapshot). @throws Error when closed */
  read: <T>(fn: (tx: RepoReader) => Promise<T>) => Promise<T>
  /** Wait for transactions in flight, then close. Idempotent. */
  close: () => Promise<void>
}

/** A kernel backend preference list, e.g. matmul: ['webgpu', 'wasm']. */
export type BackendPreference = readonly Backend[]
