/**
 * The headless demo: a hub on a fresh data directory, one prime-counting job, and N headless
 * Chromium tabs that press Start like a visitor. Progress goes to stderr; the caller prints the
 * summary JSON as the last stdout line.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startHub } from '../hub/hub.ts'
import { launchChromium } from './chromium.ts'
import type { HubCore, JobStatus } from '../hub/hub-core.ts'
import type { Browser, Page } from 'playwright-core'
import type { DemoPayout } from './demo-payout.ts'

export interface DemoOptions {
  from: number
  to: number
  unit: number
  volunteers: number
  /** Worker slots per tab. */
  workers: number
  dataDir?: string
  staticDir: string
  timeoutMs: number
  log: (line: string) => void
  /** After the job: pay the tabs' credit out as tokens on a local EVM (demo-payout.ts). */
  payout?: boolean
}

export interface DemoSummary {
  job: string
  from: number
  to: number
  unit: number
  primes: number
  workUnits: number
  validated: number
  /** The job's trust policy (trust.ts). */
  policy: string
  /** Measured: replicas issued / work units (not the configured quorum). */
  replicasPerUnit: number
  replicasIssued: number
  /** Spot checks the hub ran, results judged invalid, and the hub's checking work as a fraction of the volunteers'. */
  spotChecks: number
  invalidResults: number
  checkingCost: number
  /** Measured ms the hub spent checking, and that as a share of the compute ms the volunteers report. */
  checkMs: number
  checkingCostTime: number
  /** Units reopened after a cheater was proven (0 with honest tabs). */
  reopened: number
  /**
   * Measured: bytes the tabs' pages counted on their protocol streams (sent + received, every
   * request and response with its length prefix; src/volunteer/traffic.ts), summed over the tabs,
   * read when the job ended.
   */
  networkBytes: number
  /** Measured: the tabs' time contributing, summed, in ms (each page's own count from its Start). */
  volunteerMs: number
  /** networkBytes per hour of volunteerMs (null when no tab reported any time contributing). */
  networkBytesPerVolunteerHour: number | null
  /** networkBytes per replica issued: the traffic one unit's lease, result and receipt cost. */
  networkBytesPerReplica: number
  volunteers: number
  credit: Record<string, number>
  creditTotal: number
  ledgerVerified: boolean
  /** Independent check against the `primecount` command: 'match' | 'mismatch' | 'skipped'. */
  primecountCheck: string
  hubPeerId: string
  elapsedMs: number
  ok: boolean
  failures: string[]
  /** With `payout`: what the payout step did (demo-payout.ts). */
  payout?: DemoPayout
}

const execFileAsync = promisify(execFile)

/** π(b) − π(a − 1) for [a, b) via Debian's primecount, or null when it is not installed. */
export async function primecountRange (from: number, to: number): Promise<number | null> {
  const pi = async (x: number): Promise<number> => {
    if (x < 2) return 0
    const { stdout } = await execFileAsync('primecount', [String(x)], { timeout: 120_000 })
    return Number(stdout.trim())
  }
  try {
    return (await pi(to - 1)) - (await pi(from - 1))
  } catch {
    return null
  }
}

/**
 * Open `count` headless volunteer tabs on the hub's page, each in its own browser context (so its
 * own IndexedDB and identity), and press Start in each as a visitor would.
 */
export async function startVolunteers (browser: Browser, url: string, opts: { count: number, workers: number, pageQuery?: string, beforeStart?: (page: Page) => Promise<void> }, log: (line: string) => void): Promise<Page[]> {
  const pages: Page[] = []
  for (let i = 0; i < opts.count; i++) {
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', err => { log(`volunteer ${i}: page error: ${err.message}`) })
    await page.goto(`${url}?workers=${opts.workers}${opts.pageQuery != null ? `&${opts.pageQuery}` : ''}`)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
    await opts.beforeStart?.(page)
    await page.click('#start')
    pages.push(page)
    log(`volunteer ${i} started`)
  }
  return pages
}

/** Poll a job until it leaves `running` or `timeoutMs` passes, logging each new progress line. */
export async function followJob (core: HubCore, jobId: string, timeoutMs: number, describe: (s: JobStatus) => string, log: (line: string) => void): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs
  let status = await core.jobStatus(jobId)
  let lastLine = ''
  while (status != null && status.state === 'running' && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 500))
    status = await core.jobStatus(jobId)
    if (status == null) break
    const line = `progress: ${describe(status)}`
    if (line !== lastLine) { log(line); lastLine = line }
  }
  if (status == null) throw new Error(`job ${jobId} vanished`)
  return status
}

/**
 * The tabs' own measured traffic (the dashboard's Network line: data-bytes, data-running-ms, one
 * sample a second), summed, and its rate per volunteer-hour; read after one more sample, so that
 * the exchanges that ended the job are in it.
 */
export async function pageTraffic (pages: Page[]): Promise<{ networkBytes: number, volunteerMs: number, networkBytesPerVolunteerHour: number | null }> {
  await new Promise(resolve => setTimeout(resolve, 1100))
  let networkBytes = 0
  let volunteerMs = 0
  for (const page of pages) {
    const t = await page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('[data-field="traffic"]')
      return { bytes: Number(el?.dataset.bytes ?? 0), ms: Number(el?.dataset.runningMs ?? 0) }
    })
    networkBytes += t.bytes
    volunteerMs += t.ms
  }
  return { networkBytes, volunteerMs, networkBytesPerVolunteerHour: volunteerMs > 0 ? Math.round(networkBytes / (volunteerMs / 3_600_000)) : null }
}

export async function runDemo (opts: DemoOptions): Promise<DemoSummary> {
  const started = Date.now()
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sparecycles-demo-'))
  const hub = await startHub({ dataDir, staticDir: opts.staticDir, log: opts.log })
  let browser: Browser | undefined
  try {
    opts.log(`hub ${hub.peerId} at ${hub.multiaddrs.join(' ')}; page ${hub.url}; data ${dataDir}`)
    const job = await hub.core.createPrimesJob({ from: opts.from, to: opts.to, unit: opts.unit, quorum: 2 }, { policy: 'adaptive' })
    opts.log(`job ${job.id}: primes in [${opts.from}, ${opts.to}) in ${job.workUnits} work units, policy ${job.policy} (a replica where the hub cannot check)`)
    browser = await launchChromium()
    const pages = await startVolunteers(browser, hub.url, { count: opts.volunteers, workers: opts.workers }, opts.log)
    const status = await followJob(hub.core, job.id, opts.timeoutMs, s => `${s.validated}/${s.workUnits} validated, ${s.inProgress} in progress, primes so far ${s.primes}`, opts.log)
    const traffic = await pageTraffic(pages)
    const failures: string[] = []
    if (status.state !== 'complete') failures.push(`job state is ${status.state} (${status.validated}/${status.workUnits} validated)`)
    if (status.validated !== status.workUnits) failures.push(`only ${status.validated} of ${status.workUnits} work units validated`)
    const ledger = await hub.core.verifyLedger()
    if (!ledger.ok) failures.push(`ledger chain broken: ${ledger.error ?? 'unknown'}`)
    const creditTotal = Object.values(status.credit).reduce((a, b) => a + b, 0)
    // each unit is credited once per valid result: at least once, at most once per replica issued
    const unitCredit = (opts.to - opts.from) / 1e6
    const tolerance = 1e-6 * Math.max(1, unitCredit)
    if (status.state === 'complete' && (creditTotal < unitCredit - tolerance || creditTotal > unitCredit * status.replicasPerUnit + tolerance)) {
      failures.push(`credit granted ${creditTotal} is not between the cost ${unitCredit} and replicas per unit x cost ${unitCredit * status.replicasPerUnit}`)
    }
    let payout: DemoPayout | undefined
    if (opts.payout === true && status.state === 'complete') {
      const { runDemoPayout } = await import('./demo-payout.ts')
      const p = await runDemoPayout(hub, pages, dataDir, opts.log)
      payout = p.payout
      failures.push(...p.failures)
    }
    let primecountCheck = 'skipped'
    if (status.state === 'complete') {
      const expected = await primecountRange(opts.from, opts.to)
      if (expected != null) {
        primecountCheck = expected === status.primes ? 'match' : 'mismatch'
        if (expected !== status.primes) failures.push(`primes ${status.primes} but primecount says ${expected}`)
      }
    }
    return {
      job: job.id,
      from: opts.from,
      to: opts.to,
      unit: opts.unit,
      primes: status.primes,
      workUnits: status.workUnits,
      validated: status.validated,
      policy: status.policy,
      replicasPerUnit: status.replicasPerUnit,
      replicasIssued: status.replicasIssued,
      spotChecks: status.spotChecks,
      invalidResults: status.invalidResults,
      checkingCost: status.checkingCost,
      checkMs: status.checkMs,
      checkingCostTime: status.checkingCostTime,
      reopened: status.reopened,
      ...traffic,
      networkBytesPerReplica: status.replicasIssued > 0 ? Math.round(traffic.networkBytes / status.replicasIssued) : 0,
      volunteers: status.volunteers,
      credit: status.credit,
      creditTotal,
      ledgerVerified: ledger.ok,
      primecountCheck,
      hubPeerId: hub.peerId,
      elapsedMs: Date.now() - started,
      ok: failures.length === 0,
      failures,
      ...(payout != null ? { payout } : {})
    }
  } finally {
    await browser?.close().catch(() => {})
    await hub.stop()
  }
}
