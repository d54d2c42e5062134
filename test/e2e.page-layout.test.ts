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
        // before any work: no empty chart box (nor its table), and the GPU line says what the page found
        expect(await page.isVisible('#chart')).toBe(false)
        expect(await page.isVisible('#chart-details')).toBe(false)
        await expect.poll(async () => page.evaluate(() => document.body.dataset.gpu), { timeout: 10_000 }).not.toBe('unknown')
        expect((await page.textContent('[data-field="gemmAdapter"]'))?.trim()).not.toMatch(/^(–|--)?$/)
        // no placeholder dashes and no empty boxes anywhere before data
        const blanks = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('body *')]
          .filter(el => el.getClientRects().length > 0 && !['INPUT', 'BUTTON', 'SCRIPT', 'STYLE', 'CANVAS', 'SVG', 'BR'].includes(el.tagName))
          .filter(el => {
            const text = (el.innerText ?? '').trim()
            if (/^(-{1,2}|–|—)$/.test(text)) return true
            const cs = getComputedStyle(el)
            const boxed = ['Top', 'Right', 'Bottom', 'Left'].some(side => cs.getPropertyValue(`border-${side.toLowerCase()}-style`) !== 'none' && parseFloat(cs.getPropertyValue(`border-${side.toLowerCase()}-width`)) > 0)
            return boxed && text === ''
          })
          .map(el => `${el.tagName.toLowerCase()}${el.id !== '' ? `#${el.id}` : ''}${el.dataset.field != null ? `[${el.dataset.field}]` : ''}: ${JSON.stringify(el.innerText)}`))
        expect(blanks, 'dash placeholders or empty boxes').toEqual([])
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

  it('before Start the page says what it costs: kernels, cores and share, GPU, an energy estimate with its basis, network measured with its source, credit', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${hub.url}?workers=2`)
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => page.evaluate(() => document.body.dataset.gpu), { timeout: 10_000 }).not.toBe('unknown')
    expect(await page.isVisible('#cost')).toBe(true)
    expect(await page.getByRole('button', { name: 'Start' }).isEnabled()).toBe(true)
    const cost = (await page.textContent('#cost')) ?? ''
    const cores = await page.evaluate(() => navigator.hardwareConcurrency)
    expect(cost).toMatch(/prime counting in WebAssembly/)
    expect(cost).toMatch(/researchers' kernels/)
    expect(cost).toMatch(/matrix tiles (on WebGPU \(|on the CPU \(WebAssembly: no WebGPU adapter\))/)
    // the chosen share, the workers it calls for and the cores
    expect(cost).toMatch(new RegExp(`at your 50% share, \\d+ worker\\(s\\) computing \\d+% of the time: about [\\d.]+ of this machine's ${cores} logical cores`))
    // an estimate, with its basis, said not to be a measurement
    expect(cost).toMatch(/about [\d.]+(–[\d.]+)? W more while it runs: [\d.]+(–[\d.]+)? Wh of electricity an hour/)
    expect(cost).toMatch(/per busy logical core, typical figures .* not a measurement of this device/)
    expect(cost).toMatch(/battery/)
    // network: a measured figure and where it came from
    expect(cost).toMatch(/about [\d.]+ (B|kB|MB|GB) an hour \(sent and received\)\s+per volunteer, [\d.]+ (B|kB) per work unit, measured by\s+npm run demo -- --from 0 --to 1e9 --unit 1e8 --volunteers 2 on \d{4}-\d\d-\d\d/)
    expect(await page.textContent('[data-field="demoCommand"]')).toMatch(/^npm run demo/)
    expect(await page.isVisible('[data-field="costNetworkPage"]')).toBe(false)
    expect(cost).toMatch(/redeemable for\s+nothing yet and has no money value/)
    // moving the share changes the estimate
    const before = await page.textContent('[data-field="costCores"]')
    await page.locator('#cpu-share').fill('100')
    await page.locator('#cpu-share').dispatchEvent('change')
    await expect.poll(async () => page.textContent('[data-field="costCores"]'), { timeout: 5000 }).not.toBe(before)
    expect(await page.textContent('[data-field="costCores"]')).toMatch(/at your 100% share/)
    await context.close()
  }, 60_000)

  it('peer ids show short with a Copy button that copies the full id', async () => {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] })
    const page = await context.newPage()
    await page.goto(hub.url)
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => (await page.textContent('[data-field="connection"]'))?.trim(), { timeout: 20_000 }).toBe('connected')
    for (const [name, label] of [['hubPeerId', 'Copy the full hub peer id'], ['peerId', 'Copy your full peer id']] as const) {
      const id = await page.getAttribute(`[data-field="${name}"]`, 'data-id')
      expect(id).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
      if (name === 'hubPeerId') expect(id).toBe(hub.peerId)
      // the full id: title, text content (screen readers); drawn short
      expect(await page.getAttribute(`[data-field="${name}"]`, 'title')).toBe(id)
      expect((await page.textContent(`[data-field="${name}"]`))?.trim()).toBe(id)
      const drawn = await page.evaluate((n) => {
        const el = document.querySelector<HTMLElement>(`[data-field="${n}"]`)!
        const head = el.querySelector('.id-head')!
        return { head: head.textContent, ellipsis: getComputedStyle(head, '::after').content, tail: el.querySelector('.id-tail')?.textContent, width: el.getBoundingClientRect().width, middle: getComputedStyle(el.querySelector('.id-middle')!).position }
      }, name)
      expect(drawn).toMatchObject({ head: id!.slice(0, 7), tail: id!.slice(-4), middle: 'absolute' })
      expect(drawn.ellipsis).toMatch(/…/)
      expect(drawn.width).toBeLessThan(160)
      const button = page.getByRole('button', { name: label })
      await button.click()
      await expect.poll(async () => button.textContent(), { timeout: 5000 }).toBe('copied')
      expect(await page.evaluate(async () => await navigator.clipboard.readText())).toBe(id)
    }
    await context.close()
  }, 60_000)

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
