/**
 * The SQLite half of the hub's repository: one file `<dataDir>/hub.sqlite` (Node's built-in
 * `node:sqlite`), WAL journal, `synchronous = FULL` so that a committed transaction — and so an
 * acknowledged result or a granted credit — survives a crash of the process or of the machine.
 * This file owns the connection and the schema (MIGRATIONS); sqlite-repository.ts the operations.
 *
 * Tables (schema version 6):
 * - `meta`        key/value: `schema_version`, `hub_peer_id`
 * - `jobs`        one row per job: kernel, quorum, progress counters, the assimilated output (JSON)
 * - `job_specs`   one row per job: its spec (JSON: primes range, matmul dimensions and CIDs, kernel ticket)
 * - `kernels`     the researcher-kernel catalogue: hub-signed tickets by kernel ref
 * - `work_units`  one row per WU, with scheduling counters (`wanted`, `in_progress`, …)
 * - `replicas`    one row per copy of a WU leased to one peer; UNIQUE (wu_id, peer_id)
 * - `results`     one row per result received; UNIQUE (replica_id)
 * - `ledger`      the hash-chained credit ledger; UNIQUE (replica_id); append-only triggers (a NULL
 *                 receipt_signature may be filled once)
 * - `peers`       per-volunteer counters (leases, results, invalid results, …)
 * - `site_leases`, `site_credits`  partner-site attribution (sites.ts)
 * - `trust`       per-(peer, kernel) reliability record (trust.ts: BOINC's adaptive replication)
 * - `payout_epochs` token payout epochs: intent, posted, confirmed (schema 9, payout-epochs.ts)
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { MIGRATIONS } from './store-migrations.ts'

export { MIGRATIONS } from './store-migrations.ts'

/** Current schema version written in `meta.schema_version`. */
export const SCHEMA_VERSION = 10
/** File name of the database inside the data directory. */
export const DB_FILE_NAME = 'hub.sqlite'

export type SqlParam = string | number | bigint | null | Uint8Array

/**
 * One SQLite connection with the schema brought up to date. Synchronous; the async repository
 * (sqlite-repository.ts) serialises transactions over it.
 */
export class SqliteStore {
  readonly db: DatabaseSync
  /** Path of the database file. */
  readonly path: string
  readonly dataDir: string
  private readonly statements = new Map<string, StatementSync>()
  /** Result column names of the statements that return rows, by SQL text. */
  private readonly columnNames = new Map<string, string[]>()

  private constructor (db: DatabaseSync, dataDir: string) {
    this.db = db
    this.dataDir = dataDir
    this.path = join(dataDir, DB_FILE_NAME)
  }

  /**
   * Open (or create) `<dataDir>/hub.sqlite` and bring its schema up to date.
   * @throws Error when the file was written by a newer schema version, or a migration fails
   */
  static open (dataDir: string): SqliteStore {
    mkdirSync(dataDir, { recursive: true })
    const db = new DatabaseSync(join(dataDir, DB_FILE_NAME), { timeout: 5_000 })
    try {
      db.exec('PRAGMA journal_mode = WAL')
      // FULL: a committed transaction (an acknowledged result, a credit) is on disk before COMMIT
      // returns, even across a power loss. NORMAL in WAL mode would only survive a process crash.
      db.exec('PRAGMA synchronous = FULL')
      const store = new SqliteStore(db, dataDir)
      store.migrate()
      db.exec('PRAGMA foreign_keys = ON')
      return store
    } catch (err) {
      db.close()
      throw err
    }
  }

  private migrate (): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    const current = Number(this.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")?.value ?? '0')
    if (current > MIGRATIONS.length) {
      throw new Error(`${this.path} has schema version ${current}, newer than this hub's ${MIGRATIONS.length}`)
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]
      this.db.exec(`PRAGMA foreign_keys = ${m.foreignKeysOff === true ? 'OFF' : 'ON'}`)
      this.syncTransaction(() => {
        this.db.exec(m.sql)
        m.after?.(this)
        if (m.foreignKeysOff === true && this.all('PRAGMA foreign_key_check').length > 0) throw new Error(`migration ${v + 1}: foreign keys broken`)
        this.run("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", String(v + 1))
      })
    }
  }

  /** A prepared statement, cached by its SQL text; its rows come back as arrays (`get` and `all` name them). */
  stmt (sql: string): StatementSync {
    let s = this.statements.get(sql)
    if (s == null) {
      s = this.db.prepare(sql)
      s.setReturnArrays(true)
      this.statements.set(sql, s)
    }
    return s
  }

  /**
   * Called with each statement's SQL before `get`, `all` and `run` run it: SqliteTx writes its
   * deferred work-unit changes first when the statement names `work_units` (deferred-unit-writes.ts).
   */
  beforeStatement: ((sql: string) => void) | undefined = undefined

  /** First row of a query, typed by the caller. */
  get<T> (sql: string, ...params: SqlParam[]): T | undefined {
    this.beforeStatement?.(sql)
    const values = this.stmt(sql).get(...params) as unknown as unknown[] | undefined
    return values == null ? undefined : namedRow(this.namesOf(sql), values) as T
  }

  /** All rows of a query, typed by the caller. */
  all<T> (sql: string, ...params: SqlParam[]): T[] {
    this.beforeStatement?.(sql)
    const rows = this.stmt(sql).all(...params) as unknown as unknown[][]
    if (rows.length === 0) return []
    const names = this.namesOf(sql)
    return rows.map(values => namedRow(names, values) as T)
  }

  private namesOf (sql: string): string[] {
    let names = this.columnNames.get(sql)
    if (names == null) {
      names = this.stmt(sql).columns().map(c => c.name)
      this.columnNames.set(sql, names)
    }
    return names
  }

  /** Run a statement; returns the number of rows changed. */
  run (sql: string, ...params: SqlParam[]): number {
    this.beforeStatement?.(sql)
    return Number(this.stmt(sql).run(...params).changes)
  }

  /** `fn` inside BEGIN IMMEDIATE … COMMIT, ROLLBACK when it throws. @throws whatever `fn` throws */
  private syncTransaction (fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      fn()
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
    this.db.exec('COMMIT')
  }

  get isOpen (): boolean {
    return this.db.isOpen
  }

  /** Close the database (checkpoints the WAL). Idempotent. */
  close (): void {
    if (!this.db.isOpen) return
    this.statements.clear()
    this.columnNames.clear()
    this.db.close()
  }
}

/**
 * A row as a plain object: `names[i]` = `values[i]` (a later column of the same name wins, as in
 * node:sqlite's own objects). Built here rather than by node:sqlite, whose row objects have their
 * properties in dictionary mode: reading a row so was measured at 5.6 us against 3.3 us, and each
 * copy of one (`{ ...row }`: kept rows, job changes) at 7-10 us against 0.06 us (issue 14).
 */
function namedRow (names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {}
  for (let i = 0; i < names.length; i++) row[names[i]] = values[i]
  return row
}
