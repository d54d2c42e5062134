/**
 * End to end, as a visitor: a real hub (SQLite file, libp2p over WebSockets) serves the built page;
 * two headless Chromium tabs (separate profiles, so two identities) open it, press Start, and the
 * job over [0, 10^8) finishes with π(10^8) from ../shared/reference/known-answers.md, with the
 * credit shown on each page matching the hub's ledger. Then Stop, reload and identity.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { REPO_ROOT, knownPi, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let hub: RunningHub
let browser: Browser
const pages: Page[] = []

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
  hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('visitor page', () => {
  it('two visitors press Start and the job over [0, 10^8) finishes with 5,761,455 primes and credit on the page', async () => {
    const job = await hub.core.createPrimesJob({ from: 0, to: 1e8, unit: 1e7, quorum: 2 })
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(`${hub.url}?workers=1`)
      await page.waitForSelector('body[data-ready="true"]')
      await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
      expect(await readField(page, 'hubPeerId')).toBe(hub.peerId)
      expect(await page.textContent('#consent')).toContain('What will run')
      await page.getByRole('button', { name: 'Start' }).click()
      pages.push(page)
    }
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 240_000, interval: 500 }).toBe('complete')
    const status = (await hub.core.jobStatus(job.id))!
    expect(status.primes).toBe(knownPi().get(1e8))
    expect(status.primes).toBe(5_761_455)
    expect(status.validated).toBe(10)
    // the pages sent their results over result/3.0.0, signed once a batch (hub-client.ts)
    const checks = (await (await fetch(`${hub.url}metrics`)).text()).split('\n').filter(l => l.startsWith('sparecycles_result_signatures_checked_total{'))
    const checked = (envelope: string): number => Number(checks.find(l => l.includes(`envelope="${envelope}"`))?.split(' ').pop() ?? 0)
    expect(checked('batch')).toBeGreaterThan(0)
    expect(checked('result')).toBe(0)

    // Each page shows the credit its receipts prove, and it matches the hub's ledger for its peer id.
    let pageTotal = 0
    for (const page of pages) {
      const peerId = await readField(page, 'peerId')
      const expected = status.credit[peerId] ?? 0
      expect(expected).toBeGreaterThan(0)
      await expect.poll(async () => Number((await readField(page, 'creditGranted')).replace(/,/g, '')), { timeout: 20_000 }).toBe(expected)
      await expect.poll(async () => Number(await readField(page, 'resultsPending')), { timeout: 20_000 }).toBe(0)
      pageTotal += expected
    }
    // quorum 2 x 10^8 numbers x 1 credit per 10^6 numbers
    expect(pageTotal).toBe(200)
  })

  it('each page counts its own network bytes, matching what the hub received; the chart has a table of the same samples', async () => {
    const hubBytesIn = async (): Promise<number> => {
      const text = await (await fetch(`${hub.url}metrics`)).text()
      return text.split('\n').filter(l => l.startsWith('sparecycles_bytes_in_total{')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
    }
    const before = await hubBytesIn()
    await new Promise(resolve => setTimeout(resolve, 1500))
    for (const page of pages) {
      const t = await page.evaluate(() => {
        const el = document.querySelector<HTMLElement>('[data-field="traffic"]')!
        return { bytes: Number(el.dataset.bytes), ms: Number(el.dataset.runningMs), text: el.textContent ?? '', cost: document.querySelector('[data-field="costNetworkPage"]')?.textContent ?? '' }
      })
      const [, sentText] = /^([\d.]+ [kMG]?B) sent/.exec(t.text) ?? []
      expect(sentText, t.text).toBeDefined()
      // plausible: each page leased, submitted and fetched receipts for units of 10^7 (kilobytes each), well under 50 MB
      expect(t.bytes).toBeGreaterThan(2000)
      expect(t.bytes).toBeLessThan(50e6)
      expect(t.ms).toBeGreaterThan(1000)
      expect(t.text).toMatch(/sent, [\d.]+ [kMG]?B received since the page loaded/)
      // the cost list shows the page's own figure beside the demo's
      expect(t.cost).toMatch(/This page, measured: .* sent/)
      expect(await page.isVisible('[data-field="costNetworkPage"]')).toBe(true)
    }
    // the pages' requests, as the pages counted them, against the hub's own count of request bytes
    // (the pages add 1-3 bytes of length prefix per message; the hub counts bodies only)
    const sentByPages = await Promise.all(pages.map(async page => await page.evaluate(() => Number(document.querySelector<HTMLElement>('[data-field="traffic"]')!.dataset.sentBytes))))
    const after = await hubBytesIn()
    const pagesSent = sentByPages.reduce((a, b) => a + b, 0)
    expect(pagesSent).toBeGreaterThanOrEqual(before)
    expect(pagesSent).toBeLessThanOrEqual(after * 1.02 + 1000)

    // the chart's table: the same samples, one row each, with units
    const page = pages[0]
    expect(await page.isVisible('#chart')).toBe(true)
    await page.getByText('Show as a table').click()
    // the <details> 'toggle' event that fills the table comes a task after the click
    const read = async (): Promise<{ samples: number, rows: number }> => await page.evaluate(() => ({ samples: Number(document.getElementById('chart')!.dataset.samples), rows: document.querySelectorAll('#chart-table tbody tr').length }))
    await expect.poll(async () => { const t = await read(); return t.rows > 0 && t.rows === t.samples }, { timeout: 10_000 }).toBe(true)
    const table = await page.evaluate(() => ({
      samples: Number(document.getElementById('chart')!.dataset.samples),
      rows: document.querySelectorAll('#chart-table tbody tr').length,
      first: [...document.querySelectorAll('#chart-table tbody tr:first-child td')].map(td => td.textContent),
      headers: [...document.querySelectorAll('#chart-table th')].map(th => th.textContent)
    }))
    expect(table.samples).toBeGreaterThan(0)
    expect(table.rows).toBe(table.samples)
    expect(table.headers).toEqual(['Time', 'Throughput (G numbers/s)', 'Time in work slices (% of the cores)'])
    expect(table.first[0]).toMatch(/^\d\d:\d\d:\d\d$/)
    expect(table.first[1]).toMatch(/^\d+\.\d\d G\/s$/)
    expect(table.first[2]).toMatch(/^\d+\.\d%$/)
    // still in step a few samples later
    await page.waitForTimeout(2500)
    const again = await page.evaluate(() => ({ samples: Number(document.getElementById('chart')!.dataset.samples), rows: document.querySelectorAll('#chart-table tbody tr').length }))
    expect(again.samples).toBeGreaterThan(table.samples)
    expect(again.rows).toBe(again.samples)
    // and the open table fits a 360 px phone
    await page.setViewportSize({ width: 360, height: 800 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true)
    await page.setViewportSize({ width: 1280, height: 720 })
  }, 60_000)

  it('Stop ends every worker within one second; a reload keeps the identity and the credit', async () => {
    const page = pages[0]
    const job = await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 4e9, unit: 1e9, quorum: 2 })
    void job
    // the page is still running from the last test: wait until a worker is busy on the new job
    await expect.poll(async () => page.locator('#running li').count(), { timeout: 30_000 }).toBeGreaterThan(0)
    expect(page.workers().length).toBeGreaterThan(0)
    const stopped = Date.now()
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    expect(Date.now() - stopped).toBeLessThan(1000)
    expect(await readField(page, 'run')).toBe('stopped')

    const peerId = await readField(page, 'peerId')
    const credit = await readField(page, 'creditGranted')
    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
    expect(await readField(page, 'peerId')).toBe(peerId)
    expect(await readField(page, 'creditGranted')).toBe(credit)
    // stopped before the reload, so it stays stopped and starts no worker
    expect(await readField(page, 'run')).toBe('stopped')
    expect(page.workers().length).toBe(0)
  })

  it('a Start holds across a reload only until it expires (24 h unless "always on this device"); no work on load without a live yes', async () => {
    const page = pages[1]
    await hub.core.createPrimesJob({ from: 2e12, to: 2e12 + 6e9, unit: 1e9, quorum: 2 })
    // the page's own record of the Start, as it would read 25 hours later
    const expire = async (): Promise<void> => {
      await page.evaluate(async () => await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('sparecycles-volunteer')
        open.onerror = () => { reject(open.error) }
        open.onsuccess = () => {
          const tx = open.result.transaction('meta', 'readwrite')
          tx.objectStore('meta').put(Date.now() - 3_600_000, 'runUntil')
          tx.oncomplete = () => { open.result.close(); resolve() }
          tx.onerror = () => { reject(tx.error) }
        }
      }))
    }
    const reload = async (): Promise<void> => {
      await page.reload()
      await page.waitForSelector('body[data-ready="true"]')
      await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
    }
    if (await readField(page, 'run') !== 'running') await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => readField(page, 'run'), { timeout: 10_000 }).toBe('running')
    // within its 24 hours a reload carries on
    await reload()
    await expect.poll(async () => readField(page, 'run'), { timeout: 10_000 }).toBe('running')
    // expired: the reload starts nothing and the page asks again
    await expire()
    await reload()
    await page.waitForTimeout(1500)
    expect(await readField(page, 'run')).toBe('stopped')
    expect(page.workers().length).toBe(0)
    expect(await page.getByRole('button', { name: 'Start' }).isEnabled()).toBe(true)
    // "always on this device": a Start with no expiry, so a reload resumes
    await page.getByLabel('Keep contributing whenever I open this page on this device').check()
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => readField(page, 'run'), { timeout: 10_000 }).toBe('running')
    await reload()
    await expect.poll(async () => readField(page, 'run'), { timeout: 10_000 }).toBe('running')
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(() => page.workers().length, { timeout: 2000, interval: 50 }).toBe(0)
  })
})
