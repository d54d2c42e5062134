/**
 * Issue 10's adversarial simulation: js-libp2p peers with their own (seeded) Ed25519 keys — honest
 * ones running the real WASM kernel, and each cheating strategy of test/sim/strategies — against a
 * real hub (startHub, its SQLite file in a temp dir, WebSockets on loopback), on a primes job of 200
 * units of 10^8 numbers from 10^10 (814 checkpoint blocks a unit; the hub's default policy,
 * adaptive). Volunteers write the checkpointed output (test/sim/output.ts); an honest one runs the
 * kernel once per unit (~30 ms here) and answers every block from that run. After the job, EVERY
 * canonical count is checked against Debian's `primecount` (π(hi − 1) − π(lo − 1) per unit, not
 * only the total), and the ledger is read per key. What the issue demands, for every scenario:
 *
 * - the job completes;
 * - 0 wrong canonical results (and every unit has one);
 * - 0 net credit to every cheater key;
 * - no honest credit lost: every honest key's credit = Σ credit of its accepted results that
 *   primecount confirms (its validated units × the unit's credit), and no honest key is starved
 *   (each earns something);
 * - honest steady state ≤ 1.1 replicas issued per validated unit, the hub's checking cost < 5 % of
 *   the volunteers' compute (honest-only scenario), in time: JobStatus.checkMs ÷ the wall ms of
 *   the volunteers' kernel runs (the numbers-based JobStatus.checkingCost is reported as well);
 * - a lone volunteer earns validated credit; churn by six fresh keys neither fails the job nor
 *   starves an honest volunteer.
 *
 * Each scenario is bounded (the job gets 40 s, then the peers' last calls 12 s) and stops by
 * itself; soft assertions so that one run shows every demand that is not met.
 */
import { describe, expect, it } from 'vitest'
import {
  churn, greedy, honest, impossibleColluder, lazy, pntColluder, runScenario, summarize, sumPreserving, wrongAnswer
} from './sim/index.ts'
import type { PeerGroup, ScenarioReport, ScenarioSpec } from './sim/index.ts'

const JOB = { from: 1e10, to: 1e10 + 200 * 1e8, unit: 1e8 }
const JOB_MS = 40_000
const TEST_MS = 90_000

async function scenario (name: string, peers: PeerGroup[], extra: Partial<ScenarioSpec> = {}): Promise<ScenarioReport> {
  const report = await runScenario({ name, job: JOB, peers, seed: 10, timeoutMs: JOB_MS, ...extra })
  console.log(summarize(report))
  return report
}

const h = (count: number): PeerGroup => ({ strategy: () => honest(), count })

/** At most 12 items and the count of the rest (failure messages stay readable). */
function few (items: string[]): string[] {
  return items.length <= 12 ? items : [...items.slice(0, 12), `… and ${items.length - 12} more`]
}

/** The issue's demands on every scenario, checked softly (every failure is listed). */
function expectIssue10 (r: ScenarioReport): void {
  expect.soft(r.state, 'job state').toBe('complete')
  // per-unit check: every canonical count against primecount
  const wrong = r.units.filter(u => !u.ok).map(u => `#${u.idx} [${u.lo}, ${u.hi}) ${u.state}: canonical ${u.canonical ?? 'none'}, primecount ${u.expected}`)
  expect.soft(few(wrong), 'units whose canonical count is not primecount\'s').toEqual([])
  const paidCheaters = r.peers.filter(p => p.cheater && p.credit !== 0).map(p => `${p.strategy} ${p.id}: ${p.credit}`)
  expect.soft(paidCheaters, 'cheater keys with net credit').toEqual([])
  const shortHonest = r.peers.filter(p => !p.cheater && Math.abs(p.credit - p.expectedCredit) > 1e-6)
    .map(p => `${p.id}: credit ${p.credit}, validated work ${p.expectedCredit}`)
  expect.soft(few(shortHonest), 'honest keys whose credit is not their validated units × credit').toEqual([])
  const starved = r.peers.filter(p => !p.cheater && p.credit <= 0).map(p => p.id)
  expect.soft(starved, 'honest keys that earned nothing (starved)').toEqual([])
}

describe('honest volunteers only', () => {
  it('10 honest keys: the job completes right; steady state ≤ 1.1 replicas per validated unit; the hub\'s checking cost < 5 % of the volunteers\' compute time', async () => {
    // steady state: the ten keys first earn trust on a warm-up job (200 one-block units; every
    // untrusted result there is spot-checked and replicated), then the measured job runs. With 100
    // warm-up units each key ended near the trust threshold (CV ≈ 10: 1/CV = 10 % replicated), so
    // the measured job was still warming up and its last half read 1.02-1.12 from run to run
    const r = await scenario('honest', [h(10)], { warmup: { from: 2e10, to: 2e10 + 200 * 1e5, unit: 1e5 } })
    expectIssue10(r)
    expect.soft(r.metrics.replicasPerValidatedUnit, 'replicas issued per validated unit, the whole measured job').toBeLessThanOrEqual(1.1)
    expect.soft(r.metrics.steadyReplicasPerUnit, 'replicas issued per validated unit, last half of the units').toBeLessThanOrEqual(1.1)
    expect.soft(r.metrics.checkingCost, 'hub checking cost (JobStatus.checkedOps ÷ numbers the volunteers sieved)').not.toBeNull()
    expect.soft(r.metrics.checkingCost ?? 0, 'hub checking cost').toBeGreaterThan(0)
    // the issue's < 5 %, in time: the ms the hub spent checking ÷ the ms of the volunteers' kernel runs
    expect.soft(r.metrics.hubCheckMs, 'JobStatus.checkMs (ms the hub spent in its checks)').not.toBeNull()
    expect.soft(r.metrics.checkingCostTime ?? Infinity, 'hub checking cost in time (JobStatus.checkMs ÷ volunteers\' kernel ms)').toBeLessThan(0.05)
  }, TEST_MS)

  it('a lone volunteer earns validated credit', async () => {
    const r = await scenario('lone', [h(1)], { job: { ...JOB, to: JOB.from + 20 * JOB.unit }, timeoutMs: 15_000 })
    expect.soft(r.peers[0].credit, 'the lone volunteer\'s credit').toBeGreaterThan(0)
    const wrong = r.units.filter(u => u.canonical != null && !u.ok).map(u => `#${u.idx}: ${u.canonical} ≠ ${u.expected}`)
    expect.soft(wrong, 'wrong canonical counts').toEqual([])
  }, TEST_MS)
})

describe('each cheating strategy alone, ~30 % of the keys', () => {
  it('two colluding fresh keys rush the job at its start and answer with the PNT estimate (2 of 7)', async () => {
    expectIssue10(await scenario('pnt-colluders', [h(5), { strategy: pntColluder, count: 2 }]))
  }, TEST_MS)

  it('3 of 10 behave like ordinary clients but answer wrong (agreeing on the same wrong count)', async () => {
    expectIssue10(await scenario('wrong', [h(7), { strategy: wrongAnswer, count: 3 }]))
  }, TEST_MS)

  it('3 greedy keys of 10 lease 16 at a time and answer at once', async () => {
    expectIssue10(await scenario('greedy', [h(7), { strategy: greedy, count: 3 }]))
  }, TEST_MS)

  it('3 of 10 answer ±1 per unit so that their wrong counts sum to the right total (only a per-unit check sees it)', async () => {
    expectIssue10(await scenario('sum-preserving', [h(7), { strategy: sumPreserving, count: 3 }]))
  }, TEST_MS)

  it('3 colluders of 10 agree on impossible counts (10^12 primes in 10^8 numbers, 2^53 + 7)', async () => {
    expectIssue10(await scenario('impossible', [h(7), { strategy: impossibleColluder, count: 3 }]))
  }, TEST_MS)

  it('3 lazy keys of 10 answer mostly invalid', async () => {
    expectIssue10(await scenario('lazy', [h(7), { strategy: () => lazy(), count: 3 }]))
  }, TEST_MS)

  it('churn: six fresh keys lease every unit and give it back or report client-error; the job completes, no honest key starves (6 of 20)', async () => {
    const r = await scenario('churn', [h(14), { strategy: () => churn('release'), count: 3 }, { strategy: () => churn('client-error'), count: 3 }])
    expectIssue10(r)
  }, TEST_MS)
})

describe('a mix of every strategy', () => {
  it('17 honest keys and 8 cheaters (32 %): colluders, wrong, greedy, sum-preserving, impossible, lazy, churn', async () => {
    const r = await scenario('mix', [
      h(17),
      { strategy: pntColluder, count: 2 },
      { strategy: wrongAnswer, count: 1 },
      { strategy: greedy, count: 1 },
      { strategy: sumPreserving, count: 1 },
      { strategy: impossibleColluder, count: 1 },
      { strategy: () => lazy(), count: 1 },
      { strategy: () => churn('release'), count: 1 }
    ])
    expectIssue10(r)
  }, TEST_MS)
})
