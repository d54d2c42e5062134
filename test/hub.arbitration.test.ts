/**
 * Arbitration and reopening (issue 10) on a real HubCore (SQLite in a temp dir) with the real
 * primes kernel and its checkpointed outputs: a "needle" — an output right in every block but one
 * — passes a 2-block spot check of an 814-block unit almost always, so only a replica can see it.
 * When an honest replica disagrees, the hub re-sieves one block where the two differ and proves
 * the liar; when two colluding needles agreed on a unit first, catching one of them elsewhere
 * reopens that unit, and the honest replica that comes next unmasks the other. Every canonical
 * count is checked against an independent count (primecount's π via the oracle of test/sim).
 */
import { rmSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { hubPrimesKernel, primesArbitrate } from '../src/hub/spot-check.ts'
import { isBanned, seededRandom } from '../src/hub/trust.ts'
import { PRIMES_KERNEL_ID, decodePrimesInput, decodePrimesResult, encodePrimesOutput } from '../src/protocol/primes.ts'
import type { TrustRow, WorkUnitRow } from '../src/hub/repository.ts'
import type { Lease } from '../src/protocol/pb/messages.ts'
import { tempDir } from './helpers.ts'
import { bytesResultFor, caps, inspect, v2, volunteer } from './hub-fixtures.ts'
import type { Volunteer } from './hub-fixtures.ts'
import { primecountIntervals } from './sim/oracle.ts'

const FROM = 1e10
const UNIT = 1e8
let dir: string
const open: HubCore[] = []

async function hub (): Promise<HubCore> {
  const h = await HubCore.open({ dataDir: dir, hubKey: await generateKeyPair('Ed25519'), random: seededRandom(11) })
  open.push(h)
  return h
}

beforeEach(() => { dir = tempDir('hub-arbitration-') })
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

const honestCache = new Map<string, Uint8Array>()
/** The unit's output as an honest volunteer's kernel writes it (count and 813 checkpoints). */
async function honestOutput (lo: number, hi: number): Promise<Uint8Array> {
  const key = `${lo}:${hi}`
  if (!honestCache.has(key)) honestCache.set(key, await hubPrimesKernel().primesOutput(lo, hi))
  return honestCache.get(key)!
}

/** The honest output with one more prime claimed in block `i` (every later checkpoint and the total +1). */
async function needle (lo: number, hi: number, i: number): Promise<Uint8Array> {
  const r = decodePrimesResult(await honestOutput(lo, hi), lo, hi)
  const cps = r.checkpoints.map((c, j) => ({ done: c.done, count: c.count + (j >= i ? 1 : 0) }))
  return encodePrimesOutput(cps[cps.length - 1].count, cps.slice(0, -1))
}

/** One lease for `v`: any unit, or the unit `wuId` (the others leased with it are given back, and never offered to `v` again). */
async function leaseOne (h: HubCore, v: Volunteer, wuId?: string): Promise<Lease> {
  const leases = (await h.leaseV2(v.id, v2(caps(), wuId == null ? 1 : 4))).leases
  const l = wuId == null ? leases[0] : leases.find(x => x.wuId === wuId)
  expect(l, `a lease of ${wuId ?? 'any unit'} for ${v.id.slice(-6)}`).toBeDefined()
  const others = leases.filter(x => x !== l)
  if (others.length > 0) await h.leaseV2(v.id, v2(caps(), 0, others.map(x => ({ replicaId: x.replicaId, reason: 'stopped' }))))
  return l!
}

async function send (h: HubCore, v: Volunteer, l: Lease, output: Uint8Array): Promise<string> {
  return (await h.submit(v.id, await bytesResultFor(v, l, output))).status
}

function trust (h: HubCore, v: Volunteer): TrustRow | undefined {
  return inspect(h).get<TrustRow>('SELECT * FROM trust WHERE peer_id = ? AND kernel = ?', v.id, PRIMES_KERNEL_ID)
}

async function expectAllRight (h: HubCore, jobId: string): Promise<void> {
  const units = inspect(h).all<WorkUnitRow & { output: Uint8Array | null }>(
    'SELECT w.*, r.output FROM work_units w LEFT JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ? ORDER BY w.idx', jobId)
  const ranges = units.map(u => decodePrimesInput(new Uint8Array(u.input)))
  const expected = await primecountIntervals(ranges)
  units.forEach((u, i) => {
    expect(u.state, `unit ${u.idx}`).toBe('done')
    expect(BigInt(decodePrimesResult(new Uint8Array(u.output!), ranges[i].lo, ranges[i].hi).count), `unit ${u.idx} against primecount`).toBe(expected[i])
  })
}

describe('primesArbitrate', () => {
  it('re-sieves a block where two outputs differ and names the wrong one (or both); null when they agree', async () => {
    const lo = FROM; const hi = FROM + UNIT
    const wu = { input: (await import('../src/protocol/primes.ts')).encodePrimesInput(lo, hi) } as unknown as WorkUnitRow
    const arbitrate = primesArbitrate()
    const honest = await honestOutput(lo, hi)
    const bad = await needle(lo, hi, 500)
    const other = await needle(lo, hi, 20)
    const random = seededRandom(3)
    expect(arbitrate({} as never, wu, honest, honest, random)).toBeNull()
    const v = arbitrate({} as never, wu, honest, bad, random)!
    expect(v).toMatchObject({ aWrong: false, bWrong: true })
    expect(v.reason).toMatch(/^block 500 /)
    expect(v.checkedOps).toBeLessThanOrEqual(122_880)
    expect(arbitrate({} as never, wu, bad, honest, random)).toMatchObject({ aWrong: true, bWrong: false })
    // two different needles: whichever differing block is drawn, one of them is proven wrong there, never the other
    for (let k = 0; k < 8; k++) {
      const w = arbitrate({} as never, wu, bad, other, random)!
      expect(w.aWrong !== w.bWrong).toBe(true)
    }
    expect(arbitrate({} as never, wu, new Uint8Array(3), honest, random)).toMatchObject({ aWrong: true, bWrong: false, checkedOps: 0 })
  })
})

describe('needles on a real hub', () => {
  it('a needle that passes its spot check is proven by the honest replica\'s disagreement: banned, credit 0, the unit right', async () => {
    const h = await hub()
    const job = await h.createPrimesJob({ from: FROM, to: FROM + UNIT, unit: UNIT, quorum: 2 }, { policy: 'adaptive' })
    const [cheat, b, c] = await Promise.all([volunteer(), volunteer(), volunteer()])
    const l = await leaseOne(h, cheat)
    const { lo, hi } = decodePrimesInput(l.input)
    expect(await send(h, cheat, l, await needle(lo, hi, 500))).toBe('accepted')
    // the 2-block spot check missed it (with this seed); an untrusted result waits for a replica
    expect(await h.jobStatus(job.id)).toMatchObject({ validated: 0, spotCheckFailures: 0 })
    expect(isBanned(trust(h, cheat))).toBe(false)
    const lb = await leaseOne(h, b, l.wuId)
    expect(await send(h, b, lb, await honestOutput(lo, hi))).toBe('accepted')
    expect(isBanned(trust(h, cheat))).toBe(true)
    expect(await h.jobStatus(job.id)).toMatchObject({ spotCheckFailures: 1, invalidResults: 1, validated: 0 })
    // b's own result still needs an agreeing replica (b is untrusted too)
    const lc = await leaseOne(h, c, l.wuId)
    expect(await send(h, c, lc, await honestOutput(lo, hi))).toBe('accepted')
    const s = await h.jobStatus(job.id)
    expect(s).toMatchObject({ state: 'complete', validated: 1 })
    expect(s!.credit[cheat.id] ?? 0).toBe(0)
    expect(s!.credit[b.id]).toBe(s!.credit[c.id])
    expect(await h.ledgerBalance(cheat.id)).toBe(0)
    await expectAllRight(h, job.id)
  })

  it('two colluding needles agree on a unit; catching one elsewhere reopens it, and the next honest replica unmasks the other', async () => {
    const h = await hub()
    const job = await h.createPrimesJob({ from: FROM, to: FROM + 2 * UNIT, unit: UNIT, quorum: 2 }, { policy: 'adaptive' })
    const [x, y, honest1, honest2, honest3] = await Promise.all([volunteer(), volunteer(), volunteer(), volunteer(), volunteer()])
    // unit 0: x and y send the same needle; both pass their spot checks and agree: canonical (wrong)
    const lx = await leaseOne(h, x)
    const u0 = decodePrimesInput(lx.input)
    const fake = await needle(u0.lo, u0.hi, 300)
    expect(await send(h, x, lx, fake)).toBe('accepted')
    const ly = await leaseOne(h, y, lx.wuId)
    expect(await send(h, y, ly, fake)).toBe('accepted')
    expect(await h.jobStatus(job.id)).toMatchObject({ validated: 1, reopened: 0 })
    expect(await h.ledgerBalance(x.id)).toBeGreaterThan(0)
    // unit 1: x again, and an honest replica proves x wrong there
    const lx1 = await leaseOne(h, x)
    expect(lx1.wuId).not.toBe(lx.wuId)
    const u1 = decodePrimesInput(lx1.input)
    expect(await send(h, x, lx1, await needle(u1.lo, u1.hi, 100))).toBe('accepted')
    const lh1 = await leaseOne(h, honest1, lx1.wuId)
    expect(await send(h, honest1, lh1, await honestOutput(u1.lo, u1.hi))).toBe('accepted')
    expect(isBanned(trust(h, x))).toBe(true)
    expect(await h.ledgerBalance(x.id)).toBe(0)
    // x's proof reopened unit 0, taking its count back out of the job's total
    const after = await h.jobStatus(job.id)
    expect(after).toMatchObject({ reopened: 1, validated: 0, primes: 0, state: 'running' })
    // unit 0 wants one more agreeing result: an honest one disagrees with y, the hub referees, y is proven
    const lh0 = await leaseOne(h, honest2, lx.wuId)
    expect(await send(h, honest2, lh0, await honestOutput(u0.lo, u0.hi))).toBe('accepted')
    expect(isBanned(trust(h, y))).toBe(true)
    expect(await h.ledgerBalance(y.id)).toBe(0)
    // one more honest result each for the two units (their honest results are untrusted, so quorum 2)
    const both = (await h.leaseV2(honest3.id, v2(caps(), 4))).leases
    expect(both.map(l => l.wuId).sort()).toEqual([lx.wuId, lx1.wuId].sort())
    for (const l of both) {
      const r = decodePrimesInput(l.input)
      expect(await send(h, honest3, l, await honestOutput(r.lo, r.hi))).toBe('accepted')
    }
    const s = await h.jobStatus(job.id)
    expect(s).toMatchObject({ state: 'complete', validated: 2, reopened: 1 })
    expect(s!.primes).toBe(Number((await primecountIntervals([u0, u1])).reduce((a, b) => a + b, 0n)))
    expect(await h.verifyLedger()).toMatchObject({ ok: true })
    await expectAllRight(h, job.id)
  })
})
