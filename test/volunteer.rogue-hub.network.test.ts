/**
 * A hub that lies, as its own libp2p node and keys speaking result/2.0.0 from the docs, against
 * the volunteer's real client path (Libp2pHubLink over a real connection, Outbox, Receipts, an
 * IndexedDB store):
 * - receipts signed by a ledger key the hub "delegates" to with a signature that is not the hub's
 *   (BadLedgerDelegationError): none is kept, no credit shows; the same receipts with the hub's
 *   own signature on the delegation are kept (so it is the delegation that was refused);
 * - an answer with fewer outcomes than results (MalformedMessageError): every result stays in the
 *   outbox, none is counted accepted or rejected.
 */
import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { CreditEntry, GENESIS_HASH, RESULT_SPEC_V2, ResultPayload, encodePrimesOutput, handleProtocol, signReceipt } from '../src/protocol/index.ts'
import { signLedgerDelegation } from '../src/protocol/ledger-key.ts'
import { Libp2pHubLink } from '../src/volunteer/hub-client.ts'
import { Outbox } from '../src/volunteer/outbox.ts'
import { Receipts } from '../src/volunteer/receipts.ts'
import { createTestPeer } from './helpers.ts'
import { dbName, lease, newBus, openStore } from './volunteer-fakes.ts'
import type { LedgerDelegation, ResultBatchRequest, ResultBatchResponse } from '../src/protocol/index.ts'
import type { VolunteerStore } from '../src/volunteer/store.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const nodes: Libp2p[] = []
const stores: VolunteerStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) s.close()
  await Promise.all(nodes.splice(0).map(async n => await n.stop()))
})

type Answer = (req: ResultBatchRequest, volunteerId: string) => Promise<ResultBatchResponse>

/** The rogue hub: its own key, listening on loopback WebSockets, answering result/2.0.0 with `answer`. */
async function rogueHub (answer: Answer): Promise<{ key: PrivateKey, node: Libp2p }> {
  const key = await generateKeyPair('Ed25519')
  const node = await createTestPeer(key, ['/ip4/127.0.0.1/tcp/0/ws'])
  nodes.push(node)
  await handleProtocol(node, RESULT_SPEC_V2, async (req, connection) => await answer(req, connection.remotePeer.toString()))
  return { key, node }
}

/** A volunteer's client parts over a real connection to `hub`, with `n` results in its outbox. */
async function volunteerWith (hub: { key: PrivateKey, node: Libp2p }, n: number) {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  const hubPeer = peerIdFromPrivateKey(hub.key)
  const node = await createTestPeer(key)
  nodes.push(node)
  await node.dial(multiaddr(hub.node.getMultiaddrs()[0]))
  const store = await openStore(dbName())
  stores.push(store)
  const bus = newBus()
  const link = new Libp2pHubLink(node, () => hubPeer)
  const receipts = new Receipts({ store, link, bus, peerId, hub: () => ({ peer: hubPeer, publicKey: hub.key.publicKey }), flushOutbox: async () => { await outbox.flush() }, running: () => false, pollMs: 10 })
  const outbox: Outbox = new Outbox({ store, link, bus, key, hubPeerId: () => hubPeer.toString(), receipts, adapter: () => null })
  outbox.start(); receipts.start()
  for (let i = 0; i < n; i++) await outbox.record(lease(`r${i}`), { outcome: 'success', output: encodePrimesOutput(25), elapsedMs: 5, errorMessage: '' }, hubPeer.toString())
  return { store, bus, outbox, receipts, peerId }
}

let seq = 0

/** Credit receipts for `peerId`, one per result (its replica), signed by `ledgerKey`. */
async function receiptsFor (peerId: string, req: ResultBatchRequest, ledgerKey: PrivateKey): Promise<ResultBatchResponse['credits']> {
  return await Promise.all(req.results.map(async r => {
    const { replicaId } = ResultPayload.decode(r.payload)
    return await signReceipt(CreditEntry.encode({
      seq: ++seq, peerId, jobId: 'job-1', wuId: `wu-${replicaId}`, replicaId, credit: 1, grantedAtMs: Date.now(), prevHash: GENESIS_HASH as Uint8Array<ArrayBuffer>
    }), ledgerKey)
  }))
}

const accepted = (req: ResultBatchRequest): ResultBatchResponse['outcomes'] => req.results.map(() => ({ status: 'accepted', error: '', message: '' }))

describe('a hub that lies to the volunteer', () => {
  it('receipts under a ledger key the hub did not sign for are refused by name; signed for, they are kept', async () => {
    const ledger = await generateKeyPair('Ed25519')
    let delegation: LedgerDelegation | undefined
    const hub = await rogueHub(async (req, volunteerId) => ({
      outcomes: accepted(req), credits: await receiptsFor(volunteerId, req, ledger), creditsUpTo: req.results.length, ledgerSalt: new Uint8Array(0), ledgerKey: delegation
    }))
    // the ledger key vouching for itself: not the hub's signature
    delegation = await signLedgerDelegation(ledger, ledger.publicKey)
    const v = await volunteerWith(hub, 3)
    await v.outbox.flush()
    expect(v.bus.snapshot.lastError).toMatch(/BadLedgerDelegationError/)
    expect(await v.store.credits()).toEqual([])
    expect(v.bus.snapshot.creditGranted).toBe(0)
    expect(await v.store.outboxCount()).toBe(0)

    // control: the same receipts, the delegation signed by the hub's own key
    delegation = await signLedgerDelegation(hub.key, ledger.publicKey)
    const w = await volunteerWith(hub, 3)
    await w.outbox.flush()
    expect(w.bus.snapshot.lastError).toBeNull()
    expect((await w.store.credits()).map(c => c.replicaId).sort()).toEqual(['r0', 'r1', 'r2'])
    expect(w.bus.snapshot.creditGranted).toBeGreaterThan(0)
  })

  it('an answer with fewer outcomes than results leaves every result in the outbox', async () => {
    const hub = await rogueHub(async req => ({
      outcomes: accepted(req).slice(1), credits: [], creditsUpTo: 0, ledgerSalt: new Uint8Array(0)
    }))
    const v = await volunteerWith(hub, 4)
    await v.outbox.flush()
    expect(v.bus.snapshot.lastError).toMatch(/MalformedMessageError|outcomes for 4 results/)
    expect(await v.store.outboxCount()).toBe(4)
    expect(v.bus.snapshot.resultsRejected).toBe(0)
  })
})
