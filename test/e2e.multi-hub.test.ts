/**
 * Issue 15's several-hubs test: two independent hubs (two `sparecycles start` processes, each its
 * own key, SQLite store and ledger) post different prime-counting jobs; hub A recommends hub B in
 * its /hub.json. Two headless Chromium visitors open hub A's page: one types hub B's URL into
 * "Add a hub", the other clicks hub A's recommendation; a reload keeps the added hub. Both press
 * Start once and work for both hubs in one tab. Both jobs finish; every unit's count equals
 * primecount's; both ledgers verify; each page's row for each hub shows the credit that hub's
 * ledger holds for that visitor (the same key on both), and a statement of hub B's receipts
 * downloaded from the page verifies against hub B's key. The two hubs issue the same replica ids
 * (`job-1/wu-0/r0` …): the page keeps them apart.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodePrimesInput, decodePrimesOutput } from '../src/protocol/index.ts'
import { verifyStatement } from '../src/protocol/statement.ts'
import { startHub } from '../src/hub/hub.ts'
import { workUnitId } from '../src/hub/create-work.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { freePort, kill, startHubProcess } from './hub-process.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { RunningChild } from './hub-process.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const UNITS = 6
let browser: Browser | undefined
const hubs: RunningChild[] = []

afterAll(async () => {
  await browser?.close()
  for (const h of hubs) await kill(h)
})

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

/** The page's row for hub `url`: each column's text. */
async function hubRow (page: Page, url: string): Promise<Record<string, string>> {
  return await page.evaluate(u => {
    const row = document.querySelector<HTMLElement>(`#hub-table tr[data-hub-url="${u}"]`)
    if (row == null) return {}
    // the credit column's exact amount (data-credit), the others as shown
    return Object.fromEntries([...row.querySelectorAll<HTMLElement>('td[data-col]')].map(td => [td.dataset.col, td.dataset.credit ?? td.textContent?.trim() ?? '']).concat([['peerId', row.dataset.hubPeerId ?? '']]))
  }, url)
}

const num = (text: string | undefined): number => Number((text ?? '').replace(/,/g, ''))

describe('one volunteer, two hubs', () => {
  it('two visitors add a second hub (typed, and recommended), work for both from one tab, and both jobs finish with the right counts and credit on each', async () => {
    expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
    const root = tempDir('e2e-multi-hub-')
    const ports = await Promise.all([0, 1, 2, 3].map(freePort))
    // hub B first (its URL goes into hub A's recommendations); each job: 6 units of 10^7 numbers, different ranges
    const b = await startHubProcess(['start', '--payout', 'off', '--data-dir', join(root, 'b'), '--port', String(ports[2]), '--ws-port', String(ports[3]), '--from', '6e7', '--to', '1.2e8', '--unit', '1e7'])
    hubs.push(b)
    const a = await startHubProcess(['start', '--payout', 'off', '--data-dir', join(root, 'a'), '--port', String(ports[0]), '--ws-port', String(ports[1]), '--from', '0', '--to', '6e7', '--unit', '1e7', '--recommend-hub', b.url])
    hubs.unshift(a)
    expect((await (await fetch(`${a.url}hub.json`)).json() as { recommendedHubs?: string[] }).recommendedHubs).toEqual([b.url])
    // hub B's /hub.json is readable from hub A's page (another origin)
    expect((await fetch(`${b.url}hub.json`)).headers.get('access-control-allow-origin')).toBe('*')

    browser = await launchChromium()
    const pages: Page[] = []
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage()
      await page.goto(`${a.url}?workers=1`)
      await page.waitForSelector('body[data-ready="true"]')
      await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
      pages.push(page)
    }
    // visitor 0 types the URL; a malformed one is refused by name first
    await pages[0].fill('#hub-url', 'ftp://example.org/')
    await pages[0].click('#add-hub')
    await expect.poll(async () => await pages[0].textContent('#hubs-status'), { timeout: 5000 }).toMatch(/Not added: a hub URL is http: or https:/)
    await pages[0].fill('#hub-url', b.url)
    await pages[0].click('#add-hub')
    // visitor 1 takes hub A's recommendation
    await pages[1].waitForSelector('#recommended-hubs button', { timeout: 10_000 })
    await pages[1].getByRole('button', { name: `Work for ${b.url} as well` }).click()
    for (const page of pages) {
      await expect.poll(async () => (await hubRow(page, b.url)).connection, { timeout: 20_000 }).toBe('connected')
      expect((await hubRow(page, b.url)).peerId).toBe(b.peerId)
      expect((await hubRow(page, a.url)).peerId).toBe(a.peerId)
    }
    // the recommendation is gone once taken; adding the same hub twice is refused
    expect(await pages[1].isHidden('#recommended')).toBe(true)
    await pages[1].fill('#hub-url', b.url)
    await pages[1].click('#add-hub')
    await expect.poll(async () => await pages[1].textContent('#hubs-status'), { timeout: 5000 }).toMatch(/Not added: already working for/)
    // a reload keeps the added hub
    await pages[0].reload()
    await pages[0].waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => (await hubRow(pages[0], b.url)).connection, { timeout: 20_000 }).toBe('connected')

    for (const page of pages) await page.getByRole('button', { name: 'Start' }).click()
    const jobOf = async (h: RunningChild): Promise<{ id: string, state: string, validated: number }> => {
      const body = await (await fetch(`${h.url}api/jobs`)).json() as Array<{ id: string, state: string, validated: number }>
      return body[0]
    }
    for (const h of [a, b]) await expect.poll(async () => (await jobOf(h)).state, { timeout: 240_000, interval: 500 }).toBe('complete')
    const jobIds = [(await jobOf(a)).id, (await jobOf(b)).id]
    // the same job id on both: their replica ids are the same strings
    expect(jobIds[0]).toBe(jobIds[1])
    const peerIds = await Promise.all(pages.map(async p => await readField(p, 'peerId')))
    for (const page of pages) await expect.poll(async () => num(await readField(page, 'resultsPending')), { timeout: 30_000 }).toBe(0)

    // hub B's statement, downloaded from visitor 0's row for it, verifies against hub B's key
    const download = pages[0].waitForEvent('download')
    await pages[0].click(`#hub-table tr[data-hub-url="${b.url}"] button.hub-statement`)
    const statementText = readFileSync(await (await download).path(), 'utf8')
    const report = await verifyStatement(statementText)
    expect(report.ok).toBe(true)
    expect(report.hubPeerId).toBe(b.peerId)

    const rows = await Promise.all(pages.map(async p => ({ a: await hubRow(p, a.url), b: await hubRow(p, b.url), total: num(await readField(p, 'creditGranted')) })))
    await browser.close()
    browser = undefined
    for (const h of [a, b]) await kill(h)

    // each store read back (the hub processes are gone): counts, ledger, credit per visitor
    const expectedStart = [0, 6e7]
    for (const [k, h] of [a, b].entries()) {
      const hub = await startHub({ dataDir: join(root, k === 0 ? 'a' : 'b'), staticDir: STATIC_DIR, payout: undefined })
      try {
        expect(hub.peerId).toBe(h.peerId)
        const status = (await hub.core.jobStatus(jobIds[k]))!
        expect(status.from).toBe(expectedStart[k])
        expect(status.validated).toBe(UNITS)
        expect((await hub.core.verifyLedger()).ok).toBe(true)
        const units = await hub.core.repo.read(async tx => await Promise.all(Array.from({ length: UNITS }, async (_, i) => {
          const wu = (await tx.getWorkUnit(workUnitId(jobIds[k], i)))!
          expect(wu.state).toBe('done')
          return { input: wu.input, output: (await tx.getResult(wu.canonical_result_id!))!.output }
        })))
        const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.input)))
        expect(units.map(u => BigInt(decodePrimesOutput(u.output)))).toEqual(expected)
        for (const [i, id] of peerIds.entries()) {
          // both visitors worked for this hub, and the page's row shows the credit its ledger holds for them
          const credit = status.credit[id] ?? 0
          expect(credit).toBeGreaterThan(0)
          expect(num((k === 0 ? rows[i].a : rows[i].b).credit)).toBeCloseTo(credit, 6)
        }
        if (k === 1) expect(report.verifiedCredit).toBeCloseTo(status.credit[peerIds[0]], 6)
      } finally {
        await hub.stop()
      }
    }
    // the total is the sum of both hubs' rows
    for (const r of rows) expect(r.total).toBeCloseTo(num(r.a.credit) + num(r.b.credit), 6)
  }, 300_000)
})
