/**
 * Credit statements against a real hub core (SQLite ledger, hub-signed receipts): two volunteers'
 * credits interleave in the global chain; one volunteer's statement verifies offline (signatures,
 * bodyHash, peer, seq order, consecutive links, totals) and with the whole ledger (every link,
 * missing receipts); forged, edited, foreign, duplicated and missing receipts are reported entry by entry.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { ledgerPage } from '../src/hub/statement-api.ts'
import { CreditEntry, HubReceipt } from '../src/protocol/pb/messages.ts'
import { decodePrimesInput } from '../src/protocol/primes.ts'
import { signReceipt, toHex } from '../src/protocol/signing.ts'
import { fromBase64, toBase64 } from '../src/volunteer/key-backup.ts'
import { StatementFormatError, buildStatement, verifyStatement } from '../src/protocol/statement.ts'
import { countPrimes, resultFor, volunteer } from './hub-fixtures.ts'
import type { Volunteer } from './hub-fixtures.ts'

let hub: HubCore
let hubPeerId: string
let a: Volunteer
let b: Volunteer
let receiptsA: Uint8Array[]
let ledger: Uint8Array[]

beforeAll(async () => {
  const hubKey = await generateKeyPair('Ed25519')
  hub = await HubCore.open({ dataDir: mkdtempSync(join(tmpdir(), 'statement-')), hubKey, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  hubPeerId = (await import('@libp2p/peer-id')).peerIdFromPrivateKey(hubKey).toString()
  await hub.createPrimesJob({ from: 0, to: 8000, unit: 1000, quorum: 1 })
  a = await volunteer()
  b = await volunteer()
  // a, a, b, a, b, a, a, b: a's seqs 1,2,4,6,7 (links 1-2 and 6-7 are visible offline)
  for (const v of [a, a, b, a, b, a, a, b]) {
    const [l] = (await hub.lease(v.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const { lo, hi } = decodePrimesInput(l.input)
    expect((await hub.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status).toBe('accepted')
  }
  receiptsA = (await hub.creditsFor(a.id, 0)).credits.map(r => HubReceipt.encode(r))
  const page = await ledgerPage(hub, 1, 1000)
  ledger = page.entries.map(e => new Uint8Array(Buffer.from(e.entry, 'base64')))
})
afterAll(async () => { await hub.close() })

describe('credit statement', () => {
  it('verifies offline and against the whole ledger', async () => {
    const st = buildStatement(hubPeerId, a.id, receiptsA, toHex(hub.ledger.saltOf(a.id)))
    expect(st.entries).toBe(5)
    const offline = await verifyStatement(JSON.stringify(st))
    expect(offline.ok).toBe(true)
    expect(offline.entries.map(e => e.seq)).toEqual([1, 2, 4, 6, 7])
    expect(offline.linksChecked).toBe(2)
    expect(offline.verifiedCredit).toBe(await hub.ledgerBalance(a.id))
    const full = await verifyStatement(st, ledger)
    expect(full).toMatchObject({ ok: true, chainCheck: 'full', linksChecked: 10, missing: [] })
  })

  it('reports forged, edited, foreign and duplicated receipts entry by entry, and missing ones', async () => {
    const st = buildStatement(hubPeerId, a.id, receiptsA, toHex(hub.ledger.saltOf(a.id)))
    const forger = await generateKeyPair('Ed25519')
    const r0 = HubReceipt.decode(fromBase64(st.receipts[0]))
    st.receipts[0] = toBase64(HubReceipt.encode(await signReceipt(r0.body, forger)))          // forged signature
    const r1 = HubReceipt.decode(fromBase64(st.receipts[1]))
    const e1 = CreditEntry.decode(r1.body)
    st.receipts[1] = toBase64(HubReceipt.encode({ ...r1, body: CreditEntry.encode({ ...e1, creditUnits: 999_000_000_000 }) })) // edited body (its amount)
    const foreign = (await hub.creditsFor(b.id, 0)).credits[0]
    st.receipts.splice(2, 0, toBase64(HubReceipt.encode(foreign)))                             // b's receipt
    st.receipts.push(st.receipts[st.receipts.length - 1])                                      // duplicate
    st.receipts.splice(4, 1)                                                                   // drop seq 6
    const report = await verifyStatement(st, ledger)
    expect(report.ok).toBe(false)
    // an amount that is no number of base units (a forged legacy double) is reported entry by entry, never thrown
    const huge = structuredClone(st)
    huge.receipts[1] = toBase64(HubReceipt.encode({ ...r1, body: CreditEntry.encode({ ...e1, version: 0, creditUnits: 0, credit: 1e300 }) }))
    expect((await verifyStatement(huge, ledger)).entries[1].status).toBe('bad-hash')
    expect(report.entries.map(e => e.status)).toEqual(['bad-signature', 'bad-hash', 'wrong-peer', 'ok', 'ok', 'seq-order'])
    expect(report.missing.map(m => m.seq)).toEqual([1, 2, 6])
    expect(report.problems.join('\n')).toContain('claims 5 entries but holds 6 receipts')
    const offline = await verifyStatement(st)
    expect(offline.problems.join('\n')).toMatch(/claims [\d.]+ credit but its valid receipts sum to/)
    await expect(verifyStatement('{"format":"nope"}')).rejects.toThrow(StatementFormatError)
  })

  it('the public ledger names no peer id; the salt in a statement (only) ties its pseudonym to the peer id', async () => {
    // what anyone fetching /api/ledger gets: entries naming pseudonyms, none a peer id
    const named = ledger.map(bytes => CreditEntry.decode(bytes).peerId)
    expect(named.every(p => /^p1:[0-9a-f]{32}$/.test(p))).toBe(true)
    expect(named).not.toContain(a.id)
    expect(named).not.toContain(b.id)
    // without its salt, a's statement cannot show its entries are a's
    const st = buildStatement(hubPeerId, a.id, receiptsA)
    const report = await verifyStatement(st, ledger)
    expect(report.ok).toBe(false)
    expect(report.entries.every(e => e.status === 'wrong-peer')).toBe(true)
    expect(report.entries[0].reason).toMatch(/has no ledgerSalt/)
    // b's salt does not fit a's entries; a malformed salt is refused as a format error
    expect((await verifyStatement(buildStatement(hubPeerId, a.id, receiptsA, toHex(hub.ledger.saltOf(b.id))))).entries.every(e => e.status === 'wrong-peer')).toBe(true)
    await expect(verifyStatement({ ...st, ledgerSalt: 'zz' })).rejects.toThrow(/ledgerSalt must be 32 hex/)
  })
})
