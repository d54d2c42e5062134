/**
 * Issue 14, one ledger key per deployment: two hubs (startHub, each its own libp2p key and data
 * dir) on one PostgreSQL database and one shared dir (the ledger key `ledger-key.pb`). Node libp2p
 * volunteers have every result leased, acked and credited by hub A; then the volunteer's own code
 * (HubConnection over B's real /hub.json, Receipts over a libp2p link to B, the VolunteerStore over
 * fake-indexeddb) fetches its receipts through hub B and verifies every one against the ledger key
 * B presents, with the delegation B signed. Forged delegations (signed by another key) are
 * refused by name at every door: the connection, a result response, a statement and the CLI.
 * A real server (scripts/pg-cluster.sh), real hubs, no mocks.
 */
import 'fake-indexeddb/auto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BadLedgerDelegationError, CreditEntry, HubReceipt, RESULT_SPEC, RESULT_SPEC_V2, WORK_SPEC_V2, buildStatement, callProtocol, decodeCreditEntry,
  decodePrimesInput, decodeResultAck, ledgerKeyFromJson, ledgerKeyToJson, sameKey, signLedgerDelegation, signReceipt, verifyLedgerDelegation, verifyReceipt, verifyStatement
} from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { LEDGER_KEY_FILE } from '../src/hub/hub-key.ts'
import { runVerifyStatement } from '../src/cli/verify-statement.ts'
import { HubConnection, dialingNode } from '../src/volunteer/connection.ts'
import { Libp2pHubLink } from '../src/volunteer/hub-client.ts'
import { Receipts } from '../src/volunteer/receipts.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2, volunteer } from './hub-fixtures.ts'
import { startPgCluster } from './pg-cluster.ts'
import { newBus, openStore } from './volunteer-fakes.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Volunteer } from './hub-fixtures.ts'
import type { VolunteerStore } from '../src/volunteer/store.ts'
import type { Libp2p, PrivateKey, PublicKey } from '@libp2p/interface'
import type { HubInfo } from '../src/volunteer/connection.ts'
import type { LedgerDelegation, ResultBatchResponse, ResultResponse, WorkResponse } from '../src/protocol/index.ts'

const UNITS = 6
const UNIT = 2000

let cluster: PgCluster
let url: string
let sharedDir: string
const hubs: RunningHub[] = []
const nodes: Libp2p[] = []
const stores: VolunteerStore[] = []
const connections: HubConnection[] = []

beforeAll(async () => {
  cluster = startPgCluster()
  url = cluster.database()
  sharedDir = tempDir('hub-shared-')
  for (let i = 0; i < 2; i++) hubs.push(await startHub({ dataDir: tempDir(`hub-${i}-`), store: url, sharedDir, staticDir: join(REPO_ROOT, 'dist') }))
}, 60_000)

afterAll(async () => {
  for (const c of connections) await c.stop()
  for (const s of stores) s.close()
  await Promise.all(nodes.map(async n => { await n.stop() }))
  for (const h of hubs) await h.stop()
  await cluster?.stop()
}, 60_000)

const hubKeyOf = (h: RunningHub): PublicKey => peerIdFromString(h.peerId).publicKey as PublicKey
const hubJson = async (h: RunningHub): Promise<HubInfo> => await (await fetch(new URL('/hub.json', h.url))).json() as HubInfo

/** The volunteer's own receipts code, connected to `hub` through its real /hub.json (optionally rewritten). */
async function volunteerAt (hub: RunningHub, v: Volunteer, node: Libp2p, opts: { store?: VolunteerStore, info?: (info: HubInfo) => HubInfo } = {}) {
  const store = opts.store ?? await openStore()
  if (opts.store == null) stores.push(store)
  const bus = newBus()
  const fetchInfo = async (u: string, init: RequestInit): Promise<Pick<Response, 'ok' | 'status' | 'json'>> => {
    const res = await fetch(u, init)
    const info = await res.json() as HubInfo
    return { ok: res.ok, status: res.status, json: async () => opts.info?.(info) ?? info }
  }
  const connection = new HubConnection(dialingNode(node), bus, { hubInfoUrl: new URL('/hub.json', hub.url).toString(), fetch: fetchInfo, backoffMs: 50, maxBackoffMs: 200 })
  connections.push(connection)
  const link = new Libp2pHubLink(node, () => connection.hub?.peer ?? null)
  const receipts = new Receipts({ store, link, bus, peerId: v.id, hub: () => connection.hub, flushOutbox: async () => {}, running: () => false })
  receipts.start()
  connection.start()
  return { store, bus, connection, receipts }
}

async function until (what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('one ledger key for two hubs on one PostgreSQL database', () => {
  const vols: Array<{ v: Volunteer, node: Libp2p }> = []
  let ledgerKey: PrivateKey

  it('every hub presents the shared ledger key with its own delegation (/hub.json, result responses), and it signs acks and receipts', async () => {
    const [a, b] = hubs
    ledgerKey = privateKeyFromProtobuf(readFileSync(join(sharedDir, LEDGER_KEY_FILE)))
    const ledgerPeerId = peerIdFromPrivateKey(ledgerKey).toString()
    for (const h of hubs) {
      expect(h.peerId).not.toBe(ledgerPeerId)
      const info = await hubJson(h)
      const delegation = ledgerKeyFromJson(info) as LedgerDelegation
      expect(delegation).toBeDefined()
      const key = await verifyLedgerDelegation(delegation, hubKeyOf(h))
      expect(sameKey(key, ledgerKey.publicKey)).toBe(true)
      // each hub signed its own delegation: the other hub's does not verify as this one's
      const other = hubs.find(o => o !== h) as RunningHub
      await expect(verifyLedgerDelegation(delegation, hubKeyOf(other))).rejects.toThrow(BadLedgerDelegationError)
    }

    // two volunteers do the whole quorum-2 job through hub A
    const job = await a.core.createPrimesJob({ from: 0, to: UNITS * UNIT, unit: UNIT, quorum: 2 })
    for (let i = 0; i < 2; i++) {
      const v = await volunteer()
      const node = await createTestPeer(v.key)
      nodes.push(node)
      for (const h of hubs) await node.dial(multiaddr(h.multiaddrs[0]))
      vols.push({ v, node })
    }
    const aPeer = peerIdFromString(a.peerId)
    for (const { v, node } of vols) {
      for (;;) {
        const work: WorkResponse = await callProtocol(node, aPeer, WORK_SPEC_V2, v2(caps(), 4), AbortSignal.timeout(20_000))
        if (work.leases.length === 0) break
        const results = await Promise.all(work.leases.map(async l => { const { lo, hi } = decodePrimesInput(l.input); return await resultFor(v, l, countPrimes(lo, hi)) }))
        const res: ResultBatchResponse = await callProtocol(node, aPeer, RESULT_SPEC_V2, { results, receiptsAfter: 0 }, AbortSignal.timeout(20_000))
        expect(res.outcomes.map(o => o.status)).toEqual(results.map(() => 'accepted'))
        // A's response names the ledger key, A vouches for it, and every ack is the ledger key's signature
        const key = await verifyLedgerDelegation(res.ledgerKey as LedgerDelegation, hubKeyOf(a))
        for (const o of res.outcomes) {
          await verifyReceipt(o.ack as HubReceipt, key)
          await expect(verifyReceipt(o.ack as HubReceipt, hubKeyOf(a))).rejects.toThrow(/does not verify/)
          expect(decodeResultAck(o.ack as HubReceipt).peerId).toBe(v.id)
        }
      }
    }
    expect(await a.core.jobStatus(job.id)).toMatchObject({ state: 'complete', validated: UNITS })
    // every grant was made by hub A
    const grants = await cluster.query<{ n: number }>(url, 'SELECT count(*) AS n FROM ledger')
    expect(grants[0].n).toBe(UNITS * 2)

    // B's answer to a receipts-only request carries B's delegation to the same key, and the receipts verify with it
    const { v, node } = vols[0]
    const viaB: ResultResponse = await callProtocol(node, peerIdFromString(b.peerId), RESULT_SPEC, { receiptsAfter: 0 }, AbortSignal.timeout(20_000))
    expect(viaB.credits).toHaveLength(UNITS)
    const keyB = await verifyLedgerDelegation(viaB.ledgerKey as LedgerDelegation, hubKeyOf(b))
    expect(sameKey(keyB, ledgerKey.publicKey)).toBe(true)
    for (const r of viaB.credits) {
      await verifyReceipt(r, keyB)
      await expect(verifyReceipt(r, hubKeyOf(b))).rejects.toThrow(/does not verify/)
      await expect(verifyReceipt(r, hubKeyOf(a))).rejects.toThrow(/does not verify/)
    }
    expect(v.id).toBeTruthy()
  }, 120_000)

  it("a volunteer credited via hub A fetches its receipts via hub B and verifies every one against the ledger key B presents; a statement of them verifies offline (and through the CLI)", async () => {
    const [a, b] = hubs
    const ledgerPeerId = peerIdFromPrivateKey(ledgerKey).toString()
    for (const { v, node } of vols) {
      const atB = await volunteerAt(b, v, node)
      await until('the connection to hub B', () => atB.connection.hub != null)
      expect(atB.connection.hub?.peer.toString()).toBe(b.peerId)
      expect(peerIdFromPublicKey(atB.connection.hub?.ledgerKey as PublicKey).toString()).toBe(ledgerPeerId)
      await atB.receipts.sync()
      expect(atB.bus.get('lastError')).toBeNull()
      const credits = await atB.store.credits()
      const mine = await cluster.query<{ seq: number }>(url, 'SELECT seq FROM ledger WHERE peer_id = $1 ORDER BY seq', [v.id])
      expect(mine).toHaveLength(UNITS)
      expect(credits.map(c => c.seq).sort((x, y) => x - y)).toEqual(mine.map(m => m.seq))
      for (const c of credits) {
        expect(c.hubPeerId).toBe(b.peerId)
        expect(c.ledgerPeerId).toBe(ledgerPeerId)
        await verifyReceipt(HubReceipt.decode(c.receipt), ledgerKey.publicKey)
      }
      expect(atB.bus.snapshot).toMatchObject({ resultsValidated: UNITS })
      const granted = atB.bus.get('creditGranted')
      expect(granted).toBeGreaterThan(0)

      // the key and B's delegation are kept for B; the statement carries them and verifies offline against B's peer id
      const kept = (await atB.store.getMeta('ledgerKeys'))?.[b.peerId]
      expect(kept).toEqual(ledgerKeyToJson(b.core.ledgerDelegation))
      const salt = (await atB.store.getMeta('ledgerSalts'))?.[b.peerId]
      const st = buildStatement(b.peerId, v.id, credits.map(c => c.receipt), salt, kept)
      const report = await verifyStatement(JSON.stringify(st))
      expect(report).toMatchObject({ ok: true, hubPeerId: b.peerId, ledgerPeerId, verifiedCredit: granted, problems: [] })
      expect(report.entries.every(e => e.status === 'ok')).toBe(true)
      const file = join(tempDir('statement-'), 'statement.json')
      writeFileSync(file, JSON.stringify(st))
      const out: string[] = []
      expect((await runVerifyStatement(file, { hub: b.url, out: l => out.push(l) })).code).toBe(0)
      expect(out.join('\n')).toMatch(new RegExp(`receipts signed by ledger key ${ledgerPeerId}`))
      // without the ledger key the same receipts are no receipts of hub B
      const bare = await verifyStatement(JSON.stringify(buildStatement(b.peerId, v.id, credits.map(c => c.receipt), salt)))
      expect(bare.ok).toBe(false)
      expect(bare.entries.every(e => e.status === 'bad-signature')).toBe(true)

      // the same entries fetched again through hub A are kept under A and counted once
      const atA = await volunteerAt(a, v, node, { store: atB.store })
      await until('the connection to hub A', () => atA.connection.hub != null)
      await atA.receipts.sync()
      expect(atA.bus.get('lastError')).toBeNull()
      expect((await atA.store.credits()).filter(c => c.hubPeerId === a.peerId)).toHaveLength(UNITS)
      expect(atA.bus.snapshot).toMatchObject({ resultsValidated: UNITS, creditGranted: granted })
      await atA.connection.stop()
      await atB.connection.stop()
    }
  }, 120_000)

  it('refuses, by name, a delegation signed by another key: at the connection, in a result response, in a statement', async () => {
    const [, b] = hubs
    const { v, node } = vols[0]
    const mallory = await generateKeyPair('Ed25519')
    // 1. mallory's own key as "ledger key", delegated by mallory (not by B): receipts signed by mallory
    const forgedSelf = await signLedgerDelegation(mallory, mallory.publicKey)
    // 2. the real ledger key, but the delegation signed by mallory instead of B
    const forgedReal = await signLedgerDelegation(mallory, ledgerKey.publicKey)
    for (const d of [forgedSelf, forgedReal]) {
      const err = await verifyLedgerDelegation(d, hubKeyOf(b)).catch((e: Error) => e)
      expect(err).toBeInstanceOf(BadLedgerDelegationError)
      expect((err as Error).name).toBe('BadLedgerDelegationError')
    }

    // the connection: B's /hub.json with a forged delegation is refused before anything is verified with it
    const forgedInfo = await volunteerAt(b, v, node, { info: info => ({ ...info, ...ledgerKeyToJson(forgedSelf) }) })
    await until('the refusal', () => (forgedInfo.bus.get('lastError') ?? '').startsWith('connect: BadLedgerDelegationError'))
    expect(forgedInfo.connection.hub).toBeNull()
    await forgedInfo.connection.stop()

    // a result response from B naming mallory's key, with mallory's receipts: nothing kept
    const atB = await volunteerAt(b, v, node)
    await until('the connection to hub B', () => atB.connection.hub != null)
    const salt = b.core.ledger.saltOf(v.id) as Uint8Array<ArrayBuffer>
    const forgedReceipt = await signReceipt(CreditEntry.encode({
      seq: 999, peerId: b.core.ledger.pseudonymOf(v.id), jobId: 'job-1', wuId: 'wu-x', replicaId: 'r-forged', credit: 0, grantedAtMs: Date.now(),
      prevHash: new Uint8Array(32), reverses: 0, version: 3, creditUnits: 1_000_000_000_000
    }), mallory)
    await atB.receipts.accept({ credits: [forgedReceipt], ledgerSalt: salt, ledgerKey: forgedSelf })
    expect(atB.bus.get('lastError')).toMatch(/^receipts refused: BadLedgerDelegationError: /)
    expect(await atB.store.credits()).toEqual([])
    // a genuine receipt with a forged delegation is refused too: the delegation is checked first
    const viaB: ResultResponse = await callProtocol(node, peerIdFromString(b.peerId), RESULT_SPEC, { receiptsAfter: 0 }, AbortSignal.timeout(20_000))
    await atB.receipts.accept({ ...viaB, ledgerKey: forgedReal })
    expect(await atB.store.credits()).toEqual([])
    // and without a delegation a receipt signed by mallory is refused as a bad receipt
    await atB.receipts.accept({ credits: [forgedReceipt], ledgerSalt: salt })
    expect(atB.bus.get('lastError')).toMatch(/^receipt refused: receipt signature does not verify/)
    expect(await atB.store.credits()).toEqual([])
    // B's genuine answer is kept
    await atB.receipts.accept(viaB)
    expect(await atB.store.credits()).toHaveLength(UNITS)
    await atB.connection.stop()

    // a statement naming mallory's key (with mallory's receipt) is refused by name, offline and through the CLI
    const forgedSt = { ...buildStatement(b.peerId, v.id, [HubReceipt.encode(forgedReceipt)], Buffer.from(salt).toString('hex'), ledgerKeyToJson(forgedSelf)) }
    const err = await verifyStatement(JSON.stringify(forgedSt)).catch((e: Error) => e)
    expect(err).toBeInstanceOf(BadLedgerDelegationError)
    expect((err as Error).name).toBe('BadLedgerDelegationError')
    const file = join(tempDir('statement-'), 'forged.json')
    writeFileSync(file, JSON.stringify(forgedSt))
    const out: string[] = []
    expect((await runVerifyStatement(file, { out: l => out.push(l) })).code).toBe(1)
    expect(out.join('\n')).toMatch(/^NOT VERIFIED: BadLedgerDelegationError: /)
    expect(decodeCreditEntry(forgedReceipt).seq).toBe(999)
  }, 60_000)
})
