/**
 * Issue 14's two-hub end-to-end test: two hub processes (the real CLI, `sparecycles start` and
 * `sparecycles hub`, each its own libp2p key and data dir) on one PostgreSQL database (a throwaway
 * cluster, scripts/pg-cluster.sh) with one shared dir, and two headless Chromium visitors, one on
 * each hub's page, pressing Start. The job over [0, 10^8) (posted by the first hub; quorum 2,
 * adaptive: an untrusted page's result needs a second one, which only the other hub's page can give)
 * finishes with 5,761,455 primes; every unit has one canonical result whose count equals
 * primecount's; no replica was leased twice; the ledger chain verifies; each page shows the credit
 * the ledger holds for it, its receipts verified against the ledger key its own hub vouches for.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodePrimesInput, decodePrimesOutput } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { workUnitId } from '../src/hub/create-work.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { REPO_ROOT, knownPi, tempDir } from './helpers.ts'
import { freePort, kill, startHubProcess } from './hub-process.ts'
import { startPgCluster } from './pg-cluster.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningChild } from './hub-process.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const UNITS = 10
let cluster: PgCluster | undefined
let browser: Browser | undefined
const hubs: RunningChild[] = []

afterAll(async () => {
  await browser?.close()
  for (const h of hubs) await kill(h)
  await cluster?.stop()
})

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

describe('two hub processes, one PostgreSQL, a browser visitor on each', () => {
  it('finish one primes job together: every unit validated once, counts = primecount, ledger verified, credit on both pages', async () => {
    expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
    cluster = startPgCluster()
    const store = cluster.database()
    const root = tempDir('e2e-two-hubs-')
    const shared = ['--store', store, '--shared-dir', join(root, 'shared')]
    const ports = await Promise.all([0, 1, 2, 3].map(freePort))
    hubs.push(await startHubProcess(['start', '--payout', 'off', '--data-dir', join(root, 'a'), '--port', String(ports[0]), '--ws-port', String(ports[1]), '--from', '0', '--to', '1e8', '--unit', '1e7', '--log-format', 'json', ...shared]))
    hubs.push(await startHubProcess(['hub', '--data-dir', join(root, 'b'), '--port', String(ports[2]), '--ws-port', String(ports[3]), ...shared]))
    expect(hubs[0].peerId).not.toBe(hubs[1].peerId)

    browser = await launchChromium()
    const pages: Page[] = []
    for (const h of hubs) {
      const page = await (await browser.newContext()).newPage()
      await page.goto(`${h.url}?workers=1`)
      await page.waitForSelector('body[data-ready="true"]')
      await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
      expect(await readField(page, 'hubPeerId')).toBe(h.peerId)
      await page.getByRole('button', { name: 'Start' }).click()
      pages.push(page)
    }
    // both hubs see the one job (it lives in the database)
    const jobsOf = async (h: RunningChild): Promise<Array<{ id: string, state: string }>> => {
      const body = await (await fetch(`${h.url}api/jobs`)).json() as Array<{ id: string, state: string }> | { jobs: Array<{ id: string, state: string }> }
      return Array.isArray(body) ? body : body.jobs
    }
    await expect.poll(async () => (await jobsOf(hubs[1]))[0]?.state, { timeout: 240_000, interval: 500 }).toBe('complete')
    const [job] = await jobsOf(hubs[0])
    expect(job.state).toBe('complete')
    const peerIds = await Promise.all(pages.map(async p => await readField(p, 'peerId')))

    // read the store back through a third hub on it
    const hub = await startHub({ dataDir: join(root, 'check'), store, sharedDir: join(root, 'shared'), staticDir: STATIC_DIR })
    try {
      const status = (await hub.core.jobStatus(job.id))!
      expect(status.primes).toBe(knownPi().get(1e8))
      expect(status.validated).toBe(UNITS)
      expect((await hub.core.verifyLedger()).ok).toBe(true)
      // both visitors earned credit (each hub's page did part of the job), and each page shows
      // what the ledger holds for it, from receipts it verified against its hub's ledger key
      for (const [i, id] of peerIds.entries()) {
        expect(status.credit[id] ?? 0).toBeGreaterThan(0)
        await expect.poll(async () => Number(await readField(pages[i], 'resultsPending')), { timeout: 30_000 }).toBe(0)
        await expect.poll(async () => Number((await readField(pages[i], 'creditGranted')).replace(/,/g, '')), { timeout: 30_000 }).toBe(status.credit[id])
      }
      const units = await hub.core.repo.read(async tx => await Promise.all(Array.from({ length: UNITS }, async (_, i) => {
        const wu = (await tx.getWorkUnit(workUnitId(job.id, i)))!
        const results = await tx.resultsForWorkUnit(wu.id)
        // no replica leased twice: one result per (unit, peer), at most the replicas issued
        expect(new Set(results.map(r => r.peer_id)).size).toBe(results.length)
        expect(wu.state).toBe('done')
        return { input: wu.input, output: (await tx.getResult(wu.canonical_result_id!))!.output }
      })))
      const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.input)))
      expect(units.map(u => BigInt(decodePrimesOutput(u.output)))).toEqual(expected)
    } finally {
      await hub.stop()
    }
    await browser.close()
    browser = undefined
  }, 300_000)
})
