/**
 * Hub throughput benchmark (issue 14): one hub (startHub, SQLite with synchronous=FULL in a temp
 * dir) in a child process of its own, so that its CPU time (process.cpuUsage) is the hub's alone,
 * and N simulated volunteers in this process, each its own Ed25519 key and libp2p node dialled to
 * the hub over loopback WebSockets (noise, yamux). They work a primes job of many tiny units
 * (`--unit` numbers each, default 1000, quorum 2: policy `replicate`, so every unit needs two
 * agreeing results) with honest answers from a small segmented sieve here (computing costs next
 * to nothing): lease (work/2.0.0, `--lease-units` per request), count, sign, submit
 * (result/1.0.0), again. The hub's per-peer request rates are opened up as
 * test/hub.trust.network.test.ts does, and its per-address connection limits too (every volunteer
 * comes from 127.0.0.1); its total connection limit stays the hub's default unless
 * `--max-connections` is given.
 *
 * After a warm-up (`--warmup` s) it measures `--seconds` s and prints a table: volunteers,
 * connected (the hub's open connections at the end), results/s and validated units/s (accepted by
 * the hub in the window), hub CPU ms per result, lease and submit p50/p99 (ms, as the volunteers
 * see them), hub RSS (MiB), errors, with /proc/loadavg beside it; last, one JSON line. Bounded:
 * it stops by itself after warm-up + seconds. `BENCH_HUB_CPU_PROF=<dir>` writes the hub's CPU profile there.
 *
 * Lease order: `--lease-order sequential` by default. Every simulated volunteer connects from
 * 127.0.0.1, and the hub's random order keeps a unit's replicas off one address, so with it the
 * second replica of a unit is leased only once every unit has its first: no unit validates within
 * a run of a large job. Sequential order gives a unit's replicas out together.
 *
 *   npm run bench:hub -- --volunteers 100 --seconds 30
 */
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { peerIdFromString } from '@libp2p/peer-id'
import { RESULT_SPEC, RESULT_SPEC_V2, WORK_SPEC_V2, callProtocol, decodePrimesInput, encodePrimesOutput, sha256Bytes, signResult } from '../src/protocol/index.ts'
import { dialledPeer } from '../test/helpers.ts'
import { caps, v2 } from '../test/hub-fixtures.ts'
import type { Lease, SignedResult } from '../src/protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

/** What the hub child reports on request. */
interface HubMark { cpuUs: number, rssBytes: number, accepted: number, validated: number, connections: number, state: string }
type ToChild = { type: 'mark', id: number } | { type: 'stop' }
type FromChild = { type: 'ready', multiaddr: string, peerId: string } | { type: 'mark', id: number, mark: HubMark } | { type: 'error', message: string }

interface ChildConfig { volunteers: number, unit: number, units: number, maxConnections?: number, leaseOrder: 'random' | 'sequential' }


async function hubChild (config: ChildConfig): Promise<void> {
  const { startHub } = await import('../src/hub/hub.ts')
  const send = (m: FromChild): void => { process.send?.(m) }
  const dir = mkdtempSync(join(tmpdir(), 'bench-hub-'))
  try {
    const rate = { perSecond: 100_000, burst: 100_000 }
    const hub = await startHub({
      dataDir: join(dir, 'data'),
      staticDir: dir,
      // every simulated volunteer comes from 127.0.0.1: the per-address limits are opened up
      limits: {
        maxConnectionsPerAddress: Math.max(64, config.volunteers * 2),
        maxPendingUpgradesPerAddress: 64,
        inboundConnectionsPerSecond: 100_000,
        ...(config.maxConnections != null ? { maxConnections: config.maxConnections } : {})
      },
      peerLimits: { workRate: rate, resultRate: rate, receiptsRate: rate },
      leaseOrder: config.leaseOrder
    })
    // jobs of `units` units, one after another from 10^9: a new one whenever the newest has less
    // than half its units unsent, so the open units stay between `units` and 1.5 `units`
    const jobs: string[] = []
    let from = 1_000_000_000
    const addJob = async (): Promise<void> => {
      const job = await hub.core.createPrimesJob({ from, to: from + config.unit * config.units, unit: config.unit, quorum: 2 })
      from += config.unit * config.units
      jobs.push(job.id)
    }
    await addJob()
    const topUp = setInterval(() => {
      void (async () => {
        const s = await hub.core.jobStatus(jobs[jobs.length - 1])
        if (s != null && s.unsent < config.units) await addJob()
      })()
    }, 500)
    let accepted = 0
    const submit = hub.core.submit.bind(hub.core)
    hub.core.submit = async (...args) => {
      const res = await submit(...args)
      if (res.status === 'accepted') accepted++
      return res
    }
    const submitBatch = hub.core.submitBatch.bind(hub.core)
    hub.core.submitBatch = async (...args) => {
      const outcomes = await submitBatch(...args)
      accepted += outcomes.filter(o => o.status === 'accepted').length
      return outcomes
    }
    // the parent gone (killed, timed out): the hub goes too
    process.on('disconnect', () => { clearInterval(topUp); void hub.stop().finally(() => { rmSync(dir, { recursive: true, force: true }); process.exit(0) }) })
    process.on('message', (m: ToChild) => {
      if (m.type === 'stop') {
        clearInterval(topUp)
        void hub.stop().finally(() => { rmSync(dir, { recursive: true, force: true }); process.exit(0) })
        return
      }
      void (async () => {
        let validated = 0
        for (const id of jobs) validated += (await hub.core.jobStatus(id))?.validated ?? 0
        const cpu = process.cpuUsage()
        send({ type: 'mark', id: m.id, mark: { cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss, accepted, validated, connections: hub.node.getConnections().length, state: `${jobs.length} jobs` } })
      })().catch(err => { send({ type: 'error', message: (err as Error).stack ?? String(err) }) })
    })
    send({ type: 'ready', multiaddr: hub.multiaddrs[0], peerId: hub.peerId })
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) })
    rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  }
}

/** Small primes up to 2^16 (enough for every number below 2^32). */
const SMALL_PRIMES: number[] = (() => {
  const n = 1 << 16
  const composite = new Uint8Array(n)
  const out: number[] = []
  for (let i = 2; i < n; i++) {
    if (composite[i] === 1) continue
    out.push(i)
    for (let m = i * i; m < n; m += i) composite[m] = 1
  }
  return out
})()

/** Primes in [lo, hi) (hi < 2^32), by a segmented sieve. */
function countPrimes (lo: number, hi: number): number {
  const seg = new Uint8Array(hi - lo)
  for (const p of SMALL_PRIMES) {
    if (p * p >= hi) break
    for (let m = Math.max(p * p, Math.ceil(lo / p) * p); m < hi; m += p) seg[m - lo] = 1
  }
  let count = 0
  for (let i = 0; i < seg.length; i++) if (seg[i] === 0 && lo + i >= 2) count++
  return count
}

function percentile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

async function main (): Promise<void> {
  const program = new Command()
    .name('bench-hub')
    .option('--volunteers <n>', 'simulated volunteers, each its own key and connection', '10')
    .option('--seconds <s>', 'measured seconds', '30')
    .option('--warmup <s>', 'seconds of work before measuring', '3')
    .option('--unit <n>', 'numbers per work unit', '1000')
    .option('--units <n>', 'work units per job (a new job is added when half are sent)', '4000')
    .option('--lease-units <n>', 'units asked for per work request', '1')
    .option('--lease-order <order>', 'the hub\'s lease order: sequential (a unit\'s replicas go out together) or random (the default of a real hub; it keeps a unit\'s replicas off one address, and every volunteer here is 127.0.0.1)', 'sequential')
    .option('--batch', 'submit the results of each lease in ONE result/2.0.0 request (default: one result/1.0.0 request per result)')
    .option('--max-connections <n>', 'the hub\'s maxConnections (default: the hub\'s own default)')
    .parse()
  const o = program.opts<{ batch?: boolean, volunteers: string, seconds: string, warmup: string, unit: string, units: string, leaseUnits: string, maxConnections?: string, leaseOrder: string }>()
  const volunteers = Number(o.volunteers)
  const seconds = Number(o.seconds)
  const warmup = Number(o.warmup)
  const leaseUnits = Number(o.leaseUnits)
  const batch = o.batch === true
  if (!Number.isInteger(volunteers) || volunteers < 1 || volunteers > 20_000) program.error('--volunteers must be an integer from 1 to 20000')
  if (!(seconds > 0 && seconds <= 600)) program.error('--seconds must be in (0, 600]')
  if (o.leaseOrder !== 'random' && o.leaseOrder !== 'sequential') program.error('--lease-order must be random or sequential')
  const config: ChildConfig = { leaseOrder: o.leaseOrder as ChildConfig['leaseOrder'], volunteers, unit: Number(o.unit), units: Number(o.units), maxConnections: o.maxConnections == null ? undefined : Number(o.maxConnections) }

  const child = fork(new URL(import.meta.url).pathname, ['--hub-child', JSON.stringify(config)], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_HUB_CPU_PROF != null ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_CPU_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map<number, (m: HubMark) => void>()
  let nextId = 0
  const ready = new Promise<{ multiaddr: string, peerId: string }>((resolve, reject) => {
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') resolve(m)
      else if (m.type === 'error') { console.error(`hub child: ${m.message}`); reject(new Error(m.message)); process.exit(1) }
      else { pending.get(m.id)?.(m.mark); pending.delete(m.id) }
    })
    child.on('exit', code => { reject(new Error(`hub child exited with ${code}`)) })
  })
  const mark = async (): Promise<HubMark> => await new Promise(resolve => { const id = nextId++; pending.set(id, resolve); child.send({ type: 'mark', id } satisfies ToChild) })
  const hubInfo = await ready
  const hubPeer: PeerId = peerIdFromString(hubInfo.peerId)

  // dial the volunteers, a few at a time
  const peers: Array<{ node: Libp2p, key: PrivateKey, receiptsAfter: number }> = []
  let dialFailures = 0
  const t0Dial = performance.now()
  const queue = Array.from({ length: volunteers }, (_, i) => i)
  await Promise.all(Array.from({ length: Math.min(16, volunteers) }, async () => {
    while (queue.shift() != null) {
      try { peers.push({ ...await dialledPeer(hubInfo.multiaddr), receiptsAfter: 0 }) } catch { dialFailures++ }
    }
  }))
  const dialS = (performance.now() - t0Dial) / 1000

  const PAGE = caps()
  let measuring = false
  let running = true
  const leaseMs: number[] = []
  const submitMs: number[] = []
  let errors = 0
  let rejected = 0
  const firstErrors: string[] = []
  const noteError = (err: unknown): void => { errors++; if (firstErrors.length < 3) firstErrors.push(String((err as Error).message ?? err).slice(0, 160)) }
  const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

  const loop = async (p: { node: Libp2p, key: PrivateKey, receiptsAfter: number }): Promise<void> => {
    while (running) {
      let leases: Lease[] = []
      try {
        const t = performance.now()
        const res = await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(PAGE, leaseUnits), AbortSignal.timeout(30_000))
        if (measuring) leaseMs.push(performance.now() - t)
        leases = res.leases
        if (leases.length === 0) { await sleep(Math.min(1000, Math.max(100, res.retryAfterMs))); continue }
      } catch (err) {
        if (running) { noteError(err); await sleep(200) }
        continue
      }
      const signedResults: SignedResult[] = []
      for (const l of leases) {
        const { lo, hi } = decodePrimesInput(l.input)
        const output = encodePrimesOutput(countPrimes(lo, hi)) as Uint8Array<ArrayBuffer>
        signedResults.push(await signResult({
          replicaId: l.replicaId, wuId: l.wuId, outcome: 'success', output,
          outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: ''
        }, p.key))
      }
      const refused = (status: string, error: string, message: string): void => {
        if (status !== 'rejected') return
        rejected++
        if (firstErrors.length < 3) firstErrors.push(`${error}: ${message}`.slice(0, 160))
      }
      // like a page: receipts after the newest one held (creditsUpTo of the last answer)
      if (batch) {
        if (!running) return
        try {
          const t = performance.now()
          const res = await callProtocol(p.node, hubPeer, RESULT_SPEC_V2, { results: signedResults, receiptsAfter: p.receiptsAfter }, AbortSignal.timeout(30_000))
          if (measuring) submitMs.push(performance.now() - t)
          p.receiptsAfter = res.creditsUpTo
          for (const o of res.outcomes) refused(o.status, o.error, o.message)
        } catch (err) {
          if (running) noteError(err)
        }
        continue
      }
      for (const signed of signedResults) {
        if (!running) return
        try {
          const t = performance.now()
          const res = await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: p.receiptsAfter }, AbortSignal.timeout(30_000))
          if (measuring) submitMs.push(performance.now() - t)
          p.receiptsAfter = res.creditsUpTo
          refused(res.status, res.error, res.message)
        } catch (err) {
          if (running) noteError(err)
        }
      }
    }
  }
  const loops = peers.map(loop)
  await sleep(warmup * 1000)
  const before = await mark()
  const cpuBefore = process.cpuUsage()
  const tStart = performance.now()
  measuring = true
  const loadStart = readFileSync('/proc/loadavg', 'utf8').trim()
  await sleep(seconds * 1000)
  measuring = false
  const after = await mark()
  const elapsed = (performance.now() - tStart) / 1000
  const cpuVolunteers = process.cpuUsage(cpuBefore)
  const loadEnd = readFileSync('/proc/loadavg', 'utf8').trim()
  running = false
  await Promise.race([Promise.all(loops), sleep(10_000)])
  await Promise.all(peers.map(async p => { try { await p.node.stop() } catch {} }))
  child.send({ type: 'stop' } satisfies ToChild)
  await new Promise(resolve => { child.once('exit', resolve); setTimeout(resolve, 10_000) })

  const results = after.accepted - before.accepted
  const validated = after.validated - before.validated
  leaseMs.sort((a, b) => a - b)
  submitMs.sort((a, b) => a - b)
  const row = {
    volunteers,
    connected: after.connections,
    seconds: Math.round(elapsed * 10) / 10,
    resultsPerS: Math.round(results / elapsed * 10) / 10,
    validatedPerS: Math.round(validated / elapsed * 10) / 10,
    hubCpuMsPerResult: results === 0 ? null : Math.round((after.cpuUs - before.cpuUs) / 1000 / results * 100) / 100,
    hubCpuPct: Math.round((after.cpuUs - before.cpuUs) / 1e6 / elapsed * 1000) / 10,
    p50LeaseMs: Math.round(percentile(leaseMs, 0.5) * 10) / 10,
    p99LeaseMs: Math.round(percentile(leaseMs, 0.99) * 10) / 10,
    p50SubmitMs: Math.round(percentile(submitMs, 0.5) * 10) / 10,
    p99SubmitMs: Math.round(percentile(submitMs, 0.99) * 10) / 10,
    hubRssMB: Math.round(after.rssBytes / 1024 / 1024),
    // the simulated volunteers' own process (signing, libp2p): at ~100 % it, not the hub, is the limit
    volunteersCpuPct: Math.round((cpuVolunteers.user + cpuVolunteers.system) / 1e6 / elapsed * 1000) / 10,
    errors,
    rejected,
    dialFailures,
    dialS: Math.round(dialS * 10) / 10,
    jobState: after.state,
    leaseOrder: config.leaseOrder,
    leaseUnits,
    submit: batch ? 'result/2.0.0 batch' : 'result/1.0.0 one by one',
    loadavgStart: loadStart,
    loadavgEnd: loadEnd,
    store: 'sqlite',
    hubs: 1
  }
  const cols: Array<[string, string | number | null]> = [
    ['volunteers', row.volunteers], ['connected', row.connected], ['results/s', row.resultsPerS], ['validated/s', row.validatedPerS],
    ['hub CPU ms/result', row.hubCpuMsPerResult], ['hub CPU %', row.hubCpuPct], ['lease p50/p99 ms', `${row.p50LeaseMs}/${row.p99LeaseMs}`],
    ['submit p50/p99 ms', `${row.p50SubmitMs}/${row.p99SubmitMs}`], ['hub RSS MiB', row.hubRssMB], ['volunteers CPU %', row.volunteersCpuPct], ['errors', row.errors + row.rejected + row.dialFailures]
  ]
  console.log(cols.map(([k]) => k).join(' | '))
  console.log(cols.map(([, v]) => String(v)).join(' | '))
  console.log(`loadavg at start: ${loadStart}; at end: ${loadEnd}; dialled ${peers.length} in ${row.dialS} s; ${row.jobState}`)
  if (firstErrors.length > 0) console.log(`first errors: ${firstErrors.join(' || ')}`)
  console.log(JSON.stringify(row))
  process.exit(0)
}

if (process.argv[2] === '--hub-child') await hubChild(JSON.parse(process.argv[3]) as ChildConfig)
else await main()
