/**
 * Per-peer caps against attackers of their own (js-libp2p nodes with fresh Ed25519 keys speaking
 * /sparecycles/work/2.0.0 and /sparecycles/result/1.0.0 to a real hub on loopback): a greedy key,
 * two keys and 50 keys hoarding one job of 500 units (quorum 2, 1,000 replicas), request floods,
 * and 8 parallel receipt fetches in a loop. Honest volunteers lease and submit within 2 s through
 * each attack and the job progresses; each test reads GET /metrics over HTTP and finds the limit
 * that ended the attack counted there. Every attack is bounded in requests and time.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import {
  PRIMES_KERNEL_ID, RECEIPT_SIGNING_DOMAIN, RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput, verifyReceipt
} from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, tempDir, dialledPeer } from './helpers.ts'
import { caps, countPrimes, inspect, resultFor, v2 } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Capabilities, Lease, ResultResponse, WorkResponse } from '../src/protocol/index.ts'

interface Peer { node: Libp2p, key: PrivateKey, id: string }

const PRIMES_PAGE: Capabilities = caps({ backends: ['wasm'], kernels: [PRIMES_KERNEL_ID], memoryBytes: 256 * 1024 * 1024 })
const HONEST_MS = 2_000

let hub: RunningHub
let hubPeer: PeerId
let peers: Peer[] = []

afterEach(async () => {
  await Promise.all(peers.map(async p => await p.node.stop()))
  peers = []
  await hub?.stop()
})

async function start (): Promise<string> {
  // every simulated key dials from 127.0.0.1: the per-address connection limits (transport, tested
  // in hub.limits.transport.test.ts) are opened up so that these tests reach the per-peer caps
  hub = await startHub({
    dataDir: tempDir('hub-limits-'),
    staticDir: join(REPO_ROOT, 'dist'),
    limits: { maxConnectionsPerAddress: 1000, maxPendingUpgradesPerAddress: 1000, inboundConnectionsPerSecond: 1000 },
    // sequential lease order (the old one, tests only): trustedPair needs two peers to agree on one unit
    leaseOrder: 'sequential'
  })
  hubPeer = peerIdFromString(hub.peerId)
  // 500 units of 1,000 numbers, quorum 2: 1,000 replicas
  return (await hub.core.createPrimesJob({ from: 0, to: 500_000, unit: 1_000, quorum: 2 })).id
}

/** A peer of its own: its own libp2p node and Ed25519 key, dialled to the hub (helpers.ts). */
async function peer (): Promise<Peer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

async function work (p: Peer, maxUnits: number): Promise<WorkResponse> {
  return await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(PRIMES_PAGE, maxUnits), AbortSignal.timeout(10_000))
}

async function submit (p: Peer, lease: Lease, count?: number): Promise<ResultResponse> {
  const { lo, hi } = decodePrimesInput(lease.input)
  const signed = await resultFor(p, lease, count ?? countPrimes(lo, hi))
  return await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
}

/** One honest round: lease one unit, compute it, submit it. @returns the wall time in ms */
async function honestRound (p: Peer): Promise<number> {
  const t0 = performance.now()
  const { leases } = await work(p, 1)
  expect(leases).toHaveLength(1)
  expect((await submit(p, leases[0])).status).toBe('accepted')
  return performance.now() - t0
}

/** Two honest volunteers that already have a valid result (they agree on the first unit). */
async function trustedPair (): Promise<[Peer, Peer]> {
  const a = await peer()
  const b = await peer()
  await honestRound(a)
  await honestRound(b)
  return [a, b]
}

/** Value of one sample of GET /metrics, read over HTTP (0 when absent). */
async function metric (name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${hub.url}metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `))
  return line == null ? 0 : Number(line.split(' ').pop())
}

/** Repeat `fn` until `ms` passed or `max` calls were made. */
async function loop (ms: number, max: number, fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + ms
  let n = 0
  while (performance.now() < end && n < max) {
    n++
    await fn().catch(() => {})
  }
  return n
}

/** Honest rounds by `honest`, one after another, while `attack` runs; the slowest round in ms. */
async function honestDuring (attack: Promise<unknown>, honest: Peer[], rounds: number): Promise<number> {
  let slowest = 0
  await new Promise(resolve => setTimeout(resolve, 200)) // let the attack get going
  for (let i = 0; i < rounds; i++) {
    for (const h of honest) slowest = Math.max(slowest, await honestRound(h))
  }
  await attack
  return slowest
}

async function hoard (p: Peer, ms: number): Promise<number> {
  return await loop(ms, 200, async () => await work(p, 16))
}

describe('per-peer caps end lease hoarding', () => {
  it('one greedy key holds at most maxReplicasHeld (32) of 500 units; honest volunteers lease and submit within 2 s', async () => {
    const jobId = await start()
    const [a, b] = await trustedPair()
    const greedy = await peer()
    const slowest = await honestDuring(hoard(greedy, 2_500), [a, b], 3)
    expect(countHeld(greedy.id)).toBe(32)
    expect(slowest).toBeLessThan(HONEST_MS)
    await expectProgress(jobId, 8)
    expect(await metric('sparecycles_limit_hits_total', 'limit="replicas-held"')).toBeGreaterThan(0)
    console.log(`greedy key: holds ${countHeld(greedy.id)}; slowest honest round ${slowest.toFixed(0)} ms`)
  }, 30_000)

  it('two keys hold at most 64 of 1,000 replicas', async () => {
    const jobId = await start()
    const [a, b] = await trustedPair()
    const k1 = await peer()
    const k2 = await peer()
    const slowest = await honestDuring(Promise.all([hoard(k1, 2_500), hoard(k2, 2_500)]), [a, b], 3)
    expect(countHeld(k1.id) + countHeld(k2.id)).toBe(64)
    expect(slowest).toBeLessThan(HONEST_MS)
    await expectProgress(jobId, 8)
    expect(await metric('sparecycles_limit_hits_total', 'limit="replicas-held"')).toBeGreaterThan(0)
    console.log(`two keys: hold ${countHeld(k1.id) + countHeld(k2.id)}; slowest honest round ${slowest.toFixed(0)} ms`)
  }, 30_000)

  it('50 fresh keys hold at most the fresh-peer share (125 + one each) of 1,000; trusted and new honest volunteers keep working', async () => {
    const jobId = await start()
    const [a, b] = await trustedPair()
    const sybils = await Promise.all(Array.from({ length: 50 }, async () => await peer()))
    const attack = Promise.all(sybils.map(async s => await loop(2_500, 4, async () => await work(s, 16))))
    const slowest = await honestDuring(attack, [a, b], 2)
    const byFresh = sybils.reduce((n, s) => n + countHeld(s.id), 0)
    expect(byFresh).toBeLessThanOrEqual(125 + 50)
    // a brand-new honest key still gets its first unit at once and submits it
    const newcomer = await peer()
    const t = await honestRound(newcomer)
    expect(t).toBeLessThan(HONEST_MS)
    expect(slowest).toBeLessThan(HONEST_MS)
    await expectProgress(jobId, 7)
    expect(await metric('sparecycles_limit_hits_total', 'limit="fresh-share"')).toBeGreaterThan(0)
    console.log(`50 keys: hold ${byFresh} of 1000; slowest honest round ${slowest.toFixed(0)} ms, newcomer ${t.toFixed(0)} ms`)
  }, 60_000)

  it('all attacks together, plus work and result floods: honest rounds stay under 2 s, each rate limit counted', async () => {
    const jobId = await start()
    const [a, b] = await trustedPair()
    const greedy = await peer()
    const pair = [await peer(), await peer()]
    const sybils = await Promise.all(Array.from({ length: 20 }, async () => await peer()))
    const flooder = await peer()
    const [bait] = (await work(flooder, 1)).leases
    const before = { work: await metric('sparecycles_limit_hits_total', 'limit="work-rate"'), result: await metric('sparecycles_limit_hits_total', 'limit="result-rate"') }
    const attack = Promise.all([
      hoard(greedy, 3_000), ...pair.map(async p => await hoard(p, 3_000)),
      ...sybils.map(async s => await loop(3_000, 4, async () => await work(s, 16))),
      // 8 streams at a time of work requests, and of (wrong) submissions of one leased unit
      ...Array.from({ length: 8 }, async () => await loop(3_000, 60, async () => await work(flooder, 0))),
      ...Array.from({ length: 8 }, async () => await loop(3_000, 60, async () => await submit(flooder, bait, 1)))
    ])
    const slowest = await honestDuring(attack, [a, b], 3)
    expect(slowest).toBeLessThan(HONEST_MS)
    await expectProgress(jobId, 8)
    expect(countHeld(greedy.id)).toBeLessThanOrEqual(32)
    expect(await metric('sparecycles_limit_hits_total', 'limit="work-rate"')).toBeGreaterThan(before.work)
    expect(await metric('sparecycles_limit_hits_total', 'limit="result-rate"')).toBeGreaterThan(before.result)
    expect(await metric('sparecycles_stream_resets_total', `protocol="${RESULT_SPEC.id}",error="RateLimitedError"`)).toBeGreaterThan(0)
    expect(await metric('sparecycles_results_accepted_total')).toBeGreaterThanOrEqual(8)
    expect(await metric('sparecycles_connections_open')).toBeGreaterThanOrEqual(25)
    expect(await metric('sparecycles_leases_held', `peer="${greedy.id}"`)).toBe(countHeld(greedy.id))
    console.log(`together: slowest honest round ${slowest.toFixed(0)} ms`)
  }, 60_000)
})

describe('receipts are signed once', () => {
  it('8 parallel fetches of all of a peer\'s receipts in a loop sign nothing; honest rounds stay under 2 s', async () => {
    await start()
    const [a, b] = await trustedPair()
    const rich = await peer()
    // 200 credit entries for one peer (the most a response carries), granted through the ledger
    await hub.core.repo.transaction(async tx => {
      for (let i = 0; i < 200; i++) {
        await hub.core.ledger.grant(tx, { peerId: rich.id, jobId: 'j', wuId: `w${i}`, replicaId: `w${i}/r0`, credit: 1, grantedAtMs: Date.now() })
      }
    })
    const key = (hub.core as unknown as { hubKey: PrivateKey }).hubKey
    const sign = key.sign.bind(key)
    // count the hub key's receipt signatures (libp2p signs other things with the same key, e.g. peer records)
    const domain = new TextEncoder().encode(RECEIPT_SIGNING_DOMAIN)
    let signatures = 0
    key.sign = (data: Uint8Array) => {
      if (data.length > domain.length && domain.every((b, i) => data[i] === b)) signatures++
      return sign(data)
    }
    const fetched: number[] = []
    const flood = Promise.all(Array.from({ length: 8 }, async () => await loop(3_000, 500, async () => {
      const res = await callProtocol(rich.node, hubPeer, RESULT_SPEC, { receiptsAfter: 0 }, AbortSignal.timeout(10_000))
      fetched.push(res.credits.length)
    })))
    const grantsBefore = await metric('sparecycles_receipt_signatures_total', 'receipt="credit",when="grant"')
    const acksBefore = await metric('sparecycles_receipt_signatures_total', 'receipt="ack",when="grant"')
    const slowest = await honestDuring(flood, [a, b], 3)
    key.sign = sign
    const full = fetched.filter(n => n === 200).length
    expect(full).toBeGreaterThan(0)
    const grants = await metric('sparecycles_receipt_signatures_total', 'receipt="credit",when="grant"') - grantsBefore
    const acks = await metric('sparecycles_receipt_signatures_total', 'receipt="ack",when="grant"') - acksBefore
    // the only signatures: each honest result's ack (6) and each validated unit's two credits (3 units)
    expect(acks).toBe(6)
    expect(grants).toBe(6)
    expect(signatures).toBe(acks + grants)
    expect(await metric('sparecycles_receipt_signatures_total', 'receipt="credit",when="lazy"')).toBe(0)
    expect(slowest).toBeLessThan(HONEST_MS)
    expect(await metric('sparecycles_limit_hits_total', 'limit="receipts-rate"')).toBeGreaterThan(0)
    // the receipts handed out verify against the hub key
    const res = await callProtocol(rich.node, hubPeer, RESULT_SPEC, { receiptsAfter: 190 }, AbortSignal.timeout(10_000))
    for (const r of res.credits) await verifyReceipt(r, key.publicKey)
    console.log(`signing flood: ${fetched.length} fetches (${full} full pages of 200), ${signatures} hub signatures in all (honest acks ${acks} + credits ${grants}); slowest honest round ${slowest.toFixed(0)} ms`)
  }, 30_000)
})

/**
 * The job progressed: at least `results` results accepted in all (the honest ones), at least one unit
 * validated. (A quorum-2 unit whose other replica a hoarder holds waits for that lease to run out.)
 */
async function expectProgress (jobId: string, results: number): Promise<void> {
  expect(await metric('sparecycles_results_accepted_total')).toBeGreaterThanOrEqual(results)
  expect((await hub.core.jobStatus(jobId))?.validated).toBeGreaterThanOrEqual(1)
}

/** In-progress replicas held by a peer, read from the hub's store. */
function countHeld (peerId: string): number {
  return inspect(hub.core).get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress'", peerId)?.n ?? 0
}
