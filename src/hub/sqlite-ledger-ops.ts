/**
 * The ledger's operations on SQLite (the `ledger` table: append-only, hash-chained; see ledger.ts).
 * SqliteProgressOps (sqlite-progress-ops.ts) extends this class, and SqliteTx (sqlite-repository.ts) the chain.
 */
import { CREDIT_UNITS_PER_CREDIT, fromCreditUnits } from '../protocol/credit.ts'
import { payoutBindingStateOf, payoutEpochsOf, putPayoutEpochOf } from './shared-queries.ts'
import type { SqliteStore } from './store.ts'
import type { LedgerReceiptRow, LedgerRow, PayoutEpochRow } from './repository.ts'

/** A ledger row's amount in base units (rows before schema 6: their double credit, rounded). */
export const CREDIT_UNITS_SQL = `coalesce(credit_units, CAST(round(credit * ${CREDIT_UNITS_PER_CREDIT}) AS INTEGER))`

/** Ledger reads and writes over one connection; only valid inside a transaction of SqliteHubRepository. */
export class SqliteLedgerOps {
  constructor (protected readonly s: SqliteStore) {}

  async ledgerByReplica (replicaId: string): Promise<LedgerRow | undefined> {
    return this.s.get<LedgerRow>('SELECT * FROM ledger WHERE replica_id = ?', replicaId)
  }

  async ledgerHead (): Promise<{ seq: number, entry_hash: Uint8Array } | undefined> {
    return this.s.get<{ seq: number, entry_hash: Uint8Array }>('SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1')
  }

  async ledgerSize (): Promise<number> {
    return this.s.get<{ n: number }>('SELECT count(*) AS n FROM ledger')?.n ?? 0
  }

  async ledgerEntry (seq: number): Promise<Uint8Array | undefined> {
    return this.s.get<{ entry: Uint8Array }>('SELECT entry FROM ledger WHERE seq = ?', seq)?.entry
  }

  async ledgerRows (fromSeq: number, limit: number): Promise<LedgerRow[]> {
    return this.s.all<LedgerRow>('SELECT * FROM ledger WHERE seq >= ? ORDER BY seq LIMIT ?', fromSeq, limit)
  }

  async ledgerEntriesFor (peerId: string, afterSeq: number, limit: number): Promise<LedgerReceiptRow[]> {
    return this.s.all<LedgerReceiptRow>('SELECT seq, entry, entry_hash, receipt_signature FROM ledger WHERE peer_id = ? AND seq > ? ORDER BY seq LIMIT ?', peerId, afterSeq, limit)
  }

  async ledgerMaxSeqFor (peerId: string): Promise<number> {
    return this.s.get<{ n: number | null }>('SELECT max(seq) AS n FROM ledger WHERE peer_id = ?', peerId)?.n ?? 0
  }

  async ledgerAppend (row: LedgerRow): Promise<void> {
    this.s.run(`INSERT INTO ledger (seq, peer_id, job_id, wu_id, replica_id, credit, credit_units, granted_at_ms, prev_hash, entry, entry_hash, receipt_signature, reverses)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row.seq, row.peer_id, row.job_id, row.wu_id, row.replica_id, row.credit, row.credit_units,
    row.granted_at_ms, row.prev_hash, row.entry, row.entry_hash, row.receipt_signature, row.reverses)
  }

  async unreversedGrantsOf (peerId: string): Promise<LedgerRow[]> {
    return this.s.all<LedgerRow>(`SELECT * FROM ledger g WHERE g.peer_id = ? AND g.reverses = 0 AND g.credit > 0
      AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.reverses = g.seq) ORDER BY g.seq`, peerId)
  }

  async setReceiptSignature (seq: number, signature: Uint8Array): Promise<void> {
    // the ledger's update trigger lets exactly this through: a NULL signature set, nothing else changed
    this.s.run('UPDATE ledger SET receipt_signature = ? WHERE seq = ? AND receipt_signature IS NULL', signature, seq)
  }

  async balances (jobId?: string): Promise<Record<string, number>> {
    const rows = jobId == null
      ? this.s.all<{ peer_id: string, u: number }>(`SELECT peer_id, sum(${CREDIT_UNITS_SQL}) AS u FROM ledger GROUP BY peer_id ORDER BY peer_id`)
      : this.s.all<{ peer_id: string, u: number }>(`SELECT peer_id, sum(${CREDIT_UNITS_SQL}) AS u FROM ledger WHERE job_id = ? GROUP BY peer_id ORDER BY peer_id`, jobId)
    return Object.fromEntries(rows.map(r => [r.peer_id, fromCreditUnits(r.u)]))
  }

  async balance (peerId: string): Promise<number> {
    return fromCreditUnits(this.s.get<{ u: number | null }>(`SELECT sum(${CREDIT_UNITS_SQL}) AS u FROM ledger WHERE peer_id = ?`, peerId)?.u ?? 0)
  }

  async payoutEpochs (): Promise<PayoutEpochRow[]> { return await payoutEpochsOf(this.s) }
  async putPayoutEpoch (r: PayoutEpochRow): Promise<void> { await putPayoutEpochOf(this.s, r) }
  async payoutBindingState (peerId: string): Promise<{ lastBinding: Uint8Array | undefined, granted: boolean }> { return await payoutBindingStateOf(this.s, peerId) }
}
