/**
 * Issue 14, connection limits: the hub admits its configured number of volunteers (libp2p's own
 * connection manager, a backstop above the hub's guard, follows `maxConnections`; the default is
 * high enough for thousands); libp2p's connection monitor, which pinged every connection in one
 * burst, is off on the hub (its own spread pings: hub.liveness.test.ts), and nobody sends yamux
 * keepalive frames.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { DEFAULT_HUB_LIMITS, resolveHubLimits } from '../src/hub/limits.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { VOLUNTEER_PING_INTERVAL_MS } from '../src/protocol/wire.ts'
import { createVolunteerNode } from '../src/volunteer/node.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/** The libp2p internals checked here (not public API: a libp2p upgrade may move them). */
/** The yamux muxer of a connection (libp2p and @chainsafe/libp2p-yamux internals): its keepalive task, when enabled. */
interface MuxerInternals { muxer: { keepAlive?: unknown } }
interface Internals { components: { connectionManager: { getMaxConnections: () => number, getConnections: () => Connection[], getConnectionsMap: () => { values: () => Iterable<Connection[]>, get: (peer: PeerId) => Connection[] | undefined } }, connectionMonitor?: { pingIntervalMs: number } } }

let hub: RunningHub | undefined
const peers: Libp2p[] = []
afterAll(async () => {
  await Promise.all(peers.map(async p => { await p.stop() }))
  await hub?.stop()
})

describe('hub connection limits (issue 14)', () => {
  it('defaults admit thousands of volunteers and ping each connection once in 5 minutes', () => {
    expect(DEFAULT_HUB_LIMITS.maxConnections).toBeGreaterThanOrEqual(4096)
    expect(resolveHubLimits().pruneAboveConnections).toBe(Math.floor(4096 * 0.9))
    expect(resolveHubLimits().pingIntervalMs).toBe(300_000)
    expect(resolveHubLimits().pingTimeoutMs).toBe(10_000)
    expect(() => resolveHubLimits({ pingIntervalMs: 0 })).toThrow(RangeError)
    expect(() => resolveHubLimits({ pingTimeoutMs: 0 })).toThrow(RangeError)
  })

  it('libp2p\'s connection manager follows the hub\'s limits; its connection monitor and yamux keepalive are off', async () => {
    hub = await startHub({ dataDir: tempDir('hub-conns-'), staticDir: join(REPO_ROOT, 'dist'), limits: { maxConnections: 1500, pingIntervalMs: 45_000 } })
    const internals = (hub.node as unknown as Internals).components
    expect(internals.connectionManager.getMaxConnections()).toBeGreaterThanOrEqual(1500)
    // libp2p's components throw for a service that was not configured
    expect(() => internals.connectionMonitor).toThrow(/connectionMonitor not set/)
    for (let i = 0; i < 3; i++) peers.push((await dialledPeer(hub.multiaddrs[0])).node)
    // the hub registers an inbound connection a moment after the dialler has it
    for (let t = 0; t < 50 && hub.node.getConnections().length < 3; t++) await new Promise(resolve => setTimeout(resolve, 40))
    expect(hub.node.getConnections().length).toBe(3)
    // libp2p's quadratic getConnections() is replaced by a one-pass list of the same connections
    const manager = internals.connectionManager
    expect(manager.getConnections).not.toBe(Object.getPrototypeOf(manager).getConnections)
    expect(hub.node.getConnections()).toEqual([...manager.getConnectionsMap().values()].flat())
    expect(hub.node.getConnections(peers[0].peerId)).toEqual(manager.getConnectionsMap().get(peers[0].peerId) ?? ['none'])
    // and the guard counts the open connections itself (as /metrics shows them)
    expect(hub.guard.openConnections).toBe(3)
    expect(await (await fetch(`${hub.url}metrics`)).text()).toMatch(/\nsparecycles_connections_open 3\n/)
    // neither side's muxer sends keepalive frames
    for (const conn of [...hub.node.getConnections(), ...peers.flatMap(p => p.getConnections())]) {
      expect((conn as unknown as MuxerInternals).muxer.keepAlive).toBeUndefined()
    }
  })

  it('a volunteer\'s node pings its peers once a minute, not libp2p\'s every 10 s (each ping is a stream at the hub)', async () => {
    expect(VOLUNTEER_PING_INTERVAL_MS).toBe(60_000)
    const node = await createVolunteerNode(await generateKeyPair('Ed25519'), { peerToPeer: false })
    try {
      expect((node as unknown as Internals).components.connectionMonitor?.pingIntervalMs).toBe(VOLUNTEER_PING_INTERVAL_MS)
      // and its muxer sends no keepalive frames (the pings above find a dead hub)
      const conn = await node.dial(multiaddr(hub!.multiaddrs[0]))
      expect((conn as unknown as MuxerInternals).muxer.keepAlive).toBeUndefined()
    } finally { await node.stop() }
    // the simulated volunteers of the tests and bench:hub do as the page does
    const peer = (await dialledPeer(hub!.multiaddrs[0])).node
    peers.push(peer)
    expect((peer as unknown as Internals).components.connectionMonitor?.pingIntervalMs).toBe(VOLUNTEER_PING_INTERVAL_MS)
  })
})
