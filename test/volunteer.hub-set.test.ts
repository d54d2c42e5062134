/**
 * Several hubs in one page: the store keeps two hubs' equal replica ids apart (and a version-2
 * database is re-keyed without losing a lease, result or ack), the counters are split per hub,
 * hub URLs are checked, and the hub set asks the hubs in turn, skips a failing one, hands each
 * result to the hub that leased it, remembers added hubs and drains a removed one before stopping it.
 */
import 'fake-indexeddb/auto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { BadHubUrlError, MAX_HUBS, checkHubUrls, hubInfoUrlOf, normalizeHubUrl } from '../src/protocol/hub-urls.ts'
import { toBase64, toCreditUnits } from '../src/protocol/index.ts'
import { HubSet } from '../src/volunteer/hub-set.ts'
import { creditFigures } from '../src/volunteer/receipts.ts'
import { VolunteerStore } from '../src/volunteer/store.ts'
import { dbName, lease, newBus, openStore } from './volunteer-fakes.ts'
import type { Lease } from '../src/protocol/index.ts'
import type { HubSession } from '../src/volunteer/hub-session.ts'
import type { StoredCredit } from '../src/volunteer/db.ts'
import type { RunReport } from '../src/volunteer/task-runner.ts'

const opened: VolunteerStore[] = []
afterEach(() => { for (const s of opened.splice(0)) s.close() })

const REPORT: RunReport = { outcome: 'success', output: new Uint8Array([1]), elapsedMs: 1, errorMessage: '' }

describe('hub URLs', () => {
  it('normalises to the base URL and refuses what is not one, by name', () => {
    expect(normalizeHubUrl(' https://hub.example/index.html ')).toBe('https://hub.example/')
    expect(normalizeHubUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/')
    expect(normalizeHubUrl('https://example.org/hubs/a/')).toBe('https://example.org/hubs/a/')
    expect(hubInfoUrlOf('https://example.org/hubs/a/')).toBe('https://example.org/hubs/a/hub.json')
    for (const bad of ['', 'hub.example', 'ftp://hub.example/', 'javascript:alert(1)', 'https://u:p@hub.example/', 'https://hub.example/?x=1', 'https://hub.example/#f', `https://hub.example/${'a'.repeat(200)}`, 42]) {
      expect(() => normalizeHubUrl(bad), String(bad)).toThrow(BadHubUrlError)
    }
    expect(checkHubUrls(['https://a.example', 'https://a.example/'])).toEqual(['https://a.example/'])
    expect(() => checkHubUrls('https://a.example/')).toThrow(BadHubUrlError)
    expect(() => checkHubUrls(Array.from({ length: MAX_HUBS + 1 }, (_, i) => `https://h${i}.example/`))).toThrow(BadHubUrlError)
  })
})

describe('the store with two hubs', () => {
  it('keeps two hubs\' equal replica ids apart: leases, outbox and acks', async () => {
    const store = await openStore()
    opened.push(store)
    for (const hub of ['hubA', 'hubB']) await store.putLease({ replicaId: 'job-1/wu-0/r0', hubPeerId: hub, lease: new Uint8Array([1]), storedAtMs: 1 })
    expect((await store.leaseReplicas()).length).toBe(2)
    await store.commitResult({ replicaId: 'job-1/wu-0/r0', hubPeerId: 'hubA', signed: new Uint8Array([2]), createdAtMs: 1, attempts: 0 }, 'primes-sieve/1')
    // A's lease became A's result; B's lease is still there
    expect(await store.leaseReplicas()).toEqual([{ hubPeerId: 'hubB', replicaId: 'job-1/wu-0/r0' }])
    expect(await store.outboxReplicas()).toEqual([{ hubPeerId: 'hubA', replicaId: 'job-1/wu-0/r0' }])
    await store.commitResult({ replicaId: 'job-1/wu-0/r0', hubPeerId: 'hubB', signed: new Uint8Array([3]), createdAtMs: 1, attempts: 0 }, 'primes-sieve/1')
    await store.acceptResult('hubB', 'job-1/wu-0/r0', { replicaId: 'job-1/wu-0/r0', hubPeerId: 'hubB', receipt: new Uint8Array([4]) })
    expect(await store.outboxReplicas()).toEqual([{ hubPeerId: 'hubA', replicaId: 'job-1/wu-0/r0' }])
    expect(await store.ackedReplicas()).toEqual([{ hubPeerId: 'hubB', replicaId: 'job-1/wu-0/r0' }])
    await store.rejectResult('hubA', 'job-1/wu-0/r0')
    expect(await store.outboxCount()).toBe(0)
    expect(await store.getMeta('unitsDone')).toBe(2)
  })

  it('re-keys a version-2 database by hub without losing a lease, a result or an ack', async () => {
    const name = dbName()
    // the version-2 layout, as pages before this change made it
    const old = await openDB(name, 2, {
      upgrade (db) {
        db.createObjectStore('identity')
        db.createObjectStore('leases', { keyPath: 'replicaId' })
        db.createObjectStore('outbox', { keyPath: 'replicaId' })
        db.createObjectStore('acks', { keyPath: 'replicaId' })
        db.createObjectStore('credits', { keyPath: ['hubPeerId', 'seq'] }).createIndex('byReplica', 'replicaId')
        db.createObjectStore('meta')
        db.createObjectStore('blobs', { keyPath: 'cid' })
      }
    })
    await old.put('leases', { replicaId: 'r-lease', hubPeerId: 'hubA', lease: new Uint8Array([1]), storedAtMs: 5 })
    await old.put('outbox', { replicaId: 'r-out', hubPeerId: 'hubA', signed: new Uint8Array([2]), createdAtMs: 6, attempts: 1 })
    await old.put('acks', { replicaId: 'r-ack', hubPeerId: 'hubA', receipt: new Uint8Array([3]) })
    await old.put('meta', 7, 'unitsDone')
    old.close()
    const store = await VolunteerStore.open(name)
    opened.push(store)
    expect(store.db.version).toBe(3)
    expect(await store.leases()).toEqual([{ replicaId: 'r-lease', hubPeerId: 'hubA', lease: new Uint8Array([1]), storedAtMs: 5 }])
    expect((await store.outbox())[0]).toMatchObject({ replicaId: 'r-out', hubPeerId: 'hubA', attempts: 1 })
    expect(await store.ackedReplicas()).toEqual([{ hubPeerId: 'hubA', replicaId: 'r-ack' }])
    expect(await store.getMeta('unitsDone')).toBe(7)
    // and the new keys work: the same id from another hub is another record
    await store.putLease({ replicaId: 'r-lease', hubPeerId: 'hubB', lease: new Uint8Array([9]), storedAtMs: 8 })
    expect((await store.leases()).length).toBe(2)
  })

  it('keeps the added hubs in meta, and reads a malformed list as none', async () => {
    const store = await openStore()
    opened.push(store)
    await store.putMeta('hubs', [{ url: 'https://b.example/', addedAtMs: 1 }])
    expect(await store.getMeta('hubs')).toEqual([{ url: 'https://b.example/', addedAtMs: 1 }])
    await store.db.put('meta', [{ url: 'not a url', addedAtMs: 1 }] as never, 'hubs')
    expect(await store.getMeta('hubs')).toBeUndefined()
  })
})

describe('counters per hub', () => {
  const credit = (hubPeerId: string, seq: number, replicaId: string, amount: number, ledgerPeerId?: string): StoredCredit =>
    ({ hubPeerId, seq, replicaId, credit: amount, creditUnits: toCreditUnits(amount), receipt: new Uint8Array(0), ...(ledgerPeerId != null ? { ledgerPeerId } : {}) })

  it('splits leases, outbox, pending, validated and credit by hub; equal replica ids of two hubs stay apart', () => {
    const f = creditFigures({
      credits: [credit('hubA', 1, 'job-1/wu-0/r0', 10, 'hubA'), credit('hubB', 1, 'job-1/wu-1/r0', 5, 'hubB'), credit('hubB', 2, 'job-1/wu-1/r0', -5, 'hubB')],
      // A's ack of wu-0/r0 has its receipt; B's ack of the same id has none yet: pending at B only
      acked: [{ hubPeerId: 'hubA', replicaId: 'job-1/wu-0/r0' }, { hubPeerId: 'hubB', replicaId: 'job-1/wu-0/r0' }],
      outbox: [{ hubPeerId: 'hubA', replicaId: 'job-1/wu-2/r0' }],
      leases: [{ hubPeerId: 'hubB', replicaId: 'job-1/wu-3/r1' }, { hubPeerId: 'hubB', replicaId: 'job-1/wu-4/r1' }],
      ledgerKeys: {}
    })
    expect(f.perHub.hubA).toEqual({ leases: 0, outbox: 1, pending: 1, validated: 1, credit: 10 })
    expect(f.perHub.hubB).toEqual({ leases: 2, outbox: 0, pending: 1, validated: 0, credit: 0 })
    expect({ pending: f.pending, validated: f.validated, credit: f.credit }).toEqual({ pending: 2, validated: 1, credit: 10 })
  })

  it('counts one ledger entry fetched through two hubs of one deployment once, and matches an ack to it through the ledger key', async () => {
    const ledger = await generateKeyPair('Ed25519')
    const ledgerPeerId = peerIdFromPrivateKey(ledger).toString()
    const ledgerKey = toBase64(publicKeyToProtobuf(ledger.publicKey))
    const records = {
      credits: [credit('hub1', 7, 'r', 3, ledgerPeerId), credit('hub2', 7, 'r', 3, ledgerPeerId)],
      // acked through hub1, the receipt kept as fetched through hub2 (the later one of the two wins)
      acked: [{ hubPeerId: 'hub1', replicaId: 'r' }],
      outbox: [],
      leases: []
    }
    // hub1 presented the ledger key: its ack matches the receipt that key signed
    const f = creditFigures({ ...records, ledgerKeys: { hub1: { ledgerKey } } })
    expect({ credit: f.credit, validated: f.validated, pending: f.pending }).toEqual({ credit: 3, validated: 1, pending: 0 })
    // without knowing hub1's ledger key the ack finds no receipt: still pending
    expect(creditFigures({ ...records, ledgerKeys: {} }).pending).toBe(1)
  })
})

/** A session as the hub set uses it: a queue of leases, recorded results, a stop flag. */
function fakeSession (url: string, primary: boolean, hubPeerId: string, leases: Lease[], opts: { fail?: boolean } = {}) {
  const running = new Set<string>()
  const state = { recorded: [] as string[], released: [] as string[], storedReleases: 0, stopped: false, errors: [] as string[], flushed: 0 }
  const session = {
    url, primary, hubPeerId, hub: null,
    sink: { error: (c: string, e: Error) => { state.errors.push(`${c}: ${e.message}`) } },
    workFetch: {
      running,
      take: async () => {
        if (opts.fail === true) throw new Error('hub down')
        const l = leases.shift()
        if (l == null) return { retryAfterMs: 4000 }
        running.add(l.replicaId)
        return { lease: l, stored: false, hubPeerId }
      },
      finish: (id: string) => { running.delete(id) },
      putBack: (id: string) => { running.delete(id) },
      release: async (id: string) => { running.delete(id); state.released.push(id) },
      releaseStored: async () => { state.storedReleases++ },
      reportPause: async () => {}
    },
    outbox: { record: async (l: Lease) => { state.recorded.push(l.replicaId) }, flush: async () => { state.flushed++ } },
    stop: async () => { state.stopped = true }
  }
  return { session: session as unknown as HubSession, state }
}

async function hubSet (sessions: Record<string, ReturnType<typeof fakeSession>>, store?: VolunteerStore) {
  const s = store ?? await openStore()
  opened.push(s)
  const bus = newBus()
  const set = new HubSet({
    primaryUrl: 'https://a.example/', bus, store: s, allowAdding: true,
    makeSession: url => { const f = sessions[url]; if (f == null) throw new Error(`no fake for ${url}`); return f.session },
    startSession: () => {}
  })
  await set.start()
  return { set, bus, store: s }
}

describe('the hub set', () => {
  it('asks the hubs in turn, skips a failing one (its error on its own sink), and routes each result to its hub', async () => {
    const a = fakeSession('https://a.example/', true, 'hubA', [lease('job-1/wu-0/r0'), lease('job-1/wu-1/r0')])
    const b = fakeSession('https://b.example/', false, 'hubB', [lease('job-1/wu-0/r0'), lease('job-1/wu-1/r0')])
    const c = fakeSession('https://c.example/', false, 'hubC', [], { fail: true })
    const { set, bus } = await hubSet({ 'https://a.example/': a, 'https://b.example/': b, 'https://c.example/': c })
    await set.add('https://b.example')
    await set.add('https://c.example/')
    expect(bus.get('hubs').map(h => h.url)).toEqual(['https://a.example/', 'https://b.example/', 'https://c.example/'])
    const signal = new AbortController().signal
    const taken: string[] = []
    for (let i = 0; i < 4; i++) {
      const next = await set.take(signal)
      if (!('lease' in next)) throw new Error('expected a lease')
      taken.push(`${next.hubPeerId} ${next.lease.replicaId}`)
      await set.record(next.lease, REPORT, next.hubPeerId)
      set.finish(next.hubPeerId, next.lease.replicaId)
    }
    expect(taken).toEqual(['hubA job-1/wu-0/r0', 'hubB job-1/wu-0/r0', 'hubA job-1/wu-1/r0', 'hubB job-1/wu-1/r0'])
    expect(a.state.recorded).toEqual(['job-1/wu-0/r0', 'job-1/wu-1/r0'])
    expect(b.state.recorded).toEqual(['job-1/wu-0/r0', 'job-1/wu-1/r0'])
    expect(c.state.errors.length).toBeGreaterThan(0)
    expect(c.state.errors[0]).toBe('work fetch: hub down')
    // nothing left anywhere: the shortest wait asked for (the failing hub's 2 s)
    expect(await set.take(signal)).toEqual({ retryAfterMs: 2000 })
    await set.release('hubB', 'x', 'failed')
    expect(b.state.released).toEqual(['x'])
    await expect(set.record(lease('y'), REPORT, 'nobody')).rejects.toThrow(/no session/)
  })

  it('a hub whose units run long holds no more slots than another hub with work: the one running fewest goes first', async () => {
    const a = fakeSession('https://a.example/', true, 'hubA', Array.from({ length: 5 }, (_, i) => lease(`a${i}`)))
    const b = fakeSession('https://b.example/', false, 'hubB', Array.from({ length: 5 }, (_, i) => lease(`b${i}`)))
    const { set } = await hubSet({ 'https://a.example/': a, 'https://b.example/': b })
    await set.add('https://b.example/')
    const signal = new AbortController().signal
    const take = async (): Promise<{ hub: string, id: string }> => {
      const next = await set.take(signal)
      if (!('lease' in next)) throw new Error('expected a lease')
      return { hub: next.hubPeerId, id: next.lease.replicaId }
    }
    // slot 1 takes A's first unit, slot 2 B's, which never ends (a deadline of hours)
    const first = await take()
    const hog = await take()
    expect([first.hub, hog.hub]).toEqual(['hubA', 'hubB'])
    set.finish(first.hub, first.id)
    // slot 1 keeps taking A's units while B holds its one slot: B never gets a second
    for (let i = 0; i < 3; i++) {
      const next = await take()
      expect(next.hub).toBe('hubA')
      set.finish(next.hub, next.id)
    }
    // once B's unit ends, the two go in turn again
    set.finish(hog.hub, hog.id)
    const after = [await take(), await take()]
    expect(after.map(t => t.hub).sort()).toEqual(['hubA', 'hubB'])
  })

  it('refuses a malformed URL, the same hub twice, the own hub, and more than MAX_HUBS, by name; remembers added hubs across a restart', async () => {
    const fakes: Record<string, ReturnType<typeof fakeSession>> = { 'https://a.example/': fakeSession('https://a.example/', true, 'hubA', []) }
    for (let i = 0; i <= MAX_HUBS; i++) fakes[`https://h${i}.example/`] = fakeSession(`https://h${i}.example/`, false, `hub${i}`, [])
    const { set, store } = await hubSet(fakes)
    await expect(set.add('nonsense')).rejects.toThrow(BadHubUrlError)
    await expect(set.add('https://a.example/')).rejects.toThrow(/already working for/)
    for (let i = 0; i < MAX_HUBS; i++) await set.add(`https://h${i}.example/`)
    await expect(set.add('https://h0.example/')).rejects.toThrow(/already working for/)
    await expect(set.add(`https://h${MAX_HUBS}.example/`)).rejects.toThrow(BadHubUrlError)
    await expect(set.remove('https://a.example/')).rejects.toThrow(/cannot be removed/)
    await expect(set.remove('https://z.example/')).rejects.toThrow(/not working for/)
    expect((await store.getMeta('hubs'))?.map(h => h.url)).toEqual(Array.from({ length: MAX_HUBS }, (_, i) => `https://h${i}.example/`))
    // a new page on the same database works for the same hubs again
    const again = new HubSet({ primaryUrl: 'https://a.example/', bus: newBus(), store, allowAdding: true, makeSession: url => fakes[url].session, startSession: () => {} })
    await again.start()
    expect(again.all.map(s => s.url)).toEqual(['https://a.example/', ...Array.from({ length: MAX_HUBS }, (_, i) => `https://h${i}.example/`)])
    // a page that adds no hubs (the embed frame) refuses and ignores the stored ones
    const embed = new HubSet({ primaryUrl: 'https://a.example/', bus: newBus(), store, allowAdding: false, makeSession: url => fakes[url].session, startSession: () => {} })
    await embed.start()
    expect(embed.all.length).toBe(1)
    await expect(embed.add('https://h0.example/')).rejects.toThrow(BadHubUrlError)
  })

  it('a removed hub takes no new work and stops once the unit it runs is done; its result still goes to it', async () => {
    const a = fakeSession('https://a.example/', true, 'hubA', [])
    const b = fakeSession('https://b.example/', false, 'hubB', [lease('b1'), lease('b2')])
    const { set, store } = await hubSet({ 'https://a.example/': a, 'https://b.example/': b })
    await set.add('https://b.example/')
    const signal = new AbortController().signal
    const next = await set.take(signal)
    if (!('lease' in next)) throw new Error('expected a lease')
    expect(next.hubPeerId).toBe('hubB')
    await set.remove('https://b.example/')
    expect(await store.getMeta('hubs')).toEqual([])
    expect(b.state.stopped).toBe(false)
    // no new work from it while it drains
    expect(await set.take(signal)).toEqual({ retryAfterMs: 4000 })
    await set.record(next.lease, REPORT, 'hubB')
    set.finish('hubB', next.lease.replicaId)
    await expect.poll(() => b.state.stopped).toBe(true)
    expect(b.state.recorded).toEqual(['b1'])
    expect(b.state.storedReleases).toBe(1)
    expect(b.state.flushed).toBe(1)
    expect(set.all.map(s => s.url)).toEqual(['https://a.example/'])
  })
})
