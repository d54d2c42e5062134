/**
 * The credit ledger: append-only, hash-chained, one entry per credited replica.
 *
 * Entry `seq` (1, 2, 3… across all peers) is a protocol `CreditEntry` whose `prevHash` is the
 * `entryHash` of entry `seq - 1` (GENESIS_HASH, 32 zero bytes, for the first). The table stores the
 * encoded entry and `entryHash = sha-256(encoded entry)`; the columns beside them are an index and
 * are checked against the entry by `verifyChain`. A UNIQUE constraint on `replica_id` grants credit
 * once per replica; triggers refuse UPDATE and DELETE.
 *
 * Receipts are the encoded entries signed by the hub key at read time (Ed25519 is deterministic,
 * so the same entry always yields the same receipt).
 */
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { CreditEntry } from '../protocol/pb/messages.ts'
import { GENESIS_HASH, bytesEqual, creditEntryHash, sha256Bytes, signReceipt } from '../protocol/signing.ts'
import type { HubStore, LedgerRow } from './store.ts'
import type { HubReceipt } from '../protocol/pb/messages.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface GrantRequest {
  peerId: string
  jobId: string
  wuId: string
  replicaId: string
  /** Credit amount (the WU's pre-assigned credit). */
  credit: number
  /** Unix ms. */
  grantedAtMs: number
}

export interface GrantResult {
  seq: number
  entry: CreditEntry
  /** False when the replica had been credited before (the earlier entry is returned). */
  created: boolean
}

export interface ReceiptPage {
  /** Hub-signed receipts with CreditEntry bodies, oldest first. */
  receipts: HubReceipt[]
  /**
   * Seq of the last receipt returned, or when none was returned the peer's highest seq (0 when the
   * peer has no credit): pass it as the next `afterSeq`.
   */
  upTo: number
}

export interface ChainCheck {
  ok: boolean
  /** Entries walked. */
  entries: number
  /** First seq that does not verify (absent when ok). */
  brokenAtSeq?: number
  /** What is wrong at brokenAtSeq (absent when ok). */
  error?: string
}

function entryOf (row: LedgerRow): CreditEntry {
  return {
    seq: row.seq,
    peerId: row.peer_id,
    jobId: row.job_id,
    wuId: row.wu_id,
    replicaId: row.replica_id,
    credit: row.credit,
    grantedAtMs: row.granted_at_ms,
    prevHash: row.prev_hash as Uint8Array<ArrayBuffer>
  }
}

export class Ledger {
  private readonly grantHooks: Array<(entry: CreditEntry) => void> = []

  /** @param hubKey signs the receipts handed out by receiptsFor */
  constructor (private readonly store: HubStore, private readonly hubKey: PrivateKey) {}

  /**
   * Call `hook` with every new entry, inside the granting transaction (a hook that throws rolls the
   * grant back). Used by site attribution (sites.ts).
   */
  onGrant (hook: (entry: CreditEntry) => void): void {
    this.grantHooks.push(hook)
  }

  /**
   * Append a credit entry for a replica, once: a second grant for the same replica returns the
   * first entry and writes nothing. Only the validator calls this, inside its transaction.
   * @throws RangeError for a negative or non-finite credit
   * @throws Error outside a transaction
   */
  grant (req: GrantRequest): GrantResult {
    this.store.assertInTransaction('Ledger.grant')
    if (!Number.isFinite(req.credit) || req.credit < 0) throw new RangeError(`credit must be a finite non-negative number, got ${req.credit}`)
    const existing = this.store.get<LedgerRow>('SELECT * FROM ledger WHERE replica_id = ?', req.replicaId)
    if (existing != null) return { seq: existing.seq, entry: entryOf(existing), created: false }
    const last = this.store.get<{ seq: number, entry_hash: Uint8Array }>('SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1')
    const entry: CreditEntry = {
      seq: (last?.seq ?? 0) + 1,
      peerId: req.peerId,
      jobId: req.jobId,
      wuId: req.wuId,
      replicaId: req.replicaId,
      credit: req.credit,
      grantedAtMs: req.grantedAtMs,
      prevHash: (last?.entry_hash ?? GENESIS_HASH) as Uint8Array<ArrayBuffer>
    }
    const bytes = CreditEntry.encode(entry)
    // The UNIQUE (replica_id) constraint backs the check above.
    this.store.run(`INSERT INTO ledger (seq, peer_id, job_id, wu_id, replica_id, credit, granted_at_ms, prev_hash, entry, entry_hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, entry.seq, entry.peerId, entry.jobId, entry.wuId, entry.replicaId,
    entry.credit, entry.grantedAtMs, entry.prevHash, bytes, sha256Bytes(bytes))
    for (const hook of this.grantHooks) hook(entry)
    return { seq: entry.seq, entry, created: true }
  }

  /** Number of entries (= highest seq when the chain is intact). */
  size (): number {
    return this.store.get<{ n: number }>('SELECT count(*) AS n FROM ledger')?.n ?? 0
  }

  /** The entry with this seq, decoded from its stored bytes. */
  entry (seq: number): CreditEntry | undefined {
    const row = this.store.get<{ entry: Uint8Array }>('SELECT entry FROM ledger WHERE seq = ?', seq)
    return row == null ? undefined : CreditEntry.decode(row.entry)
  }

  /**
   * Hub-signed receipts for a peer's entries with seq > afterSeq, oldest first.
   * @param max most receipts returned (capped at MAX_CREDITS_PER_RESPONSE)
   */
  async receiptsFor (peerId: string, afterSeq: number, max: number = MAX_CREDITS_PER_RESPONSE): Promise<ReceiptPage> {
    const limit = Math.max(0, Math.min(max, MAX_CREDITS_PER_RESPONSE))
    const rows = this.store.all<{ seq: number, entry: Uint8Array }>(
      'SELECT seq, entry FROM ledger WHERE peer_id = ? AND seq > ? ORDER BY seq LIMIT ?', peerId, afterSeq, limit)
    const receipts: HubReceipt[] = []
    for (const row of rows) receipts.push(await signReceipt(row.entry as Uint8Array<ArrayBuffer>, this.hubKey))
    const upTo = rows.length > 0
      ? rows[rows.length - 1].seq
      : this.store.get<{ n: number | null }>('SELECT max(seq) AS n FROM ledger WHERE peer_id = ?', peerId)?.n ?? 0
    return { receipts, upTo }
  }

  /**
   * Re-walk the whole chain: seqs 1..n without gaps, each stored entry decodes to its columns,
   * its hash is sha-256 of its bytes, and its prevHash is the previous entry's hash.
   */
  verifyChain (): ChainCheck {
    let prevHash: Uint8Array = GENESIS_HASH
    let expectedSeq = 1
    let entries = 0
    const broken = (seq: number, reason: string): ChainCheck => ({ ok: false, entries, brokenAtSeq: seq, error: reason })
    for (const raw of this.store.stmt('SELECT * FROM ledger ORDER BY seq').iterate()) {
      const row = raw as unknown as LedgerRow
      entries++
      if (row.seq !== expectedSeq) return broken(expectedSeq, `entry ${expectedSeq} is missing (next is ${row.seq})`)
      let decoded: CreditEntry
      try {
        decoded = CreditEntry.decode(row.entry)
      } catch {
        return broken(row.seq, 'entry bytes do not decode')
      }
      if (!bytesEqual(sha256Bytes(row.entry), row.entry_hash)) return broken(row.seq, 'entry hash does not match the entry bytes')
      if (!bytesEqual(creditEntryHash(decoded), row.entry_hash)) return broken(row.seq, 'entry is not in canonical encoding')
      const cols = entryOf(row)
      if (decoded.seq !== cols.seq || decoded.peerId !== cols.peerId || decoded.jobId !== cols.jobId ||
        decoded.wuId !== cols.wuId || decoded.replicaId !== cols.replicaId || decoded.credit !== cols.credit ||
        decoded.grantedAtMs !== cols.grantedAtMs || !bytesEqual(decoded.prevHash, cols.prevHash)) {
        return broken(row.seq, 'columns differ from the signed entry')
      }
      if (!bytesEqual(decoded.prevHash, prevHash)) return broken(row.seq, 'prevHash does not match the previous entry hash')
      prevHash = row.entry_hash
      expectedSeq++
    }
    return { ok: true, entries }
  }

  /** Credit per peer, over all jobs or one job. */
  balances (jobId?: string): Record<string, number> {
    const rows = jobId == null
      ? this.store.all<{ peer_id: string, c: number }>('SELECT peer_id, sum(credit) AS c FROM ledger GROUP BY peer_id ORDER BY peer_id')
      : this.store.all<{ peer_id: string, c: number }>('SELECT peer_id, sum(credit) AS c FROM ledger WHERE job_id = ? GROUP BY peer_id ORDER BY peer_id', jobId)
    const out: Record<string, number> = {}
    for (const r of rows) out[r.peer_id] = r.c
    return out
  }

  /** One peer's total credit. */
  balance (peerId: string): number {
    return this.store.get<{ c: number | null }>('SELECT sum(credit) AS c FROM ledger WHERE peer_id = ?', peerId)?.c ?? 0
  }
}
