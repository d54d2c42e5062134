/**
 * The credit ledger: append-only, hash-chained, one entry per credited replica.
 *
 * Amounts (issue 10): entries are CreditEntry version 2, their amount `creditUnits` base units
 * (protocol/credit.ts), the double `credit` unused; entries written before (version 0) keep their
 * double and count as it rounded to base units. The `credit` column repeats the amount as credit
 * for reading; `credit_units` is what sums read (NULL for version-0 rows).
 *
 * Reversals (issue 10): a peer proven to cheat (a failed spot check, trust.ts) has every grant it
 * holds taken back by a new entry each — `reverses` = the grant's seq, `creditUnits` = minus its units,
 * `replicaId` = the grant's replica id + `/reversal` — so the chain stays append-only, balances net
 * to 0, and the peer's statement shows grant and reversal side by side. Grants encode exactly as
 * before (field 9 is absent when 0): every receipt issued earlier still verifies.
 *
 * Entry `seq` (1, 2, 3… across all peers) is a protocol `CreditEntry` whose `prevHash` is the
 * `entryHash` of entry `seq - 1` (GENESIS_HASH, 32 zero bytes, for the first). The table stores the
 * encoded entry and `entryHash = sha-256(encoded entry)`; the columns beside them are an index and
 * are checked against the entry by `verifyChain`. A UNIQUE constraint on `replica_id` grants credit
 * once per replica; triggers refuse UPDATE and DELETE.
 *
 * Pseudonyms (issue 12): entries from schema 7 on are CreditEntry version 3, whose `peerId` is the
 * volunteer's ledger pseudonym (protocol/pseudonym.ts) — the public chain ties no entry to a peer
 * id. The `peer_id` column keeps the peer id (the hub's own index, never served); `verifyChain`
 * checks that a version-3 entry's pseudonym is the column's peer id's.
 *
 * Appends at the commit (issue 14): `grant`, `reverse` and `appendPayoutBinding` queue their entry
 * for the end of the caller's transaction (RepoTx.queueForCommit, before-commit.ts); just before
 * COMMIT the queued entries are numbered from the chain's head, in the order queued, signed side
 * by side and inserted. On PostgreSQL the one-appender lock (pg-ledger-ops.ts) is therefore held
 * from that step to the commit, not from a group's first grant on, so several hubs' transactions
 * validate side by side and only take turns to append. A savepoint rolled back drops its entries.
 *
 * Receipts are the encoded entries signed by the ledger key (the deployment's, protocol/ledger-key.ts;
 * a single hub's own key) ONCE, when they are appended, and the signature inserted with the entry
 * (`receipt_signature`), so handing receipts out never signs. Entries of ledgers older than
 * schema 3 have none: `signMissing` signs each of them once and stores it. Every method runs in
 * the caller's repository transaction (`grant`, `reverse`, `appendPayoutBinding` and
 * `signMissing` in a write transaction, the rest in any); what a transaction granted is in the
 * ledger's tables only once it committed.
 */
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { CreditEntry } from '../protocol/pb/messages.ts'
import { CREDIT_ENTRY_VERSION, creditOf, creditUnitsOf, fromCreditUnits, toCreditUnits } from '../protocol/credit.ts'
import { GENESIS_HASH, bytesEqual, creditEntryHash, sha256Bytes, signReceipt } from '../protocol/signing.ts'
import { PSEUDONYMOUS_ENTRY_VERSION, ledgerPseudonym, ledgerSaltFor } from '../protocol/pseudonym.ts'
import type { CommitBatch } from './before-commit.ts'
import type { LedgerReceiptRow, LedgerRow, RepoReader, RepoTx } from './repository.ts'
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
  /** False when the replica had been credited before. */
  created: boolean
  /** The earlier entry's seq (created false, when it is committed already). */
  seq?: number
  /** The earlier entry (created false, when it is committed already). */
  entry?: CreditEntry
}

/** A payout binding queued for its transaction's commit (Ledger.appendPayoutBinding). */
export interface QueuedBinding {
  /** The entry appended, set when the transaction's appends were written (just before its COMMIT). */
  readonly entry: CreditEntry | undefined
}

/** A ledger append a transaction queued for its commit. */
type PendingAppend = { kind: 'grant', tx: RepoTx, req: GrantRequest, units: number } |
{ kind: 'reverse', tx: RepoTx, peerId: string, nowMs: number } |
{ kind: 'binding', tx: RepoTx, peerId: string, binding: { address: string, boundAtMs: number, signature: Uint8Array }, nowMs: number, entry: CreditEntry | undefined }

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
  const v2 = row.credit_units != null
  return {
    seq: row.seq,
    peerId: row.peer_id,
    jobId: row.job_id,
    wuId: row.wu_id,
    replicaId: row.replica_id,
    credit: v2 ? 0 : row.credit,
    grantedAtMs: row.granted_at_ms,
    prevHash: row.prev_hash as Uint8Array<ArrayBuffer>,
    reverses: row.reverses ?? 0,
    version: v2 ? CREDIT_ENTRY_VERSION : 0,
    creditUnits: row.credit_units ?? 0,
    // the columns carry no payout binding (payout.ts reads it from the entry bytes)
    ...NO_PAYOUT_BINDING
  }
}

/** The payout fields of every entry that is not a payout binding (absent on the wire). */
const NO_PAYOUT_BINDING = { payoutAddress: '', payoutBoundAtMs: 0, payoutSignature: new Uint8Array(0) } as const

/** Prefix of a payout binding entry's replica id (then its seq). */
export const PAYOUT_BINDING_REPLICA_PREFIX = 'payout-binding/'

/** Suffix of a reversal entry's replica id (after the reversed grant's replica id). */
export const REVERSAL_SUFFIX = '/reversal'

/** What `reverse` appended. */
export interface ReversalResult {
  /** Entries appended (one per grant taken back). */
  entries: number
  /** Credit taken back (positive). */
  credit: number
}

/** Rows walked per page by verifyChain. */
const VERIFY_PAGE = 1000

/** Peers whose ledger salt and pseudonym a Ledger keeps (the oldest goes first). */
export const PSEUDONYM_CACHE_PEERS = 16_384

export class Ledger {
  private readonly names = new Map<string, { salt: Uint8Array, pseudonym: string }>()
  private readonly grantHooks: Array<(tx: RepoTx, entry: CreditEntry, peerId: string) => Promise<void>> = []

  /**
   * @param ledgerKey signs the receipts (once per entry): the deployment's ledger key
   * @param pseudonymKey the hub's ledger pseudonym key (pseudonymKeyOf)
   * @param onSigned called for every receipt signature made (`grant`: a new entry; `lazy`: an old one)
   */
  constructor (private readonly ledgerKey: PrivateKey, private readonly pseudonymKey: Uint8Array, private readonly onSigned?: (when: 'grant' | 'lazy') => void) {}

  /**
   * Call `hook` with every new entry and the peer id it credits (the entry names a pseudonym),
   * inside the granting transaction (a hook that throws rolls the grant back). Used by site
   * attribution (sites.ts).
   */
  onGrant (hook: (tx: RepoTx, entry: CreditEntry, peerId: string) => Promise<void>): void {
    this.grantHooks.push(hook)
  }

  /** The salt of a peer's ledger pseudonym (16 bytes, a copy), given to that peer only (ResultResponse.ledgerSalt). */
  saltOf (peerId: string): Uint8Array {
    return this.namesOf(peerId).salt.slice()
  }

  /** The name the public ledger gives `peerId`. */
  pseudonymOf (peerId: string): string {
    return this.namesOf(peerId).pseudonym
  }

  /**
   * A peer's salt and pseudonym, kept for the last PSEUDONYM_CACHE_PEERS peers asked about: both
   * are fixed by the pseudonym key and the peer id, and each costs an HMAC-SHA-256 and a SHA-256
   * in JavaScript, asked for at every grant and every result response (~3 % of the hub's CPU in
   * the issue 14 profile).
   */
  private namesOf (peerId: string): { salt: Uint8Array, pseudonym: string } {
    let names = this.names.get(peerId)
    if (names == null) {
      const salt = ledgerSaltFor(this.pseudonymKey, peerId)
      names = { salt, pseudonym: ledgerPseudonym(peerId, salt) }
      if (this.names.size >= PSEUDONYM_CACHE_PEERS) this.names.delete(this.names.keys().next().value as string)
      this.names.set(peerId, names)
    }
    return names
  }

  /**
   * Grant credit for a replica, once: a second grant for the same replica (committed, or queued
   * earlier in this transaction) writes nothing. Only the validator calls this, inside its
   * transaction. The entry is version 2 or later: its amount is `req.credit` rounded once to base
   * units (credit.ts). It is appended at the commit (`flushAppends`): numbered, chained and signed
   * there with the transaction's other appends, so its seq is not known before.
   * @returns created false and the earlier entry when the replica was credited before; created
   *   true (no seq yet) when the entry is queued
   * @throws RangeError for a negative or non-finite credit, or one beyond 2^53 base units
   */
  async grant (tx: RepoTx, req: GrantRequest): Promise<GrantResult> {
    if (!Number.isFinite(req.credit) || req.credit < 0) throw new RangeError(`credit must be a finite non-negative number, got ${req.credit}`)
    const units = toCreditUnits(req.credit)
    if (tx.queuedForCommit(this.appends).some(a => a.kind === 'grant' && a.req.replicaId === req.replicaId)) return { created: false }
    const existing = await tx.ledgerByReplica(req.replicaId)
    if (existing != null) return { seq: existing.seq, entry: CreditEntry.decode(existing.entry), created: false }
    tx.queueForCommit(this.appends, { kind: 'grant', tx, req, units })
    return { created: true }
  }

  /**
   * Take back every grant `peerId` holds that is not reversed yet, those queued in this
   * transaction included: one reversal entry each (see the module comment), appended at the
   * commit after the appends queued before it. Idempotent: a second call finds nothing left to
   * reverse. Only the validator calls this, for a peer proven to cheat, inside its transaction.
   * @param nowMs time of the reversal, Unix ms
   */
  async reverse (tx: RepoTx, peerId: string, nowMs: number): Promise<ReversalResult> {
    const queued = tx.queuedForCommit(this.appends)
    // a reversal queued before this one takes back everything granted before it
    const last = queued.findLastIndex(a => a.kind === 'reverse' && a.peerId === peerId)
    let units = 0
    const committed = last >= 0 ? [] : await tx.unreversedGrantsOf(peerId)
    for (const g of committed) units += creditUnitsOf(entryOf(g))
    const pending = queued.slice(last + 1).filter(a => a.kind === 'grant' && a.req.peerId === peerId && a.units > 0)
    for (const a of pending) if (a.kind === 'grant') units += a.units
    if (committed.length + pending.length === 0) return { entries: 0, credit: 0 }
    tx.queueForCommit(this.appends, { kind: 'reverse', tx, peerId, nowMs })
    return { entries: committed.length + pending.length, credit: fromCreditUnits(units) }
  }

  /**
   * Append a payout binding entry (issue 16; payout-api.ts checks the binding and its signature
   * first): `peerId`'s credit goes to `binding.address` from this entry on. creditUnits 0, jobId
   * and wuId empty, replicaId `payout-binding/<seq>`; no grant hooks run (it credits nothing).
   * Call it in a write transaction; like a grant it is appended at the commit, in order with the
   * transaction's other appends.
   * @returns the queued append: its `entry` is set once the transaction's appends are written
   */
  appendPayoutBinding (tx: RepoTx, peerId: string, binding: { address: string, boundAtMs: number, signature: Uint8Array }, nowMs: number): QueuedBinding {
    const item: PendingAppend & { kind: 'binding' } = { kind: 'binding', tx, peerId, binding: { ...binding }, nowMs, entry: undefined }
    tx.queueForCommit(this.appends, item)
    return item
  }

  /** The appends a transaction queued for its commit (`flushAppends`). */
  private readonly appends: CommitBatch<PendingAppend> = { flush: async items => { await this.flushAppends(items) }, synchronousCommit: true }

  /**
   * Append what a transaction queued, in order, just before its commit: each entry takes the next
   * seq after the chain's head (read once: on PostgreSQL this takes the one-appender lock, held to
   * the commit that follows), is encoded, signed once by the ledger key (side by side in libuv's
   * thread pool, ed25519-keys.ts) and inserted with its signature; the grant hooks run for each. A
   * reversal reads the peer's unreversed grants after the entries before it are in; a payout
   * binding gets its entry here (no hooks: it credits nothing).
   */
  private async flushAppends (items: PendingAppend[]): Promise<void> {
    const { tx } = items[0]
    let head = await tx.ledgerHead()
    let built: Array<{ entry: CreditEntry, peerId: string, bytes: Uint8Array<ArrayBuffer>, hooks: boolean }> = []
    type Fields = Omit<CreditEntry, 'seq' | 'prevHash' | 'credit' | 'version' | 'payoutAddress' | 'payoutBoundAtMs' | 'payoutSignature'>
    const next = (fields: Fields, peerId: string, payout: Pick<CreditEntry, 'payoutAddress' | 'payoutBoundAtMs' | 'payoutSignature'> = NO_PAYOUT_BINDING, noHooks = false): void => {
      const entry: CreditEntry = {
        ...fields, seq: (head?.seq ?? 0) + 1, prevHash: (head?.entry_hash ?? GENESIS_HASH) as Uint8Array<ArrayBuffer>, credit: 0, version: PSEUDONYMOUS_ENTRY_VERSION, ...payout
      }
      const bytes = CreditEntry.encode(entry) as Uint8Array<ArrayBuffer>
      head = { seq: entry.seq, entry_hash: sha256Bytes(bytes) }
      built.push({ entry, peerId, bytes, hooks: !noHooks })
    }
    const write = async (): Promise<void> => {
      const rows = await this.sign(built)
      for (const row of rows) await tx.ledgerAppend(row)
      for (const { entry, peerId, hooks } of built) if (hooks) for (const hook of this.grantHooks) await hook(tx, entry, peerId)
      built = []
    }
    for (const a of items) {
      if (a.kind === 'grant') {
        const { req } = a
        next({ peerId: this.pseudonymOf(req.peerId), jobId: req.jobId, wuId: req.wuId, replicaId: req.replicaId, grantedAtMs: req.grantedAtMs, reverses: 0, creditUnits: a.units }, req.peerId)
        continue
      }
      if (a.kind === 'binding') {
        const seq = (head?.seq ?? 0) + 1
        next({
          peerId: this.pseudonymOf(a.peerId), jobId: '', wuId: '', replicaId: `${PAYOUT_BINDING_REPLICA_PREFIX}${seq}`, grantedAtMs: a.nowMs, reverses: 0, creditUnits: 0
        }, a.peerId, { payoutAddress: a.binding.address, payoutBoundAtMs: a.binding.boundAtMs, payoutSignature: a.binding.signature as Uint8Array<ArrayBuffer> }, true)
        a.entry = built[built.length - 1].entry
        continue
      }
      await write()
      for (const g of await tx.unreversedGrantsOf(a.peerId)) {
        next({
          peerId: this.pseudonymOf(a.peerId), jobId: g.job_id, wuId: g.wu_id, replicaId: g.replica_id + REVERSAL_SUFFIX, grantedAtMs: a.nowMs, reverses: g.seq,
          // exactly minus the grant's amount, whatever the grant's version
          creditUnits: -creditUnitsOf(entryOf(g))
        }, a.peerId)
      }
    }
    await write()
  }

  /**
   * Sign encoded entries once each (side by side: the hub's key signs in libuv's thread pool,
   * ed25519-keys.ts): their ledger rows, signature included. The UNIQUE (replica_id) constraint
   * backs the callers' checks.
   */
  private async sign (entries: ReadonlyArray<{ entry: CreditEntry, peerId: string, bytes: Uint8Array<ArrayBuffer> }>): Promise<LedgerRow[]> {
    return await Promise.all(entries.map(async ({ entry, peerId, bytes }) => {
      const receipt = await signReceipt(bytes, this.ledgerKey)
      this.onSigned?.('grant')
      return {
        seq: entry.seq, peer_id: peerId, job_id: entry.jobId, wu_id: entry.wuId, replica_id: entry.replicaId,
        credit: creditOf(entry), credit_units: entry.version >= CREDIT_ENTRY_VERSION ? entry.creditUnits : null,
        granted_at_ms: entry.grantedAtMs, reverses: entry.reverses, prev_hash: entry.prevHash, entry: bytes, entry_hash: receipt.bodyHash, receipt_signature: receipt.signature
      }
    }))
  }

  /**
   * A peer's entries with seq > afterSeq, oldest first, as stored (`receipts` turns them into
   * receipts; a row without a signature needs `signMissing` first). `upTo`: the seq of the last
   * entry returned, or when none was the peer's highest seq (0 without credit) — the next `afterSeq`.
   * @param max most entries returned (capped at MAX_CREDITS_PER_RESPONSE)
   */
  async receiptsFor (tx: RepoReader, peerId: string, afterSeq: number, max: number = MAX_CREDITS_PER_RESPONSE): Promise<{ rows: LedgerReceiptRow[], upTo: number }> {
    const limit = Math.max(0, Math.min(max, MAX_CREDITS_PER_RESPONSE))
    const rows = await tx.ledgerEntriesFor(peerId, afterSeq, limit)
    const upTo = rows.length > 0 ? rows[rows.length - 1].seq : await tx.ledgerMaxSeqFor(peerId)
    return { rows, upTo }
  }

  /**
   * Sign the rows that have no stored signature (entries from before schema 3) and store each
   * signature, so that it is made once. Call it in a write transaction on rows read in it.
   * @returns how many were signed
   */
  async signMissing (tx: RepoTx, rows: LedgerReceiptRow[]): Promise<number> {
    let n = 0
    for (const row of rows) {
      if (row.receipt_signature != null) continue
      const receipt = await signReceipt(row.entry as Uint8Array<ArrayBuffer>, this.ledgerKey)
      this.onSigned?.('lazy')
      await tx.setReceiptSignature(row.seq, receipt.signature)
      row.receipt_signature = receipt.signature
      n++
    }
    return n
  }

  /**
   * Receipts of stored rows, from their stored signatures; nothing is signed here.
   * @throws Error for a row without a signature (call signMissing first)
   */
  receipts (rows: readonly LedgerReceiptRow[]): HubReceipt[] {
    return rows.map(row => {
      if (row.receipt_signature == null) throw new Error(`ledger entry ${row.seq} has no stored signature`)
      return { body: row.entry as Uint8Array<ArrayBuffer>, bodyHash: row.entry_hash as Uint8Array<ArrayBuffer>, signature: row.receipt_signature as Uint8Array<ArrayBuffer>, proof: [] }
    })
  }

  /**
   * Re-walk the whole chain: seqs 1..n without gaps, each stored entry decodes to its columns,
   * its hash is sha-256 of its bytes, and its prevHash is the previous entry's hash.
   */
  async verifyChain (tx: RepoReader): Promise<ChainCheck> {
    let prevHash: Uint8Array = GENESIS_HASH
    let expectedSeq = 1
    let entries = 0
    const broken = (seq: number, reason: string): ChainCheck => ({ ok: false, entries, brokenAtSeq: seq, error: reason })
    for (let from = 1; ;) {
      const page = await tx.ledgerRows(from, VERIFY_PAGE)
      if (page.length === 0) break
      for (const row of page) {
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
        // a version-3 entry names the column's peer id by its pseudonym
        if (decoded.version === PSEUDONYMOUS_ENTRY_VERSION && row.credit_units != null) Object.assign(cols, { version: PSEUDONYMOUS_ENTRY_VERSION, peerId: this.pseudonymOf(row.peer_id) })
        if (decoded.seq !== cols.seq || decoded.peerId !== cols.peerId || decoded.jobId !== cols.jobId ||
          decoded.wuId !== cols.wuId || decoded.replicaId !== cols.replicaId || decoded.credit !== cols.credit ||
          decoded.version !== cols.version || decoded.creditUnits !== cols.creditUnits || row.credit !== creditOf(decoded) ||
          decoded.grantedAtMs !== cols.grantedAtMs || decoded.reverses !== cols.reverses || !bytesEqual(decoded.prevHash, cols.prevHash)) {
          return broken(row.seq, 'columns differ from the signed entry')
        }
        if (!bytesEqual(decoded.prevHash, prevHash)) return broken(row.seq, 'prevHash does not match the previous entry hash')
        prevHash = row.entry_hash
        expectedSeq++
      }
      from = page[page.length - 1].seq + 1
    }
    return { ok: true, entries }
  }
}
