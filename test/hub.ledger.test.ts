import { ledgerPseudonym, ledgerSaltFor } from '../src/protocol/pseudonym.ts'
import { Ledger, PSEUDONYM_CACHE_PEERS } from '../src/hub/ledger.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { creditOf, creditUnitsOf } from '../src/protocol/credit.ts'
import { buildStatement, verifyStatement } from '../src/protocol/statement.ts'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { CreditEntry, HubReceipt } from '../src/protocol/pb/messages.ts'
import { decodePrimesInput } from '../src/protocol/primes.ts'
import {
  GENESIS_HASH, creditEntryHash, decodeCreditEntry, decodeResultAck, sha256Bytes, signReceipt, toHex, verifyReceipt
} from '../src/protocol/signing.ts'
import type { PrivateKey } from '@libp2p/interface'
import { type Volunteer, countPrimes, resultFor, volunteer } from './hub-fixtures.ts'
import { inspect } from './hub-fixtures.ts'

let dir: string
let clock: number
let hubKey: PrivateKey
const open: HubCore[] = []

async function openHub (): Promise<HubCore> {
  const h = await HubCore.open({ dataDir: dir, hubKey, now: () => clock, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  open.push(h)
  return h
}

async function closeHub (h: HubCore): Promise<void> {
  await h.close()
  open.splice(open.indexOf(h), 1)
}

/** Lease and submit correct results for up to `max` replicas; returns how many were submitted. */
async function work (h: HubCore, v: Volunteer, max: number): Promise<number> {
  const leases = (await h.lease(v.id, { maxUnits: max, release: [], deviceClass: 'wasm' })).leases
  for (const l of leases) {
    const { lo, hi } = decodePrimesInput(l.input)
    const res = await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))
    expect(res.status).toBe('accepted')
  }
  return leases.length
}

interface Row { seq: number, peer_id: string, prev_hash: Uint8Array, entry: Uint8Array, entry_hash: Uint8Array, credit: number }

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hub-ledger-'))
  clock = 1_700_000_000_000
  hubKey = await generateKeyPair('Ed25519')
})

afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('ledger', () => {
  it('chains entries by hash from the genesis hash, and receipts verify with the hub key', async () => {
    const h = await openHub()
    await h.createPrimesJob({ from: 0, to: 10_000, unit: 1_000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    while (await work(h, a, 3) + await work(h, b, 2) > 0) clock += 1000
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', primes: 1229 })

    const rows = inspect(h).all<Row>('SELECT * FROM ledger ORDER BY seq')
    expect(rows).toHaveLength(20)
    let prev: Uint8Array = GENESIS_HASH
    rows.forEach((row, i) => {
      const entry = CreditEntry.decode(row.entry)
      expect(entry.seq).toBe(i + 1)
      expect(toHex(entry.prevHash)).toBe(toHex(prev))
      expect(toHex(row.entry_hash)).toBe(toHex(creditEntryHash(entry)))
      // version 3: the amount is an integer number of base units, the double field unused, and
      // the entry names its peer by a pseudonym, not the peer id (the column keeps the peer id)
      expect(entry).toMatchObject({ version: 3, credit: 0, creditUnits: 1_000_000, peerId: h.ledger.pseudonymOf(row.peer_id) })
      expect(entry.peerId).toMatch(/^p1:[0-9a-f]{32}$/)
      expect(creditOf(entry)).toBe(0.001)
      prev = row.entry_hash
    })
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 20 })

    const all = await h.creditsFor(a.id, 0)
    expect(all.credits).toHaveLength(10)
    const seqs: number[] = []
    for (const receipt of all.credits) {
      await verifyReceipt(receipt, hubKey.publicKey)
      const entry = decodeCreditEntry(receipt)
      // a's receipts name a's pseudonym, which a's salt (and only it) ties to a's peer id
      expect(entry.peerId).toBe(ledgerPseudonym(a.id, h.ledger.saltOf(a.id)))
      expect(entry.peerId).not.toBe(ledgerPseudonym(b.id, h.ledger.saltOf(b.id)))
      seqs.push(entry.seq)
    }
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
    expect(all.upTo).toBe(seqs[seqs.length - 1])
    // a receipt under another key does not verify
    const other = await generateKeyPair('Ed25519')
    await expect(verifyReceipt(all.credits[0], other.publicKey)).rejects.toThrow(/signature/)

    // paging: oldest first, upTo = last seq returned
    const page1 = await h.creditsFor(a.id, 0, 4)
    expect(page1.credits.map(r => decodeCreditEntry(r).seq)).toEqual(seqs.slice(0, 4))
    expect(page1.upTo).toBe(seqs[3])
    const page2 = await h.creditsFor(a.id, page1.upTo, 100)
    expect(page2.credits.map(r => decodeCreditEntry(r).seq)).toEqual(seqs.slice(4))
    const none = await h.creditsFor(a.id, all.upTo)
    expect(none).toEqual({ credits: [], upTo: all.upTo })
    expect(await h.creditsFor('nobody', 0)).toEqual({ credits: [], upTo: 0 })
    // same entry, same receipt (Ed25519 is deterministic)
    expect(toHex((await h.creditsFor(a.id, 0, 1)).credits[0].signature)).toBe(toHex(all.credits[0].signature))
  })

  it('grants credit once per replica: replayed validator, repeated grant, raw insert, duplicate submit', async () => {
    const h = await openHub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 1000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    const [la] = (await h.lease(a.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const [lb] = (await h.lease(b.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const sa = await resultFor(a, la, 168)
    await h.submit(a.id, sa)
    await h.submit(b.id, await resultFor(b, lb, 168))
    expect(inspect(h).ledgerSize()).toBe(2)

    await h.repo.transaction(async tx => {
      await h.validator.validate(tx, la.wuId, clock)
      const again = await h.ledger.grant(tx, { peerId: a.id, jobId: 'job-1', wuId: la.wuId, replicaId: la.replicaId, credit: 5, grantedAtMs: clock })
      expect(again).toMatchObject({ created: false, seq: 1 })
      expect(again.entry).toBeDefined()
      expect(creditOf(again.entry as NonNullable<typeof again.entry>)).toBe(0.001)
    })
    expect(() => inspect(h).run(`INSERT INTO ledger (seq, peer_id, job_id, wu_id, replica_id, credit, granted_at_ms, prev_hash, entry, entry_hash)
      VALUES (3, 'x', 'job-1', ?, ?, 1, 0, x'00', x'00', x'00')`, la.wuId, la.replicaId)).toThrow(/UNIQUE/)
    expect((await h.submit(a.id, sa)).status).toBe('duplicate')
    expect(inspect(h).ledgerSize()).toBe(2)
    expect(await h.ledgerBalance(a.id)).toBe(0.001)
    expect((await h.verifyLedger()).ok).toBe(true)
    // and the table is append-only
    expect(() => inspect(h).run('UPDATE ledger SET credit = 9 WHERE seq = 1')).toThrow(/append-only/)
    expect(() => inspect(h).run('UPDATE ledger SET credit_units = 9 WHERE seq = 1')).toThrow(/append-only/)
    expect(() => inspect(h).run('DELETE FROM ledger WHERE seq = 1')).toThrow(/append-only/)
  })

  it('entries from before integer credit (version 0, a double amount) still verify, sum and are reversed exactly beside version-2 ones', async () => {
    // a ledger as an older hub wrote it: one version-0 grant of 0.125 credit for peer L, its receipt signed once
    const legacyPeer = (await volunteer()).id
    let h = await openHub()
    await closeHub(h)
    const legacy: CreditEntry = { seq: 1, peerId: legacyPeer, jobId: 'job-old', wuId: 'job-old/wu-0', replicaId: 'job-old/wu-0/r0', credit: 0.125, grantedAtMs: clock, prevHash: GENESIS_HASH, reverses: 0, version: 0, creditUnits: 0, payoutAddress: '', payoutBoundAtMs: 0, payoutSignature: new Uint8Array(0) }
    const bytes = CreditEntry.encode(legacy)
    expect(decodeCreditEntry({ body: bytes } as never).version).toBe(0)
    const receipt = await signReceipt(bytes, hubKey)
    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    db.prepare(`INSERT INTO ledger (seq, peer_id, job_id, wu_id, replica_id, credit, credit_units, granted_at_ms, prev_hash, entry, entry_hash, receipt_signature, reverses)
      VALUES (1, ?, 'job-old', 'job-old/wu-0', 'job-old/wu-0/r0', 0.125, NULL, ?, ?, ?, ?, ?, 0)`).run(legacyPeer, clock, GENESIS_HASH, bytes, receipt.bodyHash, receipt.signature)
    db.close()
    h = await openHub()
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 1 })
    expect(await h.ledgerBalance(legacyPeer)).toBe(0.125)
    // new grants are version 2 and chain onto it
    await h.createPrimesJob({ from: 0, to: 2000, unit: 1000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    while (await work(h, a, 2) + await work(h, b, 2) > 0) clock += 1000
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 5 })
    // the legacy grant reversed: exactly minus 125,000,000 base units, as a version-2 entry
    await h.repo.transaction(async tx => { await h.ledger.reverse(tx, legacyPeer, clock) })
    expect(await h.ledgerBalance(legacyPeer)).toBe(0)
    const receipts = (await h.creditsFor(legacyPeer, 0)).credits
    expect(receipts.map(r => decodeCreditEntry(r)).map(e => ({ v: e.version, units: creditUnitsOf(e) }))).toEqual([{ v: 0, units: 125_000_000 }, { v: 3, units: -125_000_000 }])
    const report = await verifyStatement(buildStatement(h.peerId, legacyPeer, receipts.map(r => HubReceipt.encode(r)), toHex(h.ledger.saltOf(legacyPeer))), (await h.ledgerEntries(1, 100)).entries.map(e => e.entry))
    expect(report.ok, report.problems.join('; ')).toBe(true)
    expect(report.verifiedCredit).toBe(0)
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 6 })
  })

  it('detects a tampered ledger row at the right seq', async () => {
    let h = await openHub()
    await h.createPrimesJob({ from: 0, to: 5000, unit: 1000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    while (await work(h, a, 5) + await work(h, b, 5) > 0) clock += 1000
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 10 })
    await closeHub(h)

    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    const tamper = (sql: string, ...params: Array<number | Uint8Array>): void => {
      db.exec('DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete')
      db.prepare(sql).run(...params)
    }
    // 1. a column edited: seq 3 now says 100 credit (in base units, what balances sum)
    tamper('UPDATE ledger SET credit_units = 100000000000 WHERE seq = 3')
    db.close()
    h = await openHub()
    expect(await h.verifyLedger()).toMatchObject({ ok: false, brokenAtSeq: 3 })
    expect(await h.ledgerBalance(a.id) + await h.ledgerBalance(b.id)).toBeGreaterThan(100) // the column is what balances read…
    await closeHub(h)

    // 2. …so a careful forger rewrites entry 6 consistently (bytes, hash, column): entry 7's prevHash breaks
    const db2 = new DatabaseSync(join(dir, 'hub.sqlite'))
    db2.prepare('UPDATE ledger SET credit_units = 1000000 WHERE seq = 3').run()
    const row = db2.prepare('SELECT entry FROM ledger WHERE seq = 6').get() as { entry: Uint8Array }
    const forged = { ...CreditEntry.decode(row.entry), creditUnits: 50_000_000_000 }
    const bytes = CreditEntry.encode(forged)
    db2.prepare('UPDATE ledger SET credit = 50, credit_units = 50000000000, entry = ?, entry_hash = ? WHERE seq = 6').run(bytes, sha256Bytes(bytes))
    db2.close()
    h = await openHub()
    expect(await h.verifyLedger()).toMatchObject({ ok: false, brokenAtSeq: 7 })
    await closeHub(h)

    // 3. the display column alone edited (balances do not read it, but it must match the entry)
    const db4 = new DatabaseSync(join(dir, 'hub.sqlite'))
    db4.prepare('UPDATE ledger SET credit = 7 WHERE seq = 2').run()
    db4.close()
    h = await openHub()
    expect(await h.verifyLedger()).toMatchObject({ ok: false, brokenAtSeq: 2 })
    await closeHub(h)

    // 4. a deleted entry
    const db3 = new DatabaseSync(join(dir, 'hub.sqlite'))
    db3.prepare('DELETE FROM ledger WHERE seq >= 5').run()
    db3.prepare('DELETE FROM ledger WHERE seq = 2').run()
    db3.close()
    h = await openHub()
    expect(await h.verifyLedger()).toMatchObject({ ok: false, brokenAtSeq: 2 })
  })

  it('survives a restart: results, credit, ledger and job progress persist and leasing continues', async () => {
    let h = await openHub()
    await h.createPrimesJob({ from: 0, to: 4000, unit: 1000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    await work(h, a, 2)
    await work(h, b, 2)
    const [pending] = (await h.lease(a.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases // in progress across the restart
    expect(pending.wuId).toBe('job-1/wu-2')
    const pendingResult = await resultFor(a, pending, countPrimes(2000, 3000))
    const ackBefore = (await h.submit(b.id, await resultFor(b, { ...pending, replicaId: 'nope' }, 1))).status
    expect(ackBefore).toBe('rejected')
    const before = await h.jobStatus('job-1')
    const creditsBefore = await h.creditsFor(a.id, 0)
    expect(before).toMatchObject({ validated: 2, primes: 303, inProgress: 1, state: 'running' })
    const results = inspect(h).get<{ n: number }>('SELECT count(*) AS n FROM results')?.n
    await closeHub(h)

    // another key cannot take over the data dir
    const stranger = await generateKeyPair('Ed25519')
    await expect(HubCore.open({ dataDir: dir, hubKey: stranger })).rejects.toThrow(/belongs to hub/)

    h = await openHub()
    expect(await h.jobStatus('job-1')).toEqual(before)
    expect(inspect(h).get<{ n: number }>('SELECT count(*) AS n FROM results')?.n).toBe(results)
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 4 })
    const creditsAfter = await h.creditsFor(a.id, 0)
    expect(creditsAfter.credits.map(r => toHex(r.signature))).toEqual(creditsBefore.credits.map(r => toHex(r.signature)))
    expect(await h.ledgerBalance(a.id)).toBe(0.002)

    // the lease taken before the restart still holds
    const res = await h.submit(a.id, pendingResult)
    expect(res.status).toBe('accepted')
    expect(decodeResultAck(res.ack!).replicaId).toBe(pending.replicaId)
    while (await work(h, b, 4) + await work(h, a, 4) > 0) clock += 1000
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', validated: 4, primes: 550, volunteers: 2 })
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 8 })
    expect(await h.ledgerBalance(a.id)).toBeCloseTo(0.004, 12)
  })
})

describe('ledger pseudonyms', () => {
  it('are the HMAC-derived salt and name of each peer, also once a peer has left the kept ones; a salt handed out is a copy', async () => {
    const key = await generateKeyPair('Ed25519')
    const pseudonymKey = new Uint8Array(32).fill(7)
    const ledger = new Ledger(key, pseudonymKey)
    const peer = (i: number): string => `12D3KooWpeer${i}`
    const expected = (id: string): string => ledgerPseudonym(id, ledgerSaltFor(pseudonymKey, id))
    const first = ledger.pseudonymOf(peer(0))
    expect(first).toBe(expected(peer(0)))
    ledger.saltOf(peer(0)).fill(0)
    expect(ledger.saltOf(peer(0))).toEqual(ledgerSaltFor(pseudonymKey, peer(0)))
    // more peers than are kept: peer 0 goes, and comes back with the same names
    for (let i = 1; i <= PSEUDONYM_CACHE_PEERS; i++) ledger.pseudonymOf(peer(i))
    expect(ledger.pseudonymOf(peer(0))).toBe(first)
    for (const i of [1, 5_000, PSEUDONYM_CACHE_PEERS]) expect(ledger.pseudonymOf(peer(i))).toBe(expected(peer(i)))
    // another pseudonym key names every peer differently
    expect(new Ledger(key, new Uint8Array(32).fill(8)).pseudonymOf(peer(0))).not.toBe(first)
  })
})
