/**
 * Credit statements: every hub-signed credit receipt a volunteer holds, in one JSON file that
 * anyone can check against the hub's public key (directly, or through the ledger key the hub
 * vouches for) without trusting the page that made it. Runs in
 * the browser and in Node (`sparecycles verify-statement`); protocol code: receipts, signatures
 * and chain links.
 *
 * File format, version 1 (`application/json`):
 *
 * ```json
 * { "format": "sparecycles-credit-statement", "version": 1,
 *   "hubPeerId": "12D3KooW…", "peerId": "12D3KooW…", "createdAt": "<ISO 8601>",
 *   "entries": 12, "totalCredit": 1200,
 *   "receipts": ["<base64 protobuf HubReceipt whose body is a CreditEntry>", …],
 *   "ledgerSalt": "<32 hex>",                       (optional: ties version-3 entries to peerId)
 *   "ledgerKey": "<base64 libp2p protobuf public key>",       (optional, both or neither:
 *   "ledgerDelegation": "<base64 Ed25519 signature>" }         the deployment's ledger key)
 * ```
 *
 * `ledgerKey` / `ledgerDelegation` (issue 14, ledger-key.ts): the key that signed the receipts and
 * the hub's signature over `"sparecycles-ledger-key-v1" || 0x00 || ledgerKey bytes`, made with the
 * key embedded in `hubPeerId`. A statement without them (every statement of a single hub, and
 * those written before ledger keys) is checked against the hub's key, as before; the format
 * stays version 1.
 *
 * What {@link verifyStatement} checks, entry by entry:
 * - first, when the file names a ledger key: the delegation verifies with the hub's key, which is
 *   derived from `hubPeerId` (not taken from the file) — else the whole file is refused
 *   (BadLedgerDelegationError);
 * - the receipt decodes, its bodyHash is sha-256 of its body, and its signature verifies with the
 *   ledger key (or, for receipts from before ledger keys, the hub's own key); without a ledger key
 *   in the file, with the hub's Ed25519 public key;
 * - the CreditEntry names the statement's `peerId`;
 * - seq strictly increases through the file, and no replica id appears twice;
 * - chain links it can see: where two entries have consecutive seqs (n, n+1), entry n+1's
 *   prevHash must be sha-256 of entry n's bytes.
 * - reversals (CreditEntry field 9 `reverses`, issue 10: the hub takes back a proven cheater's
 *   grants): a reversal names an earlier seq, carries a negative credit, reverses a seq at most
 *   once, and where the reversed grant is in the file its credit is exactly minus that grant's.
 *   Grants never carry the field, so receipts issued before reversals existed verify unchanged;
 *   the file format stays version 1.
 * And for the whole file: `entries` and `totalCredit` equal the count and sum of the valid
 * receipts, reversals included (a receipt removed from a file, or a credit edited, shows here).
 *
 * What it cannot check offline: the ledger chain is global (entry n's prevHash is the hash of the
 * previous entry of any peer), so the links between a peer's non-consecutive entries need the
 * entries in between, and a receipt the hub granted but the file leaves out leaves no trace in
 * the file itself. Given the hub's ledger entries (`/api/ledger`, see src/hub/statement-api.ts;
 * `verify-statement --hub <url>`), {@link verifyStatement} re-walks the chain from the genesis
 * hash: every link, every receipt's body equal to the chain's entry at its seq, and every chain
 * entry of this peer that has no receipt in the file reported as missing. The walk is anchored by
 * the signed receipts: entries up to the last signed one are pinned by the hash chain; entries
 * after it are only the hub's word.
 */
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { fromBase64, isBase64, toBase64 } from './base64.ts'
import { CREDIT_ENTRY_VERSION, creditUnitsOf, fromCreditUnits } from './credit.ts'
import { CreditEntry, HubReceipt } from './pb/messages.ts'
import { PSEUDONYMOUS_ENTRY_VERSION, entryNames, saltFromHex } from './pseudonym.ts'
import { GENESIS_HASH, bytesEqual, sha256Bytes, toHex } from './signing.ts'
import { ledgerKeyFromJson, ledgerKeyOf, sameKey, verifyReceiptFrom } from './ledger-key.ts'
import type { LedgerKeyJson } from './ledger-key.ts'
import type { PublicKey } from '@libp2p/interface'
import type { ErrorName } from './errors.ts'

export const STATEMENT_FORMAT = 'sparecycles-credit-statement'
export const STATEMENT_VERSION = 1

export interface StatementV1 {
  format: typeof STATEMENT_FORMAT
  version: 1
  hubPeerId: string
  peerId: string
  createdAt: string
  entries: number
  totalCredit: number
  receipts: string[]
  /** The peer's ledger salt on this hub (32 hex characters), which ties entries of version 3 (named by a pseudonym) to `peerId` (pseudonym.ts). */
  ledgerSalt?: string
  /** The deployment's ledger key (base64 of its libp2p protobuf encoding) that signed the receipts; absent: the hub's own key. */
  ledgerKey?: string
  /** The hub's signature (base64) over LEDGER_KEY_DOMAIN || 0x00 || the ledger key's bytes (ledger-key.ts). */
  ledgerDelegation?: string
}

export type EntryStatus =
  | 'ok'
  | 'malformed'
  | 'bad-hash'
  | 'bad-signature'
  | 'wrong-peer'
  | 'seq-order'
  | 'duplicate-replica'
  | 'broken-link'
  | 'not-in-ledger'
  | 'bad-reversal'

export interface EntryCheck {
  /** Position in the file's `receipts`, from 0. */
  index: number
  status: EntryStatus
  /** Why, for anything but 'ok'. */
  reason: string
  seq?: number
  jobId?: string
  replicaId?: string
  credit?: number
  /** For a reversal: the seq it takes back. */
  reverses?: number
}

export interface MissingEntry { seq: number, replicaId: string, credit: number }

export interface StatementReport {
  ok: boolean
  hubPeerId: string
  /** Peer id of the key receipts were checked against: the delegated ledger key, else the hub's own (= hubPeerId). */
  ledgerPeerId: string
  peerId: string
  entries: EntryCheck[]
  /** Sum of credit over receipts whose status is 'ok'. */
  verifiedCredit: number
  claimedCredit: number
  claimedEntries: number
  /** Statement-level problems (totals, missing receipts, chain), one line each. */
  problems: string[]
  /** Entries of this peer in the hub's ledger with no receipt in the file (full chain walk only). */
  missing: MissingEntry[]
  /** 'consecutive-seqs': only links between consecutive seqs in the file; 'full': the hub's whole chain was walked. */
  chainCheck: 'consecutive-seqs' | 'full'
  /** Chain links checked. */
  linksChecked: number
}

/** The statement file is not a readable version-1 statement (nothing could be checked). */
export class StatementFormatError extends Error {
  static override readonly name: ErrorName = 'StatementFormatError'
  override readonly name: ErrorName = 'StatementFormatError'
  constructor (message: string) { super(message) }
}

/** An entry's amount in base units, NaN when it has none (see credit.ts). */
function amountUnits (entry: CreditEntry): number {
  try { return creditUnitsOf(entry) } catch { return NaN }
}

/**
 * Build a statement from stored receipts (protobuf HubReceipt bytes with CreditEntry bodies).
 * @param ledgerKey the ledger key the hub presented and its delegation (LedgerKeyJson), when it is not the hub's own key
 */
export function buildStatement (hubPeerId: string, peerId: string, receipts: Uint8Array[], ledgerSalt?: string, ledgerKey?: LedgerKeyJson): StatementV1 {
  const decoded = receipts.map(bytes => ({ bytes, entry: CreditEntry.decode(HubReceipt.decode(bytes).body) }))
  decoded.sort((a, b) => a.entry.seq - b.entry.seq)
  return {
    format: STATEMENT_FORMAT,
    version: STATEMENT_VERSION,
    hubPeerId,
    peerId,
    createdAt: new Date().toISOString(),
    entries: decoded.length,
    totalCredit: fromCreditUnits(decoded.reduce((sum, d) => sum + creditUnitsOf(d.entry), 0)),
    receipts: decoded.map(d => toBase64(d.bytes)),
    ...(ledgerSalt != null ? { ledgerSalt } : {}),
    ...(ledgerKey != null ? { ledgerKey: ledgerKey.ledgerKey, ledgerDelegation: ledgerKey.ledgerDelegation } : {})
  }
}

/**
 * Parse and schema-check a statement (JSON text or an already parsed object).
 * @throws StatementFormatError
 */
export function parseStatement (input: string | unknown): StatementV1 {
  let raw: unknown = input
  if (typeof input === 'string') {
    try { raw = JSON.parse(input) } catch { throw new StatementFormatError('the statement is not JSON') }
  }
  const s = raw as Partial<StatementV1> | null
  if (s == null || typeof s !== 'object' || s.format !== STATEMENT_FORMAT) throw new StatementFormatError(`not a credit statement (format must be "${STATEMENT_FORMAT}")`)
  if (s.version !== STATEMENT_VERSION) throw new StatementFormatError(`statement version ${String(s.version)} is not supported (this reads version ${STATEMENT_VERSION})`)
  for (const f of ['hubPeerId', 'peerId'] as const) if (typeof s[f] !== 'string' || s[f] === '') throw new StatementFormatError(`${f} is missing`)
  if (!Array.isArray(s.receipts) || s.receipts.some(r => typeof r !== 'string')) throw new StatementFormatError('receipts must be a list of base64 strings')
  if (typeof s.entries !== 'number' || typeof s.totalCredit !== 'number') throw new StatementFormatError('entries and totalCredit must be numbers')
  if (s.ledgerSalt != null && saltFromHex(s.ledgerSalt) == null) throw new StatementFormatError('ledgerSalt must be 32 hex characters')
  if ((s.ledgerKey == null) !== (s.ledgerDelegation == null) || (s.ledgerKey != null && (!isBase64(s.ledgerKey) || !isBase64(s.ledgerDelegation)))) {
    throw new StatementFormatError('ledgerKey and ledgerDelegation must both be base64, or both be absent')
  }
  return s as StatementV1
}

/** The hub's public key from its peer id (Ed25519 peer ids embed the key). */
function hubKeyOf (hubPeerId: string): PublicKey {
  let key: PublicKey | undefined
  try { key = peerIdFromString(hubPeerId).publicKey } catch (err) { throw new StatementFormatError(`hubPeerId is not a peer id: ${(err as Error).message}`) }
  if (key == null || key.type !== 'Ed25519') throw new StatementFormatError('hubPeerId does not embed an Ed25519 public key')
  return key
}

/**
 * Check a statement (see the module comment for exactly what is covered).
 * @param ledger the hub's ledger entries, protobuf CreditEntry bytes for seq 1..n in order (optional; enables the full chain walk)
 * @throws StatementFormatError when the file is not a readable statement
 * @throws BadLedgerDelegationError when the file names a ledger key the hub of `hubPeerId` did not sign for
 */
export async function verifyStatement (input: string | unknown, ledger?: Uint8Array[]): Promise<StatementReport> {
  const st = parseStatement(input)
  const hubKey = hubKeyOf(st.hubPeerId)
  const ledgerKey = await ledgerKeyOf(hubKey, ledgerKeyFromJson(st))
  const salt = saltFromHex(st.ledgerSalt)
  const checks: EntryCheck[] = []
  const bodies = new Map<number, Uint8Array>()
  const seenReplicas = new Set<string>()
  const unitsBySeq = new Map<number, number>()
  const reversedSeqs = new Set<number>()
  let lastSeq = 0
  let prev: { seq: number, body: Uint8Array } | undefined
  let linksChecked = 0
  const unitsByIndex = new Map<number, number>()
  for (let index = 0; index < st.receipts.length; index++) {
    const fail = (status: EntryStatus, reason: string, extra: Partial<EntryCheck> = {}): void => { checks.push({ index, status, reason, ...extra }) }
    let receipt: HubReceipt
    let entry: CreditEntry
    try {
      receipt = HubReceipt.decode(fromBase64(st.receipts[index], `receipt ${index}`))
      entry = CreditEntry.decode(receipt.body)
    } catch (err) {
      fail('malformed', `receipt ${index} does not decode: ${(err as Error).message}`)
      continue
    }
    // an amount that is no number of base units (a forged legacy double such as 1e300) is reported, not thrown
    const units = amountUnits(entry)
    const info = { seq: entry.seq, jobId: entry.jobId, replicaId: entry.replicaId, credit: fromCreditUnits(units), ...(entry.reverses !== 0 ? { reverses: entry.reverses } : {}) }
    if (!bytesEqual(sha256Bytes(receipt.body), receipt.bodyHash)) { fail('bad-hash', 'bodyHash is not sha-256 of the body (the entry was edited)', info); continue }
    try {
      await verifyReceiptFrom(receipt, { ledgerKey, hubKey })
    } catch {
      fail('bad-signature', sameKey(ledgerKey, hubKey) ? `the hub's signature does not verify (forged or edited receipt)` : `neither the ledger key's signature nor the hub's verifies (forged or edited receipt)`, info)
      continue
    }
    // a version-2 entry's amount is creditUnits alone; a legacy one's a finite double
    if ((entry.version >= CREDIT_ENTRY_VERSION && entry.credit !== 0) || !Number.isSafeInteger(units)) { fail('malformed', `seq ${entry.seq}: its amount is not an integer number of base units`, info); continue }
    if (!entryNames(entry.peerId, entry.version, st.peerId, salt)) {
      fail('wrong-peer', entry.version >= PSEUDONYMOUS_ENTRY_VERSION && salt == null
        ? `credit granted to pseudonym ${entry.peerId}; the statement has no ledgerSalt to tie it to ${st.peerId}`
        : `credit granted to ${entry.peerId}, not to ${st.peerId}`, info)
      continue
    }
    if (entry.seq <= lastSeq) { fail('seq-order', `seq ${entry.seq} does not follow ${lastSeq} (seq must strictly increase)`, info); continue }
    if (seenReplicas.has(entry.replicaId)) { fail('duplicate-replica', `replica ${entry.replicaId} is credited twice`, info); continue }
    if (entry.reverses !== 0) {
      const reversed = unitsBySeq.get(entry.reverses)
      if (entry.reverses >= entry.seq || !(units < 0)) { fail('bad-reversal', `seq ${entry.seq} reverses seq ${entry.reverses} with credit ${info.credit} (must be an earlier seq and a negative credit)`, info); continue }
      if (reversedSeqs.has(entry.reverses)) { fail('bad-reversal', `seq ${entry.reverses} is reversed twice`, info); continue }
      if (reversed != null && reversed !== -units) { fail('bad-reversal', `seq ${entry.seq} takes back ${fromCreditUnits(-units)}, but seq ${entry.reverses} granted ${fromCreditUnits(reversed)}`, info); continue }
    } else if (units < 0) {
      fail('bad-reversal', `seq ${entry.seq} has a negative credit but reverses nothing`, info)
      continue
    }
    if (prev != null && prev.seq + 1 === entry.seq) {
      linksChecked++
      if (!bytesEqual(entry.prevHash, sha256Bytes(prev.body))) { fail('broken-link', `prevHash of seq ${entry.seq} is not the hash of seq ${prev.seq}`, info); continue }
    }
    seenReplicas.add(entry.replicaId)
    unitsBySeq.set(entry.seq, units)
    unitsByIndex.set(index, units)
    if (entry.reverses !== 0) reversedSeqs.add(entry.reverses)
    lastSeq = entry.seq
    prev = { seq: entry.seq, body: receipt.body }
    bodies.set(entry.seq, receipt.body)
    checks.push({ index, status: 'ok', reason: '', ...info })
  }

  const problems: string[] = []
  const missing: MissingEntry[] = []
  if (ledger != null) {
    let prevHash: Uint8Array = GENESIS_HASH
    let chainOk = true
    for (let i = 0; i < ledger.length; i++) {
      const seq = i + 1
      let e: CreditEntry
      try { e = CreditEntry.decode(ledger[i]) } catch { problems.push(`ledger entry ${seq} does not decode`); chainOk = false; break }
      if (e.seq !== seq) { problems.push(`ledger entry ${seq} carries seq ${e.seq}`); chainOk = false; break }
      if (!bytesEqual(e.prevHash, prevHash)) { problems.push(`ledger chain broken at seq ${seq}: prevHash ${toHex(e.prevHash).slice(0, 16)}… is not the hash of seq ${seq - 1}`); chainOk = false; break }
      linksChecked++
      prevHash = sha256Bytes(ledger[i])
      const body = bodies.get(seq)
      if (body != null && !bytesEqual(body, ledger[i])) problems.push(`receipt for seq ${seq} differs from the ledger's entry ${seq}`)
      if (entryNames(e.peerId, e.version, st.peerId, salt) && body == null) missing.push({ seq, replicaId: e.replicaId, credit: fromCreditUnits(amountUnits(e)) })
    }
    if (chainOk) {
      for (const c of checks) {
        if (c.status === 'ok' && c.seq != null && c.seq > ledger.length) {
          c.status = 'not-in-ledger'
          c.reason = `seq ${c.seq} is beyond the ledger's head ${ledger.length}`
        }
      }
    }
    for (const m of missing) problems.push(`missing receipt: the ledger credits seq ${m.seq} (replica ${m.replicaId}, ${m.credit} credit) to this peer`)
  }

  const good = checks.filter(c => c.status === 'ok')
  // summed in base units (integers), shown as credit
  const verifiedCredit = fromCreditUnits(good.reduce((sum, c) => sum + (unitsByIndex.get(c.index) ?? 0), 0))
  if (st.entries !== st.receipts.length) problems.push(`the statement claims ${st.entries} entries but holds ${st.receipts.length} receipts (a receipt is missing or was added)`)
  if (Math.abs(st.totalCredit - verifiedCredit) > 1e-9) problems.push(`the statement claims ${st.totalCredit} credit but its valid receipts sum to ${verifiedCredit}`)
  return {
    ok: problems.length === 0 && good.length === checks.length,
    hubPeerId: st.hubPeerId,
    ledgerPeerId: peerIdFromPublicKey(ledgerKey).toString(),
    peerId: st.peerId,
    entries: checks,
    verifiedCredit,
    claimedCredit: st.totalCredit,
    claimedEntries: st.entries,
    problems,
    missing,
    chainCheck: ledger != null ? 'full' : 'consecutive-seqs',
    linksChecked
  }
}

/** The report as text, one line per entry then one per problem (what the CLI prints). */
export function formatStatementReport (r: StatementReport): string {
  const lines = [`statement of ${r.peerId} from hub ${r.hubPeerId}${r.ledgerPeerId !== r.hubPeerId ? `, receipts signed by ledger key ${r.ledgerPeerId} (the hub's delegation verifies)` : ''}`]
  for (const e of r.entries) {
    const what = e.seq != null ? `seq ${e.seq} replica ${e.replicaId} credit ${e.credit}${e.reverses != null ? ` (reverses seq ${e.reverses})` : ''}` : 'undecodable'
    lines.push(`  #${e.index} ${e.status === 'ok' ? 'ok  ' : 'FAIL'} ${what}${e.reason !== '' ? ` — ${e.status}: ${e.reason}` : ''}`)
  }
  for (const p of r.problems) lines.push(`  problem: ${p}`)
  lines.push(`chain check: ${r.chainCheck === 'full' ? 'full walk of the hub ledger from genesis' : 'links between consecutive seqs in the file only'} (${r.linksChecked} links)`)
  lines.push(`${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${r.entries.filter(e => e.status === 'ok').length} of ${r.entries.length} receipts valid, ${r.verifiedCredit} credit verified (claimed ${r.claimedCredit})`)
  return lines.join('\n')
}
