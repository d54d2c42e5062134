/**
 * The outbox, receipts and the typed store, driven with fakes for their dependencies: a fake hub
 * link (no libp2p), the real VolunteerStore over fake-indexeddb, a real Ed25519 hub key.
 */
import 'fake-indexeddb/auto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { ResultPayload, SignedResult, encodePrimesOutput, sha256Bytes, signReceipt, verifySignedResult } from '../src/protocol/index.ts'
import { Outbox, batchesOf } from '../src/volunteer/outbox.ts'
import { Receipts } from '../src/volunteer/receipts.ts'
import { FakeLink, accepted, dbName, fakeHub, lease, newBus, openStore } from './volunteer-fakes.ts'
import type { RunReport } from '../src/volunteer/task-runner.ts'
import type { VolunteerStore } from '../src/volunteer/store.ts'
import type { FakeHub } from './volunteer-fakes.ts'
import type { PrivateKey } from '@libp2p/interface'

const report = (count = 168): RunReport => ({ outcome: 'success', output: encodePrimesOutput(count), elapsedMs: 12, errorMessage: '' })

const opened: VolunteerStore[] = []
afterEach(() => { for (const s of opened.splice(0)) s.close() })

async function parts (opts: { name?: string, hub: FakeHub, key: PrivateKey, link?: FakeLink, connected?: boolean, adapter?: { vendor: string, architecture: string } | null }) {
  const store = await openStore(opts.name)
  opened.push(store)
  const bus = newBus()
  const link = opts.link ?? new FakeLink()
  const peerId = peerIdFromPrivateKey(opts.key).toString()
  let connected = opts.connected ?? true
  const hubPeerId = (): string | null => connected ? opts.hub.peer.toString() : null
  const receipts = new Receipts({
    store, link, bus, peerId, hub: () => connected ? opts.hub : null, flushOutbox: async () => { await outbox.flush() }, running: () => false, pollMs: 10
  })
  const outbox: Outbox = new Outbox({ store, link, bus, key: opts.key, hubPeerId, receipts, adapter: () => opts.adapter ?? null })
  outbox.start()
  receipts.start()
  return { store, bus, link, outbox, receipts, peerId, setConnected: (c: boolean) => { connected = c } }
}

describe('outbox', () => {
  it('publishes a unit done and its result pending in the same state: no reader sees one without the other', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key, connected: false })
    const seen: Array<{ unitsDone: number, resultsPending: number, resultsValidated: number }> = []
    p.bus.subscribe(s => { seen.push({ unitsDone: s.unitsDone, resultsPending: s.resultsPending, resultsValidated: s.resultsValidated }) })
    for (const id of ['r1', 'r2']) {
      await p.store.putLease({ replicaId: id, hubPeerId: hub.peer.toString(), lease: new Uint8Array([1]), storedAtMs: 0 })
      await p.outbox.record(lease(id), report(), hub.peer.toString())
    }
    await p.outbox.flush() // the flush each record started has refreshed the counters too
    expect(seen.at(-1)).toEqual({ unitsDone: 2, resultsPending: 2, resultsValidated: 0 })
    // every state published on the way: each unit done is pending (or validated) in it
    expect(seen.filter(s => s.unitsDone > s.resultsPending + s.resultsValidated)).toEqual([])
    await p.outbox.stop()
  })

  it('signs, keeps the result while the hub is away, re-sends it after a restart and deletes it once accepted', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const name = dbName()
    const first = await parts({ name, hub, key, connected: false })
    await first.store.putLease({ replicaId: 'r1', hubPeerId: hub.peer.toString(), lease: new Uint8Array([1]), storedAtMs: 0 })
    await first.outbox.record(lease('r1'), report(), hub.peer.toString())
    await first.outbox.flush()
    expect(first.link.resultRequests).toHaveLength(0)
    expect(await first.store.outboxCount()).toBe(1)
    expect(await first.store.leases()).toEqual([]) // the lease went with the result, in one transaction
    expect(first.bus.snapshot).toMatchObject({ unitsDone: 1, unitsByKernel: { 'primes-sieve/1': 1 }, resultsPending: 1 })
    await first.outbox.stop()
    first.store.close()

    // a reload: a new outbox over the same database, now connected
    const second = await parts({ name, hub, key })
    await second.outbox.refresh()
    expect(second.bus.snapshot).toMatchObject({ unitsDone: 1, resultsPending: 1 })
    await second.outbox.flush()
    expect(second.link.resultRequests).toHaveLength(1)
    const sent = second.link.resultRequests[0].result!
    const verified = await verifySignedResult(sent)
    expect(verified.payload.replicaId).toBe('r1')
    expect(verified.signerPeerId).toBe(second.peerId)
    expect(ResultPayload.decode(SignedResult.decode(SignedResult.encode(sent)).payload).deviceClass).toBe('wasm')
    expect(await second.store.outboxCount()).toBe(0)
    // accepted with no receipt yet: pending until the credit arrives
    expect(second.bus.snapshot.resultsPending).toBe(0)
  })

  it('keeps the result on a network failure, counts a refusal and drops the refused result', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    p.link.onResult = () => { throw new Error('stream reset') }
    await p.outbox.record(lease('r1'), report(), hub.peer.toString())
    await p.outbox.flush()
    expect(await p.store.outboxCount()).toBe(1)
    expect(p.bus.snapshot.lastError).toBe('submit: stream reset')
    p.link.onResult = () => ({ status: 'rejected', error: 'LeaseExpiredError', message: 'too late', credits: [], creditsUpTo: 0, ledgerSalt: new Uint8Array(0) })
    await p.outbox.flush()
    expect(await p.store.outboxCount()).toBe(0)
    expect(p.bus.snapshot).toMatchObject({ resultsRejected: 1, lastError: 'result refused: LeaseExpiredError: too late' })
    expect(await p.store.getMeta('resultsRejected')).toBe(1)
  })

  it('reports a webgpu result with its device class webgpu:<vendor>/<architecture>', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key, adapter: { vendor: 'Google', architecture: 'SwiftShader' } })
    await p.outbox.record(lease('t1', 'matmul-f32/1'), { ...report(), deviceClass: 'webgpu' }, hub.peer.toString())
    await p.outbox.flush()
    const payload = ResultPayload.decode(p.link.resultRequests[0].result!.payload)
    expect(payload.deviceClass).toBe('webgpu:google/swiftshader')
    expect(p.bus.snapshot.unitsByKernel).toEqual({ 'matmul-f32/1': 1 })
  })

  it('signs a client error with no output, whatever bytes its report held', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    await p.outbox.record(lease('c1'), { outcome: 'client-error', output: new Uint8Array(1 << 20), elapsedMs: 3, errorMessage: 'KernelRunError: trapped' }, hub.peer.toString())
    await p.outbox.flush()
    const payload = ResultPayload.decode(p.link.resultRequests[0].result!.payload)
    expect(payload).toMatchObject({ outcome: 'client-error', errorMessage: 'KernelRunError: trapped' })
    expect(payload.output).toHaveLength(0)
    expect(payload.outputSha256).toEqual(sha256Bytes(new Uint8Array(0)))
  })
})

describe('receipts', () => {
  it('keeps receipts that verify against the hub key and credit this peer; refuses a forged one and one for another peer', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    const forger = await generateKeyPair('Ed25519')
    const good = await hub.receipt(1, p.peerId, 'r1', 5)
    const forged = await signReceipt(good.body, forger)
    const other = await hub.receipt(2, 'someone-else', 'r2', 7)
    const edited = { ...(await hub.receipt(3, p.peerId, 'r3', 1)), body: (await hub.receipt(3, p.peerId, 'r3', 100)).body }
    await p.receipts.accept({ credits: [forged, other, edited] })
    expect(await p.store.credits()).toEqual([])
    expect(p.bus.snapshot.lastError).toMatch(/^receipt refused: /)
    await p.receipts.accept({ credits: [good] })
    await p.receipts.refresh()
    expect(p.bus.snapshot).toMatchObject({ resultsValidated: 1, creditGranted: 5 })
    expect(p.receipts.after).toBe(1)
  })

  it('counts grants less reversals as validated results; an entry with no amount (a payout binding) is none', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    await p.receipts.accept({ credits: [await hub.receipt(1, p.peerId, 'r1', 2), await hub.receipt(2, p.peerId, 'r2', 3), await hub.receipt(3, p.peerId, 'payout-binding/3', 0), await hub.receipt(4, p.peerId, 'r2/reversal', -3)] })
    await p.receipts.refresh()
    expect(p.bus.snapshot).toMatchObject({ resultsValidated: 1, creditGranted: 2 })
  })

  it('sync pages through every receipt after the newest held', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    const all = await Promise.all([1, 2, 3, 4, 5].map(async seq => await hub.receipt(seq, p.peerId, `r${seq}`)))
    p.link.onResult = req => accepted(all.filter((_, i) => i + 1 > req.receiptsAfter).slice(0, 2))
    await p.receipts.sync()
    expect(p.link.resultRequests.map(r => r.receiptsAfter)).toEqual([0, 2, 4, 5])
    expect(p.bus.snapshot).toMatchObject({ resultsValidated: 5, creditGranted: 5 })
  })

  it('polls while results are pending, and stop() ends the loop', async () => {
    const hub = await fakeHub()
    const key = await generateKeyPair('Ed25519')
    const p = await parts({ hub, key })
    p.link.onResult = () => { throw new Error('hub away') }
    await p.outbox.record(lease('r1'), report(), hub.peer.toString())
    let receiptFor = ''
    p.link.onResult = async req => {
      if (req.result != null) {
        receiptFor = ResultPayload.decode(req.result.payload).replicaId
        return { ...accepted(), ack: await hub.receipt(0, p.peerId, receiptFor) } // an ack: pending until credited
      }
      return accepted(receiptFor !== '' ? [await hub.receipt(1, p.peerId, receiptFor, 2)] : [])
    }
    p.receipts.kick()
    await expect.poll(() => p.bus.snapshot.resultsValidated, { timeout: 2000, interval: 10 }).toBe(1)
    expect(p.bus.snapshot).toMatchObject({ resultsPending: 0, creditGranted: 2 })
    await p.receipts.stop()
    const before = p.link.resultRequests.length
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(p.link.resultRequests.length).toBe(before)
  })
})

describe('typed meta store', () => {
  it('reads each key back with its own type, and a value of the wrong shape as undefined', async () => {
    const store = await openStore()
    opened.push(store)
    await store.putMeta('running', true)
    await store.putMeta('unitsDone', 3)
    await store.putMeta('unitsByKernel', { 'primes-sieve/1': 3 })
    await store.putMeta('governor', { cpuShare: 0.3, gpuShare: 0.5 })
    const running: boolean | undefined = await store.getMeta('running')
    const units: number | undefined = await store.getMeta('unitsDone')
    expect({ running, units, byKernel: await store.getMeta('unitsByKernel'), governor: await store.getMeta('governor') })
      .toEqual({ running: true, units: 3, byKernel: { 'primes-sieve/1': 3 }, governor: { cpuShare: 0.3, gpuShare: 0.5 } })
    expect(await store.getMeta('resultsRejected')).toBeUndefined()
    await store.db.put('meta', 'three' as never, 'unitsDone')
    expect(await store.getMeta('unitsDone')).toBeUndefined()
  })
})

describe('result/2.0.0 batches', () => {
  it('keep the outbox order, at most MAX_RESULTS_PER_BATCH results and the byte budget a batch; an oversized result goes alone', async () => {
    const { MAX_RESULTS_PER_BATCH, MAX_RESULT_BATCH_BYTES, MAX_OUTPUT_BYTES } = await import('../src/protocol/index.ts')
    const entry = (id: number, bytes: number): { id: number, signed: Uint8Array } => ({ id, signed: new Uint8Array(bytes) })
    // small ones, two near the output cap, one too large to batch, then more small ones
    const sizes = [...Array(70).fill(200), MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES + 8192, ...Array(5).fill(200), ...Array(40).fill(30_000)]
    const entries = sizes.map((b, i) => entry(i, b))
    const groups = batchesOf(entries)
    expect(groups.flat().map(e => e.id)).toEqual(entries.map(e => e.id))
    for (const g of groups) {
      expect(g.length).toBeGreaterThan(0)
      expect(g.length).toBeLessThanOrEqual(MAX_RESULTS_PER_BATCH)
      if (g.length > 1) expect(g.reduce((n, e) => n + e.signed.length + 16, 0)).toBeLessThanOrEqual(MAX_RESULT_BATCH_BYTES - 64 * 1024)
    }
    const alone = groups.find(g => g.some(e => e.signed.length > MAX_OUTPUT_BYTES + 4096))
    expect(alone).toHaveLength(1)
    expect(groups[0]).toHaveLength(MAX_RESULTS_PER_BATCH)
  })
})
