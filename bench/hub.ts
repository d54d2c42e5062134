/**
 * Hub throughput benchmark (issue 14): K hubs (startHub; `--hubs`, default 1), each in a child
 * process of its own, so that its CPU time (process.cpuUsage) is that hub's alone, and N simulated
 * volunteers in this process, each its own Ed25519 key and libp2p node dialled to ONE hub
 * (round-robin over the hubs) over loopback WebSockets (noise, yamux). They work a primes job of
 * many tiny units (`--unit` numbers each, default 1000, quorum 2: policy `replicate`, so every
 * unit needs two agreeing results) with honest answers from a small segmented sieve here
 * (computing costs next to nothing): lease (work/2.0.0, `--lease-units` per request), count,
 * sign, submit (result/1.0.0, or with `--batch` the lease's results in one result/2.0.0
 * request), again — as fast as the hub answers, or with `--rate R` open loop: each volunteer
 * starts a lease every `--lease-units` / R seconds (its starts spread over the first period), so
 * the offered load is N × R results/s whatever the hub's speed, and the p99s are a load's, not
 * a queue's (a cycle that runs late starts the next at once; none are made up). The hubs' per-peer
 * request rates are opened up as
 * test/hub.trust.network.test.ts does, and their per-address connection limits too (every
 * volunteer comes from 127.0.0.1); the total connection limit stays the hub's default unless
 * `--max-connections` is given.
 *
 * Store (`--store`): absent — SQLite (synchronous=FULL) in a temp dir, one hub only; a
 * `postgres://` URL — that database (the hubs create their schema in it; a database that already
 * holds jobs keeps them); `pg` — a throwaway PostgreSQL cluster started here with
 * scripts/pg-cluster.sh in a fresh dir under `$BENCH_HUB_PG_DIR_PREFIX` (default
 * `<tmpdir>/bench-hub-pg-`), stopped and removed at the end. With PostgreSQL every hub has its own
 * data dir (hub key) and all share one `sharedDir` (blobs, outputs, the deployment's ledger key;
 * `--shared-dir`, default a temp dir removed at the end), as a real deployment of several hubs
 * does. A database is bound to its ledger key: a `postgres://` database used by an earlier run
 * needs that run's `--shared-dir` (or use a fresh database, or `pg`). `--hubs K` > 1 needs PostgreSQL. The hubs start
 * one after the other (the first makes the schema and the ledger key); only the first creates the
 * jobs and tops them up.
 *
 * After a warm-up (`--warmup` s) it measures `--seconds` s and prints a table: volunteers,
 * connected (the hubs' open connections at the end, summed), results/s (accepted by the hubs in
 * the window — each hub counts what its own submit, submitBatch and submitSignedBatch accepted — summed) and
 * validated units/s (from the database: the first hub's jobStatus sees every hub's work), hub CPU
 * ms per result and hub CPU % (summed over the hubs), lease and submit p50/p99 (ms, as the
 * volunteers see them), hub RSS (MiB; the largest hub, and the sum), errors, with /proc/loadavg
 * beside it; then the same p99s as the hub itself times them (HubCore's lease and submit calls:
 * queueing for the store included, libp2p and the network not), and how long the event loops were
 * held in the window (monitorEventLoopDelay, the hub's and this process's: a stall of the
 * volunteers' own loop delays every volunteer's figures) with the hub's garbage collections
 * (count, time and longest, from node:perf_hooks' `gc` entries), to tell a slow store from a
 * stalled process; and the largest hub's memory: RSS, V8's heap in use and reserved, what of it is
 * live (a full collection, `gc()` with `--expose-gc` set at run time, once the window has closed)
 * and memory outside the heap. Then checks on the store: replicas leased twice to one peer
 * (`SELECT ... FROM replicas GROUP BY wu_id, peer_id HAVING count(*) > 1`; the schema's UNIQUE
 * forbids them, so anything but 0 is a broken store) and the ledger chain (verifyLedger); with
 * PostgreSQL also the transactions run again after a deadlock or serialization failure (per
 * SQLSTATE) and errors the hubs threw. Then the CPU budget of a result beside the 10,000 results/s
 * target (`cpuBudget`): Ed25519 sign and verify timed here after the window, times the signatures a
 * result takes in this protocol (the volunteer's, the hub's check of it, and the hub's ack and
 * credit-receipt signatures counted by `sparecycles_receipt_signatures_total` in the window), as
 * the most results/s the cores could give to signatures alone; and the CPU a result measured (hub
 * plus volunteers) as the most results/s with every core busy. Last, one JSON line (`volunteers, connected, seconds,
 * resultsPerS, validatedPerS, p99LeaseMs, p99SubmitMs, hubRssMB, store, hubs, doubleLeases,
 * ledgerOk, ...`). Bounded: each run stops by itself after dialling + warm-up + seconds.
 * `BENCH_HUB_CPU_PROF=<dir>` writes each hub's CPU profile of the measured window (not the dialling
 * or warm-up) there, as `hub-<index>-<pid>-window.cpuprofile` (node:inspector's Profiler, in the
 * hub's process; the pid keeps `--compare-hubs` runs apart; Chrome DevTools reads it).
 * `BENCH_HUB_HEAP_PROF=<dir>` writes each hub's sampling heap profile of the window there
 * (`hub-<index>-<pid>-window.heapprofile`, HeapProfiler.startSampling with objects freed by a full
 * collection kept and those freed by a young-generation one left out: what reached the old space).
 *
 * `--compare-hubs 1,2,4`: the same load with 1, then 2, then 4 hubs (each a run of this script
 * with `--hubs K`, back to back, each `--seconds` long; with `--store pg` one cluster and a fresh
 * database per run; with a URL the one database and one shared dir), printed side by side with each run's results/s as a ratio of the first run's,
 * then one JSON line `{ mode: 'compare-hubs', runs: [...], ratios: [...] }`. More than one hub
 * needs PostgreSQL (`--store`). All hubs and the volunteers share this machine's cores: when the volunteers' own
 * process (volunteersCpuPct ~100 %) or the cores are the limit, more hub processes cannot go faster.
 *
 * Volunteers' processes: `--volunteer-processes P` (default 1: this process) spreads the simulated
 * volunteers over P child processes (this script with `--volunteer-child`, each dialling its share;
 * the rate schedule and hub assignment are the same), their latencies merged, their CPU summed
 * (volunteersCpuPct) and the worst of their event loops reported. 10,000 libp2p nodes in one
 * process stall it for up to a second at a time (its garbage collector), a delay every volunteer
 * in it sees; with several processes the p99s are closer to the hub's own.
 *
 * Lease order: `--lease-order sequential` by default. Every simulated volunteer connects from
 * 127.0.0.1, and the hub's random order keeps a unit's replicas off one address, so with it the
 * second replica of a unit is leased only once every unit has its first: no unit validates within
 * a run of a large job. Sequential order gives a unit's replicas out together.
 *
 *   npm run bench:hub -- --volunteers 100 --seconds 30
 *   npm run bench:hub -- --volunteers 100 --seconds 10 --lease-units 16 --batch --store pg --hubs 2
 *   npm run bench:hub -- --volunteers 1000 --seconds 20 --lease-units 4 --batch --rate 0.5   (open loop: 500 results/s offered)
 *   npm run bench:hub -- --volunteers 100 --seconds 10 --lease-units 16 --batch --store pg --compare-hubs 1,2,4
 */
import { execFileSync, fork, spawn } from 'node:child_process'
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_LEASES_PER_REQUEST, RESULT_SPEC, RESULT_SPEC_V2, RESULT_SPEC_V3, ResultPayload, WORK_SPEC_V2, callProtocol, decodePrimesInput, encodePrimesOutput, sha256Bytes, signResult, signResultBatch } from '../src/protocol/index.ts'
import { cachedSigningKey } from '../src/hub/ed25519-keys.ts'
import { redactStoreUrl } from '../src/hub/pg-store.ts'
import { dialledPeer } from '../test/helpers.ts'
import { caps, v2 } from '../test/hub-fixtures.ts'
import type { Lease, SignedResult, SubmitOutcome } from '../src/protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

const SELF = fileURLToPath(import.meta.url)
const PG_CLUSTER = join(dirname(SELF), '..', 'scripts', 'pg-cluster.sh')

/** What a hub child reports on request. */
/** Issue 14's goal for one SQLite hub on this machine, validated results/s (the CPU budget line's reference). */
const TARGET_RESULTS_PER_S = 10_000

/**
 * Ed25519 costs on this machine, µs a signature and a verification (node:crypto with key objects
 * made once, as the hub does: ed25519-keys.ts; 2,000 of each on a ~120-byte message, this process,
 * run after the window so nothing else competes).
 */
function ed25519Costs (): { signUs: number, verifyUs: number } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const message = Buffer.alloc(120, 7)
  const n = 2_000
  let signature = Buffer.alloc(0)
  let t = performance.now()
  for (let i = 0; i < n; i++) signature = cryptoSign(null, message, privateKey)
  const signUs = (performance.now() - t) * 1000 / n
  t = performance.now()
  for (let i = 0; i < n; i++) if (!cryptoVerify(null, message, publicKey, signature)) throw new Error('Ed25519 self-check failed')
  return { signUs, verifyUs: (performance.now() - t) * 1000 / n }
}

/**
 * The CPU budget of a result on this machine's cores (os.availableParallelism()), beside the
 * target: the signatures this protocol needs a result (the volunteer's, the hub's verification of
 * it, the hub's ack and credit-receipt signatures as counted in the window) at the measured
 * Ed25519 costs, and the measured CPU a result of the hub and the volunteers together; each as the
 * most results/s those costs allow with every core doing only that, and as a ratio to the target.
 */
interface CpuBudget {
  cores: number
  ed25519SignUs: number
  ed25519VerifyUs: number
  /** null when no result was accepted in the window (as the rest below). */
  hubSignaturesPerResult: number | null
  /** Volunteer signatures the hub checked a result (`sparecycles_result_signatures_checked_total`): 1 with a signature a result, 1/batch size with result/3.0.0. */
  resultSignaturesPerResult: number | null
  cryptoUsPerResult: number | null
  cryptoCeilingPerS: number | null
  cryptoCeilingVsTarget: number | null
  cpuMsPerResult: number | null
  cpuCeilingPerS: number | null
  cpuCeilingVsTarget: number | null
}

function cpuBudget (m: { results: number, hubCpuUs: number, volunteersCpuUs: number, hubSignatures: number, resultSignatureChecks: number, ed25519: { signUs: number, verifyUs: number } }): CpuBudget {
  const cores = availableParallelism()
  const r2 = (x: number): number => Math.round(x * 100) / 100
  if (m.results === 0) return { cores, ed25519SignUs: r2(m.ed25519.signUs), ed25519VerifyUs: r2(m.ed25519.verifyUs), hubSignaturesPerResult: null, resultSignaturesPerResult: null, cryptoUsPerResult: null, cryptoCeilingPerS: null, cryptoCeilingVsTarget: null, cpuMsPerResult: null, cpuCeilingPerS: null, cpuCeilingVsTarget: null }
  const signaturesPerResult = m.hubSignatures / m.results
  // each volunteer signature the hub checked was made once by a volunteer
  const checksPerResult = m.resultSignatureChecks / m.results
  const cryptoUs = m.ed25519.signUs * (checksPerResult + signaturesPerResult) + m.ed25519.verifyUs * checksPerResult
  const cpuUs = (m.hubCpuUs + m.volunteersCpuUs) / m.results
  const cryptoCeiling = cores * 1e6 / cryptoUs
  const cpuCeiling = cores * 1e6 / cpuUs
  return {
    cores,
    ed25519SignUs: r2(m.ed25519.signUs),
    ed25519VerifyUs: r2(m.ed25519.verifyUs),
    hubSignaturesPerResult: r2(signaturesPerResult),
    resultSignaturesPerResult: Math.round(checksPerResult * 1000) / 1000,
    cryptoUsPerResult: Math.round(cryptoUs),
    cryptoCeilingPerS: Math.round(cryptoCeiling),
    cryptoCeilingVsTarget: r2(cryptoCeiling / TARGET_RESULTS_PER_S),
    cpuMsPerResult: r2(cpuUs / 1000),
    cpuCeilingPerS: Math.round(cpuCeiling),
    cpuCeilingVsTarget: r2(cpuCeiling / TARGET_RESULTS_PER_S)
  }
}

interface HubMark {
  cpuUs: number
  rssBytes: number
  /** process.memoryUsage(): V8's heap in use and reserved, and memory outside it (Buffers), bytes. */
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  /** At the window's end (the second mark) only: V8's heap in use after a full garbage collection, bytes. */
  liveHeapBytes?: number
  accepted: number
  /** Validated units of every job in the store (the first hub reports them; the others 0). */
  validated: number
  connections: number
  state: string
  /** PostgreSQL: transactions run again after a retryable error, in all and per SQLSTATE. */
  retries: number
  retriesByCode: Record<string, number>
  /** Receipt signatures the hub's ledger key made (acks and credit receipts; `sparecycles_receipt_signatures_total`). */
  receiptSignatures: number
  /** Volunteer signatures the hub checked (`sparecycles_result_signatures_checked_total`): one a result, or one a signed batch. */
  resultSignatureChecks: number
  /** Errors thrown by lease, submit, submitBatch or submitSignedBatch (the volunteer sees a reset stream). */
  hubErrors: number
  firstHubErrors: string[]
  /** The hub's event loop and garbage collector since the window opened (the first mark): see `LoopStats`. */
  loop: LoopStats
}
/**
 * How long the hub's event loop was held, over the measured window: `delayP99Ms`/`delayMaxMs`,
 * node:perf_hooks' monitorEventLoopDelay (a 10 ms timer's lateness, so holds shorter than that
 * are not seen); `gcCount`/`gcTotalMs`/`gcMaxMs`, node:perf_hooks' `gc` entries (each a garbage
 * collection's pause on the main thread, scavenges and mark-compacts alike; the incremental
 * marking steps the main thread runs between pauses are not in them, so a collection can hold
 * the loop longer than its entry says: the CPU profile's `(garbage collector)` shows those); `coreLeaseP99Ms`/
 * `coreSubmitP99Ms`, the p99 of HubCore's lease and submit calls as the hub times them (from the
 * call to its answer, queueing for the store included, the network and libp2p not).
 */
interface LoopStats { delayP99Ms: number, delayMaxMs: number, gcCount: number, gcTotalMs: number, gcMaxMs: number, coreLeaseP99Ms: number, coreSubmitP99Ms: number }
interface StoreCheck { doubleLeases: number, ledgerOk: boolean, ledgerEntries: number, ledgerError?: string }
type ToChild = { type: 'mark', id: number } | { type: 'check', id: number } | { type: 'stop' }
type FromChild = { type: 'ready', multiaddr: string, peerId: string } | { type: 'mark', id: number, mark: HubMark } | { type: 'check', id: number, check: StoreCheck } | { type: 'error', message: string }

interface ChildConfig {
  index: number
  /** All volunteers (the per-address connection limit is opened up to twice this). */
  volunteers: number
  unit: number
  units: number
  maxConnections?: number
  leaseOrder: 'random' | 'sequential'
  /** A postgres:// URL, or absent for SQLite in the child's temp dir. */
  store?: string
  sharedDir?: string
  /** Create the jobs and top them up (the first hub only). */
  createJobs: boolean
}

/** Replicas leased twice to one peer, in the hub's store. */
async function doubleLeases (config: ChildConfig, dataDir: string): Promise<number> {
  const q = 'SELECT count(*) AS n FROM (SELECT wu_id, peer_id FROM replicas GROUP BY wu_id, peer_id HAVING count(*) > 1) AS d'
  if (config.store == null) {
    const { DatabaseSync } = await import('node:sqlite')
    const { DB_FILE_NAME } = await import('../src/hub/store.ts')
    const db = new DatabaseSync(join(dataDir, DB_FILE_NAME), { readOnly: true })
    try { return Number((db.prepare(q).get() as { n: number }).n) } finally { db.close() }
  }
  const { connect, parseStoreUrl } = await import('../src/hub/pg-store.ts')
  const sql = connect(parseStoreUrl(config.store), 1)
  try { return Number((await sql.unsafe(q))[0].n) } finally { await sql.end({ timeout: 5 }) }
}

async function hubChild (config: ChildConfig): Promise<void> {
  const { startHub } = await import('../src/hub/hub.ts')
  const send = (m: FromChild): void => { process.send?.(m) }
  const dir = mkdtempSync(join(tmpdir(), 'bench-hub-'))
  const dataDir = join(dir, 'data')
  try {
    const rate = { perSecond: 100_000, burst: 100_000 }
    const hub = await startHub({
      dataDir,
      staticDir: dir,
      ...(config.store != null ? { store: config.store, sharedDir: config.sharedDir } : {}),
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
    let topUp: NodeJS.Timeout | undefined
    if (config.createJobs) {
      await addJob()
      let busy = false
      topUp = setInterval(() => {
        if (busy) return
        busy = true
        void (async () => {
          const s = await hub.core.jobStatus(jobs[jobs.length - 1])
          if (s != null && s.unsent < config.units) await addJob()
        })().catch(err => { noteHubError(err) }).finally(() => { busy = false })
      }, 500)
    }
    let accepted = 0
    let hubErrors = 0
    const firstHubErrors: string[] = []
    const noteHubError = (err: unknown): void => {
      hubErrors++
      if (firstHubErrors.length < 3) firstHubErrors.push(String((err as Error).message ?? err).slice(0, 200))
    }
    // the hub's own time per call (HubCore, from the call to its answer: queueing for the store
    // included, the network not), kept while the window is open
    const coreMs = { lease: [] as number[], submit: [] as number[] }
    // 1 while the window is open (the first mark opens it, the second closes it)
    let marks = 0
    const timed = (into: number[], t0: number): void => { if (marks === 1) into.push(performance.now() - t0) }
    const lease = hub.core.lease.bind(hub.core)
    hub.core.lease = async (...args) => {
      const t0 = performance.now()
      try { return await lease(...args) } catch (err) { noteHubError(err); throw err } finally { timed(coreMs.lease, t0) }
    }
    const leaseV2 = hub.core.leaseV2.bind(hub.core)
    hub.core.leaseV2 = async (...args) => {
      const t0 = performance.now()
      try { return await leaseV2(...args) } catch (err) { noteHubError(err); throw err } finally { timed(coreMs.lease, t0) }
    }
    const submit = hub.core.submit.bind(hub.core)
    hub.core.submit = async (...args) => {
      const t0 = performance.now()
      try {
        const res = await submit(...args)
        if (res.status === 'accepted') accepted++
        return res
      } catch (err) { noteHubError(err); throw err } finally { timed(coreMs.submit, t0) }
    }
    const countedBatch = async (call: () => Promise<SubmitOutcome[]>): Promise<SubmitOutcome[]> => {
      const t0 = performance.now()
      try {
        const outcomes = await call()
        accepted += outcomes.filter(o => o.status === 'accepted').length
        return outcomes
      } catch (err) { noteHubError(err); throw err } finally { timed(coreMs.submit, t0) }
    }
    const submitBatch = hub.core.submitBatch.bind(hub.core)
    hub.core.submitBatch = async (...args) => await countedBatch(async () => await submitBatch(...args))
    const submitSignedBatch = hub.core.submitSignedBatch.bind(hub.core)
    hub.core.submitSignedBatch = async (...args) => await countedBatch(async () => await submitSignedBatch(...args))
    const repo = hub.core.repo as { retries?: number, retriesByCode?: Record<string, number> }
    let stopping = false
    const stop = (): void => {
      if (stopping) return
      stopping = true
      clearInterval(topUp)
      void hub.stop().finally(() => { rmSync(dir, { recursive: true, force: true }); process.exit(0) })
    }
    // gc() for the full collection at the window's end (runInNewContext('gc') picks it up)
    setFlagsFromString('--expose-gc')
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
    const gc = { count: 0, totalMs: 0, maxMs: 0 }
    const gcObserver = new PerformanceObserver(list => {
      for (const e of list.getEntries()) { gc.count++; gc.totalMs += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration) }
    })
    gcObserver.observe({ entryTypes: ['gc'] })
    let heapProfiler: Session | undefined
    if (process.env.BENCH_HUB_HEAP_PROF != null) {
      mkdirSync(process.env.BENCH_HUB_HEAP_PROF, { recursive: true })
      heapProfiler = new Session()
      heapProfiler.connect()
    }
    let profiler: Session | undefined
    if (process.env.BENCH_HUB_CPU_PROF != null) {
      mkdirSync(process.env.BENCH_HUB_CPU_PROF, { recursive: true })
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
    }
    // the parent gone (killed, timed out): the hub goes too
    process.on('disconnect', stop)
    process.on('message', (m: ToChild) => {
      if (m.type === 'stop') { stop(); return }
      if (m.type === 'check') {
        void (async () => {
          const chain = await hub.core.verifyLedger()
          const check: StoreCheck = { doubleLeases: await doubleLeases(config, dataDir), ledgerOk: chain.ok, ledgerEntries: chain.entries, ...(chain.error != null ? { ledgerError: `at seq ${chain.brokenAtSeq}: ${chain.error}` } : {}) }
          send({ type: 'check', id: m.id, check })
        })().catch(err => { send({ type: 'error', message: (err as Error).stack ?? String(err) }) })
        return
      }
      void (async () => {
        // the first mark opens the measured window, the second closes it: the profile covers it alone
        marks++
        if (marks === 1) { loopDelay.reset(); gc.count = 0; gc.totalMs = 0; gc.maxMs = 0 }
        if (profiler != null && marks === 1) await profiler.post('Profiler.start')
        if (heapProfiler != null && marks === 1) {
          // objects that outlived young-generation collections, those a full collection later
          // freed included: what reaches the old space, live or garbage
          await heapProfiler.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false })
        }
        if (heapProfiler != null && marks === 2) {
          const { profile } = await heapProfiler.post('HeapProfiler.stopSampling')
          writeFileSync(join(process.env.BENCH_HUB_HEAP_PROF as string, `hub-${config.index}-${process.pid}-window.heapprofile`), JSON.stringify(profile))
        }
        if (profiler != null && marks === 2) {
          const { profile } = await profiler.post('Profiler.stop')
          writeFileSync(join(process.env.BENCH_HUB_CPU_PROF as string, `hub-${config.index}-${process.pid}-window.cpuprofile`), JSON.stringify(profile))
        }
        // every job in the store (a reused database's older jobs too), from the first hub only
        let validated = 0
        if (config.createJobs) for (const j of await hub.core.listJobs()) validated += j.validated
        const signatures = await hub.core.metrics.registry.getSingleMetric('sparecycles_receipt_signatures_total')?.get()
        const receiptSignatures = (signatures?.values ?? []).reduce((a, v) => a + v.value, 0)
        const checks = await hub.core.metrics.registry.getSingleMetric('sparecycles_result_signatures_checked_total')?.get()
        const resultSignatureChecks = (checks?.values ?? []).reduce((a, v) => a + v.value, 0)
        const cpu = process.cpuUsage()
        const memory = process.memoryUsage()
        // the window closed: a full collection, to tell the heap's live objects from its garbage
        let liveHeapBytes: number | undefined
        if (marks === 2) {
          runInNewContext('gc')()
          liveHeapBytes = process.memoryUsage().heapUsed
        }
        send({
          type: 'mark',
          id: m.id,
          mark: {
            cpuUs: cpu.user + cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, externalBytes: memory.external, liveHeapBytes, accepted, validated, receiptSignatures, resultSignatureChecks, connections: hub.node.getConnections().length,
            state: `${jobs.length} jobs`, retries: repo.retries ?? 0, retriesByCode: { ...repo.retriesByCode }, hubErrors, firstHubErrors: [...firstHubErrors],
            loop: {
              delayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
              delayMaxMs: Math.round(loopDelay.max / 1e5) / 10,
              gcCount: gc.count,
              gcTotalMs: Math.round(gc.totalMs),
              gcMaxMs: Math.round(gc.maxMs * 10) / 10,
              coreLeaseP99Ms: Math.round(percentile(coreMs.lease.sort((a, b) => a - b), 0.99) * 10) / 10,
              coreSubmitP99Ms: Math.round(percentile(coreMs.submit.sort((a, b) => a - b), 0.99) * 10) / 10
            }
          }
        })
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

/** Run synchronously at exit, whatever the way out (stop the throwaway cluster, kill the hubs). */
const atExit: Array<() => void> = []
process.on('exit', () => { for (const f of atExit.splice(0).reverse()) { try { f() } catch {} } })

/** A throwaway PostgreSQL cluster (scripts/pg-cluster.sh), stopped and removed at exit. */
function startCluster (): { database: (name: string) => string } {
  const dir = mkdtempSync(process.env.BENCH_HUB_PG_DIR_PREFIX ?? join(tmpdir(), 'bench-hub-pg-'))
  const start = (db: string): string => execFileSync(PG_CLUSTER, ['start', dir, db], { encoding: 'utf8' }).trim().split('\n').pop() as string
  atExit.push(() => {
    try { execFileSync(PG_CLUSTER, ['stop', dir], { stdio: 'ignore' }) } catch {}
    rmSync(dir, { recursive: true, force: true })
    rmSync(`${dir}.initdb.log`, { force: true })
  })
  start('sparecycles')
  return { database: start }
}

const isAutoStore = (s: string | undefined): boolean => s === 'pg' || s === 'postgres:auto'

interface Opts { volunteerProcesses: string, sharedDir?: string, batch?: boolean, perResultSignatures?: boolean, rate?: string, volunteers: string, seconds: string, warmup: string, unit: string, units: string, leaseUnits: string, maxConnections?: string, leaseOrder: string, store?: string, hubs: string, compareHubs?: string }

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
    .option('--rate <r>', 'results a second per volunteer, open loop (default: as fast as the hub answers)')
    .option('--batch', 'submit the results of each lease in ONE request, signed once as a batch (result/3.0.0; default: one result/1.0.0 request per result)')
    .option('--per-result-signatures', 'with --batch: sign every result alone and send them over result/2.0.0 (the envelope before result/3.0.0)')
    .option('--volunteer-processes <p>', 'processes the simulated volunteers are spread over (each dials its share; their latencies are merged): one process of 10,000 libp2p nodes stalls by itself', '1')
    .option('--max-connections <n>', 'the hub\'s maxConnections (default: the hub\'s own default)')
    .option('--store <url>', 'postgres:// URL of the hubs\' database, or `pg` (also `postgres:auto`) for a throwaway cluster started here (default: SQLite, one hub)')
    .option('--shared-dir <dir>', 'the hubs\' shared dir (blobs, outputs, ledger key; default a temp dir removed at the end): a --store database used before needs the shared dir of that run, its ledger key')
    .option('--hubs <k>', 'hub processes on the one database (> 1 needs a PostgreSQL --store); volunteers are spread round-robin over them', '1')
    .option('--compare-hubs <list>', 'run the same load with each number of hubs in turn (e.g. 1,2,4) and print them side by side (needs --store)')
    .parse()
  const o = program.opts<Opts>()
  const volunteers = Number(o.volunteers)
  const seconds = Number(o.seconds)
  const hubs = Number(o.hubs)
  if (!Number.isInteger(volunteers) || volunteers < 1 || volunteers > 20_000) program.error('--volunteers must be an integer from 1 to 20000')
  if (!(seconds > 0 && seconds <= 600)) program.error('--seconds must be in (0, 600]')
  if (o.leaseOrder !== 'random' && o.leaseOrder !== 'sequential') program.error('--lease-order must be random or sequential')
  if (!Number.isInteger(hubs) || hubs < 1 || hubs > 16) program.error('--hubs must be an integer from 1 to 16')
  const procs = Number(o.volunteerProcesses)
  if (!Number.isInteger(procs) || procs < 1 || procs > 16 || procs > volunteers) program.error('--volunteer-processes must be an integer from 1 to 16, and no more than --volunteers')
  if (!Number.isInteger(Number(o.leaseUnits)) || Number(o.leaseUnits) < 1 || Number(o.leaseUnits) > MAX_LEASES_PER_REQUEST) program.error(`--lease-units must be an integer from 1 to ${MAX_LEASES_PER_REQUEST} (a work request's most)`)
  if (o.rate != null && !(Number(o.rate) > 0 && Number(o.rate) <= 10_000)) program.error('--rate must be a number of results a second per volunteer in (0, 10000]')
  if (o.store != null && !isAutoStore(o.store) && !/^postgres(ql)?:\/\//.test(o.store)) program.error('--store must be a postgres:// URL, or pg for a throwaway cluster')
  if (hubs > 1 && o.store == null) program.error('--hubs > 1 needs a PostgreSQL --store (SQLite is one hub\'s file)')
  if (o.compareHubs != null) {
    const ks = o.compareHubs.split(',').map(Number)
    if (ks.length === 0 || ks.some(k => !Number.isInteger(k) || k < 1 || k > 16)) program.error('--compare-hubs must be a list of integers from 1 to 16, e.g. 1,2,4')
    if (o.store == null && ks.some(k => k > 1)) program.error('--compare-hubs with more than one hub needs a PostgreSQL --store (e.g. --store pg)')
    await compare(o, ks)
    return
  }
  let store = o.store
  if (isAutoStore(store)) store = startCluster().database('bench')
  await run(o, store, hubs)
}

/** `--compare-hubs`: one run of this script per number of hubs, then the runs side by side. */
async function compare (o: Opts, ks: number[]): Promise<void> {
  const cluster = isAutoStore(o.store) ? startCluster() : undefined
  // one database for all runs (a --store URL): one ledger key for all, so one shared dir
  let sharedDir = o.sharedDir
  if (cluster == null && o.store != null && sharedDir == null) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-hub-shared-'))
    atExit.push(() => { rmSync(dir, { recursive: true, force: true }) })
    sharedDir = dir
  }
  const rows: Array<Record<string, unknown>> = []
  for (const [i, k] of ks.entries()) {
    const store = cluster != null ? cluster.database(`bench_hubs_${k}_${i}`) : o.store
    const args = [
      '--volunteers', o.volunteers, '--seconds', o.seconds, '--warmup', o.warmup, '--unit', o.unit, '--units', o.units,
      '--lease-units', o.leaseUnits, '--lease-order', o.leaseOrder, '--hubs', String(k), '--volunteer-processes', o.volunteerProcesses, ...(o.rate != null ? ['--rate', o.rate] : []),
      ...(o.batch === true ? ['--batch'] : []), ...(o.perResultSignatures === true ? ['--per-result-signatures'] : []), ...(o.maxConnections != null ? ['--max-connections', o.maxConnections] : []), ...(store != null ? ['--store', store] : []),
      ...(cluster == null && sharedDir != null ? ['--shared-dir', sharedDir] : [])
    ]
    console.log(`--- ${k} hub${k === 1 ? '' : 's'}: bench:hub ${args.map(redactStoreUrl).join(' ')}`)
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      c.stdout.on('data', (b: Buffer) => { text += b.toString(); process.stdout.write(b) })
      c.on('error', reject)
      c.on('exit', code => { code === 0 ? resolve(text) : reject(new Error(`the run with ${k} hubs exited with ${code}`)) })
    })
    rows.push(JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>)
  }
  const base = Number(rows[0].resultsPerS)
  const ratios = rows.map(r => base > 0 ? Math.round(Number(r.resultsPerS) / base * 100) / 100 : null)
  const cols: Array<[string, (r: Record<string, unknown>, i: number) => unknown]> = [
    ['hubs', r => r.hubs], ['results/s', r => r.resultsPerS], [`ratio to ${String(rows[0].hubs)} hub`, (_, i) => ratios[i]], ['validated/s', r => r.validatedPerS],
    ['lease p99 ms', r => r.p99LeaseMs], ['submit p99 ms', r => r.p99SubmitMs], ['hub CPU % (sum)', r => r.hubCpuPct], ['volunteers CPU %', r => r.volunteersCpuPct],
    ['RSS MiB max/sum', r => `${String(r.hubRssMB)}/${String(r.hubRssSumMB)}`], ['errors', r => Number(r.errors) + Number(r.rejected) + Number(r.dialFailures) + Number(r.hubErrors)],
    ['pg retries', r => r.pgRetries], ['double leases', r => r.doubleLeases], ['ledger ok', r => r.ledgerOk], ['loadavg at end', r => r.loadavgEnd]
  ]
  console.log(`=== --compare-hubs ${ks.join(',')}: ${o.volunteers} volunteers, ${o.seconds} s each, lease ${o.leaseUnits} units, ${o.batch !== true ? 'result/1.0.0' : o.perResultSignatures === true ? 'result/2.0.0 batch' : 'result/3.0.0 batch signed once'}, store ${String(rows[0].store)}`)
  console.log(cols.map(([k]) => k).join(' | '))
  for (const [i, r] of rows.entries()) console.log(cols.map(([, f]) => String(f(r, i))).join(' | '))
  console.log(JSON.stringify({ mode: 'compare-hubs', hubs: ks, ratios, runs: rows }))
  process.exit(0)
}

/** A slice of the simulated volunteers: `from` ≤ i < `to` of `total`, volunteer i on hub i mod K. */
interface GroupConfig {
  hubs: Array<{ multiaddr: string, peerId: string }>
  from: number
  to: number
  total: number
  leaseUnits: number
  batch: boolean
  /** With `batch`: payloads signed once a batch (result/3.0.0) instead of each alone (2.0.0). */
  signedBatch: boolean
  /** Results a second per volunteer, open loop; absent: closed loop. */
  rate?: number
}
/** What a group saw in the measured window: latencies (ms), errors, its process's CPU (µs) and event loop. */
interface GroupReport { leaseMs: number[], submitMs: number[], errors: number, rejected: number, firstErrors: string[], cpuUs: number, loopDelayP99Ms: number, loopDelayMaxMs: number }
/** A group in this process or in a child process: dial (returns the failed dials), start, measure, endMeasure, stop. */
interface GroupHandle {
  dial: () => Promise<number>
  start: () => Promise<void>
  measure: () => Promise<void>
  endMeasure: () => Promise<GroupReport>
  stop: () => Promise<void>
}

/** Simulated volunteers, each its own key and libp2p node, leasing, counting, signing, submitting. */
class VolunteerGroup implements GroupHandle {
  private readonly peers: Array<{ node: Libp2p, key: PrivateKey, receiptsAfter: number, hub: PeerId, index: number }> = []
  private measuring = false
  private running = true
  private loops: Array<Promise<void>> = []
  private leaseMs: number[] = []
  private submitMs: number[] = []
  private errors = 0
  private rejected = 0
  private firstErrors: string[] = []
  private cpuBefore: NodeJS.CpuUsage | undefined
  // this process's own event loop: a hold here is a delay every volunteer in it sees, not the hub's
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 })

  constructor (private readonly c: GroupConfig) {}

  async dial (): Promise<number> {
    let failures = 0
    const queue = Array.from({ length: this.c.to - this.c.from }, (_, k) => this.c.from + k)
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, async () => {
      for (let i = queue.shift(); i != null; i = queue.shift()) {
        const h = this.c.hubs[i % this.c.hubs.length]
        try {
          const peer = await dialledPeer(h.multiaddr)
          // signing as a page's WebCrypto does, once a result and off the event loop (node:crypto, a
          // key object made once): @libp2p/crypto's Node signing re-imports the key each time (~4x the CPU)
          this.peers.push({ ...peer, key: cachedSigningKey(peer.key), receiptsAfter: 0, hub: peerIdFromString(h.peerId), index: i })
        } catch { failures++ }
      }
    }))
    return failures
  }

  async start (): Promise<void> {
    this.loops = this.peers.map(async p => { await this.loop(p) })
  }

  async measure (): Promise<void> {
    this.cpuBefore = process.cpuUsage()
    this.loopDelay.reset()
    this.loopDelay.enable()
    this.measuring = true
  }

  async endMeasure (): Promise<GroupReport> {
    this.measuring = false
    this.loopDelay.disable()
    const cpu = process.cpuUsage(this.cpuBefore)
    return {
      leaseMs: this.leaseMs, submitMs: this.submitMs, errors: this.errors, rejected: this.rejected, firstErrors: this.firstErrors,
      cpuUs: cpu.user + cpu.system, loopDelayP99Ms: Math.round(this.loopDelay.percentile(99) / 1e5) / 10, loopDelayMaxMs: Math.round(this.loopDelay.max / 1e5) / 10
    }
  }

  async stop (): Promise<void> {
    this.running = false
    await Promise.race([Promise.all(this.loops), sleepMs(10_000)])
    await Promise.all(this.peers.map(async p => { try { await p.node.stop() } catch {} }))
  }

  private noteError (err: unknown): void {
    this.errors++
    if (this.firstErrors.length < 3) this.firstErrors.push(String((err as Error).message ?? err).slice(0, 160))
  }

  private async loop (p: { node: Libp2p, key: PrivateKey, receiptsAfter: number, hub: PeerId, index: number }): Promise<void> {
    const { leaseUnits, batch, signedBatch } = this.c
    const PAGE = caps()
    // --rate: one lease every periodMs per volunteer, volunteer i's first at i/N of a period
    const periodMs = this.c.rate == null ? 0 : leaseUnits / this.c.rate * 1000
    let nextAtMs = performance.now() + periodMs * p.index / this.c.total
    while (this.running) {
      if (periodMs > 0) {
        const waitMs = nextAtMs - performance.now()
        if (waitMs > 0) await sleepMs(waitMs)
        if (!this.running) return
        // late by more than a period: start from now (no burst to make up for it)
        nextAtMs = Math.max(nextAtMs, performance.now() - periodMs) + periodMs
      }
      let leases: Lease[] = []
      try {
        const t = performance.now()
        const res = await callProtocol(p.node, p.hub, WORK_SPEC_V2, v2(PAGE, leaseUnits), AbortSignal.timeout(30_000))
        if (this.measuring) this.leaseMs.push(performance.now() - t)
        leases = res.leases
        if (leases.length === 0) { await sleepMs(Math.min(1000, Math.max(100, res.retryAfterMs))); continue }
      } catch (err) {
        if (this.running) { this.noteError(err); await sleepMs(200) }
        continue
      }
      // the results: signed once as a batch (result/3.0.0), or each alone
      const payloads: ResultPayload[] = leases.map(l => {
        const { lo, hi } = decodePrimesInput(l.input)
        const output = encodePrimesOutput(countPrimes(lo, hi)) as Uint8Array<ArrayBuffer>
        return { replicaId: l.replicaId, wuId: l.wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }
      })
      const signedResults: SignedResult[] = signedBatch ? [] : await Promise.all(payloads.map(async payload => await signResult(payload, p.key)))
      const refused = (status: string, error: string, message: string): void => {
        if (status !== 'rejected') return
        this.rejected++
        if (this.firstErrors.length < 3) this.firstErrors.push(`${error}: ${message}`.slice(0, 160))
      }
      // like a page: receipts after the newest one held (creditsUpTo of the last answer)
      if (batch) {
        if (!this.running) return
        try {
          const t = performance.now()
          const res = signedBatch
            ? await callProtocol(p.node, p.hub, RESULT_SPEC_V3, await signResultBatch(payloads.map(x => ResultPayload.encode(x)), p.key, p.receiptsAfter), AbortSignal.timeout(30_000))
            : await callProtocol(p.node, p.hub, RESULT_SPEC_V2, { results: signedResults, receiptsAfter: p.receiptsAfter }, AbortSignal.timeout(30_000))
          if (this.measuring) this.submitMs.push(performance.now() - t)
          p.receiptsAfter = res.creditsUpTo
          for (const o of res.outcomes) refused(o.status, o.error, o.message)
        } catch (err) {
          if (this.running) this.noteError(err)
        }
        continue
      }
      for (const signed of signedResults) {
        if (!this.running) return
        try {
          const t = performance.now()
          const res = await callProtocol(p.node, p.hub, RESULT_SPEC, { result: signed, receiptsAfter: p.receiptsAfter }, AbortSignal.timeout(30_000))
          if (this.measuring) this.submitMs.push(performance.now() - t)
          p.receiptsAfter = res.creditsUpTo
          refused(res.status, res.error, res.message)
        } catch (err) {
          if (this.running) this.noteError(err)
        }
      }
    }
  }
}

const sleepMs = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

type ToVolunteers = { type: 'dial' | 'start' | 'measure' | 'endMeasure' | 'stop', id: number }
type FromVolunteers = { type: 'done', id: number, value?: unknown } | { type: 'error', message: string }

/** A VolunteerGroup in a child process of its own (this script with `--volunteer-child`), driven over IPC. */
function remoteGroup (config: GroupConfig): GroupHandle {
  const child = fork(SELF, ['--volunteer-child', JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  atExit.push(() => { if (child.exitCode == null) child.kill('SIGKILL') })
  const pending = new Map<number, (v: unknown) => void>()
  let nextId = 0
  child.on('message', (m: FromVolunteers) => {
    if (m.type === 'error') { console.error(`volunteer child: ${m.message}`); process.exit(1) }
    pending.get(m.id)?.(m.value)
    pending.delete(m.id)
  })
  const call = async <T>(type: ToVolunteers['type']): Promise<T> => await new Promise<T>(resolve => {
    const id = nextId++
    pending.set(id, resolve as (v: unknown) => void)
    child.send({ type, id } satisfies ToVolunteers)
  })
  return {
    dial: async () => await call<number>('dial'),
    start: async () => { await call('start') },
    measure: async () => { await call('measure') },
    endMeasure: async () => await call<GroupReport>('endMeasure'),
    stop: async () => {
      await call('stop')
      await new Promise(resolve => { if (child.exitCode != null) resolve(null); child.once('exit', resolve); setTimeout(resolve, 10_000) })
    }
  }
}

/** The child side of remoteGroup: one VolunteerGroup, each request answered when done; exits after `stop`. */
async function volunteerChild (config: GroupConfig): Promise<void> {
  const group = new VolunteerGroup(config)
  const send = (m: FromVolunteers): void => { process.send?.(m) }
  process.on('disconnect', () => { process.exit(0) })
  process.on('message', (m: ToVolunteers) => {
    void (async () => {
      const value = await group[m.type]()
      send({ type: 'done', id: m.id, value })
      if (m.type === 'stop') process.exit(0)
    })().catch(err => { send({ type: 'error', message: (err as Error).stack ?? String(err) }) })
  })
}

async function run (o: Opts, store: string | undefined, hubCount: number): Promise<void> {
  const volunteers = Number(o.volunteers)
  const seconds = Number(o.seconds)
  const warmup = Number(o.warmup)
  const leaseUnits = Number(o.leaseUnits)
  const batch = o.batch === true
  const signedBatch = batch && o.perResultSignatures !== true
  const leaseOrder = o.leaseOrder as ChildConfig['leaseOrder']
  let sharedDir = o.sharedDir
  if (store != null && sharedDir == null) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-hub-shared-'))
    atExit.push(() => { rmSync(dir, { recursive: true, force: true }) })
    sharedDir = dir
  }

  interface Hub { child: ReturnType<typeof fork>, peer: PeerId, multiaddr: string, pending: Map<number, (m: never) => void> }
  const hubs: Hub[] = []
  let nextId = 0
  // one after the other: the first makes the schema, the ledger key and the first job
  for (let index = 0; index < hubCount; index++) {
    const config: ChildConfig = {
      index, leaseOrder, volunteers, unit: Number(o.unit), units: Number(o.units), maxConnections: o.maxConnections == null ? undefined : Number(o.maxConnections),
      store, sharedDir, createJobs: index === 0
    }
    const child = fork(SELF, ['--hub-child', JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    atExit.push(() => { if (child.exitCode == null) child.kill('SIGKILL') })
    const pending = new Map<number, (m: never) => void>()
    const info = await new Promise<{ multiaddr: string, peerId: string }>((resolve, reject) => {
      child.on('message', (m: FromChild) => {
        if (m.type === 'ready') resolve(m)
        else if (m.type === 'error') {
          console.error(`hub child ${index}: ${m.message}`)
          reject(new Error(m.message))
          // let the child remove its temp dir first (the exit handler kills what is left)
          child.once('exit', () => process.exit(1))
          setTimeout(() => process.exit(1), 3000)
        }
        else { pending.get(m.id)?.((m.type === 'mark' ? m.mark : m.check) as never); pending.delete(m.id) }
      })
      child.on('exit', code => { reject(new Error(`hub child ${index} exited with ${code}`)) })
    })
    hubs.push({ child, peer: peerIdFromString(info.peerId), multiaddr: info.multiaddr, pending })
  }
  const ask = async <T>(h: Hub, type: 'mark' | 'check'): Promise<T> => await new Promise<T>(resolve => {
    const id = nextId++
    h.pending.set(id, resolve as (m: never) => void)
    h.child.send({ type, id } satisfies ToChild)
  })
  const markAll = async (): Promise<HubMark[]> => await Promise.all(hubs.map(async h => await ask<HubMark>(h, 'mark')))

  // the volunteers: in this process, or spread over --volunteer-processes children (volunteer i
  // talks to hub i mod K either way)
  const procs = Number(o.volunteerProcesses)
  const hubInfo = hubs.map(h => ({ multiaddr: h.multiaddr, peerId: h.peer.toString() }))
  const groupConfig = (from: number, to: number): GroupConfig => ({ hubs: hubInfo, from, to, total: volunteers, leaseUnits, batch, signedBatch, rate: o.rate == null ? undefined : Number(o.rate) })
  const groups: GroupHandle[] = procs <= 1
    ? [new VolunteerGroup(groupConfig(0, volunteers))]
    : Array.from({ length: procs }, (_, g) => remoteGroup(groupConfig(Math.floor(volunteers * g / procs), Math.floor(volunteers * (g + 1) / procs))))
  const t0Dial = performance.now()
  const dialFailures = (await Promise.all(groups.map(async g => await g.dial()))).reduce((x, y) => x + y, 0)
  const dialS = (performance.now() - t0Dial) / 1000
  const rate = o.rate == null ? undefined : Number(o.rate)
  await Promise.all(groups.map(async g => { await g.start() }))
  await sleepMs(warmup * 1000)
  const before = await markAll()
  const tStart = performance.now()
  await Promise.all(groups.map(async g => { await g.measure() }))
  const loadStart = readFileSync('/proc/loadavg', 'utf8').trim()
  await sleepMs(seconds * 1000)
  const reports = await Promise.all(groups.map(async g => await g.endMeasure()))
  const after = await markAll()
  const elapsed = (performance.now() - tStart) / 1000
  const loadEnd = readFileSync('/proc/loadavg', 'utf8').trim()
  await Promise.all(groups.map(async g => { await g.stop() }))
  const peersDialled = volunteers - dialFailures
  const leaseMs = reports.flatMap(r => r.leaseMs)
  const submitMs = reports.flatMap(r => r.submitMs)
  const errors = reports.reduce((x, r) => x + r.errors, 0)
  const rejected = reports.reduce((x, r) => x + r.rejected, 0)
  const firstErrors = reports.flatMap(r => r.firstErrors).slice(0, 3)
  const cpuVolunteersUs = reports.reduce((x, r) => x + r.cpuUs, 0)
  // the volunteers gone, the store settles: check it through the first hub (it sees every hub's rows)
  const check = await ask<StoreCheck>(hubs[0], 'check')
  const final = await markAll()
  for (const h of hubs) h.child.send({ type: 'stop' } satisfies ToChild)
  await Promise.all(hubs.map(async h => await new Promise(resolve => { if (h.child.exitCode != null) resolve(null); h.child.once('exit', resolve); setTimeout(resolve, 10_000) })))

  const sum = (ms: HubMark[], f: (m: HubMark) => number): number => ms.reduce((a, m) => a + f(m), 0)
  const ed25519 = ed25519Costs()
  const perHubResults = after.map((m, i) => m.accepted - before[i].accepted)
  const results = sum(after, m => m.accepted) - sum(before, m => m.accepted)
  const validated = sum(after, m => m.validated) - sum(before, m => m.validated)
  const hubCpuUs = sum(after, m => m.cpuUs) - sum(before, m => m.cpuUs)
  const retriesByCode: Record<string, number> = {}
  for (const m of final) for (const [code, n] of Object.entries(m.retriesByCode)) retriesByCode[code] = (retriesByCode[code] ?? 0) + n
  const hubErrorMessages = final.flatMap(m => m.firstHubErrors).slice(0, 3)
  leaseMs.sort((a, b) => a - b)
  submitMs.sort((a, b) => a - b)
  const round1 = (x: number): number => Math.round(x * 10) / 10
  const mib = (bytes: number): number => Math.round(bytes / 2 ** 20)
  // the hub with the largest RSS at the window's end
  const largest = after.reduce((a, m, i) => m.rssBytes > after[a].rssBytes ? i : a, 0)
  const row = {
    volunteers,
    connected: sum(after, m => m.connections),
    seconds: round1(elapsed),
    resultsPerS: round1(results / elapsed),
    validatedPerS: round1(validated / elapsed),
    perHubResultsPerS: perHubResults.map(r => round1(r / elapsed)),
    hubCpuMsPerResult: results === 0 ? null : Math.round(hubCpuUs / 1000 / results * 100) / 100,
    hubCpuPct: round1(hubCpuUs / 1e6 / elapsed * 100),
    p50LeaseMs: round1(percentile(leaseMs, 0.5)),
    p99LeaseMs: round1(percentile(leaseMs, 0.99)),
    p50SubmitMs: round1(percentile(submitMs, 0.5)),
    p99SubmitMs: round1(percentile(submitMs, 0.99)),
    hubRssMB: Math.round(Math.max(...after.map(m => m.rssBytes)) / 1024 / 1024),
    hubRssSumMB: Math.round(sum(after, m => m.rssBytes) / 1024 / 1024),
    // the largest hub's (by RSS) V8 heap in use / reserved and memory outside it, MiB
    hubHeapMB: {
      usedAtStart: mib(before[largest].heapUsedBytes),
      used: mib(after[largest].heapUsedBytes),
      total: mib(after[largest].heapTotalBytes),
      external: mib(after[largest].externalBytes),
      live: mib(after[largest].liveHeapBytes ?? NaN)
    },
    // the simulated volunteers' own process (signing, libp2p): at ~100 % it, not the hub, is the limit
    volunteersCpuPct: round1(cpuVolunteersUs / 1e6 / elapsed * 100),
    volunteerProcesses: groups.length,
    errors,
    rejected,
    dialFailures,
    hubErrors: sum(final, m => m.hubErrors),
    dialS: round1(dialS),
    jobState: after[0].state,
    leaseOrder,
    leaseUnits,
    ratePerVolunteer: rate ?? null,
    offeredPerS: rate == null ? null : round1(rate * peersDialled),
    submit: signedBatch ? 'result/3.0.0 batch signed once' : batch ? 'result/2.0.0 batch' : 'result/1.0.0 one by one',
    loadavgStart: loadStart,
    loadavgEnd: loadEnd,
    store: store == null ? 'sqlite' : 'postgres',
    hubs: hubCount,
    doubleLeases: check.doubleLeases,
    ledgerOk: check.ledgerOk,
    ledgerEntries: check.ledgerEntries,
    ...(check.ledgerError != null ? { ledgerError: check.ledgerError } : {}),
    pgRetries: sum(final, m => m.retries),
    pgRetriesByCode: retriesByCode,
    // the window's worst hub (the `after` marks: counted from the first mark)
    hubLoopDelayP99Ms: Math.max(...after.map(m => m.loop.delayP99Ms)),
    hubLoopDelayMaxMs: Math.max(...after.map(m => m.loop.delayMaxMs)),
    hubGcPauseMaxMs: Math.max(...after.map(m => m.loop.gcMaxMs)),
    hubGcPerS: round1(sum(after, m => m.loop.gcCount) / elapsed),
    hubGcMsPerS: round1(sum(after, m => m.loop.gcTotalMs) / elapsed),
    hubCoreLeaseP99Ms: Math.max(...after.map(m => m.loop.coreLeaseP99Ms)),
    hubCoreSubmitP99Ms: Math.max(...after.map(m => m.loop.coreSubmitP99Ms)),
    // the worst of the volunteers' processes
    volunteersLoopDelayP99Ms: Math.max(...reports.map(r => r.loopDelayP99Ms)),
    volunteersLoopDelayMaxMs: Math.max(...reports.map(r => r.loopDelayMaxMs)),
    ...cpuBudget({ results, hubCpuUs, volunteersCpuUs: cpuVolunteersUs, hubSignatures: sum(after, m => m.receiptSignatures) - sum(before, m => m.receiptSignatures), resultSignatureChecks: sum(after, m => m.resultSignatureChecks) - sum(before, m => m.resultSignatureChecks), ed25519 })
  }
  const cols: Array<[string, string | number | null]> = [
    ['store', row.store], ['hubs', row.hubs], ['volunteers', row.volunteers], ['connected', row.connected], ['results/s', row.resultsPerS], ['validated/s', row.validatedPerS],
    ['hub CPU ms/result', row.hubCpuMsPerResult], ['hub CPU %', row.hubCpuPct], ['lease p50/p99 ms', `${row.p50LeaseMs}/${row.p99LeaseMs}`],
    ['submit p50/p99 ms', `${row.p50SubmitMs}/${row.p99SubmitMs}`], ['hub RSS MiB max/sum', `${row.hubRssMB}/${row.hubRssSumMB}`], ['volunteers CPU %', row.volunteersCpuPct],
    ['errors', row.errors + row.rejected + row.dialFailures + row.hubErrors]
  ]
  console.log(cols.map(([k]) => k).join(' | '))
  console.log(cols.map(([, v]) => String(v)).join(' | '))
  console.log(`loadavg at start: ${loadStart}; at end: ${loadEnd}; dialled ${peersDialled} in ${row.dialS} s${groups.length > 1 ? ` from ${groups.length} processes` : ''}; ${row.offeredPerS == null ? 'closed loop' : `offered ${row.offeredPerS} results/s (${String(rate)} a volunteer)`}; ${row.jobState}${hubCount > 1 ? `; results/s per hub ${row.perHubResultsPerS.join('/')}` : ''}`)
  console.log(`store checks: ${row.doubleLeases} replicas leased twice to one peer; ledger ${row.ledgerOk ? 'verifies' : `BROKEN ${row.ledgerError ?? ''}`} (${row.ledgerEntries} entries)${store != null ? `; transactions retried ${row.pgRetries} ${JSON.stringify(retriesByCode)}` : ''}`)
  console.log(`inside the hub (HubCore, no network): lease p99 ${row.hubCoreLeaseP99Ms} ms, submit p99 ${row.hubCoreSubmitP99Ms} ms`)
  console.log(`hub memory (the largest hub): RSS ${row.hubRssMB} MiB, V8 heap ${row.hubHeapMB.used} MiB used of ${row.hubHeapMB.total} MiB (${row.hubHeapMB.usedAtStart} MiB used when the window opened; ${row.hubHeapMB.live} MiB live: left after a full collection once the window closed), ${row.hubHeapMB.external} MiB outside it`)
  console.log(`hub event loop: delay p99 ${row.hubLoopDelayP99Ms} ms, max ${row.hubLoopDelayMaxMs} ms; garbage collection ${row.hubGcPerS}/s, ${row.hubGcMsPerS} ms/s, longest ${row.hubGcPauseMaxMs} ms; the volunteers' event loop: delay p99 ${row.volunteersLoopDelayP99Ms} ms, max ${row.volunteersLoopDelayMaxMs} ms`)
  console.log(`CPU budget (${row.cores} cores): Ed25519 here (node:crypto, a key object made once) sign ${row.ed25519SignUs} us, verify ${row.ed25519VerifyUs} us; a result takes ${row.resultSignaturesPerResult} volunteer signatures and as many hub verifications (counted: 1 a batch signed once) + ${row.hubSignaturesPerResult} hub signatures (acks and credit receipts, counted) = ${row.cryptoUsPerResult} us of CPU: at most ${row.cryptoCeilingPerS} results/s on these cores with nothing else done (${row.cryptoCeilingVsTarget}x the ${TARGET_RESULTS_PER_S} target); measured CPU a result, hub + volunteers, ${row.cpuMsPerResult} ms: at most ${row.cpuCeilingPerS} results/s with every core busy (${row.cpuCeilingVsTarget}x the target)`)
  if (firstErrors.length > 0) console.log(`first errors: ${firstErrors.join(' || ')}`)
  if (hubErrorMessages.length > 0) console.log(`first hub errors: ${hubErrorMessages.join(' || ')}`)
  console.log(JSON.stringify(row))
  process.exit(0)
}

if (process.argv[2] === '--hub-child') await hubChild(JSON.parse(process.argv[3]) as ChildConfig)
else if (process.argv[2] === '--volunteer-child') await volunteerChild(JSON.parse(process.argv[3]) as GroupConfig)
else await main()
