/**
 * Issue 14, the hub's liveness pings (src/hub/liveness.ts): each connection is pinged once per
 * interval and the pings are spread over it (libp2p's connection monitor pinged every connection in
 * the same instant); a volunteer that goes silent with its connection open is cut off, live ones
 * (with or without a ping service of their own) stay.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { LivenessMonitor } from '../src/hub/liveness.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { ChildProcess } from 'node:child_process'
import type { Connection, Libp2p } from '@libp2p/interface'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A connection that records when it was pinged and answers as a peer without a ping service. */
function fakeConnection (i: number, openedAtMs: number, pingedAt: number[][]): Connection {
  pingedAt[i] = []
  return {
    status: 'open',
    timeline: { open: openedAtMs },
    remotePeer: { toString: () => `peer-${i}` },
    newStream: async () => {
      pingedAt[i].push(Date.now())
      throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
    },
    abort: () => { throw new Error(`connection ${i} aborted`) }
  } as unknown as Connection
}

describe('hub liveness pings (issue 14)', () => {
  it('spreads the pings of connections opened together over the interval, each once per interval', async () => {
    vi.useFakeTimers({ now: 0 })
    try {
      const pingedAt: number[][] = []
      // 3,000 connections opened within the same tenth of a second (a dial storm), half before the
      // monitor starts, half after (connection:open)
      const conns = Array.from({ length: 3000 }, (_, i) => fakeConnection(i, 500 + (i % 1000) / 10, pingedAt))
      const listeners = new Map<string, (evt: CustomEvent<Connection>) => void>()
      const node = {
        getConnections: () => conns.slice(0, 1500),
        addEventListener: (type: string, fn: (evt: CustomEvent<Connection>) => void) => { listeners.set(type, fn) },
        removeEventListener: (type: string) => { listeners.delete(type) }
      }
      const intervalMs = 60_000
      const monitor = new LivenessMonitor(node, { intervalMs, timeoutMs: 5_000, tickMs: 1_000, maxInFlight: 10_000 })
      await vi.advanceTimersByTimeAsync(600)
      monitor.start()
      for (const conn of conns.slice(1500)) listeners.get('connection:open')?.(new CustomEvent('connection:open', { detail: conn }))
      expect(monitor.size).toBe(3000)
      const perTick: number[] = []
      for (let t = 1_000; t <= 3.5 * intervalMs + 1_000; t += 1_000) {
        const before = monitor.stats().pings
        await vi.advanceTimersByTimeAsync(1_000)
        perTick.push(monitor.stats().pings - before)
      }
      // libp2p's monitor would start all 3,000 in one instant; here a tick starts an even share, twice over
      const share = Math.ceil(2 * 3000 * 1_000 / intervalMs) + 4
      expect(Math.max(...perTick)).toBe(share)
      expect(monitor.stats().maxPingsPerTick).toBe(share)
      for (const times of pingedAt) {
        // pinged three times in 3.5 intervals: not before its first interval was up (and within
        // half an interval of it), then an interval after each ping
        expect(times).toHaveLength(3)
        expect(times[0]).toBeGreaterThanOrEqual(intervalMs)
        expect(times[0]).toBeLessThan(intervalMs + intervalMs / 2)
        expect(times[1] - times[0]).toBeGreaterThanOrEqual(intervalMs)
        expect(times[2] - times[1]).toBeGreaterThanOrEqual(intervalMs)
      }
      expect(monitor.stats().aborted).toBe(0)
      // a closed connection is forgotten
      listeners.get('connection:close')?.(new CustomEvent('connection:close', { detail: conns[0] }))
      expect(monitor.size).toBe(2999)
      monitor.stop()
      expect(monitor.size).toBe(0)
      expect(listeners.size).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses a non-positive interval, timeout or tick', () => {
    const node = { getConnections: () => [], addEventListener: () => {}, removeEventListener: () => {} }
    expect(() => new LivenessMonitor(node, { intervalMs: 0, timeoutMs: 1 })).toThrow(RangeError)
    expect(() => new LivenessMonitor(node, { intervalMs: 1, timeoutMs: 1, tickMs: -1 })).toThrow(RangeError)
  })

  describe('against a real hub', () => {
    let hub: RunningHub | undefined
    let frozen: ChildProcess | undefined
    const nodes: Libp2p[] = []
    afterAll(async () => {
      if (frozen != null) { frozen.kill('SIGCONT'); frozen.kill('SIGKILL') }
      await Promise.all(nodes.map(async n => { await n.stop() }))
      await hub?.stop()
    })

    it('closes the connection of a volunteer that went silent and keeps live ones, with and without a ping service', async () => {
      hub = await startHub({ dataDir: tempDir('hub-liveness-'), staticDir: join(REPO_ROOT, 'dist'), limits: { pingIntervalMs: 1_500, pingTimeoutMs: 1_000 } })
      const address = hub.multiaddrs[0]
      // the attacker's process: dials, then is stopped with its connection open
      frozen = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/fixtures/frozen-peer.ts'), address], { stdio: ['ignore', 'pipe', 'inherit'] })
      const frozenId = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: frozen!.stdout! })
        lines.on('line', line => { if (line.startsWith('connected ')) resolve(line.slice('connected '.length)) })
        frozen!.once('exit', code => { reject(new Error(`frozen peer exited with ${String(code)}`)) })
      })
      // a live volunteer as the page's node is (no ping service: the hub's ping is refused, which proves it alive)
      const plain = await dialledPeer(address)
      nodes.push(plain.node)
      // a live peer that answers pings (the echo is checked)
      const pinger = await createLibp2p({ privateKey: await generateKeyPair('Ed25519'), transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionMonitor: { enabled: false }, services: { identify: identify(), ping: ping() } })
      nodes.push(pinger)
      await pinger.dial(multiaddr(address))
      const connectedIds = (): string[] => hub!.node.getConnections().map(c => c.remotePeer.toString())
      for (let t = 0; t < 50 && connectedIds().length < 3; t++) await sleep(40)
      expect(connectedIds()).toEqual(expect.arrayContaining([frozenId, plain.id, pinger.peerId.toString()]))

      frozen.kill('SIGSTOP')
      // at most one interval until its ping, then the timeout
      const t0 = Date.now()
      while (connectedIds().includes(frozenId) && Date.now() - t0 < 8_000) await sleep(100)
      expect(connectedIds()).not.toContain(frozenId)
      expect(Date.now() - t0).toBeLessThan(1_500 + 1_000 + 1_500)
      // the live ones were pinged meanwhile (several intervals) and stay
      await sleep(3_500)
      expect(connectedIds()).toEqual(expect.arrayContaining([plain.id, pinger.peerId.toString()]))
      const metrics = await (await fetch(`${hub.url}metrics`)).text()
      expect(metrics).toMatch(/sparecycles_limit_hits_total\{limit="ping-timeout"\} 1\b/)
    }, 30_000)
  })

  it('a hub that fails to start (its HTTP port taken) stops what it had started: every interval it set (connection guard, liveness monitor) is cleared', async () => {
    const { createServer } = await import('node:net')
    const taken = createServer()
    await new Promise<void>(resolve => { taken.listen(0, '127.0.0.1', resolve) })
    const port = (taken.address() as { port: number }).port
    // the guard's and the monitor's intervals are unref'd: they would not keep a process alive, but would run on
    const set = vi.spyOn(globalThis, 'setInterval')
    const clear = vi.spyOn(globalThis, 'clearInterval')
    try {
      await expect(startHub({ dataDir: tempDir('hub-start-fails-'), staticDir: join(REPO_ROOT, 'dist'), httpPort: port, log: () => {} })).rejects.toThrow(/EADDRINUSE|in use/)
      const made = set.mock.results.map(r => r.value as unknown)
      const cleared = new Set(clear.mock.calls.map(c => c[0] as unknown))
      expect(made.length).toBeGreaterThanOrEqual(2)
      expect(made.filter(t => !cleared.has(t))).toEqual([])
    } finally {
      set.mockRestore()
      clear.mockRestore()
      await new Promise<void>(resolve => { taken.close(() => { resolve() }) })
    }
  }, 30_000)
})

