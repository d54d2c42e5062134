/**
 * Lifecycles: the connection redials after a disconnect and stop() removes its listener and
 * timers; metrics sample with units in their names and stop() clears the interval; the whole
 * client (createVolunteer, in Node over fake-indexeddb) leaves no timer and no listener after
 * close().
 */
import 'fake-indexeddb/auto'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HubConnection } from '../src/volunteer/connection.ts'
import { createVolunteer } from '../src/volunteer/create-volunteer.ts'
import { Metrics, RateWindow } from '../src/volunteer/metrics.ts'
import { StateBus } from '../src/volunteer/state.ts'
import { dbName, fakeHub, newBus } from './volunteer-fakes.ts'
import type { DialingNode } from '../src/volunteer/connection.ts'
import type { PeerId } from '@libp2p/interface'

afterEach(() => { vi.useRealTimers() })

/** A node whose dial answers as `remote` (or fails), with a real event target for peer:disconnect. */
function fakeNode (remote: () => PeerId | Error): DialingNode & { dials: number, listeners: () => number, disconnect: (p: PeerId) => void } {
  const target = new EventTarget()
  let listeners = 0
  let dials = 0
  return {
    get dials () { return dials },
    dial: async () => {
      dials++
      const r = remote()
      if (r instanceof Error) throw r
      return { remotePeer: r }
    },
    addEventListener: (type, fn) => { listeners++; target.addEventListener(type, fn as EventListener) },
    removeEventListener: (type, fn) => { listeners--; target.removeEventListener(type, fn as EventListener) },
    listeners: () => listeners,
    disconnect: p => { target.dispatchEvent(new CustomEvent('peer:disconnect', { detail: p })) }
  }
}

const hubJson = (peerId: string) => async () => ({ ok: true, status: 200, json: async () => ({ peerId, multiaddrs: ['/ip4/127.0.0.1/tcp/9090/ws'] }) })

describe('hub connection', () => {
  it('connects, tells its listeners, redials after the hub disconnects, and checks the peer id', async () => {
    const hub = await fakeHub()
    const impostor = (await fakeHub()).peer
    let answer: PeerId = impostor
    const node = fakeNode(() => answer)
    const bus = newBus({ connection: 'idle' })
    const conn = new HubConnection(node, bus, { hubInfoUrl: 'http://hub/hub.json', fetch: hubJson(hub.peer.toString()), backoffMs: 5, maxBackoffMs: 10 })
    const connects: string[] = []
    conn.onConnect(h => { connects.push(h.peer.toString()) })
    conn.start()
    await expect.poll(() => bus.snapshot.lastError, { timeout: 2000, interval: 5 }).toBe('connect: hub answered with an unexpected peer id')
    answer = hub.peer
    await expect.poll(() => bus.snapshot.connection, { timeout: 2000, interval: 5 }).toBe('connected')
    expect(bus.snapshot).toMatchObject({ hubPeerId: hub.peer.toString(), hubMultiaddr: '/ip4/127.0.0.1/tcp/9090/ws', lastError: null })
    expect(conn.hub?.peer.equals(hub.peer)).toBe(true)
    await expect.poll(() => connects.length).toBe(1)
    node.disconnect(impostor) // another peer: nothing happens
    expect(bus.snapshot.connection).toBe('connected')
    node.disconnect(hub.peer)
    await expect.poll(() => connects.length, { timeout: 2000, interval: 5 }).toBe(2)
    await conn.stop()
    expect(node.listeners()).toBe(0)
    expect(conn.hub).toBeNull()
  })

  it('stop() during the backoff ends the loop and leaves no timer', async () => {
    vi.useFakeTimers()
    const hub = await fakeHub()
    const node = fakeNode(() => new Error('ECONNREFUSED'))
    const bus = newBus({ connection: 'idle' })
    const conn = new HubConnection(node, bus, { hubInfoUrl: 'http://hub/hub.json', fetch: hubJson(hub.peer.toString()), backoffMs: 500 })
    conn.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(bus.snapshot).toMatchObject({ connection: 'disconnected', lastError: 'connect: ECONNREFUSED' })
    expect(vi.getTimerCount()).toBe(1) // the backoff
    await vi.advanceTimersByTimeAsync(500)
    expect(node.dials).toBe(2)
    await conn.stop()
    expect(vi.getTimerCount()).toBe(0)
    expect(node.listeners()).toBe(0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(node.dials).toBe(2)
  })

  it('keeps a hub\'s recommended hubs only when the list is well formed (normalised), else none', async () => {
    const hub = await fakeHub()
    const recommended = async (list: unknown): Promise<string[] | undefined> => {
      const conn = new HubConnection(fakeNode(() => hub.peer), newBus({ connection: 'idle' }), {
        hubInfoUrl: 'http://hub/hub.json', fetch: async () => ({ ok: true, status: 200, json: async () => ({ peerId: hub.peer.toString(), multiaddrs: ['/ip4/127.0.0.1/tcp/9090/ws'], recommendedHubs: list }) })
      })
      conn.start()
      await expect.poll(() => conn.hub, { timeout: 2000, interval: 5 }).not.toBeNull()
      const got = conn.hub?.recommendedHubs
      await conn.stop()
      return got
    }
    expect(await recommended(['https://b.example', 'https://b.example/'])).toEqual(['https://b.example/'])
    // a hostile or broken hub: one bad entry, too many, or not a list drops the whole list; the connection stands
    expect(await recommended(['https://b.example/', 'javascript:alert(1)'])).toBeUndefined()
    expect(await recommended(Array.from({ length: 9 }, (_, i) => `https://h${i}.example/`))).toBeUndefined()
    expect(await recommended('https://b.example/')).toBeUndefined()
  })

  it('refuses a /hub.json whose peer id carries no key', async () => {
    const node = fakeNode(() => new Error('not reached'))
    const bus = newBus({ connection: 'idle' })
    const conn = new HubConnection(node, bus, { hubInfoUrl: 'x', fetch: hubJson('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), backoffMs: 1000 })
    conn.start()
    await expect.poll(() => bus.snapshot.lastError).toBe('connect: hub peer id does not carry a public key')
    expect(peerIdFromString('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N').publicKey).toBeUndefined()
    await conn.stop()
  })
})

describe('metrics', () => {
  it('rates with their units: numbers/s for primes, FLOP/s for matmul, units per minute; one timer from start() to stop()', async () => {
    vi.useFakeTimers()
    let t = 0
    const bus = newBus()
    const m = new Metrics({ bus, cores: 2, busyMs: async () => t / 2, peers: () => 3, now: () => t, wallClock: () => 1_700_000_000_000 + t })
    m.start()
    m.start()
    expect(vi.getTimerCount()).toBe(1)
    for (let i = 0; i <= 10; i++) { t = i * 100; m.recordOps('primes-sieve/1', 1e6) }
    m.recordOps('matmul-f32/1', 4e9)
    t = 2000
    m.recordOps('matmul-f32/1', 4e9)
    m.recordOps('k1:abcd', 1e12) // a researcher kernel's ops have no common unit: counted as units only
    m.recordUnit(); m.recordUnit(); m.recordUnit()
    m.recordGpuBusy(500)
    await m.sample()
    const s = bus.snapshot
    expect(s.numbersPerSecond).toBeCloseTo(1e7 / 2, -3) // 10^7 after the first entry, over 2 s
    expect(s.flopsPerSecond).toBeCloseTo(4e9, -3) // 4·10^9 after the first tile (t = 1 s), over 1 s
    expect(s.unitsPerMinute).toBe(3)
    expect(s.gpuUse).toBeCloseTo(0.1)
    expect(s.peers).toBe(3)
    expect(s.history.at(-1)).toMatchObject({ t: 1_700_000_002, numbersPerSecond: s.numbersPerSecond, flopsPerSecond: s.flopsPerSecond })
    t = 70_000
    await m.sample()
    expect(bus.snapshot).toMatchObject({ numbersPerSecond: 0, flopsPerSecond: 0, unitsPerMinute: 0, gpuUse: 0 })
    m.stop()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('RateWindow forgets what is older than its window', () => {
    const w = new RateWindow(1000)
    w.add(5, 0); w.add(5, 500)
    expect(w.sumWithin(900)).toBe(10)
    expect(w.sumWithin(1400)).toBe(5)
    expect(w.sumWithin(5000)).toBe(0)
  })
})

describe('createVolunteer', () => {
  it('close() removes every timer and listener it made and stops the node', async () => {
    const timers = new Set<unknown>()
    const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval }
    // libp2p's address manager debounces its peer-store update by 1 s on every transport close and
    // has no stop() to clear it (libp2p 3.3, address-manager/index.ts): a node that listened (on
    // /p2p-circuit and /webrtc) leaves that one timer behind its own stop; it is libp2p's, not ours
    const libp2pOwn = new Set<unknown>()
    const track = (make: typeof setTimeout, once: boolean) => ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle = make((...a: unknown[]) => { if (once) { timers.delete(handle); libp2pOwn.delete(handle) } fn(...a) }, ms, ...args)
      timers.add(handle)
      if (/libp2p\/(dist\/)?src\/address-manager\//.test(new Error().stack ?? '')) libp2pOwn.add(handle)
      return handle
    }) as typeof setTimeout
    const untrack = (clear: typeof clearTimeout) => ((handle: Parameters<typeof clearTimeout>[0]) => { timers.delete(handle); clear(handle) }) as typeof clearTimeout
    const hub = await fakeHub()
    const hubInfoUrl = `data:application/json,${encodeURIComponent(JSON.stringify({ peerId: hub.peer.toString(), multiaddrs: ['/ip4/127.0.0.1/tcp/9/ws'] }))}`
    const listeners = new Map<EventTarget, number>()
    const realAdd = EventTarget.prototype.addEventListener
    const realRemove = EventTarget.prototype.removeEventListener
    let states = 0
    globalThis.setTimeout = track(real.setTimeout, true)
    globalThis.clearTimeout = untrack(real.clearTimeout)
    globalThis.setInterval = track(real.setInterval as typeof setTimeout, false) as unknown as typeof setInterval
    globalThis.clearInterval = untrack(real.clearInterval as typeof clearTimeout) as typeof clearInterval
    try {
      // count listeners that src/volunteer adds (libp2p's own are libp2p's to remove)
      const ours = (): boolean => (new Error().stack ?? '').split('\n').slice(2, 4).some(line => line.includes('/src/volunteer/'))
      EventTarget.prototype.addEventListener = function (this: EventTarget, ...a: Parameters<EventTarget['addEventListener']>) { if (ours()) listeners.set(this, (listeners.get(this) ?? 0) + 1); realAdd.apply(this, a) }
      EventTarget.prototype.removeEventListener = function (this: EventTarget, ...a: Parameters<EventTarget['removeEventListener']>) { if (ours()) listeners.set(this, (listeners.get(this) ?? 0) - 1); realRemove.apply(this, a) }
      const client = await createVolunteer({ hubInfoUrl, wasmUrl: 'x.wasm', createWorker: () => { throw new Error('no workers in this test') }, slots: 2, dbName: dbName(), sensors: false, receiptPollMs: 50 })
      client.subscribe(() => { states++ })
      expect(client.snapshot).toMatchObject({ slots: 2, run: 'stopped', numbersPerSecond: 0, flopsPerSecond: 0, unitsPerMinute: 0 })
      // the dial to a closed port fails; the client backs off and retries
      await expect.poll(() => client.snapshot.lastError ?? '', { timeout: 10_000, interval: 20 }).toMatch(/^connect: /)
      await client.start()
      expect(client.snapshot.run).toBe('running')
      await new Promise(resolve => real.setTimeout(resolve, 1200)) // a metrics sample or two
      expect(timers.size).toBeGreaterThan(0)
      await client.close()
      await new Promise(resolve => real.setTimeout(resolve, 50))
      expect([...timers].filter(t => !libp2pOwn.has(t))).toEqual([])
      const before = states
      await new Promise(resolve => real.setTimeout(resolve, 1100))
      expect(states).toBe(before) // no more state changes: listeners dropped, no sampling
      await client.close() // idempotent
    } finally {
      Object.assign(globalThis, real)
      EventTarget.prototype.addEventListener = realAdd
      EventTarget.prototype.removeEventListener = realRemove
    }
    // every listener src/volunteer added while the client ran was removed again, or is on a signal that has fired
    expect(listeners.size).toBeGreaterThan(0)
    for (const [target, count] of listeners) {
      if (count > 0) expect(target instanceof AbortSignal && target.aborted).toBe(true)
    }
  })

  it('StateBus.clear drops every listener', () => {
    const bus = new StateBus(newBus().snapshot)
    bus.subscribe(() => {})
    expect(bus.listenerCount).toBe(1)
    bus.clear()
    expect(bus.listenerCount).toBe(0)
  })
})
