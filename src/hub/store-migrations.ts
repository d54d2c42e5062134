/**
 * The hub store's schema steps (SQLite): MIGRATIONS[v] brings a database at schema version v to
 * v + 1. Version 1 is the original layout; each later step says what it changes. store.ts runs them.
 */
import { join } from 'node:path'
import { BlobStore } from './blob-store.ts'
import { KERNEL_REF_PREFIX, cidFromHex } from '../protocol/index.ts'
import type { SqliteStore } from './store.ts'

/** One schema step: SQL run in a transaction, then optional code (e.g. reading blobs). */
export interface Migration {
  sql: string
  /** Run before the transaction (e.g. PRAGMA foreign_keys = OFF for a table rebuild). */
  foreignKeysOff?: boolean
  after?: (db: SqliteStore) => void
}

/**
 * Version 2: job specs leave the primes-shaped columns (range_from, range_to, unit are dropped by a
 * table rebuild; primes ranges move to job_specs, matmul and kernel jobs keep their spec there and
 * only the assimilated output in jobs.output); `cannot-run` give-backs are excused
 * (work_units.replicas_excused, replicas.release_reason, peers.cannot_runs); the kernel catalogue
 * (kernels, filled from the tickets of existing researcher jobs); site attribution tables.
 */
const V2 = `
  CREATE TABLE job_specs (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id),
    spec TEXT NOT NULL
  );
  INSERT INTO job_specs (job_id, spec) SELECT id, CASE
      WHEN kernel = 'primes-sieve/1' THEN json_object('from', range_from, 'to', range_to, 'unit', unit)
      ELSE output END FROM jobs;
  CREATE TABLE jobs_v2 (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kernel TEXT NOT NULL,
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
  INSERT INTO jobs_v2 SELECT id, seq, kernel, quorum, credit_per_ops, state, created_at_ms, wu_count, wu_validated,
      wu_assimilated, wu_failed, replicas_issued, CASE
      WHEN kernel = 'matmul-f32/1' THEN json_object('outputPath', json_extract(output, '$.outputPath'),
        'tilesAssimilated', json_extract(output, '$.tilesAssimilated'), 'outputSha256', json_extract(output, '$.outputSha256'))
      WHEN kernel LIKE 'k1:%' THEN json_object('outputsDir', json_extract(output, '$.outputsDir'),
        'assimilated', json_extract(output, '$.assimilated'))
      ELSE output END FROM jobs;
  DROP TABLE jobs;
  ALTER TABLE jobs_v2 RENAME TO jobs;

  ALTER TABLE work_units ADD COLUMN replicas_excused INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE replicas ADD COLUMN release_reason TEXT
    CHECK (release_reason IS NULL OR release_reason IN ('cannot-run', 'stopped', 'failed'));
  ALTER TABLE peers ADD COLUMN cannot_runs INTEGER NOT NULL DEFAULT 0;

  CREATE TABLE kernels (
    id TEXT PRIMARY KEY,
    ticket BLOB NOT NULL,
    registered_at_ms INTEGER NOT NULL
  );

  CREATE TABLE IF NOT EXISTS site_leases (
    replica_id   TEXT PRIMARY KEY,
    site_key     TEXT NOT NULL,
    peer_id      TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    leased_at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS site_leases_site ON site_leases (site_key);
  CREATE TABLE IF NOT EXISTS site_credits (
    seq           INTEGER PRIMARY KEY,
    site_key      TEXT NOT NULL,
    peer_id       TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    replica_id    TEXT NOT NULL UNIQUE,
    credit        REAL NOT NULL,
    granted_at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS site_credits_site ON site_credits (site_key);
  CREATE TRIGGER IF NOT EXISTS site_credits_no_update BEFORE UPDATE ON site_credits
    BEGIN SELECT RAISE(ABORT, 'site_credits is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS site_credits_no_delete BEFORE DELETE ON site_credits
    BEGIN SELECT RAISE(ABORT, 'site_credits is append-only'); END;
`

/**
 * Version 3: receipts are signed once and kept — `ledger.receipt_signature` (made at grant time;
 * NULL for older rows, which are signed on first fetch and stored: the append-only trigger now lets
 * exactly that through) and `results.ack_signature` (likewise for acks).
 */
const V3 = `
  ALTER TABLE ledger ADD COLUMN receipt_signature BLOB;
  DROP TRIGGER ledger_no_update;
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    WHEN NOT (OLD.receipt_signature IS NULL AND NEW.receipt_signature IS NOT NULL
      AND NEW.seq IS OLD.seq AND NEW.peer_id IS OLD.peer_id AND NEW.job_id IS OLD.job_id AND NEW.wu_id IS OLD.wu_id
      AND NEW.replica_id IS OLD.replica_id AND NEW.credit IS OLD.credit AND NEW.granted_at_ms IS OLD.granted_at_ms
      AND NEW.prev_hash IS OLD.prev_hash AND NEW.entry IS OLD.entry AND NEW.entry_hash IS OLD.entry_hash)
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
  ALTER TABLE results ADD COLUMN ack_signature BLOB;
`

/**
 * Version 4: trust (issue 10). `trust` per (peer, kernel); a job's `policy` (old jobs keep quorum
 * replication, `replicate`; matmul jobs `certify`) and its checking counters (`spot_checks`,
 * `spot_failures`, `checked_ops` = hub work spent checking, `result_ops` = volunteers' work received,
 * both in estOps units); a work unit's `target_nresults` (replicas wanted at once, beside `quorum`
 * = BOINC's min_quorum) and `error_peers` (client errors from established peers: the only thing
 * that fails a unit); the replica's `remote_addr` (the lease connection's IP, to keep two replicas
 * of a unit off one address); the result's `hub_check` (what the hub decided about it); ledger
 * `reverses` (a reversal entry names the seq it takes back; the update trigger now pins it too).
 */
const V4 = `
  CREATE TABLE trust (
    peer_id TEXT NOT NULL,
    kernel TEXT NOT NULL,
    consecutive_valid INTEGER NOT NULL DEFAULT 0,
    valid_results INTEGER NOT NULL DEFAULT 0,
    verified_results INTEGER NOT NULL DEFAULT 0,
    invalid_results INTEGER NOT NULL DEFAULT 0,
    client_errors INTEGER NOT NULL DEFAULT 0,
    spot_checks INTEGER NOT NULL DEFAULT 0,
    spot_failures INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (peer_id, kernel)
  );
  ALTER TABLE jobs ADD COLUMN policy TEXT NOT NULL DEFAULT 'replicate' CHECK (policy IN ('replicate', 'adaptive', 'certify'));
  UPDATE jobs SET policy = 'certify' WHERE kernel = 'matmul-f32/1';
  ALTER TABLE jobs ADD COLUMN spot_checks INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN spot_failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN checked_ops REAL NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN result_ops REAL NOT NULL DEFAULT 0;
  ALTER TABLE work_units ADD COLUMN target_nresults INTEGER NOT NULL DEFAULT 0;
  UPDATE work_units SET target_nresults = quorum;
  ALTER TABLE work_units ADD COLUMN error_peers INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE replicas ADD COLUMN remote_addr TEXT;
  CREATE INDEX replicas_wu_addr ON replicas (wu_id, remote_addr);
  ALTER TABLE results ADD COLUMN hub_check TEXT
    CHECK (hub_check IS NULL OR hub_check IN ('spot-ok', 'spot-failed', 'trusted', 'replicate'));
  ALTER TABLE ledger ADD COLUMN reverses INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX ledger_reverses ON ledger (reverses) WHERE reverses > 0;
  DROP TRIGGER ledger_no_update;
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    WHEN NOT (OLD.receipt_signature IS NULL AND NEW.receipt_signature IS NOT NULL
      AND NEW.seq IS OLD.seq AND NEW.peer_id IS OLD.peer_id AND NEW.job_id IS OLD.job_id AND NEW.wu_id IS OLD.wu_id
      AND NEW.replica_id IS OLD.replica_id AND NEW.credit IS OLD.credit AND NEW.granted_at_ms IS OLD.granted_at_ms
      AND NEW.prev_hash IS OLD.prev_hash AND NEW.entry IS OLD.entry AND NEW.entry_hash IS OLD.entry_hash
      AND NEW.reverses IS OLD.reverses)
    BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
`

/**
 * Version 5: the hub's checking time and reopened units (issue 10). `checked_ms` = wall
 * milliseconds the hub spent in its own checks of the job's results (spot checks and
 * arbitrations), measured; `wu_reopened` = done units reopened because their canonical result's
 * sender was proven a cheater.
 */
const V5 = `
  ALTER TABLE jobs ADD COLUMN checked_ms REAL NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN wu_reopened INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX results_peer_state ON results (peer_id, validate_state);
`

/**
 * Version 6: integer credit (issue 10). Ledger entries from now on are CreditEntry version 2,
 * their amount `credit_units` base units (protocol/credit.ts); `credit` keeps the same amount as
 * credit for reading by eye. Rows before it have NULL `credit_units`: their amount is their
 * double `credit`, rounded to base units where summed (CREDIT_UNITS_SQL). Site credits likewise.
 */
const V6 = `
  ALTER TABLE ledger ADD COLUMN credit_units INTEGER;
  ALTER TABLE site_credits ADD COLUMN credit_units INTEGER;
`

/**
 * Version 7: ringers (issue 10) and failures a researcher can see (issue 13).
 * - `work_units.known_output_sha256`: the SHA-256 of the output the unit must have, when its
 *   job's researcher gave the hub that answer (a ringer, Golle & Mironov), or the hub computed it
 *   itself (a probe that ran fine); NULL otherwise. It never leaves the hub.
 * - `work_units.probe`: the hub's own run of a unit that volunteers report failing (failure-probe.ts):
 *   NULL (none), `queued`, `ok`, `failed` or `skipped` (a kernel the hub cannot run); `probe_message` its error.
 * - `work_units.done_at_ms`: when the unit got its canonical result (the ETA's recent rate).
 * - `jobs.hold`: NULL, `paused` (by the hub: the kernel fails on the hub too; or by its researcher)
 *   or `cancelled` (by its researcher); a held job leases nothing. `hold_reason` says why.
 *   `jobs.probes`: units of the job the hub ran itself (bounded per job).
 * - `peers.paused`: the pause reasons (comma-separated) a peer's latest work/2.0.0 request gave,
 *   at `paused_at_ms` (empty: running).
 */
const V7 = `
  ALTER TABLE work_units ADD COLUMN known_output_sha256 BLOB;
  ALTER TABLE work_units ADD COLUMN probe TEXT CHECK (probe IS NULL OR probe IN ('queued', 'ok', 'failed', 'skipped'));
  ALTER TABLE work_units ADD COLUMN probe_message TEXT NOT NULL DEFAULT '';
  ALTER TABLE work_units ADD COLUMN done_at_ms INTEGER;
  ALTER TABLE jobs ADD COLUMN hold TEXT CHECK (hold IS NULL OR hold IN ('paused', 'cancelled'));
  ALTER TABLE jobs ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
  ALTER TABLE jobs ADD COLUMN probes INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX work_units_probe ON work_units (probe) WHERE probe = 'queued';
  ALTER TABLE peers ADD COLUMN paused TEXT NOT NULL DEFAULT '';
  ALTER TABLE peers ADD COLUMN paused_at_ms INTEGER NOT NULL DEFAULT 0;
`

/**
 * Version 8: leases in random order (issue 14). `work_units.rand_key` is a random 53-bit key per
 * unit (SQLite's random() mod 2^52, signed), never sent out; leases walk the open units of a job
 * in rand_key order from a random point drawn per request (an index scan that stops at the first
 * fitting units, instead of sorting every open unit by random()). Units of a store at version 7
 * get their keys here.
 */
const V8 = `
  ALTER TABLE work_units ADD COLUMN rand_key INTEGER NOT NULL DEFAULT 0;
  UPDATE work_units SET rand_key = random() % 4503599627370496;
  CREATE INDEX work_units_random ON work_units (job_seq, rand_key) WHERE state = 'open' AND wanted > 0;
`

/**
 * Version 9: payout epochs (issue 16, payout-epochs.ts). One row per epoch, written as an intent
 * before its root is posted on chain, then `posted` (tx_hash), then `confirmed` (block_number);
 * `leaves` is the tree's (address, cumulative token units) list as JSON, amounts decimal strings.
 * IF NOT EXISTS: a test may rewind a newer store's schema_version to replay earlier steps.
 */
const V9 = `
  CREATE TABLE IF NOT EXISTS payout_epochs (
    epoch INTEGER PRIMARY KEY CHECK (epoch >= 1),
    ledger_seq INTEGER NOT NULL,
    chain_head TEXT NOT NULL,
    root TEXT NOT NULL,
    total_token_units TEXT NOT NULL,
    total_credit_units TEXT NOT NULL,
    leaves TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    distributor TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('intent', 'posted', 'confirmed')),
    tx_hash TEXT,
    block_number INTEGER,
    created_at_ms INTEGER NOT NULL,
    posted_at_ms INTEGER,
    confirmed_at_ms INTEGER
  );
`

/**
 * Version 10: fewer index pages per lease and per result (issue 14). Every replica row was in
 * seven B-trees and every result row in six; each insert and each state change of a replica
 * wrote to all of them. `results_peer_state` (peer_id, validate_state) goes: every result's
 * validation moved its entry, and its one reader (a proven cheater's valid results, rare) finds
 * them through `results_peer` (peer_id), which a result's validation does not touch.
 * `replicas_wu_addr` goes: the "one replica per address" check looks a unit's few replicas up
 * through UNIQUE (wu_id, peer_id). `replicas_job` and `replicas_peer` keep only live leases
 * (every query on them asks for state = 'in-progress'), so a replica leaves them when it is over
 * instead of moving inside them, and they stay as small as the leases out.
 */
export const V10 = `
  DROP INDEX IF EXISTS results_peer_state;
  DROP INDEX IF EXISTS replicas_wu_addr;
  DROP INDEX IF EXISTS replicas_job;
  DROP INDEX IF EXISTS replicas_peer;
  CREATE INDEX IF NOT EXISTS replicas_job_live ON replicas (job_id) WHERE state = 'in-progress';
  CREATE INDEX IF NOT EXISTS replicas_peer_live ON replicas (peer_id) WHERE state = 'in-progress';
`

/** Researcher kernels of jobs created before the catalogue existed: their tickets, from the blob store. */
function fillKernelCatalogue (db: SqliteStore): void {
  const blobs = new BlobStore(join(db.dataDir, 'blobs'))
  const refs = db.all<{ kernel: string, at: number }>('SELECT kernel, min(created_at_ms) AS at FROM jobs WHERE kernel LIKE ? GROUP BY kernel', `${KERNEL_REF_PREFIX}%`)
  for (const { kernel, at } of refs) {
    const ticket = blobs.get(cidFromHex(kernel.slice(KERNEL_REF_PREFIX.length)))
    if (ticket == null) throw new Error(`migration to schema 2: the ticket of ${kernel} is missing from ${blobs.dir}`)
    db.run('INSERT OR IGNORE INTO kernels (id, ticket, registered_at_ms) VALUES (?, ?, ?)', kernel, ticket, at)
  }
}

/** Schema steps; MIGRATIONS[v] brings version v to v + 1. */
export const MIGRATIONS: readonly Migration[] = [
  { sql: `
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
  ` },
  { sql: V2, foreignKeysOff: true, after: fillKernelCatalogue },
  { sql: V3 },
  { sql: V4 },
  { sql: V5 },
  { sql: V6 },
  { sql: V7 },
  { sql: V8 },
  { sql: V9 },
  { sql: V10 }
]

