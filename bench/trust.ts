/**
 * Trust benchmark (issue 10): the adversarial simulation (test/sim) on a real hub with 20 simulated
 * volunteers and 0 %, 10 % and 30 % cheaters (a mix of strategies) from a cold start (nobody
 * trusted: every result spot-checked and replicated until its key is), then in steady state (the
 * keys first earn trust on a warm-up job of 200 one-block units, about 20 results a key, not
 * counted): honest only, and
 * 10 % patient needles (honest for 24 units, about the warm-up, then +1 in one random block of
 * every unit), a primes job of 200 units of
 * 10^8 numbers from 10^10 (814 checkpoint blocks a unit), the default (adaptive) policy, the
 * volunteers writing checkpointed outputs. Prints side by side, per scenario: work units, replicas
 * issued, replicas per validated unit (all units, and the last half: the steady state), spot
 * checks, invalid results, the hub's checking cost in numbers (numbers it re-sieved ÷ numbers the
 * volunteers sieved) and in time (JobStatus.checkMs ÷ the wall ms of the volunteers' kernel runs),
 * wrong canonical counts (every unit against primecount) and the cheaters' net credit; "n/a" where
 * the hub's JobStatus has no such field. Ends with one JSON line. Bounded: each scenario's job gets
 * at most 30 s. `--format count` (8-byte outputs) is accepted by the hub only for units of one
 * block (`--unit` ≤ 122880).
 *
 *   node --import tsx bench/trust.ts [--timeout-ms 30000] [--seed 7] [--unit 100000000] [--format checkpointed|count]
 */
import { Command } from 'commander'
import {
  CHECKPOINTED, COUNT_ONLY, statusNumber, greedy, honest, impossibleColluder, lazy, patientNeedle, pntColluder, runScenario, sumPreserving, wrongAnswer
} from '../test/sim/index.ts'
import type { PeerGroup, ScenarioReport } from '../test/sim/index.ts'
import type { PrimesJobSpec } from '../src/hub/work-generator.ts'
import { PRIMES_MAX_UNIT } from '../src/protocol/primes.ts'

const program = new Command()
  .name('bench-trust')
  .option('--timeout-ms <ms>', 'longest each scenario\'s job may run', '30000')
  .option('--seed <n>', 'seed of keys and random choices', '7')
  .option('--scenario <text>', 'run only the scenarios whose name contains this')
  .option('--unit <n>', 'numbers per work unit (200 units from 10^10)', '100000000')
  .option('--format <name>', 'volunteers\' output: checkpointed or count (8 bytes: one-block units only)', process.env.SIM_OUTPUT === 'count' ? 'count' : 'checkpointed')
  .parse()
const opts = program.opts<{ timeoutMs: string, seed: string, unit: string, format: string, scenario?: string }>()
if (!['count', 'checkpointed'].includes(opts.format)) program.error(`--format must be count or checkpointed, got ${opts.format}`)
const unit = Number(opts.unit)
if (!Number.isSafeInteger(unit) || unit < 1000 || unit > PRIMES_MAX_UNIT) program.error(`--unit must be an integer from 1000 to ${PRIMES_MAX_UNIT}, got ${opts.unit}`)
const format = opts.format === 'checkpointed' ? CHECKPOINTED : COUNT_ONLY

const JOB = { from: 1e10, to: 1e10 + 200 * unit, unit }
const h = (count: number): PeerGroup => ({ strategy: () => honest(), count })
// the steady state: the same keys first earn trust on 200 one-block units, about 20 results a key (not counted)
const WARMUP: PrimesJobSpec = { from: 2e10, to: 2e10 + 200 * 1e5, unit: 1e5 }
const SCENARIOS: Array<{ name: string, peers: PeerGroup[], warmup?: PrimesJobSpec }> = [
  { name: '0% cheaters', peers: [h(20)] },
  { name: '10% cheaters', peers: [h(18), { strategy: wrongAnswer, count: 1 }, { strategy: greedy, count: 1 }] },
  {
    name: '30% cheaters',
    peers: [h(14), { strategy: pntColluder, count: 2 }, { strategy: wrongAnswer, count: 1 }, { strategy: sumPreserving, count: 1 },
      { strategy: impossibleColluder, count: 1 }, { strategy: () => lazy(), count: 1 }]
  },
  { name: '0%, trusted', peers: [h(20)], warmup: WARMUP },
  { name: '10% patient, trusted', peers: [h(18), { strategy: () => patientNeedle({ honestUnits: 24 }), count: 2 }], warmup: WARMUP }
]

const reports: ScenarioReport[] = []
for (const s of SCENARIOS.filter(s => opts.scenario == null || s.name.includes(opts.scenario))) {
  process.stderr.write(`running ${s.name} …\n`)
  reports.push(await runScenario({ name: s.name, job: JOB, peers: s.peers, seed: Number(opts.seed), timeoutMs: Number(opts.timeoutMs), format, ...(s.warmup != null ? { warmup: s.warmup } : {}) }))
}

const na = (x: number | null, digits = 0): string => x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(digits)
const pct = (x: number | null): string => x == null ? 'n/a' : `${(x * 100).toFixed(2)} %`
const rows: Array<[string, (r: ScenarioReport) => string]> = [
  ['job state', r => `${r.state} (${(r.elapsedMs / 1000).toFixed(1)} s)`],
  ['volunteers (cheaters)', r => `${r.peers.length} (${r.peers.filter(p => p.cheater).length})`],
  ['work units', r => String(r.metrics.workUnits)],
  ['validated', r => String(r.metrics.validated)],
  ['replicas issued', r => String(r.metrics.replicasIssued)],
  ['replicas / validated unit', r => na(r.metrics.replicasPerValidatedUnit, 3)],
  ['  steady state (last half)', r => na(r.metrics.steadyReplicasPerUnit, 3)],
  ['  hub: replicasPerUnit', r => na(r.metrics.hubReplicasPerUnit, 3)],
  ['  hub: replicasPerValidated', r => na(r.metrics.hubReplicasPerValidated, 3)],
  ['spot checks (and arbitrations)', r => na(r.metrics.spotChecks)],
  ['units reopened', r => na(statusNumber(r.status, 'reopened'))],
  ['  failed', r => na(r.metrics.spotCheckFailures)],
  ['invalid results', r => na(r.metrics.invalidResults)],
  ['numbers re-sieved by hub', r => na(r.metrics.checkedOps)],
  ['numbers sieved by volunteers', r => String(r.metrics.volunteerOps)],
  ['hub checking cost', r => pct(r.metrics.checkingCost)],
  ['hub check ms (JobStatus.checkMs)', r => na(r.metrics.hubCheckMs)],
  ['volunteers\' kernel ms', r => na(r.metrics.volunteerComputeMs)],
  ['hub checking cost (time)', r => pct(r.metrics.checkingCostTime)],
  ['wrong canonical (primecount)', r => `${r.wrongCanonical}${r.missingCanonical > 0 ? ` (+${r.missingCanonical} none)` : ''}`],
  ['cheater net credit', r => String(r.cheaterNetCredit)],
  ['honest credit lost', r => String(r.honestCreditLost)]
]
const widths = [Math.max(...rows.map(([k]) => k.length)), ...reports.map(r => Math.max(r.name.length, ...rows.map(([, f]) => f(r).length)))]
const line = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[0]) : c.padStart(widths[i])).join('  ')
console.log(line(['', ...reports.map(r => r.name)]))
for (const [k, f] of rows) console.log(line([k, ...reports.map(f)]))
console.log(JSON.stringify({
  bench: 'trust',
  job: JOB,
  format: format.name,
  scenarios: reports.map(r => ({
    name: r.name, state: r.state, elapsedMs: Math.round(r.elapsedMs), ...r.metrics,
    wrongCanonical: r.wrongCanonical, missingCanonical: r.missingCanonical, cheaterNetCredit: r.cheaterNetCredit, honestCreditLost: r.honestCreditLost
  }))
}))
