/**
 * Attackers for the hub-limit tests, written here from raw sockets and libp2p streams (nothing of
 * the hub's own code): pre-noise WebSockets that never start noise or send one huge frame, raw
 * bytes on protocol streams; and the honest volunteer whose connect → lease → submit is timed
 * during each attack, and an RSS sampler.
 */
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PRIMES_KERNEL_ID, RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput } from '../src/protocol/index.ts'
import { createTestPeer } from './helpers.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { REPO_ROOT } from './helpers.ts'
import { bytesResultFor, caps, v2 } from './hub-fixtures.ts'
import type { PrimesKernel } from '../workers/primes-kernel.ts'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Host and port of a hub multiaddr `/ip4/H/tcp/P/ws/p2p/…`. */
export function wsTarget (ma: string): { host: string, port: number } {
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)\/ws/.exec(ma)
  if (m == null) throw new Error(`not a ws multiaddr: ${ma}`)
  return { host: m[1], port: Number(m[2]) }
}

/**
 * A WebSocket handshake by hand from `localAddress` (any 127.x.y.z is loopback on Linux); resolves
 * with the upgraded socket, which then never starts noise unless the caller writes to it.
 */
export async function rawWebSocket (ma: string, localAddress: string): Promise<Socket> {
  const { host, port } = wsTarget(ma)
  return await new Promise((resolve, reject) => {
    const req = request({
      host, port, localAddress, path: '/',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') }
    })
    req.on('upgrade', (_res, socket) => { socket.on('error', () => {}); resolve(socket) })
    req.on('response', res => { res.resume(); reject(new Error(`no upgrade: HTTP ${res.statusCode}`)) })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('upgrade timed out')))
    req.end()
  })
}

/** The header of one masked binary frame declaring `length` bytes (the payload may never come). */
export function frameHeader (length: number): Buffer {
  const header = Buffer.alloc(14)
  header[0] = 0x82
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(length), 2)
  randomBytes(4).copy(header, 10)
  return header
}

/**
 * Keep `count` pre-noise WebSockets open from `addresses` (round robin) for `durationMs`, each
 * re-opened `reopenMs` after it opened or as soon as the hub closes it. Returns how many opened.
 */
export async function pendingSockets (ma: string, count: number, addresses: string[], reopenMs: number, durationMs: number): Promise<{ opened: number, failed: number }> {
  const end = Date.now() + durationMs
  const stats = { opened: 0, failed: 0 }
  const slot = async (i: number): Promise<void> => {
    while (Date.now() < end) {
      const started = Date.now()
      try {
        const socket = await rawWebSocket(ma, addresses[i % addresses.length])
        stats.opened++
        await new Promise<void>(resolve => {
          const t = setTimeout(() => { socket.destroy(); resolve() }, Math.max(0, Math.min(reopenMs, end - Date.now())))
          socket.once('close', () => { clearTimeout(t); resolve() })
        })
      } catch {
        stats.failed++
      }
      await sleep(Math.max(50, 200 - (Date.now() - started)))
    }
  }
  await Promise.all(Array.from({ length: count }, async (_, i) => { await slot(i) }))
  return stats
}

/**
 * Write `chunk` on `stream` every `everyMs` until the hub closes it or `durationMs` pass.
 * @returns ms until the stream closed, or undefined if it was still open at the end
 */
export async function dribble (stream: Stream, chunk: Uint8Array, everyMs: number, durationMs: number): Promise<number | undefined> {
  const started = Date.now()
  let closedAt: number | undefined
  stream.addEventListener('close', () => { closedAt = Date.now() }, { once: true })
  while (closedAt == null && Date.now() - started < durationMs) {
    try { stream.send(chunk) } catch { break }
    await sleep(everyMs)
  }
  await sleep(50)
  if (closedAt == null) stream.abort(new Error('attack over'))
  return closedAt == null ? undefined : closedAt - started
}

/** An attacker peer with its own key, connected to the hub. */
export async function attackerPeer (hubMa: string): Promise<Libp2p> {
  const node = await createTestPeer(await generateKeyPair('Ed25519'))
  await node.dial(multiaddr(hubMa))
  return node
}

const PRIMES_PAGE = caps({ backends: ['wasm'], kernels: [PRIMES_KERNEL_ID], memoryBytes: 256 * 1024 * 1024 })

/**
 * An honest volunteer with a fresh key: connect, lease one replica over work/2.0.0, submit a
 * result over result/1.0.0, disconnect. @returns the milliseconds from dial to the accepted result
 * @throws when any step fails or takes more than 10 s
 */
let kernel: Promise<PrimesKernel> | undefined
/** The real prime kernel in Node: an honest volunteer's answer (the hub refuses impossible counts). */
async function honestOutput (input: Uint8Array): Promise<Uint8Array> {
  kernel ??= instantiatePrimesKernel(new Uint8Array(readFileSync(join(REPO_ROOT, 'build', 'kernels', 'primes-sieve.wasm'))))
  const { lo, hi } = decodePrimesInput(input)
  return await (await kernel).primesOutput(lo, hi)
}

export async function honestCycle (hubMa: string): Promise<number> {
  const key = await generateKeyPair('Ed25519')
  const node = await createTestPeer(key)
  const hub = peerIdFromString(hubMa.split('/p2p/')[1])
  try {
    const started = performance.now()
    await node.dial(multiaddr(hubMa), { signal: AbortSignal.timeout(10_000) })
    const { leases } = await callProtocol(node, hub, WORK_SPEC_V2, v2(PRIMES_PAGE, 1), AbortSignal.timeout(10_000))
    if (leases.length !== 1) throw new Error(`honest volunteer leased ${leases.length} replicas`)
    const signed = await bytesResultFor({ key, id: peerIdFromPrivateKey(key).toString() }, leases[0], await honestOutput(leases[0].input))
    const { status } = await callProtocol(node, hub, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
    if (status !== 'accepted') throw new Error(`honest result ${status}`)
    return performance.now() - started
  } finally {
    await node.stop()
  }
}

/** Honest cycles one after another while `during` runs; @returns each cycle's ms. */
export async function honestDuring (hubMa: string, during: Promise<unknown>, startAfterMs = 300): Promise<number[]> {
  let done = false
  void during.finally(() => { done = true })
  await sleep(startAfterMs)
  const times: number[] = []
  // at least one honest cycle, however soon the attack ends
  do {
    times.push(await honestCycle(hubMa))
    if (!done) await sleep(250)
  } while (!done)
  await during
  return times
}

/** Peak RSS of this process (which hosts the hub), sampled every 50 ms until `stop`. */
export function rssSampler (): { stop: () => number } {
  let peak = process.memoryUsage().rss
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  return { stop: () => { clearInterval(t); return Math.max(peak, process.memoryUsage().rss) } }
}
