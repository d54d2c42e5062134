/**
 * The hub's embedded store: one SQLite file `<dataDir>/hub.sqlite` (Node's built-in `node:sqlite`),
 * WAL journal, `synchronous = FULL` so that a committed transaction — and so an acknowledged result
 * or a granted credit — survives a crash of the process or of the machine.
 *
 * Plain SQL, one connection, explicit `BEGIN IMMEDIATE` / `COMMIT` transactions. `node:sqlite` is
 * synchronous: a transaction never spans an `await`, so concurrent async callers cannot interleave
 * inside one.
 *
 * Tables (schema version 1):
 * - `meta`        key/value: `schema_version`, `hub_peer_id`
 * - `jobs`        one row per job, with progress counters and the assimilated output (JSON)
 * - `work_units`  one row per WU, with scheduling counters (`wanted`, `in_progress`, …)
 * - `replicas`    one row per copy of a WU leased to one peer; UNIQUE (wu_id, peer_id)
 * - `results`     one row per result received; UNIQUE (replica_id)
 * - `ledger`      the hash-chained credit ledger; UNIQUE (replica_id); append-only triggers
 * - `peers`       per-volunteer counters (leases, results, invalid results, …)
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'

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

/** Current schema version written in `meta.schema_version`. */
export const SCHEMA_VERSION = 1
/** File name of the database inside the data directory. */
export const DB_FILE_NAME = 'hub.sqlite'

export interface JobRow {
  id: string
  /** Creation order (1, 2, 3…); older jobs are scheduled first. */
  seq: number
  kernel: string
  range_from: number
  range_to: number
  unit: number
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
  /** Assimilator accumulator, JSON (primes: `{"primes": n}`). */
  output: string
}

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
  quorum: number
  state: WorkUnitState
  /** Replicas to lease now: max(0, quorum - max_group - in_progress) while open, else 0. */
  wanted: number
  in_progress: number
  /** Size of the largest group of agreeing successful results. */
  max_group: number
  /** 1 when at least one successful result arrived (scheduled first, to finish the WU). */
  has_result: number
  replicas_issued: number
  /** Homogeneous-redundancy device class for non-exact kernels (NULL: any). */
  device_class: string | null
  canonical_result_id: number | null
  assimilated: number
}

export interface ReplicaRow {
  id: string
  wu_id: string
  job_id: string
  peer_id: string
  k: number
  device_class: string
  state: ReplicaState
  outcome: ReplicaOutcome | null
  /** 1 when the peer gave the replica back (outcome is then `no-reply`). */
  released: number
  issued_at_ms: number
  expires_at_ms: number
  over_at_ms: number | null
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
  device_class: string
  error_message: string
  received_at_ms: number
  validate_state: ValidateState | null
  /** The SignedResult as received (encoded), kept as evidence. */
  signed: Uint8Array
  /** The encoded ResultAck the hub signed for this result. */
  ack: Uint8Array
}

export interface LedgerRow {
  seq: number
  peer_id: string
  job_id: string
  wu_id: string
  replica_id: string
  credit: number
  granted_at_ms: number
  prev_hash: Uint8Array
  /** The encoded CreditEntry. */
  entry: Uint8Array
  /** sha-256 of `entry`. */
  entry_hash: Uint8Array
}

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
}

/** Per-peer counters that `bumpPeer` can increment. */
export type PeerCounter = 'leases' | 'results' | 'valid_results' | 'invalid_results' | 'client_errors' | 'no_replies'

const MIGRATIONS: readonly string[] = [
  // version 1
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kernel TEXT NOT NULL,
    range_from INTEGER NOT NULL,
    range_to INTEGER NOT NULL,
    unit INTEGER NOT NULL,
    quorum INTEGER NOT NULL CHECK (quorum BETWEEN 1 AND 8),
    credit_per_ops REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    created_at_ms INTEGER NOT NULL,
    wu_count INTEGER NOT NULL,
    wu_validated INTEGER NOT NULL DEFAULT 0,
    wu_assimilated INTEGER NOT NULL DEFAULT 0,
    wu_failed INTEGER NOT NULL DEFAULT 0,
    replicas_issued INTEGER NOT NULL DEFAULT 0,
    output TEXT NOT NULL
  );

  CREATE TABLE work_units (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    job_seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    kernel TEXT NOT NULL,
    input BLOB NOT NULL,
    est_ops REAL NOT NULL,
    credit REAL NOT NULL,
    memory_bytes INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    quorum INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'failed')),
    wanted INTEGER NOT NULL,
    in_progress INTEGER NOT NULL DEFAULT 0,
    max_group INTEGER NOT NULL DEFAULT 0,
    has_result INTEGER NOT NULL DEFAULT 0,
    replicas_issued INTEGER NOT NULL DEFAULT 0,
    device_class TEXT,
    canonical_result_id INTEGER,
    assimilated INTEGER NOT NULL DEFAULT 0
  );
  -- Only WUs that want replicas are in this index: the scheduler's scan stays short.
  CREATE INDEX work_units_wanted ON work_units (job_seq, has_result DESC, idx)
    WHERE state = 'open' AND wanted > 0;

  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    wu_id TEXT NOT NULL REFERENCES work_units (id),
    job_id TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    k INTEGER NOT NULL,
    device_class TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('unsent', 'in-progress', 'over')),
    outcome TEXT CHECK (outcome IS NULL OR outcome IN ('success', 'client-error', 'no-reply')),
    released INTEGER NOT NULL DEFAULT 0,
    issued_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    over_at_ms INTEGER,
    -- never two replicas of one work unit to the same peer, ever
    UNIQUE (wu_id, peer_id),
    UNIQUE (wu_id, k)
  );
  CREATE INDEX replicas_expiry ON replicas (expires_at_ms) WHERE state = 'in-progress';
  CREATE INDEX replicas_job ON replicas (job_id, state);
  CREATE INDEX replicas_peer ON replicas (peer_id, state);

  CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    replica_id TEXT NOT NULL UNIQUE REFERENCES replicas (id),
    wu_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'client-error')),
    output BLOB NOT NULL,
    output_sha256 BLOB NOT NULL,
    elapsed_ms INTEGER NOT NULL,
    device_class TEXT NOT NULL,
    error_message TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    validate_state TEXT CHECK (validate_state IS NULL OR validate_state IN ('valid', 'invalid', 'inconclusive')),
    signed BLOB NOT NULL,
    ack BLOB NOT NULL
  );
  CREATE INDEX results_wu ON results (wu_id);
  CREATE INDEX results_job ON results (job_id, validate_state);
  CREATE INDEX results_peer ON results (peer_id);

  CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    peer_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    wu_id TEXT NOT NULL,
    -- credit is granted once per replica
    replica_id TEXT NOT NULL UNIQUE,
    credit REAL NOT NULL,
    granted_at_ms INTEGER NOT NULL,
    prev_hash BLOB NOT NULL,
    entry BLOB NOT NULL,
    entry_hash BLOB NOT NULL
  );
  CREATE INDEX ledger_peer ON ledger (peer_id, seq);
  CREATE INDEX ledger_job ON ledger (job_id, peer_id);
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
  CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

  CREATE TABLE peers (
    peer_id TEXT PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    leases INTEGER NOT NULL DEFAULT 0,
    results INTEGER NOT NULL DEFAULT 0,
    valid_results INTEGER NOT NULL DEFAULT 0,
    invalid_results INTEGER NOT NULL DEFAULT 0,
    client_errors INTEGER NOT NULL DEFAULT 0,
    no_replies INTEGER NOT NULL DEFAULT 0
  );
  `
]

export interface StoreOptions {
  /** Directory holding `hub.sqlite`; created when missing. */
  dataDir: string
  /** Replicas one WU may get before it is marked failed (default 6). */
  maxReplicasPerUnit?: number
}

/** Default cap on replicas of one work unit. */
export const DEFAULT_MAX_REPLICAS_PER_UNIT = 6

/** The SQLite store. One instance per data directory and process. */
export class HubStore {
  readonly db: DatabaseSync
  /** Absolute or relative path of the database file. */
  readonly path: string
  readonly maxReplicasPerUnit: number
  private readonly statements = new Map<string, StatementSync>()

  private constructor (db: DatabaseSync, path: string, maxReplicasPerUnit: number) {
    this.db = db
    this.path = path
    this.maxReplicasPerUnit = maxReplicasPerUnit
  }

  /**
   * Open (or create) `<dataDir>/hub.sqlite` and bring its schema up to date.
   * @throws RangeError for a bad maxReplicasPerUnit
   * @throws Error when the file was written by a newer schema version
   */
  static open (opts: StoreOptions): HubStore {
    const maxReplicas = opts.maxReplicasPerUnit ?? DEFAULT_MAX_REPLICAS_PER_UNIT
    if (!Number.isSafeInteger(maxReplicas) || maxReplicas < 1) throw new RangeError(`maxReplicasPerUnit must be a positive integer, got ${maxReplicas}`)
    mkdirSync(opts.dataDir, { recursive: true })
    const path = join(opts.dataDir, DB_FILE_NAME)
    const db = new DatabaseSync(path, { timeout: 5_000 })
    try {
      db.exec('PRAGMA journal_mode = WAL')
      // FULL: a committed transaction (an acknowledged result, a credit) is on disk before COMMIT
      // returns, even across a power loss. NORMAL in WAL mode would only survive a process crash.
      db.exec('PRAGMA synchronous = FULL')
      db.exec('PRAGMA foreign_keys = ON')
      const store = new HubStore(db, path, maxReplicas)
      store.migrate()
      return store
    } catch (err) {
      db.close()
      throw err
    }
  }

  private migrate (): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    const current = Number(this.getMeta('schema_version') ?? '0')
    if (current > MIGRATIONS.length) {
      throw new Error(`${this.path} has schema version ${current}, newer than this hub's ${MIGRATIONS.length}`)
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[v])
        this.setMeta('schema_version', String(v + 1))
      })
    }
  }

  /** A prepared statement, cached by its SQL text. */
  stmt (sql: string): StatementSync {
    let s = this.statements.get(sql)
    if (s == null) {
      s = this.db.prepare(sql)
      this.statements.set(sql, s)
    }
    return s
  }

  /** First row of a query, typed by the caller. */
  get<T> (sql: string, ...params: Array<string | number | bigint | null | Uint8Array>): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined
  }

  /** All rows of a query, typed by the caller. */
  all<T> (sql: string, ...params: Array<string | number | bigint | null | Uint8Array>): T[] {
    return this.stmt(sql).all(...params) as T[]
  }

  /** Run a statement; returns the number of rows changed. */
  run (sql: string, ...params: Array<string | number | bigint | null | Uint8Array>): number {
    return Number(this.stmt(sql).run(...params).changes)
  }

  /**
   * Run `fn` inside `BEGIN IMMEDIATE … COMMIT` (ROLLBACK when it throws). Called while a
   * transaction is already open, `fn` simply joins it. `fn` must be synchronous.
   * @throws whatever `fn` throws, after rolling back
   * @throws TypeError when `fn` returns a promise (awaiting inside a transaction is forbidden)
   */
  transaction<T> (fn: () => T): T {
    if (this.db.isTransaction) return this.checkSync(fn())
    this.db.exec('BEGIN IMMEDIATE')
    let result: T
    try {
      result = this.checkSync(fn())
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
    this.db.exec('COMMIT')
    return result
  }

  private checkSync<T> (value: T): T {
    if (value != null && typeof (value as { then?: unknown }).then === 'function') {
      throw new TypeError('a store transaction must be synchronous')
    }
    return value
  }

  /** True while a transaction is open. */
  get inTransaction (): boolean {
    return this.db.isTransaction
  }

  /** @throws Error when called outside a transaction */
  assertInTransaction (what: string): void {
    if (!this.db.isTransaction) throw new Error(`${what} must run inside a store transaction`)
  }

  getMeta (key: string): string | undefined {
    return this.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', key)?.value
  }

  setMeta (key: string, value: string): void {
    this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value)
  }

  getJob (id: string): JobRow | undefined {
    return this.get<JobRow>('SELECT * FROM jobs WHERE id = ?', id)
  }

  listJobs (): JobRow[] {
    return this.all<JobRow>('SELECT * FROM jobs ORDER BY seq')
  }

  getWorkUnit (id: string): WorkUnitRow | undefined {
    return this.get<WorkUnitRow>('SELECT * FROM work_units WHERE id = ?', id)
  }

  getReplica (id: string): ReplicaRow | undefined {
    return this.get<ReplicaRow>('SELECT * FROM replicas WHERE id = ?', id)
  }

  getResult (id: number): ResultRow | undefined {
    return this.get<ResultRow>('SELECT * FROM results WHERE id = ?', id)
  }

  /** The result stored for a replica, whoever sent it. */
  resultForReplica (replicaId: string): ResultRow | undefined {
    return this.get<ResultRow>('SELECT * FROM results WHERE replica_id = ?', replicaId)
  }

  /** Results of a work unit, oldest first. */
  resultsForWorkUnit (wuId: string): ResultRow[] {
    return this.all<ResultRow>('SELECT * FROM results WHERE wu_id = ? ORDER BY id', wuId)
  }

  getPeer (peerId: string): PeerRow | undefined {
    return this.get<PeerRow>('SELECT * FROM peers WHERE peer_id = ?', peerId)
  }

  /**
   * Bump one of a peer's counters. With `seenAtMs` (Unix ms) the peer is also recorded as seen
   * then (its row is created when missing); without it only an existing row is updated.
   */
  bumpPeer (peerId: string, seenAtMs: number | null, counter?: PeerCounter, by = 1): void {
    if (seenAtMs != null) {
      this.run(`INSERT INTO peers (peer_id, first_seen_ms, last_seen_ms) VALUES (?, ?, ?)
        ON CONFLICT (peer_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)`, peerId, seenAtMs, seenAtMs)
    }
    if (counter != null && by !== 0) this.run(`UPDATE peers SET ${counter} = ${counter} + ? WHERE peer_id = ?`, by, peerId)
  }

  /**
   * Recompute an open WU's `wanted` from its counters; an open WU that still wants replicas but
   * has used up `maxReplicasPerUnit` is marked failed (and its job settled). Inside a transaction.
   * @returns the WU's state afterwards
   */
  refreshNeed (wuId: string): WorkUnitState | undefined {
    this.run(`UPDATE work_units SET wanted = max(0, quorum - max_group - in_progress)
      WHERE id = ? AND state = 'open'`, wuId)
    const wu = this.get<{ state: WorkUnitState, wanted: number, replicas_issued: number, job_id: string }>(
      'SELECT state, wanted, replicas_issued, job_id FROM work_units WHERE id = ?', wuId)
    if (wu == null) return undefined
    if (wu.state === 'open' && wu.wanted > 0 && wu.replicas_issued >= this.maxReplicasPerUnit) {
      this.run("UPDATE work_units SET state = 'failed', wanted = 0 WHERE id = ?", wuId)
      this.run('UPDATE jobs SET wu_failed = wu_failed + 1 WHERE id = ?', wu.job_id)
      this.settleJob(wu.job_id)
      return 'failed'
    }
    return wu.state
  }

  /**
   * Set a running job's state from its counters: `complete` when every WU is assimilated,
   * `failed` when every WU is settled and at least one failed. Inside a transaction.
   */
  settleJob (jobId: string): JobState | undefined {
    this.run(`UPDATE jobs SET state = CASE
        WHEN wu_assimilated = wu_count THEN 'complete'
        WHEN wu_assimilated + wu_failed >= wu_count THEN 'failed'
        ELSE 'running' END
      WHERE id = ? AND state = 'running'`, jobId)
    return this.get<{ state: JobState }>('SELECT state FROM jobs WHERE id = ?', jobId)?.state
  }

  /** Close the database (checkpoints the WAL). Idempotent. */
  close (): void {
    if (!this.db.isOpen) return
    this.statements.clear()
    this.db.close()
  }
}
