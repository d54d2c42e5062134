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
import type { Browser } from 'playwright-core'

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
}

export interface DemoSummary {
  job: string
  from: number
  to: number
  unit: number
  primes: number
  workUnits: number
  validated: number
  replicasPerUnit: number
  replicasIssued: number
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
}

const execFileAsync = promisify(execFile)

/** π(b) − π(a − 1) for [a, b) via Debian's primecount, or null when it is not installed. */
async function primecountRange (from: number, to: number): Promise<number | null> {
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

export async function runDemo (opts: DemoOptions): Promise<DemoSummary> {
  const started = Date.now()
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sparecycles-demo-'))
  const hub = await startHub({ dataDir, staticDir: opts.staticDir, log: opts.log })
  let browser: Browser | undefined
  try {
    opts.log(`hub ${hub.peerId} at ${hub.multiaddrs.join(' ')}; page ${hub.url}; data ${dataDir}`)
    const job = hub.core.createPrimesJob({ from: opts.from, to: opts.to, unit: opts.unit, quorum: 2 })
    opts.log(`job ${job.id}: primes in [${opts.from}, ${opts.to}) in ${job.workUnits} work units, quorum 2`)
    browser = await launchChromium()
    for (let i = 0; i < opts.volunteers; i++) {
      const context = await browser.newContext()
      const page = await context.newPage()
      page.on('pageerror', err => { opts.log(`volunteer ${i}: page error: ${err.message}`) })
      await page.goto(`${hub.url}?workers=${opts.workers}`)
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
      await page.click('#start')
      opts.log(`volunteer ${i} started`)
    }
    const deadline = Date.now() + opts.timeoutMs
    let status = hub.core.jobStatus(job.id)
    let lastLine = ''
    while (status != null && status.state === 'running' && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 500))
      status = hub.core.jobStatus(job.id)
      if (status == null) break
      const line = `progress: ${status.validated}/${status.workUnits} validated, ${status.inProgress} in progress, primes so far ${status.primes}`
      if (line !== lastLine) { opts.log(line); lastLine = line }
    }
    if (status == null) throw new Error(`job ${job.id} vanished`)
    const failures: string[] = []
    if (status.state !== 'complete') failures.push(`job state is ${status.state} (${status.validated}/${status.workUnits} validated)`)
    if (status.validated !== status.workUnits) failures.push(`only ${status.validated} of ${status.workUnits} work units validated`)
    const ledger = hub.core.verifyLedger()
    if (!ledger.ok) failures.push(`ledger chain broken: ${ledger.error ?? 'unknown'}`)
    const creditTotal = Object.values(status.credit).reduce((a, b) => a + b, 0)
    const expectedCredit = 2 * (opts.to - opts.from) / 1e6
    if (status.state === 'complete' && Math.abs(creditTotal - expectedCredit) > 1e-6 * Math.max(1, expectedCredit)) {
      failures.push(`credit granted ${creditTotal} differs from quorum x cost ${expectedCredit}`)
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
      replicasPerUnit: status.replicasPerUnit,
      replicasIssued: status.replicasIssued,
      volunteers: status.volunteers,
      credit: status.credit,
      creditTotal,
      ledgerVerified: ledger.ok,
      primecountCheck,
      hubPeerId: hub.peerId,
      elapsedMs: Date.now() - started,
      ok: failures.length === 0,
      failures
    }
  } finally {
    await browser?.close().catch(() => {})
    await hub.stop()
  }
}
