/**
 * Issue 11, transport and connection limits: each attack against a real hub (startHub on a temp
 * dir, WebSockets on loopback) from attacker code of its own — raw WebSocket handshakes from other
 * loopback addresses before noise, libp2p peers with their own keys writing raw bytes on protocol
 * streams after it — while an honest volunteer with a fresh key connects, leases and submits
 * within 2 s; the process hosting the hub stays under 512 MB RSS; and the limit that ended the
 * attack is the one reported to onLimitHit. Every attack is bounded in count and time.
 */
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { JOB_PROTOCOL, JOB_SPEC_V2, RESULT_PROTOCOL_V1_1, SignedManifest, WORK_PROTOCOL_V2, buildManifest, callProtocol, packInputs, signManifest } from '../src/protocol/index.ts'
import { uploadBlob } from '../src/cli/researcher-node.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { attackerPeer, dribble, frameHeader, honestDuring, pendingSockets, rawWebSocket, rssSampler, sleep } from './attackers.ts'
import { buildModule } from './wasm-builder.ts'
import type { HubLimits, LimitName } from '../src/hub/limits.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p } from '@libp2p/interface'
import type { KernelDirManifest } from '../src/protocol/kernel-manifest.ts'

const MB = 1024 * 1024
const RSS_CAP = 512 * MB
const HONEST_MS = 2000

let hub: RunningHub
let hubMa: string
let dataDir: string
const hits: Array<{ name: LimitName, at: number }> = []
const nodes: Libp2p[] = []

async function start (limits: Partial<HubLimits> = {}): Promise<void> {
  dataDir = tempDir('hub-limits-')
  hits.length = 0
  hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), limits, onLimitHit: name => { hits.push({ name, at: Date.now() }) } })
  hubMa = hub.multiaddrs[0]
  await hub.core.createPrimesJob({ from: 0, to: 1e8, unit: 1e5, quorum: 1 })
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.stop()))
  await hub?.stop()
})

const count = (name: LimitName): number => hits.filter(h => h.name === name).length

/** Run `attack` with honest cycles during it; checks honest latency and RSS, logs the figures. */
async function underAttack (label: string, attack: Promise<unknown>, honestAfterMs = 300): Promise<{ honest: number[], rss: number }> {
  const rss = rssSampler()
  const honest = await honestDuring(hubMa, attack, honestAfterMs)
  const peak = rss.stop()
  console.log(`[limits] ${label}: honest connect+lease+submit ms ${honest.map(t => t.toFixed(0)).join(', ')}; peak RSS ${(peak / MB).toFixed(0)} MB; hits ${JSON.stringify(Object.fromEntries([...new Set(hits.map(h => h.name))].map(n => [n, count(n)])))}`)
  expect(honest.length).toBeGreaterThan(0)
  expect(Math.max(...honest)).toBeLessThan(HONEST_MS)
  expect(peak).toBeLessThan(RSS_CAP)
  return { honest, rss: peak }
}

/** Streams writing 0xff forever (an endless varint) at `bytesPerSecond`, each for at most 5 s. */
async function endlessPrefix (streams: number, bytesPerSecond: number): Promise<Array<number | undefined>> {
  const attackers = await Promise.all(Array.from({ length: streams }, async () => await attackerPeer(hubMa)))
  nodes.push(...attackers)
  const hubPeer = peerIdFromString(hub.peerId)
  return await Promise.all(attackers.map(async a => {
    const stream = await a.dialProtocol(hubPeer, WORK_PROTOCOL_V2)
    return await dribble(stream, new Uint8Array(bytesPerSecond / 10).fill(0xff), 100, 5000)
  }))
}

describe('hub transport and connection limits (issue 11)', () => {
  it('endless length prefix: 4 streams at 48 KiB/s and one at 128 KiB/s of 0xff are reset at once (length-prefix)', async () => {
    await start()
    let closedAfter: Array<number | undefined> = []
    await underAttack('endless length prefix', (async () => {
      closedAfter = [...await endlessPrefix(4, 48 * 1024), ...await endlessPrefix(1, 128 * 1024)]
    })())
    expect(closedAfter.every(ms => ms != null && ms < 1000)).toBe(true)
    expect(count('length-prefix')).toBe(5)
  }, 30_000)

  it('slow body: a request trickling in is reset at the protocol deadline, which arriving bytes do not extend (stream-deadline)', async () => {
    await start()
    const [attacker] = [await attackerPeer(hubMa)]
    nodes.push(attacker)
    const stream = await attacker.dialProtocol(peerIdFromString(hub.peerId), WORK_PROTOCOL_V2)
    stream.send(Uint8Array.of(0x80, 0x7d)) // declares 16,000 bytes (cap 16 KiB), then 100 B every 100 ms
    let closedAfter: number | undefined
    await underAttack('slow body', (async () => { closedAfter = await dribble(stream, new Uint8Array(100), 100, 14_000) })())
    expect(closedAfter).toBeGreaterThan(9_500)
    expect(closedAfter).toBeLessThan(11_500)
    expect(count('stream-deadline')).toBe(1)
  }, 30_000)

  it('66 WebSockets that never start noise, re-opened every 8 s from one address, hold at most 8 slots (pending-upgrades-per-address, upgrade-timeout)', async () => {
    await start()
    await underAttack('66 pending WebSockets', pendingSockets(hubMa, 66, ['127.0.0.2'], 8000, 12_000))
    // most re-opens are refused by the per-address rate first, the rest by the per-address pending cap
    expect(count('pending-upgrades-per-address')).toBeGreaterThan(0)
    expect(count('pending-upgrades-per-address') + count('connection-rate')).toBeGreaterThan(50)
    expect(count('upgrade-timeout')).toBeGreaterThanOrEqual(8)
    expect(hub.guard.pendingUpgrades).toBeLessThanOrEqual(8)
  }, 40_000)

  it('pending WebSockets from 4 addresses stop at each address\'s share of connections (connections-per-address)', async () => {
    await start({ maxPendingUpgradesPerAddress: 30, maxConnectionsPerAddress: 5 })
    const addresses = Array.from({ length: 4 }, (_, i) => `127.0.0.${i + 10}`)
    await underAttack('pending WebSockets from 4 addresses', pendingSockets(hubMa, 60, addresses, 8000, 6000))
    expect(count('connections-per-address')).toBeGreaterThan(0)
    expect(hub.guard.pendingUpgrades).toBeLessThanOrEqual(20)
  }, 40_000)

  it('pending WebSockets from 8 addresses fill the hub-wide pending cap; the operator\'s allow-listed address still gets in (pending-upgrades, allow)', async () => {
    await start({ maxPendingUpgrades: 24, inboundConnectionsPerSecond: 100, allow: ['127.0.0.1'] })
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 40}`)
    await underAttack('pending WebSockets from 8 addresses', pendingSockets(hubMa, 64, addresses, 8000, 6000))
    expect(count('pending-upgrades')).toBeGreaterThan(0)
  }, 40_000)

  it('4 pending WebSockets declaring a 64 MiB frame before noise are closed at the frame header (ws-frame)', async () => {
    await start()
    await underAttack('64 MiB frames', Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const socket = await rawWebSocket(hubMa, `127.0.0.${20 + i}`)
      socket.write(frameHeader(64 * MB))
      // the hub answers with a close frame (opcode 8) carrying 1009 "message too big", or drops the socket
      const closed = new Promise<boolean>(resolve => {
        socket.on('data', (d: Buffer) => { if (d[0] === 0x88 && d.readUInt16BE(2) === 1009) resolve(true) })
        socket.once('close', () => { resolve(true) })
      })
      for (let k = 0; k < 16 && !socket.destroyed; k++) { socket.write(Buffer.alloc(64 * 1024)); await sleep(50) }
      const ended = await Promise.race([closed, sleep(3000).then(() => false)])
      await sleep(1500) // the honest volunteer comes while the closed sockets linger
      socket.destroy()
      expect(ended).toBe(true)
    })))
    expect(count('ws-frame')).toBe(4)
  }, 30_000)

  it('idle peers with fresh keys filling the hub are pruned when they hold no lease (idle-pruned)', async () => {
    await start({ maxConnections: 48, pruneGraceMs: 1000, maxConnectionsPerAddress: 1000, inboundConnectionsPerSecond: 1000 })
    await underAttack('idle peers', (async () => {
      for (let round = 0; round < 6; round++) {
        const batch = await Promise.allSettled(Array.from({ length: 12 }, async () => await attackerPeer(hubMa)))
        for (const r of batch) if (r.status === 'fulfilled') nodes.push(r.value)
        await sleep(400)
      }
      await sleep(1500)
    })(), 2500)
    expect(count('idle-pruned')).toBeGreaterThan(10)
    expect(hub.node.getConnections().length).toBeLessThan(48)
  }, 40_000)

  it('64 job streams from strangers declaring 30 MiB are reset at the 64 KiB cap before the bulk is read (unauthorised-job-bytes)', async () => {
    await start()
    const attackers = await Promise.all(Array.from({ length: 16 }, async () => await attackerPeer(hubMa)))
    nodes.push(...attackers)
    const chunk = new Uint8Array(64 * 1024)
    const prefix = Uint8Array.of(0x80, 0x80, 0x80, 0x0f) // 30 MiB
    const closedAfter: Array<number | undefined> = []
    await underAttack('64 stranger job streams', Promise.all(attackers.flatMap(a => Array.from({ length: 4 }, async () => {
      const stream = await a.dialProtocol(peerIdFromString(hub.peerId), JOB_PROTOCOL)
      stream.send(prefix)
      closedAfter.push(await dribble(stream, chunk, 16, 4000))
    }))), 0) // the resets come within a second: the honest volunteer starts at once
    expect(closedAfter.every(ms => ms != null && ms < 1000)).toBe(true)
    expect(count('unauthorised-job-bytes')).toBe(64)
  }, 40_000)

  it('requests trickling in on many streams stop at the shared request-memory budget (request-memory)', async () => {
    await start({ maxRequestMemoryBytes: 3 * MB })
    const attackers = await Promise.all(Array.from({ length: 3 }, async () => await attackerPeer(hubMa)))
    nodes.push(...attackers)
    const prefix = Uint8Array.of(0x80, 0x80, 0x40) // 1 MiB, under result/1.1.0's cap
    await underAttack('request memory', Promise.all(attackers.flatMap(a => Array.from({ length: 4 }, async () => {
      try {
        const stream = await a.dialProtocol(peerIdFromString(hub.peerId), RESULT_PROTOCOL_V1_1)
        stream.send(prefix)
        await dribble(stream, new Uint8Array(1024), 100, 3000)
      } catch {} // a refused stream may be reset before the attacker's first write
    }))))
    expect(count('request-memory')).toBe(12 - 2) // 2 MiB of 3 MiB for large requests; the rest stays for small ones
  }, 30_000)

  it('a valid 5 MiB job post from an allowed researcher is uploaded in 1 MiB chunks and accepted over job/2.0.0 (no request above the chunk cap)', async () => {
    await start()
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    writeFileSync(join(dataDir, 'researchers.json'), JSON.stringify({ allowed: [id] }))
    const node = await createTestPeer(key)
    nodes.push(node)
    await node.dial(multiaddr(hubMa))
    const hubPeer = peerIdFromString(hub.peerId)
    const kernel = buildModule({ memory: { min: 1, max: 2 } })
    const dir: KernelDirManifest = { abi: 1, name: 'big', version: '1.0.0', backend: 'wasm', source: 'k', entry: 'k', output: 'bytes', limits: { memoryBytes: 131072, maxOutputBytes: 64, deadlineMs: 5000 } }
    const signed = await signManifest(buildManifest(dir, kernel, key), key)
    const inputs = Array.from({ length: 330 }, (_, i) => new Uint8Array(16 * 1024).fill(i % 251))
    const res = await callProtocol(node, hubPeer, JOB_SPEC_V2, {
      signedManifest: SignedManifest.encode(signed),
      kernelCid: await uploadBlob(node, hubPeer, kernel) as Uint8Array<ArrayBuffer>,
      inputsCid: await uploadBlob(node, hubPeer, packInputs(inputs)) as Uint8Array<ArrayBuffer>,
      quorum: 1,
      creditPerUnit: 1,
      policy: '',
      ringers: []
    }, AbortSignal.timeout(30_000))
    expect(res.error).toBe('')
    expect(res.job?.workUnits).toBe(330)
  }, 40_000)

  it('all attacks together: the honest volunteer still gets in, leases and submits within 2 s', async () => {
    await start()
    await underAttack('all together', Promise.all([
      endlessPrefix(4, 48 * 1024),
      pendingSockets(hubMa, 66, ['127.0.0.2'], 8000, 8000),
      ...Array.from({ length: 4 }, async (_, i) => {
        const socket = await rawWebSocket(hubMa, `127.0.0.${30 + i}`)
        socket.write(frameHeader(64 * MB))
        await sleep(1000)
        socket.destroy()
      }),
      (async () => {
        const a = await attackerPeer(hubMa)
        nodes.push(a)
        await Promise.all(Array.from({ length: 4 }, async () => {
          const stream = await a.dialProtocol(peerIdFromString(hub.peerId), JOB_PROTOCOL)
          stream.send(Uint8Array.of(0x80, 0x80, 0x80, 0x0f))
          await dribble(stream, new Uint8Array(64 * 1024), 16, 3000)
        }))
      })()
    ]))
    for (const name of ['length-prefix', 'pending-upgrades-per-address', 'ws-frame', 'unauthorised-job-bytes'] as const) expect(count(name)).toBeGreaterThan(0)
    // the operator reads the same hits from /metrics, with the bytes of requests read per protocol
    const metrics = await (await fetch(new URL('/metrics', hub.url))).text()
    for (const name of ['length-prefix', 'pending-upgrades-per-address', 'ws-frame', 'unauthorised-job-bytes']) {
      const m = new RegExp(`^sparecycles_limit_hits_total\\{limit="${name}"\\} (\\d+)$`, 'm').exec(metrics)
      expect(Number(m?.[1]), `${name} in /metrics`).toBe(count(name as LimitName))
    }
    expect(Number(/^sparecycles_bytes_in_total\{protocol="\/sparecycles\/work\/2\.0\.0"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0)
  }, 40_000)
})
