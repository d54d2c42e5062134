/**
 * Unit tests of the per-peer limits (peer-limits.ts) and how HubCore applies them, with injected
 * clocks: the token bucket, the held-replicas cap, the fresh-peer share of a job, the three rate
 * limits' answers, and receipts of ledgers older than schema 3 signed once, lazily.
 */
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { HubMetrics } from '../src/hub/metrics.ts'
import { DEFAULT_PEER_LIMITS, PeerRateLimiter, TokenBucket, freshHeldCap, maxReplicasHeld, resolvePeerLimits } from '../src/hub/peer-limits.ts'
import { PRIMES_KERNEL_ID, RateLimitedError, decodePrimesInput, verifyReceipt } from '../src/protocol/index.ts'
import { tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2, volunteer } from './hub-fixtures.ts'
import type { PeerLimitOptions } from '../src/hub/peer-limits.ts'
import type { Lease } from '../src/protocol/index.ts'

const PAGE = caps({ backends: ['wasm'], kernels: [PRIMES_KERNEL_ID] })

describe('TokenBucket', () => {
  it('admits a burst, then one per 1/rate s, and says how long to wait', () => {
    let t = 0
    const b = new TokenBucket({ perSecond: 4, burst: 3 }, () => t)
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0])
    expect(b.take()).toBe(250)
    t = 100
    expect(b.take()).toBe(150)
    t = 250
    expect(b.take()).toBe(0)
    expect(b.take()).toBe(250)
    t = 10_000 // refills to the burst, no more
    expect(b.full).toBe(true)
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([0, 0, 0, 250])
  })

  it('per peer: one key\'s flood leaves another\'s bucket full; the map stays bounded', () => {
    const t = 0
    const r = new PeerRateLimiter({ perSecond: 1, burst: 2 }, () => t, 3)
    expect([r.take('a'), r.take('a'), r.take('a') > 0]).toEqual([0, 0, true])
    expect(r.take('b')).toBe(0)
    for (const id of ['c', 'd', 'e', 'f']) r.take(id)
    expect(r.size).toBeLessThanOrEqual(3)
  })

  it('settings are checked', () => {
    expect(() => resolvePeerLimits({ maxReplicasHeld: 0 })).toThrow(RangeError)
    expect(() => resolvePeerLimits({ freshShare: 1.5 })).toThrow(/freshShare/)
    expect(() => resolvePeerLimits({ workRate: { perSecond: 0, burst: 1 } })).toThrow(/workRate.perSecond/)
    expect(resolvePeerLimits()).toEqual(DEFAULT_PEER_LIMITS)
    expect(maxReplicasHeld({ validResults: 0, invalidResults: 0 }, DEFAULT_PEER_LIMITS)).toBe(32)
    expect(freshHeldCap(500, DEFAULT_PEER_LIMITS)).toBe(125)
    expect(freshHeldCap(10, DEFAULT_PEER_LIMITS)).toBe(32)
  })
})

async function hub (limits: PeerLimitOptions = {}): Promise<{ h: HubCore, metrics: HubMetrics, setRate: (ms: number) => void }> {
  let rate = 0
  const metrics = new HubMetrics()
  const h = await HubCore.open({ dataDir: tempDir('hub-peer-limits-'), hubKey: await generateKeyPair('Ed25519'), now: () => 1_000_000, limits, metrics, rateClock: () => rate })
  return { h, metrics, setRate: ms => { rate = ms } }
}

async function hits (m: HubMetrics, limit: string): Promise<number> {
  const line = (await m.text()).split('\n').find(l => l.startsWith(`sparecycles_limit_hits_total{limit="${limit}"} `))
  return line == null ? 0 : Number(line.split(' ').pop())
}

async function submit (h: HubCore, v: Awaited<ReturnType<typeof volunteer>>, l: Lease): Promise<string> {
  const { lo, hi } = decodePrimesInput(l.input)
  return (await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status
}

describe('held-replicas cap and fresh-peer share', () => {
  it('a peer holds at most maxReplicasHeld in progress; a result frees a place', async () => {
    const { h, metrics } = await hub({ maxReplicasHeld: 3 })
    await h.createPrimesJob({ from: 0, to: 20_000, unit: 1_000, quorum: 1 })
    const v = await volunteer()
    const first = (await h.leaseV2(v.id, v2(PAGE, 16))).leases
    expect(first).toHaveLength(3)
    const second = await h.leaseV2(v.id, v2(PAGE, 16))
    expect(second.leases).toHaveLength(0)
    expect(second.retryAfterMs).toBeGreaterThan(0)
    expect(await hits(metrics, 'replicas-held')).toBe(2)
    expect(await submit(h, v, first[0])).toBe('accepted')
    expect((await h.leaseV2(v.id, v2(PAGE, 16))).leases).toHaveLength(1)
    // a give-back frees a place too
    await h.leaseV2(v.id, v2(PAGE, 0, [{ replicaId: first[1].replicaId, reason: 'stopped' }]))
    expect((await h.leaseV2(v.id, v2(PAGE, 16))).leases).toHaveLength(1)
    await h.close()
  })

  it('fresh peers together hold at most the share of a job (one first unit each beyond it); a peer with a valid result is not bound by it', async () => {
    const { h, metrics } = await hub({ freshShare: 0.1, freshMinHeld: 2, maxReplicasHeld: 4 })
    const job = await h.createPrimesJob({ from: 0, to: 40_000, unit: 1_000, quorum: 1 }) // 40 units: fresh cap 4
    const trusted = await volunteer()
    const [t0] = (await h.leaseV2(trusted.id, v2(PAGE, 1))).leases
    expect(await submit(h, trusted, t0)).toBe('accepted')
    const fresh = await Promise.all(Array.from({ length: 4 }, async () => await volunteer()))
    const got = []
    for (const f of fresh) got.push((await h.leaseV2(f.id, v2(PAGE, 16))).leases.length)
    expect(got).toEqual([4, 1, 1, 1]) // the first fills the share; each other gets its first unit only
    expect((await h.leaseV2(fresh[1].id, v2(PAGE, 16))).leases).toHaveLength(0)
    expect(await hits(metrics, 'fresh-share')).toBeGreaterThanOrEqual(4)
    expect((await h.leaseV2(trusted.id, v2(PAGE, 16))).leases).toHaveLength(4)
    expect((await h.jobStatus(job.id))?.inProgress).toBe(11)
    await h.close()
  })
})

describe('rate limits', () => {
  it('work: an answer with no leases and retryAfterMs; result: RateLimitedError; receipts: an empty page', async () => {
    const { h, metrics, setRate } = await hub({ workRate: { perSecond: 2, burst: 2 }, resultRate: { perSecond: 1, burst: 1 }, receiptsRate: { perSecond: 1, burst: 1 } })
    await h.createPrimesJob({ from: 0, to: 10_000, unit: 1_000, quorum: 1 })
    const v = await volunteer()
    const [a] = (await h.leaseV2(v.id, v2(PAGE, 1))).leases
    const [b] = (await h.lease(v.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const over = await h.leaseV2(v.id, v2(PAGE, 1, [{ replicaId: a.replicaId, reason: 'stopped' }]))
    expect(over).toMatchObject({ leases: [], retryAfterMs: 500, error: '' })
    expect(await hits(metrics, 'work-rate')).toBe(1)
    expect(await submit(h, v, a)).toBe('accepted') // the give-back above was not done
    await expect(submit(h, v, b)).rejects.toThrow(RateLimitedError)
    expect(await hits(metrics, 'result-rate')).toBe(1)
    expect((await h.creditsFor(v.id, 0)).credits).toHaveLength(1)
    expect(await h.creditsFor(v.id, 0)).toEqual({ credits: [], upTo: 0 })
    expect(await hits(metrics, 'receipts-rate')).toBe(1)
    setRate(1_000)
    expect(await submit(h, v, b)).toBe('accepted')
    expect((await h.leaseV2(v.id, v2(PAGE, 1))).leases).toHaveLength(1)
    await h.close()
  })
})

describe('receipts of an older ledger', () => {
  it('rows without a stored signature are signed once, on first fetch, and kept; the ledger stays append-only', async () => {
    const { h, metrics } = await hub()
    await h.createPrimesJob({ from: 0, to: 3_000, unit: 1_000, quorum: 1 })
    const v = await volunteer()
    for (const l of (await h.leaseV2(v.id, v2(PAGE, 3))).leases) expect(await submit(h, v, l)).toBe('accepted')
    const dir = h.dataDir
    const hubKey = (h as unknown as { hubKey: import('@libp2p/interface').PrivateKey }).hubKey
    await h.close()
    // as a schema-2 ledger would be after migrating: no signatures stored
    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    const trigger = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'ledger_no_update'").get() as { sql: string }
    db.exec('DROP TRIGGER ledger_no_update; UPDATE ledger SET receipt_signature = NULL; UPDATE results SET ack_signature = NULL')
    db.exec(trigger.sql)
    expect(() => db.exec('UPDATE ledger SET credit = 9 WHERE seq = 1')).toThrow(/append-only/)
    db.close()
    const again = await HubCore.open({ dataDir: dir, hubKey, metrics })
    const lazy = async (): Promise<string | undefined> => (await metrics.text()).split('\n').find(l => l.startsWith('sparecycles_receipt_signatures_total{receipt="credit",when="lazy"}'))
    const first = await again.creditsFor(v.id, 0)
    expect(first.credits).toHaveLength(3)
    for (const r of first.credits) await verifyReceipt(r, hubKey.publicKey)
    expect(await lazy()).toMatch(/ 3$/)
    const second = await again.creditsFor(v.id, 0)
    const hex = (rs: typeof first.credits): string[] => rs.map(r => Buffer.from(r.signature).toString('hex'))
    expect(hex(second.credits)).toEqual(hex(first.credits))
    expect(await lazy()).toMatch(/ 3$/) // not signed again
    await again.close()
  })
})
