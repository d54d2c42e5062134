/**
 * runScenario: a real hub (startHub, its SQLite file in a fresh temp dir, libp2p on loopback), one
 * primes job, and simulated volunteers with their strategies, run until the job settles or the
 * time limit; then every canonical count is checked against primecount, unit by unit, and the
 * ledger is read per key. Bounded: `timeoutMs` for the job, then at most `drainMs` for the peers'
 * last calls; everything started is stopped, and the temp dir removed, before it returns.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodePrimesInput } from '../../src/protocol/index.ts'
import { startHub } from '../../src/hub/hub.ts'
import { REPO_ROOT, tempDir } from '../helpers.ts'
import { HonestCounter } from './kernel.ts'
import { primecountIntervals } from './oracle.ts'
import { SIM_OUTPUT } from './output.ts'
import type { OutputFormat } from './output.ts'
import { simVolunteer } from './volunteer.ts'
import type { JobStatus } from '../../src/hub/job-status.ts'
import type { PrimesJobSpec } from '../../src/hub/work-generator.ts'
import type { Strategy } from './strategy.ts'
import type { SimVolunteer, VolunteerStats } from './volunteer.ts'

export interface PeerGroup { strategy: () => Strategy, count: number }

export interface ScenarioSpec {
  name: string
  job: PrimesJobSpec
  peers: PeerGroup[]
  /** Seed of every key and random choice (default 1). */
  seed?: number
  /** Longest the job may run, ms (default 45 s). */
  timeoutMs?: number
  /** Hub lease length, ms (default 15 s: the sim compresses time; the hub's own default is deadline × 2 + 30 s). */
  leaseMs?: number
  /** Longest a volunteer waits after an empty work response (default 300 ms). */
  maxIdleWaitMs?: number
  /** Output format of every volunteer (default SIM_OUTPUT). */
  format?: OutputFormat
  /** Keep the hub's data dir (default false: removed). */
  keepData?: boolean
  /**
   * A first job the same peers run to the end before `job` is created (the hub's trust records
   * are per peer and kernel, so the measured job then starts in steady state). Bounded by
   * `timeoutMs` too; its compute is not counted in the report.
   */
  warmup?: PrimesJobSpec
}

export interface UnitCheck {
  idx: number
  wuId: string
  lo: number
  hi: number
  state: string
  /** The canonical count (first 8 bytes of the canonical output), null when the unit has none. */
  canonical: bigint | null
  canonicalPeer: string | null
  /** primecount's π(hi − 1) − π(lo − 1). */
  expected: bigint
  ok: boolean
}

export interface PeerReport {
  id: string
  strategy: string
  cheater: boolean
  /** Net credit of this key in the job (ledger balances of the job). */
  credit: number
  /** Honest peers: Σ credit of its accepted results whose count primecount confirms. */
  expectedCredit: number
  results: number
  accepted: number
  rejected: number
  sieved: number
  /** Wall ms of the kernel runs this key's strategy used. */
  computeMs: number
  stats: VolunteerStats
}

export interface ScenarioMetrics {
  workUnits: number
  validated: number
  replicasIssued: number
  /** replicasIssued / validated. */
  replicasPerValidatedUnit: number
  /** Replicas issued per validated unit over the last half of the units (by index): the steady state. */
  steadyReplicasPerUnit: number
  /** JobStatus.replicasPerUnit as the hub reports it (today: the quorum). */
  hubReplicasPerUnit: number | null
  /** JobStatus.replicasPerValidated (trust work), null when absent. */
  hubReplicasPerValidated: number | null
  invalidResults: number | null
  spotChecks: number | null
  spotCheckFailures: number | null
  /** Numbers the hub re-sieved to check (JobStatus.checkedOps or a synonym), null when the hub has no such field. */
  checkedOps: number | null
  /** Numbers the simulated volunteers sieved with the kernel (Σ over keys; units whose run a strategy used). */
  volunteerOps: number
  /** The hub's own fraction (JobStatus.checkingCost: checked ops ÷ ops of the successful results it received), else checkedOps / volunteerOps; null when neither. */
  checkingCost: number | null
  /** Wall ms of the simulated volunteers' kernel runs (Σ over keys, honest and cheating: what their strategies used). */
  volunteerComputeMs: number
  /** Milliseconds the hub spent in its own checks (JobStatus.checkMs), null when the hub has no such field. */
  hubCheckMs: number | null
  /** hubCheckMs ÷ volunteerComputeMs: the checking cost in time; null when hubCheckMs is absent or nothing was computed. */
  checkingCostTime: number | null
}

export interface ScenarioReport {
  name: string
  jobId: string
  state: string
  /** The job left `running` before the time limit. */
  settled: boolean
  elapsedMs: number
  status: JobStatus
  units: UnitCheck[]
  wrongCanonical: number
  missingCanonical: number
  peers: PeerReport[]
  /** Σ over cheater keys of their net credit. */
  cheaterNetCredit: number
  /** Σ over honest keys of max(0, expected − credit). */
  honestCreditLost: number
  metrics: ScenarioMetrics
}

const round9 = (x: number): number => Math.round(x * 1e9) / 1e9
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** The first numeric field of `status` among `names` (fields the trust work adds), else null. */
export function statusNumber (status: JobStatus, ...names: string[]): number | null {
  const s = status as unknown as Record<string, unknown>
  for (const n of names) if (typeof s[n] === 'number' && Number.isFinite(s[n])) return s[n]
  return null
}

interface UnitRow { id: string, idx: number, input: Uint8Array, state: string, replicas_issued: number, output: Uint8Array | null, peer_id: string | null }

/** Run one scenario to the end. @throws when the hub cannot start or primecount is missing */
export async function runScenario (spec: ScenarioSpec): Promise<ScenarioReport> {
  const seed = spec.seed ?? 1
  const timeoutMs = spec.timeoutMs ?? 45_000
  const counter = await HonestCounter.create()
  const dataDir = tempDir('sim-hub-')
  // every simulated key dials from 127.0.0.1: the per-address connection limits (issue 11, tested in
  // hub.limits.transport.test.ts) are opened so that trust, not the transport, is what is measured
  const hub = await startHub({
    dataDir,
    staticDir: join(REPO_ROOT, 'dist'),
    leaseMs: spec.leaseMs ?? 15_000,
    limits: { maxConnectionsPerAddress: 1000, maxPendingUpgradesPerAddress: 1000, inboundConnectionsPerSecond: 1000 }
  })
  const volunteers: SimVolunteer[] = []
  const controller = new AbortController()
  try {
    const warm = spec.warmup == null ? null : await hub.core.createPrimesJob(spec.warmup)
    const hubAddr = { peerId: peerIdFromString(hub.peerId), multiaddr: hub.multiaddrs[0] }
    let n = 0
    for (const g of spec.peers) {
      for (let i = 0; i < g.count; i++) {
        volunteers.push(await simVolunteer(g.strategy(), { hub: hubAddr, counter, seed: seed * 10_007 + n++, maxIdleWaitMs: spec.maxIdleWaitMs, format: spec.format }))
      }
    }
    const runs: Array<Promise<void>> = []
    const startRuns = async (): Promise<void> => {
      for (const v of volunteers.filter(v => v.strategy.early === true)) runs.push(v.run(controller.signal))
      await sleep(50)
      for (const v of volunteers.filter(v => v.strategy.early !== true)) runs.push(v.run(controller.signal))
    }
    let base = { sieved: 0, computeMs: 0 }
    if (warm != null) {
      await startRuns()
      const tw = performance.now()
      while (performance.now() - tw < timeoutMs && (await hub.core.jobStatus(warm.id))?.state === 'running') await sleep(100)
      base = { sieved: volunteers.reduce((s, v) => s + v.sieved, 0), computeMs: volunteers.reduce((s, v) => s + v.computeMs, 0) }
    }
    const job = await hub.core.createPrimesJob(spec.job)
    const t0 = performance.now()
    if (warm == null) await startRuns()

    let status = job
    while (performance.now() - t0 < timeoutMs) {
      await sleep(100)
      status = await hub.core.jobStatus(job.id) as JobStatus
      if (status.state !== 'running') break
    }
    const elapsedMs = performance.now() - t0
    controller.abort()
    await Promise.race([Promise.all(runs), sleep(12_000)])
    status = await hub.core.jobStatus(job.id) as JobStatus
    const balances = await hub.core.ledgerBalances(job.id)

    // every unit and its canonical output, read from the hub's SQLite file (a second, read-only connection)
    const db = new DatabaseSync(join(dataDir, 'hub.sqlite'), { readOnly: true, timeout: 5_000 })
    let rows: UnitRow[]
    try {
      rows = db.prepare(`SELECT w.id, w.idx, w.input, w.state, w.replicas_issued, r.output, r.peer_id FROM work_units w
        LEFT JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ? ORDER BY w.idx`).all(job.id) as unknown as UnitRow[]
    } finally {
      db.close()
    }
    const ranges = rows.map(r => decodePrimesInput(r.input))
    const expected = await primecountIntervals(ranges)
    const units: UnitCheck[] = rows.map((r, i) => {
      const canonical = r.output == null ? null : SIM_OUTPUT.total(r.output)
      return { idx: r.idx, wuId: r.id, lo: ranges[i].lo, hi: ranges[i].hi, state: r.state, canonical, canonicalPeer: r.peer_id, expected: expected[i], ok: canonical === expected[i] }
    })
    const truth = new Map(units.map(u => [u.wuId, u.expected]))

    const peers: PeerReport[] = volunteers.map(v => {
      const ok = v.sent.filter(s => (s.status === 'accepted' || s.status === 'duplicate') && s.outcome === 'success' && s.claimed === truth.get(s.wuId))
      return {
        id: v.id,
        strategy: v.strategy.name,
        cheater: v.strategy.cheater,
        credit: round9(balances[v.id] ?? 0),
        expectedCredit: v.strategy.cheater ? 0 : round9(ok.reduce((c, s) => c + s.credit, 0)),
        results: v.sent.length,
        accepted: v.sent.filter(s => s.status === 'accepted').length,
        rejected: v.sent.filter(s => s.status === 'rejected').length,
        sieved: v.sieved,
        computeMs: v.computeMs,
        stats: v.stats
      }
    })

    const half = Math.floor(rows.length / 2)
    const late = rows.filter(r => r.idx >= half && r.state === 'done')
    const volunteerOps = volunteers.reduce((s, v) => s + v.sieved, 0) - base.sieved
    const volunteerComputeMs = volunteers.reduce((s, v) => s + v.computeMs, 0) - base.computeMs
    const hubCheckMs = statusNumber(status, 'checkMs')
    const checkedOps = statusNumber(status, 'checkedOps', 'spotCheckedOps', 'checkOps', 'hubCheckedOps')
    const metrics: ScenarioMetrics = {
      workUnits: status.workUnits,
      validated: status.validated,
      replicasIssued: status.replicasIssued,
      replicasPerValidatedUnit: status.validated === 0 ? NaN : status.replicasIssued / status.validated,
      steadyReplicasPerUnit: late.length === 0 ? NaN : late.reduce((s, r) => s + r.replicas_issued, 0) / late.length,
      hubReplicasPerUnit: statusNumber(status, 'replicasPerUnit'),
      hubReplicasPerValidated: statusNumber(status, 'replicasPerValidated'),
      invalidResults: statusNumber(status, 'invalidResults'),
      spotChecks: statusNumber(status, 'spotChecks'),
      spotCheckFailures: statusNumber(status, 'spotCheckFailures'),
      checkedOps,
      volunteerOps,
      checkingCost: statusNumber(status, 'checkingCost') ?? (checkedOps == null || volunteerOps === 0 ? null : checkedOps / volunteerOps),
      volunteerComputeMs,
      hubCheckMs,
      checkingCostTime: hubCheckMs == null || volunteerComputeMs <= 0 ? null : hubCheckMs / volunteerComputeMs
    }
    return {
      name: spec.name,
      jobId: job.id,
      state: status.state,
      settled: status.state !== 'running',
      elapsedMs,
      status,
      units,
      wrongCanonical: units.filter(u => u.canonical != null && !u.ok).length,
      missingCanonical: units.filter(u => u.canonical == null).length,
      peers,
      cheaterNetCredit: round9(peers.filter(p => p.cheater).reduce((s, p) => s + p.credit, 0)),
      honestCreditLost: round9(peers.filter(p => !p.cheater).reduce((s, p) => s + Math.max(0, p.expectedCredit - p.credit), 0)),
      metrics
    }
  } finally {
    controller.abort()
    await Promise.all(volunteers.map(async v => await v.stop().catch(() => {})))
    await hub.stop()
    if (spec.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
  }
}

const pct = (x: number | null): string => x == null || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(2)} %`

/** One line for logs. */
export function summarize (r: ScenarioReport): string {
  const m = r.metrics
  const byStrategy = new Map<string, number>()
  for (const p of r.peers.filter(p => p.cheater)) byStrategy.set(p.strategy, round9((byStrategy.get(p.strategy) ?? 0) + p.credit))
  return `${r.name}: ${r.state} in ${(r.elapsedMs / 1000).toFixed(1)} s; ${m.validated}/${m.workUnits} validated, ${r.wrongCanonical} wrong canonical, ` +
    `${r.missingCanonical} without canonical; replicas ${m.replicasIssued} (${m.replicasPerValidatedUnit.toFixed(2)}/unit, steady ${m.steadyReplicasPerUnit.toFixed(2)}); ` +
    `checking cost ${pct(m.checkingCost)} of numbers, ${pct(m.checkingCostTime)} of time (hub ${m.hubCheckMs == null ? 'n/a' : m.hubCheckMs.toFixed(0)} ms ÷ volunteers ${m.volunteerComputeMs.toFixed(0)} ms); ` +
    `cheater net credit ${r.cheaterNetCredit} ${JSON.stringify(Object.fromEntries(byStrategy))}; honest credit lost ${r.honestCreditLost}`
}
