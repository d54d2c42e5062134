/**
 * The governor as a visitor sees it, in headless Chromium against a real hub:
 * - a 30% CPU share is met: the workers' busy time over the window stays within 30 ± 5 points of
 *   the machine (window GOVERNOR_WINDOW_S, default 60 s as the issue asks: the page samples busy time once a
 *   second, so the sampling error is at most ~1 s x 0.6 cores / (30 s x 2 cores) ≈ 1 point, and
 *   the duty cycle's own accounting window is 1 s), checked independently against the renderer
 *   processes' CPU time in /proc; the share is remembered across a reload;
 * - a hidden tab pauses at the next slice boundary and resumes with hysteresis; the running unit
 *   and its lease are kept and the unit goes on from where it was;
 * - critical compute pressure (CDP Emulation.setPressureStateOverride) pauses and nominal resumes
 *   after the hold; pressure that falls as soon as the workers pause (their own load) resumes at
 *   once and is then ignored for a while;
 * - Stop while paused ends every worker within one second.
 *
 * Headless Chromium 156 keeps document.visibilityState 'visible' whatever happens (a second tab,
 * Target.activateTarget, a minimised window, Page.setWebLifecycleState: all measured, none
 * changes it), so the hidden tab is emulated by overriding document.visibilityState/hidden and
 * dispatching the real 'visibilitychange' event the governor listens to. Compute pressure is
 * overridden to 'nominal' first: on this 2-core machine the real reading is 'serious' as soon as
 * the workers run, which would pause them in the middle of the measurement.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { launchMeasuredChromium, measureShare, pageBusyMs } from './governor-measure.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, CDPSession, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const WINDOW_MS = Number(process.env.GOVERNOR_WINDOW_S ?? 60) * 1000
let hub: RunningHub
let browser: Browser
let marker: string
let page: Page
let cdp: CDPSession

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
async function readField (name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}
async function setHidden (hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => h ? 'hidden' : 'visible' })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)
}
async function setPressure (state: 'nominal' | 'critical'): Promise<void> {
  await cdp.send('Emulation.setPressureStateOverride' as never, { source: 'cpu', state } as never)
}

beforeAll(async () => {
  hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
  ;({ browser, marker } = await launchMeasuredChromium())
  // ~3 s per unit at full speed near 10^12; enough for the window and the pause tests
  await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 3e11, unit: 1e10, quorum: 1 })
  page = await (await browser.newContext()).newPage()
  cdp = await page.context().newCDPSession(page)
  await cdp.send('Emulation.setPressureSourceOverrideEnabled' as never, { source: 'cpu', enabled: true } as never)
  await setPressure('nominal')
  await page.goto(`${hub.url}?workers=2`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 })
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('governor', () => {
  it(`meets a 30% CPU share within ±5 points over ${WINDOW_MS / 1000} s, and remembers it`, async () => {
    await page.getByLabel('CPU share').fill('30')
    await expect.poll(async () => readField('cpuShare')).toBe('30%')
    await page.getByRole('button', { name: 'Start' }).click()
    await page.locator('#running li').first().waitFor({ timeout: 20_000 })
    await sleep(2000)
    const m = await measureShare(page, marker, WINDOW_MS)
    console.log(`governor 30%: workers report ${(m.reported * 100).toFixed(1)}%, /proc renderer CPU ${(m.procCpu * 100).toFixed(1)}% of ${m.cores} cores over ${WINDOW_MS / 1000} s`)
    expect(Math.abs(m.reported - 0.3)).toBeLessThanOrEqual(0.05)
    // the OS's count includes the page's own main thread (libp2p, rendering): an upper check
    expect(m.procCpu).toBeLessThanOrEqual(0.35 + 0.03)
    expect(m.procCpu).toBeGreaterThan(0.1) // lower under CPU contention: busy time is wall time

    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    expect(await page.getByLabel('CPU share').inputValue()).toBe('30')
    expect(await readField('cpuShare')).toBe('30%')
    await expect.poll(async () => readField('run'), { timeout: 20_000 }).toBe('running')
  })

  it('pauses when the tab is hidden, keeps the unit and its lease, and resumes with hysteresis', async () => {
    const running = page.locator('#running li').first()
    await expect.poll(async () => running.textContent(), { timeout: 20_000 }).toMatch(/: [1-9]\d?%$/)
    await page.evaluate(() => {
      const w = window as unknown as { pauseFlips: number }
      w.pauseFlips = 0
      new MutationObserver(records => {
        for (const r of records) if (r.oldValue !== document.body.dataset.paused) w.pauseFlips++
      }).observe(document.body, { attributes: true, attributeOldValue: true, attributeFilter: ['data-paused'] })
    })
    const hiddenAt = Date.now()
    await setHidden(true)
    await page.waitForSelector('body[data-paused="true"]', { timeout: 1000 })
    expect(Date.now() - hiddenAt).toBeLessThan(1000)
    expect(await readField('pause')).toContain('the tab is hidden')
    await sleep(1500)
    const before = { text: await running.textContent(), busy: await pageBusyMs(page) }
    await sleep(2500)
    // no compute while paused (the busy counter is sampled each second), the unit stays where it was
    expect((await pageBusyMs(page)) - before.busy).toBeLessThan(30)
    expect(await running.textContent()).toBe(before.text)
    expect((await hub.core.jobStatus('job-1'))!.inProgress).toBeGreaterThan(0)
    expect(await readField('run')).toBe('running')

    // a flicker (visible for 300 ms) does not resume: the hold is 1 s
    await setHidden(false)
    await sleep(300)
    await setHidden(true)
    await sleep(1500)
    expect(await page.evaluate(() => (window as unknown as { pauseFlips: number }).pauseFlips)).toBe(1)
    expect(await page.getAttribute('body', 'data-paused')).toBe('true')

    await setHidden(false)
    await page.waitForSelector('body[data-paused="false"]', { timeout: 3000 })
    const [replica, pct] = before.text!.split(': ')
    // the same unit continues from where it paused (not from 0%)
    const progressOf = async (): Promise<number> => {
      const texts = await page.locator('#running li').allTextContents()
      const mine = texts.find(t => t.startsWith(`${replica}:`))
      return mine == null ? 101 : parseInt(mine.split(': ')[1]) // 101: finished and reported
    }
    await expect.poll(progressOf, { timeout: 10_000 }).toBeGreaterThan(parseInt(pct))
    await expect.poll(async () => pageBusyMs(page), { timeout: 5000 }).toBeGreaterThan(before.busy)
  })

  it('pauses on critical compute pressure that is not ours, and resumes after the hold once nominal', async () => {
    await setPressure('critical')
    await page.waitForSelector('body[data-paused="true"]', { timeout: 5000 })
    expect(await readField('pause')).toContain('CPU pressure')
    // the pressure stays up while we are paused: someone else's load, so the pause holds
    await sleep(5000)
    await setPressure('nominal')
    await sleep(4000)
    expect(await page.getAttribute('body', 'data-paused')).toBe('true')
    // the hold is 10 s of nominal/fair
    await page.waitForSelector('body[data-paused="false"]', { timeout: 10_000 })
  })

  it('pressure that falls as soon as the workers pause was their own: work resumes at once, and no flapping', async () => {
    await setPressure('critical')
    await page.waitForSelector('body[data-paused="true"]', { timeout: 5000 })
    await setPressure('nominal')
    await page.waitForSelector('body[data-paused="false"]', { timeout: 3000 })
    await setPressure('critical')
    await sleep(3000)
    expect(await page.getAttribute('body', 'data-paused')).toBe('false')
    await setPressure('nominal')
  })

  it('Stop while paused ends every worker within one second', async () => {
    await setHidden(true)
    await page.waitForSelector('body[data-paused="true"]', { timeout: 1000 })
    expect(page.workers().length).toBeGreaterThan(0)
    const stopped = Date.now()
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    expect(Date.now() - stopped).toBeLessThan(1000)
    expect(await readField('run')).toBe('stopped')
  })
})
