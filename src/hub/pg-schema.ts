/**
 * The hub store's schema on PostgreSQL (pg-repository.ts): the same tables, columns, constraints
 * and append-only rules as SQLite's schema 10 (store-migrations.ts), in PostgreSQL's types:
 * - bytes are `bytea`, Unix-ms times and base units `bigint`, SQLite's REAL `double precision`;
 * - 0/1 flags stay `integer` (the row types read them as numbers, as SQLite's do);
 * - every text column is `COLLATE "C"` so that ORDER BY sorts bytewise, as SQLite does,
 *   whatever locale the cluster was made with;
 * - `results.id` is an identity column (SQLite's rowid); `ledger.seq` is given by the ledger.
 *
 * PG_MIGRATIONS[i] brings a database whose `meta.schema_version` is below its `version` to that
 * version. There is no PostgreSQL database older than schema 8, so the list starts there; a later
 * schema change appends a step. The steps are run under an advisory lock (pg-store.ts), so two
 * hubs starting at once on an empty database do not both create the tables.
 */
import { V10 } from './store-migrations.ts'

/** One schema step: run in one transaction; afterwards `meta.schema_version` is `version`. */
export interface PgMigration {
  version: number
  sql: string
}

/** Refuses any UPDATE of a ledger row except filling a NULL receipt_signature (nothing else changed); refuses DELETE and TRUNCATE. */
const LEDGER_RULES = `
  CREATE FUNCTION ledger_append_only () RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    unsigned ledger;
  BEGIN
    IF TG_OP = 'UPDATE' AND OLD.receipt_signature IS NULL AND NEW.receipt_signature IS NOT NULL THEN
      unsigned := NEW;
      unsigned.receipt_signature := NULL;
      IF unsigned IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
    END IF;
    RAISE EXCEPTION 'ledger is append-only' USING ERRCODE = 'restrict_violation';
  END $$;
  CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only ();
  CREATE FUNCTION refuse_change () RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
  END $$;
  CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION refuse_change ();
  CREATE TRIGGER site_credits_no_update BEFORE UPDATE OR DELETE ON site_credits FOR EACH ROW EXECUTE FUNCTION refuse_change ();
  CREATE TRIGGER site_credits_no_truncate BEFORE TRUNCATE ON site_credits FOR EACH STATEMENT EXECUTE FUNCTION refuse_change ();
`

/** Schema 7, as SQLite has it after its seven steps. */
const V8 = `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kernel TEXT NOT NULL,
    quorum INTEGER NOT NULL CHECK (quorum BETWEEN 1 AND 8),
    credit_per_ops DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    created_at_ms BIGINT NOT NULL,
    wu_count INTEGER NOT NULL,
    wu_validated INTEGER NOT NULL DEFAULT 0,
    wu_assimilated INTEGER NOT NULL DEFAULT 0,
    wu_failed INTEGER NOT NULL DEFAULT 0,
    replicas_issued INTEGER NOT NULL DEFAULT 0,
    output TEXT NOT NULL,
    policy TEXT NOT NULL DEFAULT 'replicate' CHECK (policy IN ('replicate', 'adaptive', 'certify')),
    spot_checks INTEGER NOT NULL DEFAULT 0,
    spot_failures INTEGER NOT NULL DEFAULT 0,
    checked_ops DOUBLE PRECISION NOT NULL DEFAULT 0,
    result_ops DOUBLE PRECISION NOT NULL DEFAULT 0,
    checked_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    wu_reopened INTEGER NOT NULL DEFAULT 0,
    hold TEXT CHECK (hold IS NULL OR hold IN ('paused', 'cancelled')),
    hold_reason TEXT NOT NULL DEFAULT '',
    probes INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE job_specs (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id),
    spec TEXT NOT NULL
  );
  CREATE TABLE kernels (
    id TEXT PRIMARY KEY,
    ticket BYTEA NOT NULL,
    registered_at_ms BIGINT NOT NULL
  );

  CREATE TABLE work_units (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    job_seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    kernel TEXT NOT NULL,
    input BYTEA NOT NULL,
    est_ops DOUBLE PRECISION NOT NULL,
    credit DOUBLE PRECISION NOT NULL,
    memory_bytes BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    quorum INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'failed')),
    wanted INTEGER NOT NULL,
    in_progress INTEGER NOT NULL DEFAULT 0,
    max_group INTEGER NOT NULL DEFAULT 0,
    has_result INTEGER NOT NULL DEFAULT 0,
    replicas_issued INTEGER NOT NULL DEFAULT 0,
    device_class TEXT,
    canonical_result_id BIGINT,
    assimilated INTEGER NOT NULL DEFAULT 0,
    replicas_excused INTEGER NOT NULL DEFAULT 0,
    target_nresults INTEGER NOT NULL DEFAULT 0,
    error_peers INTEGER NOT NULL DEFAULT 0,
    known_output_sha256 BYTEA,
    probe TEXT CHECK (probe IS NULL OR probe IN ('queued', 'ok', 'failed', 'skipped')),
    probe_message TEXT NOT NULL DEFAULT '',
    done_at_ms BIGINT,
    rand_key BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX work_units_wanted ON work_units (job_seq, has_result DESC, idx) WHERE state = 'open' AND wanted > 0;
  CREATE INDEX work_units_random ON work_units (job_seq, rand_key) WHERE state = 'open' AND wanted > 0;
  CREATE INDEX work_units_probe ON work_units (probe) WHERE probe = 'queued';
  CREATE INDEX work_units_job ON work_units (job_id, state);

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
    issued_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    over_at_ms BIGINT,
    release_reason TEXT CHECK (release_reason IS NULL OR release_reason IN ('cannot-run', 'stopped', 'failed')),
    remote_addr TEXT,
    -- never two replicas of one work unit to the same peer, ever
    UNIQUE (wu_id, peer_id),
    UNIQUE (wu_id, k)
  );
  CREATE INDEX replicas_expiry ON replicas (expires_at_ms) WHERE state = 'in-progress';
  CREATE INDEX replicas_job ON replicas (job_id, state);
  CREATE INDEX replicas_peer ON replicas (peer_id, state);
  CREATE INDEX replicas_wu_addr ON replicas (wu_id, remote_addr);

  CREATE TABLE results (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    replica_id TEXT NOT NULL UNIQUE REFERENCES replicas (id),
    wu_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'client-error')),
    output BYTEA NOT NULL,
    output_sha256 BYTEA NOT NULL,
    elapsed_ms BIGINT NOT NULL,
    device_class TEXT NOT NULL,
    error_message TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    validate_state TEXT CHECK (validate_state IS NULL OR validate_state IN ('valid', 'invalid', 'inconclusive')),
    signed BYTEA NOT NULL,
    ack BYTEA NOT NULL,
    ack_signature BYTEA,
    hub_check TEXT CHECK (hub_check IS NULL OR hub_check IN ('spot-ok', 'spot-failed', 'trusted', 'replicate'))
  );
  CREATE INDEX results_wu ON results (wu_id);
  CREATE INDEX results_job ON results (job_id, validate_state);
  CREATE INDEX results_peer ON results (peer_id);
  CREATE INDEX results_peer_state ON results (peer_id, validate_state);

  CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    peer_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    wu_id TEXT NOT NULL,
    -- credit is granted once per replica
    replica_id TEXT NOT NULL UNIQUE,
    credit DOUBLE PRECISION NOT NULL,
    granted_at_ms BIGINT NOT NULL,
    prev_hash BYTEA NOT NULL,
    entry BYTEA NOT NULL,
    entry_hash BYTEA NOT NULL,
    receipt_signature BYTEA,
    reverses BIGINT NOT NULL DEFAULT 0,
    credit_units BIGINT
  );
  CREATE INDEX ledger_peer ON ledger (peer_id, seq);
  CREATE INDEX ledger_job ON ledger (job_id, peer_id);
  CREATE INDEX ledger_reverses ON ledger (reverses) WHERE reverses > 0;

  CREATE TABLE peers (
    peer_id TEXT PRIMARY KEY,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    leases INTEGER NOT NULL DEFAULT 0,
    results INTEGER NOT NULL DEFAULT 0,
    valid_results INTEGER NOT NULL DEFAULT 0,
    invalid_results INTEGER NOT NULL DEFAULT 0,
    client_errors INTEGER NOT NULL DEFAULT 0,
    no_replies INTEGER NOT NULL DEFAULT 0,
    cannot_runs INTEGER NOT NULL DEFAULT 0,
    paused TEXT NOT NULL DEFAULT '',
    paused_at_ms BIGINT NOT NULL DEFAULT 0
  );

  CREATE TABLE site_leases (
    replica_id TEXT PRIMARY KEY,
    site_key TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    leased_at_ms BIGINT NOT NULL
  );
  CREATE INDEX site_leases_site ON site_leases (site_key);
  CREATE TABLE site_credits (
    seq BIGINT PRIMARY KEY,
    site_key TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    replica_id TEXT NOT NULL UNIQUE,
    credit DOUBLE PRECISION NOT NULL,
    granted_at_ms BIGINT NOT NULL,
    credit_units BIGINT
  );
  CREATE INDEX site_credits_site ON site_credits (site_key);

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
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (peer_id, kernel)
  );
`.replace(/\bTEXT\b/g, 'TEXT COLLATE "C"') + LEDGER_RULES

/** Schema 9: payout epochs (SQLite's V9, store-migrations.ts). */
const V9 = `
  CREATE TABLE IF NOT EXISTS payout_epochs (
    epoch BIGINT PRIMARY KEY CHECK (epoch >= 1),
    ledger_seq BIGINT NOT NULL,
    chain_head TEXT COLLATE "C" NOT NULL,
    root TEXT COLLATE "C" NOT NULL,
    total_token_units TEXT COLLATE "C" NOT NULL,
    total_credit_units TEXT COLLATE "C" NOT NULL,
    leaves TEXT COLLATE "C" NOT NULL,
    chain_id BIGINT NOT NULL,
    distributor TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('intent', 'posted', 'confirmed')),
    tx_hash TEXT COLLATE "C",
    block_number BIGINT,
    created_at_ms BIGINT NOT NULL,
    posted_at_ms BIGINT,
    confirmed_at_ms BIGINT
  );
`

/** Schema steps, in order of `version`. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 8, sql: V8 },
  { version: 9, sql: V9 },
  // fewer index pages per lease and per result: SQLite's step, the same SQL
  { version: 10, sql: V10 }
]

/** The schema version this hub writes (the last step's). */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version
