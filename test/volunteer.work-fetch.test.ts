/**
 * Work fetch and the hub link, with fakes: the request carries the page's capabilities, give-backs
 * carry their reason, stored leases come first (expired ones dropped), and a hub without
 * /sparecycles/work/2.0.0 is asked over work/1.0.0 (1.1.0 with a site key) instead.
 */
import 'fake-indexeddb/auto'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Lease, RESULT_PROTOCOL_V2, RESULT_PROTOCOL_V3, ResultPayload, WORK_PROTOCOL, WORK_PROTOCOL_V2, WORK_SITE_PROTOCOL, checkWorkRequestV2, MalformedMessageError, signResult } from '../src/protocol/index.ts'
import { buildCapabilities, memoryEstimateBytes, probeAdapter } from '../src/volunteer/device.ts'
import { Libp2pHubLink, legacyWorkRequest } from '../src/volunteer/hub-client.ts'
import { WorkFetch } from '../src/volunteer/work-fetch.ts'
import { FakeLink, fakeHub, lease, newBus, openStore } from './volunteer-fakes.ts'
import type { AdapterInfo } from '../src/volunteer/device.ts'
import type { VolunteerStore } from '../src/volunteer/store.ts'
import type { ProtocolNode } from '../src/protocol/index.ts'

const ADAPTER: AdapterInfo = {
  vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader', fallback: true,
  maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 134217728, maxBufferSize: 268435456
}

const opened: VolunteerStore[] = []
afterEach(() => { for (const s of opened.splice(0)) s.close() })

describe('capabilities', () => {
  it('a full page: wasm + webgpu, both built-in kernels, ABI 1, the adapter and its limits, memory', () => {
    const caps = buildCapabilities({ wasmSlots: 2, gpuWorker: true, kernelAbis: [1] }, ADAPTER, memoryEstimateBytes(8))
    expect(caps).toEqual({
      backends: ['wasm', 'webgpu'], kernels: ['primes-sieve/1', 'matmul-f32/1'], kernelAbis: [1], memoryBytes: 8 * 2 ** 30,
      gpu: { vendor: 'google', architecture: 'swiftshader', fallback: true, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 134217728, maxBufferSize: 268435456 }
    })
    const req = { maxUnits: 1, release: [], capabilities: caps, siteKey: '', siteOrigin: '', paused: [], holding: [], reportsHolding: false }
    expect(() => checkWorkRequestV2(req)).not.toThrow()
    // what the page holds: at most 256 short ids, and only with reportsHolding
    expect(() => checkWorkRequestV2({ ...req, holding: Array(256).fill('r1'), reportsHolding: true })).not.toThrow()
    expect(() => checkWorkRequestV2({ ...req, holding: Array(257).fill('r1'), reportsHolding: true })).toThrow(MalformedMessageError)
    expect(() => checkWorkRequestV2({ ...req, holding: ['x'.repeat(129)], reportsHolding: true })).toThrow(MalformedMessageError)
    expect(() => checkWorkRequestV2({ ...req, holding: ['r1'] })).toThrow(MalformedMessageError)
  })

  it('a GPU worker without an adapter offers matmul (WASM SIMD) but not webgpu; the embed frame offers no kernel ABI', () => {
    expect(buildCapabilities({ wasmSlots: 1, gpuWorker: true, kernelAbis: [1] }, null, 0))
      .toEqual({ backends: ['wasm'], kernels: ['primes-sieve/1', 'matmul-f32/1'], kernelAbis: [1], memoryBytes: 0 })
    expect(buildCapabilities({ wasmSlots: 1, gpuWorker: false, kernelAbis: [] }, ADAPTER, 0))
      .toEqual({ backends: ['wasm'], kernels: ['primes-sieve/1'], kernelAbis: [], memoryBytes: 0 })
  })

  it('probeAdapter reads info and limits, and gives null without navigator.gpu or after its timeout', async () => {
    const signal = new AbortController().signal
    const nav = { gpu: { requestAdapter: async () => ({ info: { vendor: 'v', architecture: 'a', description: 'd', isFallbackAdapter: false }, limits: { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 } }) } }
    expect(await probeAdapter(signal, nav)).toEqual({ vendor: 'v', architecture: 'a', description: 'd', fallback: false, maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 })
    expect(await probeAdapter(signal, {})).toBeNull()
    expect(await probeAdapter(signal, { gpu: { requestAdapter: async () => await new Promise(() => {}) } }, 20)).toBeNull()
  })
})

async function workFetch (opts: { siteKey?: string, hubPeerId?: string | null, connected?: () => boolean } = {}) {
  const store = await openStore()
  opened.push(store)
  const link = new FakeLink()
  const bus = newBus()
  const hub = opts.hubPeerId === undefined ? (await fakeHub()).peer.toString() : opts.hubPeerId
  const caps = buildCapabilities({ wasmSlots: 1, gpuWorker: false, kernelAbis: [] }, null, 0)
  const wf = new WorkFetch({ store, link, bus, hubPeerId: () => hub, capabilities: () => caps, siteKey: opts.siteKey, connected: opts.connected })
  wf.start()
  return { store, link, bus, wf, hub: hub ?? '' }
}

const signal = new AbortController().signal

describe('work fetch', () => {
  it('leases with the capabilities and the site key, stores the lease, and asks again after retryAfterMs when none', async () => {
    const { store, link, wf, hub } = await workFetch({ siteKey: 'site_example_partner_01' })
    link.onWork = () => ({ leases: [lease('r1')], retryAfterMs: 0, error: '', message: '' })
    const got = await wf.take(signal)
    expect(got).toMatchObject({ lease: { replicaId: 'r1' }, stored: false, hubPeerId: hub })
    expect(link.workRequests[0]).toMatchObject({ maxUnits: 1, release: [], siteKey: 'site_example_partner_01', capabilities: { backends: ['wasm'], kernels: ['primes-sieve/1'] } })
    expect((await store.leases()).map(l => l.replicaId)).toEqual(['r1'])
    link.onWork = () => ({ leases: [], retryAfterMs: 50_000, error: '', message: '' })
    expect(await wf.take(signal)).toEqual({ retryAfterMs: 10_000 })
    link.onWork = () => ({ leases: [], retryAfterMs: 0, error: 'MalformedMessageError', message: 'bad' })
    await expect(wf.take(signal)).rejects.toThrow('MalformedMessageError: bad')
  })

  it('hands out stored leases first (not twice, expired ones dropped), without asking the hub', async () => {
    const { store, link, wf, hub } = await workFetch()
    await store.putLease({ replicaId: 'old', hubPeerId: hub, lease: Lease.encode(lease('old', 'primes-sieve/1', { leaseExpiresAtMs: Date.now() - 1 })), storedAtMs: 0 })
    await store.putLease({ replicaId: 'kept', hubPeerId: hub, lease: Lease.encode(lease('kept')), storedAtMs: 0 })
    await store.putLease({ replicaId: 'other-hub', hubPeerId: 'another', lease: Lease.encode(lease('other-hub')), storedAtMs: 0 })
    expect(await wf.take(signal)).toMatchObject({ lease: { replicaId: 'kept' }, stored: true })
    expect(link.workRequests).toHaveLength(0)
    expect(await wf.take(signal)).toEqual({ retryAfterMs: 1000 })
    expect((await store.leases()).map(l => l.replicaId).sort()).toEqual(['kept', 'other-hub'])
  })

  it('a lease request lists what the page holds for this hub (stored leases, results in the outbox), so the hub can resend what it lost', async () => {
    const { store, link, wf, hub } = await workFetch()
    await store.putLease({ replicaId: 'running', hubPeerId: hub, lease: Lease.encode(lease('running')), storedAtMs: 0 })
    await store.putLease({ replicaId: 'elsewhere', hubPeerId: 'another', lease: Lease.encode(lease('elsewhere')), storedAtMs: 0 })
    expect(await wf.take(signal)).toMatchObject({ lease: { replicaId: 'running' } })
    await store.putLease({ replicaId: 'done', hubPeerId: hub, lease: Lease.encode(lease('done')), storedAtMs: 0 })
    await store.commitResult({ replicaId: 'done', hubPeerId: hub, signed: new Uint8Array([1]), createdAtMs: 0, attempts: 0 }, 'primes-sieve/1')
    link.onWork = () => ({ leases: [lease('new')], retryAfterMs: 0, error: '', message: '' })
    await wf.take(signal)
    expect(link.workRequests[0]).toMatchObject({ maxUnits: 1, reportsHolding: true })
    expect([...link.workRequests[0].holding].sort()).toEqual(['done', 'running'])
    // the pause report and give-backs lease nothing: no list
    await wf.release('new', 'cannot-run')
    expect(link.workRequests.at(-1)).toMatchObject({ maxUnits: 0, reportsHolding: false, holding: [] })
  })

  it('while the hub is away, stored leases still run but no new one is asked for', async () => {
    let connected = false
    const { store, link, wf, hub } = await workFetch({ connected: () => connected })
    await store.putLease({ replicaId: 'kept', hubPeerId: hub, lease: Lease.encode(lease('kept')), storedAtMs: 0 })
    expect(await wf.take(signal)).toMatchObject({ lease: { replicaId: 'kept' }, stored: true })
    expect(await wf.take(signal)).toEqual({ retryAfterMs: 1000 })
    expect(link.workRequests).toHaveLength(0)
    connected = true
    await wf.take(signal)
    expect(link.workRequests).toHaveLength(1)
  })

  it('gives leases back with the right reason and forgets them once the hub answered', async () => {
    const { store, link, wf, hub } = await workFetch()
    for (const id of ['a', 'b', 'c']) await store.putLease({ replicaId: id, hubPeerId: hub, lease: Lease.encode(lease(id)), storedAtMs: 0 })
    await wf.take(signal) // 'a' is checked out
    await wf.release('a', 'cannot-run')
    expect(link.workRequests.at(-1)).toMatchObject({ maxUnits: 0, release: [{ replicaId: 'a', reason: 'cannot-run' }] })
    await wf.take(signal) // 'b'
    await wf.releaseStored('stopped')
    expect(link.workRequests.at(-1)!.release).toEqual([{ replicaId: 'c', reason: 'stopped' }])
    await wf.releaseStored('stopped', { alsoCheckedOut: true })
    expect(link.workRequests.at(-1)!.release).toEqual([{ replicaId: 'b', reason: 'stopped' }])
    expect(await store.leases()).toEqual([])
  })

  it('a failed give-back keeps the lease stored and says so', async () => {
    const { store, link, bus, wf, hub } = await workFetch()
    await store.putLease({ replicaId: 'a', hubPeerId: hub, lease: Lease.encode(lease('a')), storedAtMs: 0 })
    link.onWork = () => { throw new Error('no route') }
    await wf.release('a', 'failed')
    expect(bus.snapshot.lastError).toBe('release: no route')
    expect((await store.leases()).map(l => l.replicaId)).toEqual(['a'])
  })

  it('stop() aborts a request in flight', async () => {
    const { link, wf } = await workFetch()
    let seen: AbortSignal | undefined
    link.work = async (_req, s) => { seen = s; return await new Promise((_resolve, reject) => { s.addEventListener('abort', () => { reject(s.reason) }) }) }
    const pending = wf.take(signal)
    await new Promise(resolve => setTimeout(resolve, 10))
    wf.stop()
    await expect(pending).rejects.toThrow()
    expect(seen?.aborted).toBe(true)
  })
})

/**
 * A node whose dialProtocol refuses protocols not in `speaks` (UnsupportedProtocolError, as
 * libp2p's multistream-select does) and, for the others, fails with "reached <protocol>" — the
 * exchange itself is covered by the network tests; here only the choice of protocol matters.
 */
function fakeNode (speaks: string[]): ProtocolNode & { dialled: string[] } {
  const dialled: string[] = []
  return {
    dialled,
    handle: async () => {},
    dialProtocol: async (_peer, protocol) => {
      dialled.push(protocol)
      if (!speaks.includes(protocol)) throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
      throw new Error(`reached ${protocol}`)
    }
  }
}

describe('Libp2pHubLink', () => {
  const hubId = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  const request = { maxUnits: 1, release: [{ replicaId: 'x', reason: 'stopped' }], capabilities: buildCapabilities({ wasmSlots: 1, gpuWorker: false, kernelAbis: [] }, null, 0), siteKey: '', siteOrigin: '', paused: [], holding: [], reportsHolding: false }

  it('maps a work/2.0.0 request to work/1.0.0, or 1.1.0 with a site key', () => {
    expect(legacyWorkRequest(request)).toEqual({ maxUnits: 1, release: ['x'], deviceClass: 'wasm' })
    expect(legacyWorkRequest({ ...request, siteKey: 'site_example_partner_01' })).toEqual({ maxUnits: 1, release: ['x'], deviceClass: 'wasm', siteKey: 'site_example_partner_01' })
  })

  it('falls back to work/1.x when the hub does not speak work/2.0.0, until the negotiation is reset', async () => {
    const node = fakeNode([WORK_PROTOCOL, WORK_SITE_PROTOCOL])
    const link = new Libp2pHubLink(node, () => peerIdFromString(hubId))
    await expect(link.work(request, signal)).rejects.toThrow(`reached ${WORK_PROTOCOL}`)
    expect(node.dialled).toEqual([WORK_PROTOCOL_V2, WORK_PROTOCOL])
    expect(link.usesLegacyWork).toBe(true)
    // this connection stays on 1.x: the site key goes over work/1.1.0
    await expect(link.work({ ...request, siteKey: 'site_example_partner_01' }, signal)).rejects.toThrow(`reached ${WORK_SITE_PROTOCOL}`)
    expect(node.dialled.slice(2)).toEqual([WORK_SITE_PROTOCOL])
    // a new connection tries 2.0.0 again
    link.resetNegotiation()
    expect(link.usesLegacyWork).toBe(false)
    await expect(link.work(request, signal)).rejects.toThrow()
    expect(node.dialled.slice(3)).toEqual([WORK_PROTOCOL_V2, WORK_PROTOCOL])
    // a hub that speaks 2.0.0 is asked over 2.0.0 only; other dial errors are not a fallback
    const v2 = fakeNode([WORK_PROTOCOL_V2])
    const upgraded = new Libp2pHubLink(v2, () => peerIdFromString(hubId))
    await expect(upgraded.work(request, signal)).rejects.toThrow(`reached ${WORK_PROTOCOL_V2}`)
    expect(v2.dialled).toEqual([WORK_PROTOCOL_V2])
    expect(upgraded.usesLegacyWork).toBe(false)
  })

  it('sends a batch over result/3.0.0 signed once with the key, falls back to 2.0.0 (and without a key uses 2.0.0)', async () => {
    const key = await generateKeyPair('Ed25519')
    const payload = ResultPayload.decode(ResultPayload.encode({ replicaId: 'r', wuId: 'w', outcome: 'client-error', output: new Uint8Array(0), outputSha256: new Uint8Array(32), elapsedMs: 1, deviceClass: 'wasm', errorMessage: 'x' }))
    const batch = { results: [await signResult(payload, key)], receiptsAfter: 0 }
    const old = fakeNode([RESULT_PROTOCOL_V2])
    const link = new Libp2pHubLink(old, () => peerIdFromString(hubId), undefined, key)
    await expect(link.results(batch, signal)).rejects.toThrow(`reached ${RESULT_PROTOCOL_V2}`)
    await expect(link.results(batch, signal)).rejects.toThrow(`reached ${RESULT_PROTOCOL_V2}`)
    // 3.0.0 is tried once a connection
    expect(old.dialled).toEqual([RESULT_PROTOCOL_V3, RESULT_PROTOCOL_V2, RESULT_PROTOCOL_V2])
    const current = fakeNode([RESULT_PROTOCOL_V3, RESULT_PROTOCOL_V2])
    await expect(new Libp2pHubLink(current, () => peerIdFromString(hubId), undefined, key).results(batch, signal)).rejects.toThrow(`reached ${RESULT_PROTOCOL_V3}`)
    const keyless = fakeNode([RESULT_PROTOCOL_V3, RESULT_PROTOCOL_V2])
    await expect(new Libp2pHubLink(keyless, () => peerIdFromString(hubId)).results(batch, signal)).rejects.toThrow(`reached ${RESULT_PROTOCOL_V2}`)
    expect(keyless.dialled).toEqual([RESULT_PROTOCOL_V2])
  })

  it('refuses to call without a hub', async () => {
    const link = new Libp2pHubLink(fakeNode([]), () => null)
    await expect(link.work(request, signal)).rejects.toThrow('not connected to a hub')
  })
})
