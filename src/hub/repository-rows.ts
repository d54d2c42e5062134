/**
 * Row shapes, state unions, counters and query shapes of the hub's repository (repository.ts):
 * what every implementation (SQLite today, PostgreSQL later) reads and writes. Times are Unix ms.
 */
/** Replica life cycle (design.md): created when leased, so `unsent` rows are not stored today. */
export type ReplicaState = 'unsent' | 'in-progress' | 'over'
/** How a replica ended: a result, a reported client error, or no reply (expired or released). */
export type ReplicaOutcome = 'success' | 'client-error' | 'no-reply'
/** Validator verdict on a successful result; NULL in the table while still pending. */
export type ValidateState = 'valid' | 'invalid' | 'inconclusive'
/** `open`: still needs results; `done`: has a canonical result; `failed`: ran out of replicas. */
export type WorkUnitState = 'open' | 'done' | 'failed'
/** `complete`: every WU has a canonical result; `failed`: every WU settled, at least one failed. */
export type JobState = 'running' | 'complete' | 'failed'
/** Why a replica was given back (work/2.0.0; work/1.x give-backs are `stopped`). */
export type ReleaseReason = 'cannot-run' | 'stopped' | 'failed'
/**
 * How a job's results are trusted (trust.ts): `replicate` — a quorum of agreeing results from
 * distinct peers; `adaptive` (default) — BOINC's adaptive replication with the hub's own spot
 * checks; `certify` — each result checked on its own by a certificate (Freivalds).
 */
export type JobPolicy = 'replicate' | 'adaptive' | 'certify'
/**
 * What the hub decided about one successful result (results.hub_check): `spot-ok` / `spot-failed`
 * — its spot check passed / failed (proof of cheating); `trusted` — accepted alone from a trusted
 * peer (adaptive, kernels without a spot check, probability 1 - 1/CV); `replicate` — it needs an
 * agreeing replica. NULL: not decided (replicate policy, certify).
 */
export type HubCheck = 'spot-ok' | 'spot-failed' | 'trusted' | 'replicate'

export interface JobRow {
  id: string
  /** Creation order (1, 2, 3…); older jobs are scheduled first. */
  seq: number
  kernel: string
  quorum: number
  /** Credit per kernel operation (primes: per number sieved). */
  credit_per_ops: number
  state: JobState
  created_at_ms: number
  wu_count: number
  /** WUs with a canonical result. */
  wu_validated: number
  /** WUs whose canonical result was folded into `output`. */
  wu_assimilated: number
  wu_failed: number
  replicas_issued: number
  /** The job's spec, JSON (primes: `{from, to, unit}`; matmul: dimensions and blob CIDs; kernel: ticket). */
  spec: string
  /** Assimilated output only, JSON (primes: `{"primes": n}`). */
  output: string
  policy: JobPolicy
  /** Spot checks the hub ran on this job's results, and how many failed. */
  spot_checks: number
  spot_failures: number
  /** Work the hub spent on spot checks, in the kernel's estOps units. */
  checked_ops: number
  /** Work of the successful results received (sum of their units' estOps), the volunteers' compute. */
  result_ops: number
  /** Wall ms the hub spent in its own checks (spot checks, arbitrations) of this job's results, measured. */
  checked_ms: number
  /** Done units reopened because their canonical result's sender was proven a cheater. */
  wu_reopened: number
  /** NULL, or why the job leases nothing: `paused` (by the hub or its researcher), `cancelled` (by its researcher). */
  hold: JobHold | null
  /** Why it is held (empty when not). */
  hold_reason: string
  /** Units of this job the hub ran itself to see whether their reported failure is real (failure-probe.ts). */
  probes: number
}

/** Client errors of a job of one kind on one device class (as the volunteers report them: claims). */
export interface ClientErrorKind {
  /** The error name the volunteers gave (the message's text before its first ':'). */
  kind: string
  deviceClass: string
  results: number
  peers: number
  /** One of the messages. */
  sample: string
}

/** Why a job leases nothing although it is not settled. */
export type JobHold = 'paused' | 'cancelled'
/** The hub's own run of a unit volunteers report failing: queued, ran fine, failed too, or not runnable by the hub. */
export type UnitProbe = 'queued' | 'ok' | 'failed' | 'skipped'

export interface WorkUnitRow {
  id: string
  job_id: string
  job_seq: number
  idx: number
  kernel: string
  input: Uint8Array
  est_ops: number
  credit: number
  memory_bytes: number
  deadline_ms: number
  /** Agreeing results needed for a canonical result (BOINC's min_quorum; adaptive units start at 1 and are raised to 2 when a result needs a replica). */
  quorum: number
  /** Replicas wanted at once (BOINC's target_nresults); `wanted` uses max(quorum, target_nresults). */
  target_nresults: number
  /** Client errors from established peers (a valid result on this hub, not banned for the kernel): the unit fails at the hub's maxErrorsPerUnit. */
  error_peers: number
  state: WorkUnitState
  /** Replicas to lease now: max(0, max(quorum, target_nresults) - max_group - in_progress) while open, else 0. */
  wanted: number
  in_progress: number
  /** Size of the largest group of agreeing successful results. */
  max_group: number
  /** 1 when at least one successful result arrived (scheduled first, to finish the WU). */
  has_result: number
  /** Replicas ever leased (the next replica's k). */
  replicas_issued: number
  /** Replicas given back `cannot-run`: they do not count against the replica limit. */
  replicas_excused: number
  /** Homogeneous-redundancy device class for non-exact kernels (NULL: any). */
  device_class: string | null
  canonical_result_id: number | null
  assimilated: number
  /** A ringer's expected output SHA-256 (32 bytes), given by the job's researcher or computed by the hub's probe; NULL for other units. Never sent to volunteers. */
  known_output_sha256: Uint8Array | null
  /** The hub's own run of the unit (failure-probe.ts), NULL when none. */
  probe: UnitProbe | null
  /** The error of a failed probe, or why it was skipped. */
  probe_message: string
  /** When the unit got its canonical result, Unix ms (NULL while it has none). */
  done_at_ms: number | null
}

export interface ReplicaRow {
  id: string
  wu_id: string
  job_id: string
  peer_id: string
  k: number
  /** The device class the hub leased it for (from the request, never from the result). */
  device_class: string
  state: ReplicaState
  outcome: ReplicaOutcome | null
  /** 1 when the peer gave the replica back (outcome is then `no-reply`). */
  released: number
  release_reason: ReleaseReason | null
  issued_at_ms: number
  expires_at_ms: number
  over_at_ms: number | null
  /** The IP address of the connection that leased it (NULL when unknown: HubCore without a transport). */
  remote_addr: string | null
}

export interface ResultRow {
  id: number
  replica_id: string
  wu_id: string
  job_id: string
  peer_id: string
  outcome: 'success' | 'client-error'
  output: Uint8Array
  output_sha256: Uint8Array
  /** As claimed by the volunteer; informational only, never used for credit. */
  elapsed_ms: number
  /** As claimed by the volunteer; informational only (validation uses the replica's class). */
  device_class: string
  error_message: string
  received_at_ms: number
  validate_state: ValidateState | null
  /** What the hub keeps as evidence: the encoded SignedResult as received (result/1.x, 2.0.0) or the BatchSignedResult of a result signed in a batch (result/3.0.0; protocol/result-batch.ts verifyStoredResult checks either). */
  signed: Uint8Array
  /** The encoded ResultAck the hub signed for this result. */
  ack: Uint8Array
  /** The hub's receipt signature over `ack`, made once when the result was stored (NULL in rows older than schema 3, and in those of a result/3.0.0 batch, whose acks were signed once for the batch, until first asked for again). */
  ack_signature: Uint8Array | null
  /** What the hub decided about it (NULL: nothing yet). */
  hub_check: HubCheck | null
}

/** A result with the device class of the replica it answers (what validation groups by). */
export type JudgedResultRow = ResultRow & { replica_device_class: string }

export interface LedgerRow {
  seq: number
  peer_id: string
  job_id: string
  wu_id: string
  replica_id: string
  /** The amount as credit (for reading; sums use credit_units). */
  credit: number
  /** The amount in base units (protocol/credit.ts); NULL in rows before schema 6 (their `credit` is the amount). */
  credit_units: number | null
  granted_at_ms: number
  /** Seq of the entry this one reverses (its credit is then minus that entry's); 0 for a grant. */
  reverses: number
  prev_hash: Uint8Array
  /** The encoded CreditEntry. */
  entry: Uint8Array
  /** sha-256 of `entry`. */
  entry_hash: Uint8Array
  /** The hub's receipt signature over `entry_hash`, made once at grant time (NULL in rows older than schema 3 until first fetched). */
  receipt_signature: Uint8Array | null
}

/** What a receipt is built from: a ledger entry, its hash and its stored signature. */
export type LedgerReceiptRow = Pick<LedgerRow, 'seq' | 'entry' | 'entry_hash' | 'receipt_signature'>

export interface PeerRow {
  peer_id: string
  first_seen_ms: number
  last_seen_ms: number
  leases: number
  results: number
  valid_results: number
  invalid_results: number
  client_errors: number
  no_replies: number
  /** Give-backs with reason `cannot-run` (excused, but counted here). */
  cannot_runs: number
  /** Pause reasons of its latest work request, comma-separated (empty: running), and when. */
  paused: string
  paused_at_ms: number
}

/** The reliability record of one peer for one kernel (trust.ts). */
export interface TrustRow {
  peer_id: string
  kernel: string
  /** Valid results in a row backed by evidence the peer cannot influence (reset by an invalid result). */
  consecutive_valid: number
  valid_results: number
  /** Valid results backed by such evidence (spot check, certificate, agreement with a trusted peer). */
  verified_results: number
  invalid_results: number
  client_errors: number
  spot_checks: number
  /** Spot checks failed: each is proof of cheating. */
  spot_failures: number
  updated_at_ms: number
}

/** Counters of a trust record that `addToTrust` increments. */
export type TrustCounter = 'valid_results' | 'verified_results' | 'invalid_results' | 'client_errors' | 'spot_checks' | 'spot_failures'

/** A researcher kernel in the catalogue: its hub-signed ticket (KernelTicket bytes). */
export interface KernelRow {
  id: string
  ticket: Uint8Array
  registered_at_ms: number
}

/** Per-peer counters that `addToPeer` can increment. */
export type PeerCounter = 'leases' | 'results' | 'valid_results' | 'invalid_results' | 'client_errors' | 'no_replies' | 'cannot_runs'
export type WorkUnitCounter = 'in_progress' | 'replicas_issued' | 'replicas_excused' | 'error_peers'
export type JobCounter = 'wu_validated' | 'wu_assimilated' | 'wu_failed' | 'replicas_issued' | 'spot_checks' | 'spot_failures' | 'checked_ops' | 'result_ops' | 'checked_ms' | 'wu_reopened' | 'probes'
/** Fields of a work unit the transitioner may set. */
export type WorkUnitPatch = Partial<Pick<WorkUnitRow, 'state' | 'wanted' | 'max_group' | 'has_result' | 'device_class' | 'canonical_result_id' | 'assimilated' | 'quorum' | 'target_nresults' | 'error_peers' | 'known_output_sha256' | 'probe' | 'probe_message' | 'done_at_ms'>>
/** Columns set and counters added to one work unit, in one statement (RepoTx.changeWorkUnit). */
export interface WorkUnitChange {
  set?: WorkUnitPatch
  add?: Partial<Record<WorkUnitCounter, number>>
}
export type JobPatch = Partial<Pick<JobRow, 'state' | 'output' | 'wu_count' | 'hold' | 'hold_reason' | 'probes'>>

export type NewJob = Omit<JobRow, 'wu_count' | 'wu_validated' | 'wu_assimilated' | 'wu_failed' | 'replicas_issued' | 'spot_checks' | 'spot_failures' | 'checked_ops' | 'result_ops' | 'checked_ms' | 'wu_reopened' | 'hold' | 'hold_reason' | 'probes'>
export type NewWorkUnit = Pick<WorkUnitRow, 'id' | 'job_id' | 'job_seq' | 'idx' | 'kernel' | 'input' | 'est_ops' | 'credit' | 'memory_bytes' | 'deadline_ms' | 'quorum' | 'target_nresults' | 'wanted'> & { known_output_sha256?: Uint8Array | null }
export type NewReplica = Pick<ReplicaRow, 'id' | 'wu_id' | 'job_id' | 'peer_id' | 'k' | 'device_class' | 'issued_at_ms' | 'expires_at_ms' | 'remote_addr'>
export type NewResult = Omit<ResultRow, 'id' | 'validate_state' | 'hub_check'>

/** Which units a peer can run: a kernel id and the device class it would run it as. */
export interface RunnableKernel { kernel: string, deviceClass: string }

export interface CandidateQuery {
  peerId: string
  /** Kernels the peer can run, or 'any' (work/1.x: today's behaviour, every kernel as `anyDeviceClass`). */
  kernels: readonly RunnableKernel[] | 'any'
  /** Device class for 'any'. */
  anyDeviceClass?: string
  /** Most memory per unit, bytes (0: no limit). */
  maxMemoryBytes: number
  /** Units with this many counted replicas (issued - excused) are skipped. */
  maxReplicas: number
  /** Jobs whose units are skipped (e.g. their fresh-peer share is used up). */
  excludeJobs?: readonly string[]
  /** Kernels whose units are skipped (the peer is banned for them, trust.ts). */
  excludeKernels?: readonly string[]
  /**
   * The requester's IP address: units with a replica leased from this address come last (two
   * replicas of a unit go to one address only when nothing else is left). Order is otherwise
   * older jobs first, then random, so that no requester can steer which unit it gets.
   */
  remoteAddr?: string | null
  /** The old order instead (older jobs, units with a result, lower index; `remoteAddr` ignored): tests only. */
  sequential?: boolean
  limit: number
}

/** In-progress replicas of one running job held by fresh peers (no valid result yet), and its size. */
export interface FreshHeld { jobId: string, held: number, wuCount: number }

export interface SiteStatsRow {
  credit: number
  results: number
  volunteers: number
  lastCreditAtMs: number | null
  leases: number
  visitors: number
  firstLeaseAtMs: number | null
  creditByJob: Record<string, number>
}

export interface JobProgress {
  /** Replicas wanted but not yet leased (sum over open WUs). */
  unsent: number
  inProgress: number
  /** Distinct peers with a valid result in the job. */
  volunteers: number
  invalidResults: number
  /** Σ elapsed ms of the job's successful results, as their senders report it (untrusted). */
  reportedMs: number
}

export interface PeerTotals {
  peers: number
  activePeers: number
  results: number
  validResults: number
  invalidResults: number
  clientErrors: number
  noReplies: number
  ledgerEntries: number
  totalCredit: number
}

/** The sums the peers and ledger queries give (NULL / missing when there are no rows) as PeerTotals. */
export function peerTotalsOf (
  p: { peers?: number | null, active?: number | null, results?: number | null, valid?: number | null, invalid?: number | null, clientErrors?: number | null, noReplies?: number | null },
  l: { n: number, c: number | null } | undefined
): PeerTotals {
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

