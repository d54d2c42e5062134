/**
 * Trust (issue 10) on a real HubCore (SQLite in a temp dir): the trust record (promotion,
 * demotion, ban), BOINC's 1 - 1/CV sampling with a seeded random, the assignment rules (random
 * order, same-address avoidance, failure budget, banned kernels), reversal entries (the chain
 * verifies, a proven cheater nets 0, statements verify for honest and cheater alike), and the
 * policies with the test kernel's fake spot check.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { registerSite } from '../src/hub/site-registry.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { DEFAULT_TRUST, isBanned, isTrusted, planCheck, replicationProbability, seededRandom } from '../src/hub/trust.ts'
import { CreditEntry, HubReceipt } from '../src/protocol/pb/messages.ts'
import { buildStatement, verifyStatement } from '../src/protocol/statement.ts'
import { toHex } from '../src/protocol/signing.ts'
import { creditOf } from '../src/protocol/credit.ts'
import { decodePrimesInput } from '../src/protocol/primes.ts'
import type { HubCoreOptions } from '../src/hub/hub-core.ts'
import type { TrustRow } from '../src/hub/repository.ts'
import type { Lease } from '../src/protocol/pb/messages.ts'
import { tempDir } from './helpers.ts'
import { caps, countPrimes, inspect, resultFor, v2, volunteer } from './hub-fixtures.ts'
import type { Volunteer } from './hub-fixtures.ts'
import { SPOT_SHARE, TRUST_KERNEL, createTrustJob, defineTrustKernel, estimate } from './trust-fixtures.ts'

let dir: string
let clock: number
const open: HubCore[] = []

async function hub (opts: Partial<HubCoreOptions> = {}): Promise<HubCore> {
  const h = await HubCore.open({ dataDir: dir, hubKey: await generateKeyPair('Ed25519'), now: () => clock, random: seededRandom(7), ...opts })
  open.push(h)
  return h
}

beforeEach(() => { dir = tempDir('hub-trust-'); clock = 1_700_000_000_000 })
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

const PAGE = caps({ kernels: [TRUST_KERNEL] })

function rec (r: Partial<TrustRow>): TrustRow {
  return { peer_id: 'p', kernel: 'k', consecutive_valid: 0, valid_results: 0, verified_results: 0, invalid_results: 0, client_errors: 0, spot_checks: 0, spot_failures: 0, updated_at_ms: 0, ...r }
}

async function lease (h: HubCore, v: Volunteer | string, n = 1, remoteAddr?: string): Promise<Lease[]> {
  return (await h.leaseV2(typeof v === 'string' ? v : v.id, v2(PAGE, n), { remoteAddr })).leases
}

async function honest (h: HubCore, v: Volunteer, l: Lease): Promise<string> {
  const { lo, hi } = decodePrimesInput(l.input)
  return (await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status
}

async function cheat (h: HubCore, v: Volunteer, l: Lease): Promise<string> {
  const { lo, hi } = decodePrimesInput(l.input)
  return (await h.submit(v.id, await resultFor(v, l, estimate(lo, hi)))).status
}

describe('trust record', () => {
  it('promotes at CV >= threshold, demotes on a failed spot check, bans on proof or repeated invalid results', () => {
    expect(isTrusted(undefined)).toBe(false)
    expect(isTrusted(rec({ consecutive_valid: DEFAULT_TRUST.threshold - 1 }))).toBe(false)
    expect(isTrusted(rec({ consecutive_valid: DEFAULT_TRUST.threshold }))).toBe(true)
    expect(isTrusted(rec({ consecutive_valid: 50, spot_failures: 1 }))).toBe(false)
    expect(isBanned(rec({ spot_failures: 1 }))).toBe(true)
    expect(isBanned(rec({ invalid_results: 2 }))).toBe(false)
    expect(isBanned(rec({ invalid_results: 3, valid_results: 4 }))).toBe(true)
    expect(isBanned(rec({ invalid_results: 3, valid_results: 100 }))).toBe(false)
  })

  it('samples 1 - 1/CV of a trusted peer\'s results unreplicated (kernel without a spot check), none of an untrusted one\'s', () => {
    const random = seededRandom(42)
    const trusted = rec({ consecutive_valid: 20 })
    expect(replicationProbability(trusted)).toBeCloseTo(1 / 20, 12)
    let alone = 0
    for (let i = 0; i < 20_000; i++) {
      const p = planCheck('adaptive', false, trusted, random)
      expect(p.spotCheck).toBe(false)
      if (!p.replicate) alone++
    }
    expect(alone / 20_000).toBeGreaterThan(0.94)
    expect(alone / 20_000).toBeLessThan(0.96)
    for (let i = 0; i < 1000; i++) expect(planCheck('adaptive', false, rec({ consecutive_valid: 9 }), random)).toEqual({ spotCheck: false, replicate: true })
    // replicate: BOINC's plain quorum, the hub checks nothing, trusted or not
    expect(planCheck('replicate', true, undefined, random)).toEqual({ spotCheck: false, replicate: false })
    for (let i = 0; i < 1000; i++) expect(planCheck('replicate', true, trusted, random)).toEqual({ spotCheck: false, replicate: false })
  })

  it('with a spot check: an untrusted peer\'s result is always spot-checked AND replicated; a trusted one\'s each with probability 1/CV, independently', () => {
    const random = seededRandom(7)
    for (const cv of [0, 5, DEFAULT_TRUST.threshold - 1]) {
      for (let i = 0; i < 500; i++) expect(planCheck('adaptive', true, rec({ consecutive_valid: cv }), random)).toEqual({ spotCheck: true, replicate: true })
    }
    // a trusted record that once failed a spot check is not trusted
    expect(planCheck('adaptive', true, rec({ consecutive_valid: 50, spot_failures: 1 }), random)).toEqual({ spotCheck: true, replicate: true })
    const trusted = rec({ consecutive_valid: 20 })
    const n = 40_000
    let spot = 0; let repl = 0; let both = 0; let neither = 0
    for (let i = 0; i < n; i++) {
      const p = planCheck('adaptive', true, trusted, random)
      if (p.spotCheck) spot++
      if (p.replicate) repl++
      if (p.spotCheck && p.replicate) both++
      if (!p.spotCheck && !p.replicate) neither++
    }
    // 1/20 each (binomial sd ~0.0011 at n = 40,000), independent: both ~1/400, neither ~(19/20)^2
    expect(spot / n).toBeGreaterThan(0.045); expect(spot / n).toBeLessThan(0.055)
    expect(repl / n).toBeGreaterThan(0.045); expect(repl / n).toBeLessThan(0.055)
    expect(both / n).toBeGreaterThan(0.0015); expect(both / n).toBeLessThan(0.0035)
    expect(neither / n).toBeGreaterThan(0.895); expect(neither / n).toBeLessThan(0.91)
  })

  it('a peer earns CV from its own passed spot checks (a lone peer too, while its units wait for a replica); then it is trusted and earns credit alone', async () => {
    const h = await hub()
    defineTrustKernel(h)
    const jobId = await createTrustJob(h, 20, 1000)
    const v = await volunteer()
    for (let i = 0; i < DEFAULT_TRUST.threshold; i++) for (const l of await lease(h, v)) expect(await honest(h, v, l)).toBe('accepted')
    const t = inspect(h).get<TrustRow>('SELECT * FROM trust WHERE peer_id = ?', v.id)
    expect(t).toMatchObject({ consecutive_valid: DEFAULT_TRUST.threshold, verified_results: 0, spot_checks: DEFAULT_TRUST.threshold, spot_failures: 0 })
    expect(isTrusted(t)).toBe(true)
    // untrusted results were replicated: nothing validated yet, each unit wants one more result
    expect(await h.ledgerBalance(v.id)).toBe(0)
    expect(await h.jobStatus(jobId)).toMatchObject({ validated: 0, spotChecks: DEFAULT_TRUST.threshold })
    // trusted now: most results stand alone (replicated with probability 1/CV) and are credited
    for (let i = 0; i < 10; i++) { clock += 1000; for (const l of await lease(h, v)) expect(await honest(h, v, l)).toBe('accepted') }
    const s = await h.jobStatus(jobId)
    expect(s!.validated).toBeGreaterThanOrEqual(5)
    expect(await h.ledgerBalance(v.id)).toBeCloseTo(s!.validated * 0.001, 12)
  })
})

describe('assignment', () => {
  it('leases in random order inside a job, not "the unit that already has a result" first', async () => {
    // Each lease is a run of units in a random key order from a random start point, so how many
    // of a's 16 units (of 100, each with one replica open) b is handed varies from 0 to 16: the
    // mean is 16 · 16/100 = 2.56 and the sd ~4.6. One trial's overlap is no test (>= 8 in ~17 %
    // of them); the mean of 40 trials is (sd ~0.72): the steerable order handed b all 16 of a's.
    const trials = 40
    let shared = 0
    const idx = (ls: Lease[]): number[] => ls.map(l => Number(l.wuId.split('-').pop()))
    for (let t = 0; t < trials; t++) {
      const h = await hub({ defaultPolicy: 'replicate', dataDir: join(dir, `trial-${t}`) })
      await h.createPrimesJob({ from: 0, to: 10_000, unit: 100, quorum: 2 })
      const a = await h.leaseV2('a', v2(caps(), 16))
      const b = await h.leaseV2('b', v2(caps(), 16))
      expect(a.leases).toHaveLength(16); expect(b.leases).toHaveLength(16)
      expect(idx(a.leases)).not.toEqual(Array.from({ length: 16 }, (_, i) => i))
      // b is not handed a's units (each of which already has a replica) ahead of the rest
      shared += idx(b.leases).filter(i => idx(a.leases).includes(i)).length
      await h.close(); open.splice(open.indexOf(h), 1)
    }
    expect(shared / trials).toBeLessThan(6)
  })

  it('keeps two replicas of a unit off one address while another unit is left', async () => {
    const h = await hub({ defaultPolicy: 'replicate' })
    await h.createPrimesJob({ from: 0, to: 400, unit: 100, quorum: 2 })
    const a = await h.leaseV2('a', v2(caps(), 2), { remoteAddr: '10.0.0.1' })
    const b = await h.leaseV2('b', v2(caps(), 2), { remoteAddr: '10.0.0.1' })
    const c = await h.leaseV2('c', v2(caps(), 4), { remoteAddr: '10.0.0.2' })
    const ids = (r: { leases: Lease[] }): string[] => r.leases.map(l => l.wuId).sort()
    expect(ids(b).filter(id => ids(a).includes(id))).toEqual([])
    expect(c.leases).toHaveLength(4)
    expect(inspect(h).getReplica(a.leases[0].replicaId)?.remote_addr).toBe('10.0.0.1')
  })

  it('a proven cheater gets no more units of that kernel; a peer past its failure budget gets no work at all', async () => {
    const h = await hub({ limits: { failureBudget: 4 } })
    defineTrustKernel(h)
    await createTrustJob(h, 40, 1000)
    const c = await volunteer()
    const [l] = await lease(h, c)
    expect(await cheat(h, c, l)).toBe('accepted')
    expect(await lease(h, c, 4)).toEqual([])
    const quitter = 'quitter'
    for (let i = 0; i < 5; i++) {
      const [q] = await lease(h, quitter)
      await h.leaseV2(quitter, v2(PAGE, 0, [{ replicaId: q.replicaId, reason: 'stopped' }]))
    }
    expect(await lease(h, quitter)).toEqual([])
    expect(await h.metrics.text()).toMatch(/limit="failure-budget"/)
  })
})

describe('penalties and reversal', () => {
  it('a failed spot check reverses every grant of the cheater and reopens the units it helped validate: the chain verifies, its balance nets 0, both statements verify', async () => {
    const h = await hub()
    defineTrustKernel(h)
    const jobId = await createTrustJob(h, 10, 1000)
    const [good, bad, third] = await Promise.all([volunteer(), volunteer(), volunteer()])
    // the cheater works honestly first (its three units replicated by `good`), then cheats once
    for (let i = 0; i < 3; i++) for (const l of await lease(h, bad)) expect(await honest(h, bad, l)).toBe('accepted')
    for (const l of await lease(h, good, 10)) expect(await honest(h, good, l)).toBe('accepted')
    expect(await h.jobStatus(jobId)).toMatchObject({ validated: 3 })
    expect(await h.ledgerBalance(bad.id)).toBeCloseTo(0.003, 12)
    // the cheater's fourth unit is one of good's, so the spot check is what catches it
    const [lc] = await lease(h, bad)
    await cheat(h, bad, lc)
    expect(await h.ledgerBalance(bad.id)).toBeCloseTo(0, 12)
    // the three units validated with the cheater are open again, wanting one more agreeing result
    expect(await h.jobStatus(jobId)).toMatchObject({ validated: 0, reopened: 3, output: { primes: 0 } })
    expect(await lease(h, bad)).toEqual([])
    for (let round = 0; round < 12; round++) {
      clock += 1000
      for (const v of [good, third]) for (const l of await lease(h, v)) await honest(h, v, l)
    }
    const status = await h.jobStatus(jobId)
    expect(status).toMatchObject({ state: 'complete', validated: 10, reopened: 3, spotCheckFailures: 1, policy: 'adaptive', output: { primes: countPrimes(0, 10_000) } })
    // every result of an untrusted peer was spot-checked: bad 4, good 10, third 10
    expect(status).toMatchObject({ spotChecks: 24, replicasIssued: 24 })
    expect(status?.checkingCost).toBeCloseTo(SPOT_SHARE, 9)
    expect(status?.checkMs).toBeGreaterThan(0)
    // bad: 3 grants and 3 reversals; good: 10 units; third: the 7 left and the 3 reopened
    expect(await h.verifyLedger()).toMatchObject({ ok: true, entries: 3 + 3 + 10 + 10 })
    expect(await h.ledgerBalance(good.id)).toBeCloseTo(0.01, 12)
    expect(await h.ledgerBalance(third.id)).toBeCloseTo(0.01, 12)
    for (const v of [good, bad]) {
      const receipts = (await h.creditsFor(v.id, 0)).credits.map(r => HubReceipt.encode(r))
      const report = await verifyStatement(buildStatement(h.peerId, v.id, receipts, toHex(h.ledger.saltOf(v.id))), (await h.ledgerEntries(1, 1000)).entries.map(e => e.entry))
      expect(report.ok, report.problems.join('; ')).toBe(true)
      if (v === bad) {
        expect(report.verifiedCredit).toBeCloseTo(0, 12)
        expect(report.entries.filter(e => e.reverses != null)).toHaveLength(3)
        const rev = CreditEntry.decode(HubReceipt.decode(receipts[receipts.length - 1]).body)
        expect(rev).toMatchObject({ version: 3, peerId: h.ledger.pseudonymOf(v.id), credit: 0, creditUnits: -1_000_000, replicaId: expect.stringMatching(/\/reversal$/) })
        expect(creditOf(rev)).toBe(-0.001)
      }
    }
  })

  it('a proven cheater\'s credit is taken back from the partner site it worked through too', async () => {
    const h = await hub()
    defineTrustKernel(h)
    await createTrustJob(h, 10, 1000)
    const SITE = 'site_trust_reversal_0001'
    const ORIGIN = 'https://partner.example'
    registerSite(join(dir, 'sites.json'), SITE, ORIGIN)
    const [good, bad] = await Promise.all([volunteer(), volunteer()])
    const viaSite = async (v: Volunteer, n: number): Promise<Lease[]> => (await h.leaseV2(v.id, v2(PAGE, n, [], SITE, ORIGIN))).leases
    for (const l of await viaSite(bad, 3)) expect(await honest(h, bad, l)).toBe('accepted')
    for (const l of await lease(h, good, 10)) await honest(h, good, l)
    expect(await h.siteStats(SITE)).toMatchObject({ results: 3, visitors: 1 })
    expect((await h.siteStats(SITE)).credit).toBeCloseTo(0.003, 12)
    const [lc] = await viaSite(bad, 1)
    await cheat(h, bad, lc)
    expect(await h.ledgerBalance(bad.id)).toBeCloseTo(0, 12)
    const site = await h.siteStats(SITE)
    expect(site.credit).toBeCloseTo(0, 12)
    expect(site.results).toBe(0)
    expect(await h.verifyLedger()).toMatchObject({ ok: true })
  })

  it('a failed job can be revived by its researcher', async () => {
    const h = await hub({ maxErrorsPerUnit: 1 })
    defineTrustKernel(h)
    const jobId = await createTrustJob(h, 2, 1000)
    const [v, w, x] = await Promise.all([volunteer(), volunteer(), volunteer()])
    const [a, b] = await lease(h, v, 2)
    await honest(h, v, a)
    // w replicates a: v has a valid result on this hub, so its client errors count
    const [wa] = await lease(h, w)
    expect(wa.wuId).toBe(a.wuId)
    await honest(h, w, wa)
    const empty = new Uint8Array(0)
    const { signResult, sha256Bytes } = await import('../src/protocol/signing.ts')
    await h.submit(v.id, await signResult({ replicaId: b.replicaId, wuId: b.wuId, outcome: 'client-error', output: empty, outputSha256: sha256Bytes(empty) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: 'trap' }, v.key))
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'failed', failed: 1 })
    expect(await h.reviveJob(jobId)).toBe(1)
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'running', failed: 0 })
    const [again] = await lease(h, w)
    expect(again.wuId).toBe(b.wuId)
    await honest(h, w, again)
    const [xb] = await lease(h, x)
    expect(xb.wuId).toBe(b.wuId)
    await honest(h, x, xb)
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'complete', validated: 2 })
  })
})

describe('policies', () => {
  it('adaptive without a spot check replicates an untrusted peer\'s result; replicate keeps quorum n', async () => {
    const h = await hub()
    const id = defineTrustKernel(h, { spotCheck: false, id: 'trust-nospot/1' })
    const jobId = await createTrustJob(h, 1, 1000, 'adaptive', id)
    const page = caps({ kernels: [id] })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    const [la] = (await h.leaseV2(a.id, v2(page))).leases
    expect(inspect(h).getWorkUnit(la.wuId)).toMatchObject({ quorum: 1, target_nresults: 1 })
    await honest(h, a, la)
    expect(inspect(h).getWorkUnit(la.wuId)).toMatchObject({ quorum: 2, state: 'open', wanted: 1 })
    const [lb] = (await h.leaseV2(b.id, v2(page))).leases
    await honest(h, b, lb)
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'complete', policy: 'adaptive', replicasIssued: 2, spotChecks: 0 })
  })

  it('honest steady state under adaptive with a spot check: about one replica per validated unit, checking cost under 5%', async () => {
    // the per-peer rate limits run on the test's clock (each round is a second)
    const h = await hub({ rateClock: () => clock })
    defineTrustKernel(h)
    const vs = await Promise.all([volunteer(), volunteer(), volunteer()])
    const run = async (jobId: string): Promise<void> => {
      for (let round = 0; round < 60; round++) {
        clock += 1000
        for (const v of vs) for (const l of await lease(h, v, 4)) await honest(h, v, l)
      }
    }
    // the first job is where trust is earned: every untrusted result is spot-checked and replicated
    const first = await createTrustJob(h, 40, 1000)
    await run(first)
    const f = await h.jobStatus(first)
    expect(f).toMatchObject({ state: 'complete', validated: 40, invalidResults: 0, spotCheckFailures: 0 })
    // trust is per (peer, kernel), so the next job is the steady state
    const jobId = await createTrustJob(h, 100, 1000)
    await run(jobId)
    const s = await h.jobStatus(jobId)
    expect(s, JSON.stringify({ ...s, credit: undefined })).toMatchObject({ state: 'complete', validated: 100, invalidResults: 0, spotCheckFailures: 0 })
    expect(s!.replicasPerValidated).toBeLessThanOrEqual(1.1)
    expect(s!.checkingCost).toBeLessThan(0.05)
    expect(s!.spotChecks).toBeGreaterThan(0)
    console.log(`trust earned: ${f!.replicasIssued} replicas for ${f!.validated} units; steady state: ${s!.replicasIssued} replicas for ${s!.validated} units (${s!.replicasPerValidated.toFixed(3)} per unit), ${s!.spotChecks} spot checks, checking cost ${(100 * s!.checkingCost).toFixed(2)}%`)
  })
})
