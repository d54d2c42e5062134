/**
 * The several-hubs demo (`demo --hubs K`): K independent hubs in this process (each its own key,
 * SQLite store and ledger), each with its own prime-counting job over its own range; the first
 * recommends the others. N headless Chromium tabs open the first hub's page, add every other hub
 * by URL in "Add a hub" as a visitor would, and press Start once: each tab works for all K hubs
 * under one governor. It ends when every job is complete, and checks each: every unit's count
 * against primecount, the ledger chain, and each tab's row for the hub against the credit that
 * hub's ledger holds for the tab's key.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { workUnitId } from '../hub/create-work.ts'
import { startHub } from '../hub/hub.ts'
import { decodePrimesInput, decodePrimesOutput } from '../protocol/index.ts'
import { launchChromium } from './chromium.ts'
import { followJob, pageTraffic, primecountRange, startVolunteers } from './demo.ts'
import type { JobStatus } from '../hub/hub-core.ts'
import type { RunningHub } from '../hub/hub.ts'
import type { Browser, Page } from 'playwright-core'

export interface MultiHubDemoOptions {
  /** The first hub's range; hub i counts [from + i·(to − from), to + i·(to − from)). */
  from: number
  to: number
  unit: number
  volunteers: number
  workers: number
  hubs: number
  dataDir?: string
  staticDir: string
  timeoutMs: number
  log: (line: string) => void
}

export interface DemoHubSummary {
  hubPeerId: string
  url: string
  job: string
  from: number
  to: number
  primes: number
  workUnits: number
  validated: number
  /** Units whose canonical count equals primecount's for the unit's interval ('skipped' entries count as not checked). */
  unitsMatchingPrimecount: number
  /** 'match' when every unit matched, 'mismatch' when one did not, 'skipped' without primecount. */
  primecountCheck: string
  ledgerVerified: boolean
  /** Credit this hub's ledger holds per tab peer id. */
  credit: Record<string, number>
  /** What each tab's row for this hub showed, per tab peer id (read from the page). */
  pageCredit: Record<string, number>
}

export interface MultiHubDemoSummary {
  hubs: DemoHubSummary[]
  volunteers: number
  /** Measured bytes the tabs exchanged, summed (src/volunteer/traffic.ts), and their time contributing. */
  networkBytes: number
  volunteerMs: number
  elapsedMs: number
  ok: boolean
  failures: string[]
}

/** The credit a tab's row for hub `url` shows, and the tab's peer id. */
async function rowCredit (page: Page, url: string): Promise<{ peerId: string, credit: number }> {
  return await page.evaluate(u => {
    const row = document.querySelector<HTMLElement>(`#hub-table tr[data-hub-url="${u}"]`)
    const peerId = document.querySelector<HTMLElement>('[data-field="peerId"]')?.dataset.id ?? ''
    return { peerId, credit: Number(row?.querySelector<HTMLElement>('td[data-col="credit"]')?.dataset.credit ?? 'NaN') }
  }, url)
}

export async function runMultiHubDemo (opts: MultiHubDemoOptions): Promise<MultiHubDemoSummary> {
  const started = Date.now()
  const root = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sparecycles-demo-hubs-'))
  const span = opts.to - opts.from
  const running: RunningHub[] = []
  let browser: Browser | undefined
  try {
    // the others first: the first hub's /hub.json recommends them
    for (let i = opts.hubs - 1; i >= 0; i--) {
      const others = running.map(h => h.url)
      running.unshift(await startHub({ dataDir: join(root, `hub-${i}`), staticDir: opts.staticDir, log: opts.log, ...(i === 0 ? { recommendedHubs: others } : {}) }))
    }
    const jobs: JobStatus[] = []
    for (const [i, hub] of running.entries()) {
      const job = await hub.core.createPrimesJob({ from: opts.from + i * span, to: opts.to + i * span, unit: opts.unit, quorum: 2 }, { policy: 'adaptive' })
      opts.log(`hub ${i} ${hub.peerId} at ${hub.url}: job ${job.id}, primes in [${opts.from + i * span}, ${opts.to + i * span}) in ${job.workUnits} work units`)
      jobs.push(job)
    }
    browser = await launchChromium()
    const pages = await startVolunteers(browser, running[0].url, {
      count: opts.volunteers,
      workers: opts.workers,
      // as a visitor: type each other hub's URL and press Add hub, and wait until its row says connected
      beforeStart: async page => {
        for (const hub of running.slice(1)) {
          await page.fill('#hub-url', hub.url)
          await page.click('#add-hub')
          await page.waitForSelector(`#hub-table tr[data-hub-url="${hub.url}"] td[data-col="connection"]:text-is("connected")`, { timeout: 30_000 })
        }
      }
    }, opts.log)
    const deadline = Date.now() + opts.timeoutMs
    const statuses = []
    for (const [i, hub] of running.entries()) {
      statuses.push(await followJob(hub.core, jobs[i].id, Math.max(0, deadline - Date.now()), s => `hub ${i}: ${s.validated}/${s.workUnits} validated, ${s.inProgress} in progress`, opts.log))
    }
    const traffic = await pageTraffic(pages)
    const failures: string[] = []
    const hubs: DemoHubSummary[] = []
    for (const [i, hub] of running.entries()) {
      const status = statuses[i]
      if (status.state !== 'complete') failures.push(`hub ${i}: job state is ${status.state} (${status.validated}/${status.workUnits} validated)`)
      const ledger = await hub.core.verifyLedger()
      if (!ledger.ok) failures.push(`hub ${i}: ledger chain broken: ${ledger.error ?? 'unknown'}`)
      // every unit's canonical count against primecount over the unit's own interval
      let matching = 0
      let skipped = false
      if (status.state === 'complete') {
        const units = await hub.core.repo.read(async tx => await Promise.all(Array.from({ length: status.workUnits }, async (_, k) => {
          const wu = await tx.getWorkUnit(workUnitId(jobs[i].id, k))
          const result = wu?.canonical_result_id != null ? await tx.getResult(wu.canonical_result_id) : undefined
          return { input: wu?.input, output: result?.output }
        })))
        for (const [k, u] of units.entries()) {
          if (u.input == null || u.output == null) { failures.push(`hub ${i}: unit ${k} has no canonical result`); continue }
          const { lo: from, hi: to } = decodePrimesInput(u.input)
          const expected = await primecountRange(from, to)
          if (expected == null) { skipped = true; continue }
          if (BigInt(expected) === BigInt(decodePrimesOutput(u.output))) matching++
          else failures.push(`hub ${i}: unit ${k} counts ${decodePrimesOutput(u.output)} primes in [${from}, ${to}) but primecount says ${expected}`)
        }
      }
      const pageCredit: Record<string, number> = {}
      for (const page of pages) {
        // the tab's receipts may arrive a poll after the job completes
        let row = await rowCredit(page, hub.url)
        for (let t = 0; t < 40 && row.credit !== (status.credit[row.peerId] ?? 0); t++) {
          await new Promise(resolve => setTimeout(resolve, 250))
          row = await rowCredit(page, hub.url)
        }
        pageCredit[row.peerId] = row.credit
        if (Math.abs(row.credit - (status.credit[row.peerId] ?? 0)) > 1e-6) failures.push(`hub ${i}: tab ${row.peerId} shows ${row.credit} credit, the ledger holds ${status.credit[row.peerId] ?? 0}`)
      }
      hubs.push({
        hubPeerId: hub.peerId, url: hub.url, job: jobs[i].id, from: opts.from + i * span, to: opts.to + i * span, primes: status.primes,
        workUnits: status.workUnits, validated: status.validated, unitsMatchingPrimecount: matching,
        primecountCheck: skipped ? 'skipped' : matching === status.workUnits ? 'match' : 'mismatch',
        ledgerVerified: ledger.ok, credit: status.credit, pageCredit
      })
    }
    return { hubs, volunteers: pages.length, networkBytes: traffic.networkBytes, volunteerMs: traffic.volunteerMs, elapsedMs: Date.now() - started, ok: failures.length === 0, failures }
  } finally {
    await browser?.close().catch(() => {})
    for (const hub of running) await hub.stop()
  }
}
