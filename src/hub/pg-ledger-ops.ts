/**
 * The ledger's operations on PostgreSQL (the `ledger` table: append-only by trigger, hash-chained;
 * see ledger.ts), and the query helpers every PostgreSQL operation class uses. PgProgressOps
 * (pg-progress-ops.ts) extends this class, and PgTx (pg-tx-ops.ts) the chain.
 *
 * One appender at a time, across every hub of the database: in a write transaction every ledger
 * read that an append is computed from (`ledgerHead`, `unreversedGrantsOf`) first takes the
 * transaction-scoped advisory lock LOCK_LEDGER, so the head a hub reads is still the head when it
 * appends, and the chain stays one chain. The lock is held until COMMIT or ROLLBACK; the ledger
 * appends a transaction's entries at its end (ledger.ts `flushAppends`), so it is taken there.
 * `ledgerByReplica` (is this replica credited?) takes no lock: a replica's unit is locked by the
 * transaction that validates it (`getWorkUnit … FOR NO KEY UPDATE`), and UNIQUE (replica_id) backs it.
 */
import { CREDIT_UNITS_PER_CREDIT, fromCreditUnits } from '../protocol/credit.ts'
import { LOCK_LEDGER } from './pg-store.ts'
import { payoutBindingStateOf, payoutEpochsOf, putPayoutEpochOf } from './shared-queries.ts'
import type { SqlRowReader } from './shared-queries.ts'
import type { TxSql } from './pg-store.ts'
import type { LedgerReceiptRow, LedgerRow, PayoutEpochRow } from './repository.ts'

/** A ledger row's amount in base units (rows before schema 6 cannot exist here, but the rule is SQLite's). */
export const PG_CREDIT_UNITS_SQL = `coalesce(credit_units, round(credit * ${CREDIT_UNITS_PER_CREDIT})::bigint)`

export type PgParam = string | number | null | Uint8Array

/** `?` placeholders (SQLite style, none inside literals here) to `$1, $2, …`. */
function numbered (sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** Query helpers over one transaction's connection. */
export class PgQueries {
  /**
   * @param c the transaction's connection (a savepoint's while one runs: the driver fails a scope
   *   at its end when any of its queries failed, so a savepoint's queries go through its own scope)
   * @param writable true in a write transaction: reads a write depends on lock their rows
   */
  constructor (protected c: TxSql, protected readonly writable: boolean) {}

  /**
   * ` FOR NO KEY UPDATE` in a write transaction, '' in a read one (read-only transactions cannot
   * lock). NO KEY: the lock an UPDATE of non-key columns takes, exclusive between hubs, but not
   * against the KEY SHARE lock a foreign key's check takes on the row an inserted row refers to
   * (a replica or result of the unit, of the job): FOR UPDATE waits for those, and two hubs
   * inserting under each other's locked rows deadlocked (seen on jobs, 2026-12-03).
   */
  protected get forUpdate (): string {
    return this.writable ? ' FOR NO KEY UPDATE' : ''
  }

  /** Writes sent and not yet answered (`write`), in the order sent. */
  private pending: Array<Promise<void>> = []
  /** The first of them that failed, until `settle` throws it. */
  private pendingError: unknown = undefined

  protected async all<T> (sql: string, ...params: PgParam[]): Promise<T[]> {
    return [...await this.answered(this.c.unsafe(numbered(sql), params as never[], { prepare: true }))] as T[]
  }

  /**
   * A query's answer; when it fails behind a failed write (PostgreSQL refuses every statement of a
   * transaction after an error, 25P02), the write's own error is thrown instead, so the
   * repository's retry rule sees its SQLSTATE (a deadlock, a unique violation).
   */
  private async answered<T> (query: PromiseLike<T>): Promise<T> {
    try {
      return await query
    } catch (err) {
      await this.settle()
      throw err
    }
  }

  /**
   * Send a write whose answer nobody reads (a counter update, an upsert) without waiting for it:
   * PostgreSQL runs the statements of one connection in the order sent, so the next read sees it,
   * and the driver pipelines them (issue 14: ~28 statements a result, each a round trip before).
   * Its failure is thrown by the next query or by `settle`, which the savepoint and the
   * transaction call before they end.
   */
  protected write (sql: string, ...params: PgParam[]): void {
    this.pending.push(this.c.unsafe(numbered(sql), params as never[], { prepare: true }).then(() => {}, (err: unknown) => { this.pendingError ??= err }))
  }

  /** Wait for every write sent; @throws the first one's error (once), e.g. a deadlock */
  async settle (): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0))
    const err = this.pendingError
    if (err !== undefined) {
      this.pendingError = undefined
      throw err
    }
  }

  protected async get<T> (sql: string, ...params: PgParam[]): Promise<T | undefined> {
    return (await this.all<T>(sql, ...params))[0]
  }

  /** `get`, `all` and `run` as a SqlRowReader, for the queries both stores share (shared-queries.ts). */
  protected get rows (): SqlRowReader {
    return { get: async (sql, ...params) => await this.get(sql, ...params), all: async (sql, ...params) => await this.all(sql, ...params), run: async (sql, ...params) => await this.run(sql, ...params) }
  }

  /** Run a statement; @returns the number of rows changed */
  protected async run (sql: string, ...params: PgParam[]): Promise<number> {
    return (await this.answered(this.c.unsafe(numbered(sql), params as never[], { prepare: true }))).count
  }

  /** Wait for the transaction-scoped advisory lock `key` (released at COMMIT / ROLLBACK). */
  protected async lock (key: number): Promise<void> {
    await this.answered(this.c.unsafe(`SELECT pg_advisory_xact_lock(${key})`))
  }
}

export class PgLedgerOps extends PgQueries {
  /** LOCK_LEDGER is held (taken once a transaction; PgTx forgets it when a savepoint rolls back). */
  protected ledgerLocked = false

  private async ledgerLock (): Promise<void> {
    if (!this.writable || this.ledgerLocked) return
    await this.lock(LOCK_LEDGER)
    this.ledgerLocked = true
  }

  async ledgerByReplica (replicaId: string): Promise<LedgerRow | undefined> {
    return await this.get<LedgerRow>('SELECT * FROM ledger WHERE replica_id = ?', replicaId)
  }

  async ledgerHead (): Promise<{ seq: number, entry_hash: Uint8Array } | undefined> {
    await this.ledgerLock()
    return await this.get<{ seq: number, entry_hash: Uint8Array }>('SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1')
  }

  async ledgerSize (): Promise<number> {
    return (await this.get<{ n: number }>('SELECT count(*) AS n FROM ledger'))?.n ?? 0
  }

  async ledgerEntry (seq: number): Promise<Uint8Array | undefined> {
    return (await this.get<{ entry: Uint8Array }>('SELECT entry FROM ledger WHERE seq = ?', seq))?.entry
  }

  async ledgerRows (fromSeq: number, limit: number): Promise<LedgerRow[]> {
    return await this.all<LedgerRow>('SELECT * FROM ledger WHERE seq >= ? ORDER BY seq LIMIT ?', fromSeq, limit)
  }

  async ledgerEntriesFor (peerId: string, afterSeq: number, limit: number): Promise<LedgerReceiptRow[]> {
    return await this.all<LedgerReceiptRow>('SELECT seq, entry, entry_hash, receipt_signature FROM ledger WHERE peer_id = ? AND seq > ? ORDER BY seq LIMIT ?', peerId, afterSeq, limit)
  }

  async ledgerMaxSeqFor (peerId: string): Promise<number> {
    return (await this.get<{ n: number | null }>('SELECT max(seq) AS n FROM ledger WHERE peer_id = ?', peerId))?.n ?? 0
  }

  async ledgerAppend (row: LedgerRow): Promise<void> {
    await this.ledgerLock()
    this.write(`INSERT INTO ledger (seq, peer_id, job_id, wu_id, replica_id, credit, credit_units, granted_at_ms, prev_hash, entry, entry_hash, receipt_signature, reverses)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row.seq, row.peer_id, row.job_id, row.wu_id, row.replica_id, row.credit, row.credit_units,
    row.granted_at_ms, row.prev_hash, row.entry, row.entry_hash, row.receipt_signature, row.reverses)
  }

  async unreversedGrantsOf (peerId: string): Promise<LedgerRow[]> {
    await this.ledgerLock()
    return await this.all<LedgerRow>(`SELECT * FROM ledger g WHERE g.peer_id = ? AND g.reverses = 0 AND g.credit > 0
      AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.reverses = g.seq) ORDER BY g.seq`, peerId)
  }

  async setReceiptSignature (seq: number, signature: Uint8Array): Promise<void> {
    // the ledger's trigger lets exactly this through: a NULL signature set, nothing else changed
    await this.run('UPDATE ledger SET receipt_signature = ? WHERE seq = ? AND receipt_signature IS NULL', signature, seq)
  }

  async balances (jobId?: string): Promise<Record<string, number>> {
    const rows = jobId == null
      ? await this.all<{ peer_id: string, u: number }>(`SELECT peer_id, sum(${PG_CREDIT_UNITS_SQL}) AS u FROM ledger GROUP BY peer_id ORDER BY peer_id`)
      : await this.all<{ peer_id: string, u: number }>(`SELECT peer_id, sum(${PG_CREDIT_UNITS_SQL}) AS u FROM ledger WHERE job_id = ? GROUP BY peer_id ORDER BY peer_id`, jobId)
    return Object.fromEntries(rows.map(r => [r.peer_id, fromCreditUnits(r.u)]))
  }

  async balance (peerId: string): Promise<number> {
    return fromCreditUnits((await this.get<{ u: number | null }>(`SELECT sum(${PG_CREDIT_UNITS_SQL}) AS u FROM ledger WHERE peer_id = ?`, peerId))?.u ?? 0)
  }

  async payoutEpochs (): Promise<PayoutEpochRow[]> { return await payoutEpochsOf(this.rows) }
  async putPayoutEpoch (r: PayoutEpochRow): Promise<void> { await putPayoutEpochOf(this.rows, r) }
  async payoutBindingState (peerId: string): Promise<{ lastBinding: Uint8Array | undefined, granted: boolean }> { return await payoutBindingStateOf(this.rows, peerId) }
}
