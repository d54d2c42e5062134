/**
 * The hub's circuit relay v2 (issue 15): it carries browser-to-browser signalling and cannot be
 * used as free transit. Real libp2p peers with their own keys over loopback WebSockets (the relay
 * itself needs no WebRTC): a relayed connection is reset after the data limit and after the
 * duration limit, a peer gets only so many relayed connections a minute, reservations are capped,
 * and the hub's own protocols are not served on a relayed connection. Each refusal is reported
 * under its limit name. And the hub's index of who holds which blob (blob-providers/1.0.0): it
 * names peers it served a blob to, only with a relay reservation, never the asker, forgets a peer
 * that disconnects, and takes `have` only for blobs it holds itself.
 */
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { BLOB_PROVIDERS_PROTOCOL, BLOB_PROVIDERS_SPEC, WORK_PROTOCOL_V2, callProtocol, checkIceServers, sha256Bytes } from '../src/protocol/index.ts'
import { fetchBlob } from '../src/volunteer/blob-fetch.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { LimitName } from '../src/hub/limits.ts'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/test/sink/1.0.0'
const DATA_LIMIT = 64 * 1024
const DURATION_MS = 1500

async function relayPeer (listen: boolean): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: listen ? ['/p2p-circuit'] : [] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
}

async function until (what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const relayed = (node: Libp2p): boolean => node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))

describe('the hub as a circuit relay', () => {
  let hub: RunningHub
  const hits: LimitName[] = []
  const nodes: Libp2p[] = []
  let listener: Libp2p
  let received = 0

  beforeAll(async () => {
    hub = await startHub({
      dataDir: tempDir('p2p-relay-'),
      staticDir: join(REPO_ROOT, 'dist'),
      limits: { maxRelayReservations: 2, relayConnectionDataBytes: DATA_LIMIT, relayConnectionDurationMs: DURATION_MS, relayedConnectionsPerPeerPerMinute: 3 },
      onLimitHit: name => { hits.push(name) }
    })
    listener = await relayPeer(true)
    nodes.push(listener)
    await listener.handle(ECHO, (stream) => {
      stream.addEventListener('message', evt => { received += evt.data.byteLength })
    }, { runOnLimitedConnection: true })
    await listener.dial(multiaddr(hub.multiaddrs[0]))
    await until('a reservation', 10_000, () => relayed(listener))
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await hub?.stop()
  })

  it('resets a relayed connection after its data limit, and after its duration limit', async () => {
    const dialer = await relayPeer(false)
    nodes.push(dialer)
    await dialer.dial(multiaddr(hub.multiaddrs[0]))
    const target = multiaddr(`${hub.multiaddrs[0]}/p2p-circuit/p2p/${listener.peerId.toString()}`)
    const conn = await dialer.dial(target, { signal: AbortSignal.timeout(10_000) })
    expect(conn.limits).toBeDefined()
    const stream = await conn.newStream(ECHO, { runOnLimitedConnection: true })
    // a little goes through (signalling fits), then 256 KiB more: the relay resets the connection
    stream.send(new Uint8Array(1024))
    await until('the first KiB relayed', 5_000, () => received >= 1024)
    const chunk = new Uint8Array(8 * 1024)
    for (let i = 0; i < 32 && stream.status === 'open'; i++) {
      try { if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(2_000) }) } catch { break }
    }
    await until('the relayed connection reset', 5_000, () => conn.status !== 'open')
    // the listener got at most the limit (which also counts the upgrade's own bytes)
    expect(received).toBeLessThanOrEqual(DATA_LIMIT)

    const idle = await dialer.dial(target, { signal: AbortSignal.timeout(10_000) })
    const opened = Date.now()
    await until('the idle relayed connection closed', DURATION_MS + 4_000, () => idle.status !== 'open')
    expect(Date.now() - opened).toBeGreaterThanOrEqual(DURATION_MS - 300)
  })

  it('does not serve the hub protocols or blob providers on a relayed connection', async () => {
    const dialer = await relayPeer(false)
    nodes.push(dialer)
    await dialer.dial(multiaddr(hub.multiaddrs[0]))
    const conn = await dialer.dial(multiaddr(`${hub.multiaddrs[0]}/p2p-circuit/p2p/${listener.peerId.toString()}`), { signal: AbortSignal.timeout(10_000) })
    // a volunteer's node handles no hub protocol, and nothing runs on a limited connection unless asked
    await expect(conn.newStream(WORK_PROTOCOL_V2, { runOnLimitedConnection: true })).rejects.toThrow()
    await expect(conn.newStream(BLOB_PROVIDERS_PROTOCOL)).rejects.toThrow()
    await conn.close()
  })

  it('gives a peer only so many relayed connections a minute', async () => {
    const dialer = await relayPeer(false)
    nodes.push(dialer)
    await dialer.dial(multiaddr(hub.multiaddrs[0]))
    const target = multiaddr(`${hub.multiaddrs[0]}/p2p-circuit/p2p/${listener.peerId.toString()}`)
    const before = hits.filter(h => h === 'relayed-connection-rate').length
    // the listener, as destination, has had 3 already in the tests above: the next one is refused
    await expect(dialer.dial(target, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(hits.filter(h => h === 'relayed-connection-rate').length).toBe(before + 1)
  })

  it('holds at most maxRelayReservations reservations', async () => {
    const second = await relayPeer(true)
    const third = await relayPeer(true)
    nodes.push(second, third)
    await second.dial(multiaddr(hub.multiaddrs[0]))
    await until('the second reservation', 10_000, () => relayed(second))
    await third.dial(multiaddr(hub.multiaddrs[0]))
    await until('the third reservation refused', 10_000, () => hits.includes('relay-reservation'))
    expect(relayed(third)).toBe(false)
  })

  it('names the holders of a blob: served ones with a reservation, never the asker, none that left; `have` only for its own blobs', async () => {
    const hubPeer = peerIdFromString(hub.peerId)
    const blob = new TextEncoder().encode('a block that two volunteers need')
    const cid = hub.core.blobs.put(blob)
    const ask = async (node: Libp2p, id: Uint8Array, have = false): Promise<string[]> =>
      (await callProtocol(node, hubPeer, BLOB_PROVIDERS_SPEC, { cid: id as Uint8Array<ArrayBuffer>, have }, AbortSignal.timeout(5_000))).peers
    // the listener holds a reservation (first test); a peer without one is never named
    const noReservation = await relayPeer(false)
    const asker = await relayPeer(false)
    nodes.push(noReservation, asker)
    await noReservation.dial(multiaddr(hub.multiaddrs[0]))
    await asker.dial(multiaddr(hub.multiaddrs[0]))
    expect(await ask(asker, cid)).toEqual([])
    expect([...await fetchBlob(listener, hubPeer, cid, AbortSignal.timeout(5_000))]).toEqual([...blob])
    expect([...await fetchBlob(noReservation, hubPeer, cid, AbortSignal.timeout(5_000))]).toEqual([...blob])
    expect(await ask(asker, cid)).toEqual([listener.peerId.toString()])
    // the holder itself is not named to itself
    expect(await ask(listener, cid)).toEqual([])
    // `have` for a blob the hub does not hold is not recorded
    const made = sha256Bytes(new TextEncoder().encode('nobody has this'))
    expect(await ask(listener, made, true)).toEqual([])
    expect(await ask(asker, made)).toEqual([])
    // a holder that disconnects is forgotten
    await hub.node.hangUp(listener.peerId)
    await until('the listener gone', 5_000, () => hub.node.getConnections(listener.peerId).length === 0)
    expect(await ask(asker, cid)).toEqual([])
  })
})

describe('STUN servers a hub names for WebRTC', () => {
  it('checks them and serves them in /hub.json; none by default', async () => {
    expect(checkIceServers(['stun:stun.example.org:3478', 'stuns:10.0.0.1'])).toHaveLength(2)
    for (const bad of [['turn:relay.example.org'], ['stun:'], ['http://x'], ['stun:a b'], 'stun:x', Array(5).fill('stun:x')]) {
      expect(() => checkIceServers(bad)).toThrow(RangeError)
    }
    await expect(startHub({ dataDir: tempDir('p2p-ice-'), staticDir: join(REPO_ROOT, 'dist'), iceServers: ['turn:nope'] })).rejects.toThrow(RangeError)
    const withStun = await startHub({ dataDir: tempDir('p2p-ice-'), staticDir: join(REPO_ROOT, 'dist'), iceServers: ['stun:stun.example.org:3478'] })
    const plain = await startHub({ dataDir: tempDir('p2p-ice-'), staticDir: join(REPO_ROOT, 'dist') })
    try {
      const info = await (await fetch(new URL('/hub.json', withStun.url))).json() as { iceServers?: string[] }
      expect(info.iceServers).toEqual(['stun:stun.example.org:3478'])
      const none = await (await fetch(new URL('/hub.json', plain.url))).json() as { iceServers?: string[] }
      expect(none.iceServers).toBeUndefined()
    } finally {
      await withStun.stop()
      await plain.stop()
    }
  })
})
