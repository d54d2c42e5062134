/**
 * The page's own traffic count (issue 12, item 5): TrafficCounter and bytesPerHour, and the bytes
 * callProtocol reports over a real libp2p connection (WebSockets on loopback, noise, yamux),
 * checked against the server's own count of the same exchange and against the encoded messages.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BLOB_SPEC, callProtocol, handleProtocol, varintLength } from '../src/protocol/index.ts'
import { MIN_RATE_MS, TrafficCounter, bytesPerHour } from '../src/volunteer/traffic.ts'
import { createTestPeer } from './helpers.ts'
import type { Libp2p } from '@libp2p/interface'

describe('TrafficCounter and bytesPerHour', () => {
  it('adds sent and received bytes, ignoring non-positive and non-finite amounts', () => {
    const c = new TrafficCounter()
    c.record(100, 0)
    c.record(0, 250)
    c.record(-5, Number.NaN)
    c.record(Infinity, 1)
    expect(c.totals).toEqual({ sentBytes: 100, receivedBytes: 251 })
  })

  it('gives bytes per hour of running only after MIN_RATE_MS', () => {
    expect(bytesPerHour(1000, MIN_RATE_MS - 1)).toBeNull()
    expect(bytesPerHour(1000, 0)).toBeNull()
    expect(bytesPerHour(1000, 36_000)).toBe(100_000)
    expect(bytesPerHour(5, 3_600_000)).toBe(5)
    expect(bytesPerHour(-1, 60_000)).toBeNull()
  })
})

describe('callProtocol counts the bytes of its messages', () => {
  let server: Libp2p
  let client: Libp2p
  const served = { request: 0, response: 0 }
  const data = new Uint8Array(3000).fill(7) as Uint8Array<ArrayBuffer>

  beforeAll(async () => {
    server = await createTestPeer(undefined, ['/ip4/127.0.0.1/tcp/0/ws'])
    await handleProtocol(server, BLOB_SPEC, async req => ({ error: '', message: '', offset: req.offset, totalBytes: data.length, data }), undefined, {
      onRequestBytes: (_protocol, bytes) => { served.request += bytes + varintLength(bytes) },
      onResponseBytes: bytes => { served.response += bytes }
    })
    client = await createTestPeer()
    await client.dial(multiaddr(server.getMultiaddrs()[0]))
  })

  afterAll(async () => {
    await client?.stop()
    await server?.stop()
  })

  it('request and response bytes (length prefix included) equal what the server read and wrote', async () => {
    const counter = new TrafficCounter()
    const request = { cid: new Uint8Array(32).fill(1) as Uint8Array<ArrayBuffer>, offset: 0, maxBytes: 4096 }
    const res = await callProtocol(client, server.peerId, BLOB_SPEC, request, undefined, counter.record)
    expect(res.data.length).toBe(3000)
    await callProtocol(client, server.peerId, BLOB_SPEC, request, undefined, counter.record)
    const req = BLOB_SPEC.requestCodec.encode(request).length
    const resp = BLOB_SPEC.responseCodec.encode(res).length
    expect(counter.totals).toEqual({ sentBytes: 2 * (req + varintLength(req)), receivedBytes: 2 * (resp + varintLength(resp)) })
    expect(counter.totals).toEqual({ sentBytes: served.request, receivedBytes: served.response })
    expect(counter.totals.receivedBytes).toBeGreaterThan(6000)
  })
})
