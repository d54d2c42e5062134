/**
 * The visitor page as it looks (issue 12, item 6), in headless Chromium against a real hub: at
 * 360 px and 1280 px, light and dark (prefers-color-scheme), no element is wider than the
 * viewport and the page does not scroll sideways; the dark scheme really is dark. Screenshots go
 * to build/screens/ for a person to look at (not committed). And by keyboard: Start hands the
 * focus to Stop and back, and a live region announces the run state.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const SCREENS = join(REPO_ROOT, 'build', 'screens')
let hub: RunningHub
let browser: Browser

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
  mkdirSync(SCREENS, { recursive: true })
  hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('visitor page layout', () => {
  for (const width of [360, 1280]) {
    for (const colorScheme of ['light', 'dark'] as const) {
      it(`${width} px, ${colorScheme}: nothing wider than the viewport`, async () => {
        const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme })
        const page = await context.newPage()
        await page.goto(hub.url)
        await page.waitForSelector('body[data-ready="true"]')
        await expect.poll(async () => (await page.textContent('[data-field="connection"]'))?.trim(), { timeout: 20_000 }).toBe('connected')
        const layout = await page.evaluate(() => {
          const vw = document.documentElement.clientWidth
          const wide = [...document.querySelectorAll<HTMLElement>('body *')]
            .filter(el => el.getClientRects().length > 0 && getComputedStyle(el).position !== 'absolute')
            .filter(el => el.getBoundingClientRect().right > vw + 0.5)
            .map(el => `${el.tagName.toLowerCase()}${el.id !== '' ? `#${el.id}` : ''}${el.dataset.field != null ? `[${el.dataset.field}]` : ''} right ${Math.round(el.getBoundingClientRect().right)}`)
          return { vw, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10), background: getComputedStyle(document.body).backgroundColor }
        })
        // before any work: no empty chart box, and the GPU line says what the page found (never a bare "–")
        expect(await page.isVisible('#chart')).toBe(false)
        expect((await page.textContent('[data-field="gemmAdapter"]'))?.trim()).not.toMatch(/^(–|--)?$/)
        await page.screenshot({ path: join(SCREENS, `page-${width}-${colorScheme}.png`), fullPage: true })
        expect(layout.wide, `elements past the ${layout.vw} px viewport`).toEqual([])
        expect(layout.scrollWidth).toBeLessThanOrEqual(layout.vw)
        const [r, g, b] = (layout.background.match(/\d+/g) ?? []).map(Number)
        const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
        if (colorScheme === 'dark') expect(luminance).toBeLessThan(0.2)
        else expect(luminance).toBeGreaterThan(0.8)
        await context.close()
      }, 60_000)
    }
  }

  it('by keyboard: Start hands the focus to Stop and back; a live region says what happened', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(hub.url)
    await page.waitForSelector('body[data-ready="true"]')
    await page.focus('#start')
    await page.keyboard.press('Enter')
    await expect.poll(async () => page.evaluate(() => document.activeElement?.id), { timeout: 10_000 }).toBe('stop')
    await expect.poll(async () => page.textContent('#run-announce'), { timeout: 10_000 }).toMatch(/Contributing/)
    await page.keyboard.press('Enter')
    await expect.poll(async () => page.evaluate(() => document.activeElement?.id), { timeout: 10_000 }).toBe('start')
    await expect.poll(async () => page.textContent('#run-announce'), { timeout: 10_000 }).toMatch(/Stopped/)
    expect(await page.getAttribute('#run-announce', 'aria-live')).toBe('polite')
    await context.close()
  }, 60_000)
})
