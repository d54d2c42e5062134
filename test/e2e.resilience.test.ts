/**
 * Resilience as a visitor sees it, in headless Chromium against a real hub: a run past its
 * deadline is terminated and reported as a client error; a reload resumes the leased work unit;
 * a hub restart loses no acknowledged result and the outbox re-sends what was not acknowledged.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let browser: Browser
const hubs: RunningHub[] = []

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

async function openVolunteer (hub: RunningHub): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${hub.url}?workers=1`)
  await page.waitForSelector('body[data-ready="true"]')
  await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
  return page
}

beforeAll(async () => {
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const hub of hubs) await hub.stop().catch(() => {})
})

describe('volunteer resilience', () => {
  it('terminates a run past its deadline and reports a client error, then goes on working', async () => {
    const hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
    hubs.push(hub)
    // ~3·10^9 numbers near 10^15 take seconds; the deadline is 150 ms
    const slow = await hub.core.createPrimesJob({ from: 1e15, to: 1e15 + 3e9, unit: 3e9, quorum: 1, deadlineMs: 150 })
    const page = await openVolunteer(hub)
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => (await hub.core.hubPeerStats()).clientErrors, { timeout: 30_000 }).toBeGreaterThan(0)
    expect((await hub.core.jobStatus(slow.id))!.validated).toBe(0)
    // the slot made a fresh worker and takes the next job
    const quick = await hub.core.createPrimesJob({ from: 0, to: 1e6, unit: 1e6, quorum: 1 })
    await expect.poll(async () => (await hub.core.jobStatus(quick.id))?.state, { timeout: 30_000 }).toBe('complete')
    expect((await hub.core.jobStatus(quick.id))!.primes).toBe(78_498)
    await page.getByRole('button', { name: 'Stop' }).click()
    await page.context().close()
  })

  it('a reload resumes the leased work unit, and a hub restart loses nothing: the outbox re-sends', async () => {
    const dataDir = tempDir()
    let hub = await startHub({ dataDir, staticDir: STATIC_DIR })
    hubs.push(hub)
    const ports = { http: Number(new URL(hub.url).port), ws: Number(hub.multiaddrs[0].split('/tcp/')[1].split('/')[0]) }
    // 2 units of 1.6 x 10^10 numbers (the largest unit) near 10^13: several seconds each even on an
    // idle machine (10^10 near 10^12 could finish before the hub was stopped: nothing was left to
    // wait in the outbox)
    const job = await hub.core.createPrimesJob({ from: 1e13, to: 1e13 + 3.2e10, unit: 1.6e10, quorum: 1 })
    const page = await openVolunteer(hub)
    await page.getByRole('button', { name: 'Start' }).click()
    const running = page.locator('#running li').first()
    await running.waitFor({ timeout: 20_000 })
    const replicaId = (await running.textContent())!.split(':')[0]

    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    // it was running before the reload, so it resumes the same replica without being asked
    await expect.poll(async () => page.locator('#running li').first().textContent(), { timeout: 20_000 }).toContain(replicaId)
    expect(await readField(page, 'run')).toBe('running')
    // the worker has loaded the kernel and is sieving (the kernel comes from the hub's HTTP server)
    await expect.poll(async () => page.locator('#running li').first().textContent(), { timeout: 20_000 }).not.toMatch(/: 0%$/)

    // stop the hub while the volunteer computes; results finished meanwhile wait in the outbox
    await hub.stop()
    await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).not.toBe('connected')
    await expect.poll(async () => Number(await readField(page, 'unitsDone')), { timeout: 60_000 }).toBeGreaterThan(0)
    const pendingWhileDown = Number(await readField(page, 'resultsPending'))

    hub = await startHub({ dataDir, staticDir: STATIC_DIR, httpPort: ports.http, wsPort: ports.ws })
    hubs.push(hub)
    // the unit finished while the hub was down waits in the outbox; or, when it finished just as the
    // hub was stopping, the stopping hub stored and acknowledged it (its last group commit): then it
    // is in the store now. Either way nothing is lost.
    if (pendingWhileDown === 0) {
      expect(await hub.core.repo.read(async tx => (await tx.resultForReplica(replicaId))?.replica_id)).toBe(replicaId)
    }
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 90_000, interval: 500 }).toBe('complete')
    const status = (await hub.core.jobStatus(job.id))!
    // independent count from Debian's primecount: π(b − 1) − π(a − 1)
    const pi = (x: number): number => Number(execFileSync('primecount', [String(x)]).toString().trim())
    expect(status.primes).toBe(pi(1e13 + 3.2e10 - 1) - pi(1e13 - 1))
    expect(status.validated).toBe(2)
    expect((await hub.core.verifyLedger()).ok).toBe(true)
    await expect.poll(async () => Number(await readField(page, 'resultsPending')), { timeout: 20_000 }).toBe(0)
    await expect.poll(async () => Number((await readField(page, 'creditGranted')).replace(/,/g, '')), { timeout: 20_000 })
      .toBe(await hub.core.ledgerBalance(await readField(page, 'peerId')))
  })
})
