/**
 * The embed's refusals, in headless Chromium against a real hub, with the example partner page on
 * another site: a missing or malformed data-site logs a console error, shows nothing and starts
 * nothing; the partner's theme reaches the frame's question only when it is readable, and "Not
 * now" remembers nothing; a loader altered by one byte is blocked by Subresource Integrity and
 * nothing of it runs (while the same altered file without integrity runs: the byte alone is
 * harmless JavaScript, so it is SRI that stopped it).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { startPartnerServer } from '../examples/partner/server.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { embedFrame, embedFrameOf, frameState, launchEmbedChromium, openVisitor } from './embed-browser.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PartnerServer } from '../examples/partner/server.ts'
import type { Browser, Page } from 'playwright-core'
import type {} from '../src/embed/embed.d.ts'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const SITE = 'site_e2e-guard-partner_01'
let browser: Browser
const hubs: RunningHub[] = []
const partners: PartnerServer[] = []

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'embed.js')), 'run `npm run build` first').toBe(true)
  browser = await launchEmbedChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const p of partners) await p.close()
  for (const h of hubs) await h.stop()
})

async function hubAndPartner (staticDir: string, integrity?: string): Promise<{ hub: RunningHub, partner: PartnerServer, hubOrigin: string }> {
  const hub = await startHub({ dataDir: tempDir(), staticDir })
  hubs.push(hub)
  await hub.core.createPrimesJob({ from: 0, to: 1e8, unit: 1e7, quorum: 1 })
  const partner = await startPartnerServer({ hubUrl: hub.url, siteKey: SITE, integrity })
  partners.push(partner)
  return { hub, partner, hubOrigin: new URL(hub.url).origin }
}

describe('embed refusals', () => {
  it('a missing or malformed data-site: a console error naming the problem, nothing shown to the visitor, and no work', async () => {
    const { hub, partner, hubOrigin } = await hubAndPartner(STATIC_DIR)
    for (const [query, reason] of [['?site=', 'no data-site'], ['?site=site_bad!key', 'data-site must be site_']]) {
      const { page, log } = await openVisitor(browser, partner.url + query)
      await expect.poll(() => log.consoleErrors.some(e => e.includes('Spare Cycles embed is misconfigured') && e.includes(reason)), { timeout: 10_000 }).toBe(true)
      // the partner's mistake is not the visitor's business: no widget, no text of ours on the page
      expect(await page.locator('[data-sparecycles-embed]').count()).toBe(0)
      expect(await page.evaluate(() => document.body.innerText)).not.toMatch(/misconfigured|data-site/)
      expect(await page.evaluate(async () => ({ state: window.SpareCycles!.state, started: await window.SpareCycles!.start() }))).toEqual({ state: 'misconfigured', started: false })
      await page.waitForTimeout(500)
      expect(page.frames()).toHaveLength(1)
      expect(page.workers()).toHaveLength(0)
      expect(log.requests.filter(u => u.startsWith(hubOrigin))).toEqual([`${hubOrigin}/embed.js`])
      await page.context().close()
    }
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
  })

  it('the partner themes the question (--sparecycles-* colours, checked by the frame; ::part(box)) and the visitor can say "not now": folded, nothing remembered, nothing runs', async () => {
    const { hub, partner } = await hubAndPartner(STATIC_DIR)
    // the partner's stylesheet, in place before the loader hands the colours to the frame
    const themed = async (css: string): Promise<Awaited<ReturnType<typeof openVisitor>>> => {
      const ctx = await browser.newContext()
      await ctx.addInitScript((text: string) => {
        if (window.top !== window) return
        document.addEventListener('DOMContentLoaded', () => { const st = document.createElement('style'); st.textContent = text; document.head.append(st) })
      }, css)
      return await openVisitor(browser, partner.url, ctx)
    }
    const look = async (page: Page): Promise<{ bg: string, fg: string, yes: string }> => await (await embedFrameOf(page)).evaluate(() => {
      const box = getComputedStyle(document.getElementById('box')!)
      return { bg: box.backgroundColor, fg: box.color, yes: getComputedStyle(document.querySelector('[data-act="yes"]')!).backgroundColor }
    })

    const { page, log } = await themed('[data-sparecycles-embed] { --sparecycles-bg: #111; --sparecycles-fg: rgb(240, 240, 240); --sparecycles-accent: navy; } [data-sparecycles-embed]::part(box) { border-radius: 0px; }')
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    await expect.poll(() => look(page), { timeout: 5000 }).toEqual({ bg: 'rgb(17, 17, 17)', fg: 'rgb(240, 240, 240)', yes: 'rgb(0, 0, 128)' })
    // the box the loader still owns takes ::part(box)
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('[data-sparecycles-embed]')!.shadowRoot!.querySelector('.box')!).borderTopLeftRadius)).toBe('0px')
    await embedFrame(page).getByRole('button', { name: 'Not now' }).click()
    await embedFrame(page).getByRole('button', { name: 'Spare Cycles: lend spare CPU?' }).waitFor()
    expect(await frameState(await embedFrameOf(page))).toBe('consent')
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    expect(await (await embedFrameOf(page)).evaluate(() => Object.keys(localStorage))).toEqual([])
    await page.waitForTimeout(500)
    expect(page.workers()).toHaveLength(0)
    expect(log.consoleErrors).toEqual([])
    expect(log.websockets).toEqual([])
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
    // a reload asks again (nothing was remembered)
    await page.reload()
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    await page.context().close()

    // a theme that hides the question (its text the colour of its box) is refused whole: the
    // defaults are drawn and the page's error listener hears why
    const hiding = await themed('[data-sparecycles-embed] { --sparecycles-bg: #fafafa; --sparecycles-fg: #fefefe; }')
    await embedFrame(hiding.page).getByText('Lend this site your spare CPU?').waitFor()
    await expect.poll(async () => hiding.page.textContent('#log'), { timeout: 5000 }).toMatch(/theme refused: text on the box .* has contrast 1\.0\d, under 4\.5/)
    expect(await look(hiding.page)).toEqual({ bg: 'rgb(255, 255, 255)', fg: 'rgb(27, 27, 27)', yes: 'rgb(31, 111, 67)' })
    await hiding.page.context().close()
  })

  it('a loader altered by one byte is blocked by Subresource Integrity and nothing runs', async () => {
    // a hub serving a copy of dist/ whose embed.js differs in one byte (the frame's title: "asks" -> "Asks")
    const tampered = tempDir('sparecycles-tampered-')
    cpSync(STATIC_DIR, tampered, { recursive: true })
    const original = readFileSync(join(STATIC_DIR, 'embed.js'))
    const at = original.indexOf('Spare Cycles: asks you')
    expect(at).toBeGreaterThan(0)
    const altered = Buffer.from(original)
    altered[at + 14] = 'A'.charCodeAt(0)
    expect(altered.filter((b, i) => b !== original[i])).toHaveLength(1)
    writeFileSync(join(tampered, 'embed.js'), altered)
    // the partner's tag keeps the integrity of the real loader
    const { integrity } = JSON.parse(readFileSync(join(STATIC_DIR, 'embed.json'), 'utf8')) as { integrity: string }
    const { hub, partner, hubOrigin } = await hubAndPartner(tampered, integrity)

    const { page, log } = await openVisitor(browser, partner.url)
    await expect.poll(() => log.consoleErrors.some(e => /integrity/i.test(e)), { timeout: 10_000 }).toBe(true)
    await page.waitForTimeout(1000)
    expect(await page.evaluate(() => ({ api: typeof window.SpareCycles, widget: document.querySelector('[data-sparecycles-embed]') != null }))).toEqual({ api: 'undefined', widget: false })
    expect(page.frames()).toHaveLength(1)
    expect(page.workers()).toHaveLength(0)
    expect(log.requests.filter(u => u.startsWith(hubOrigin))).toEqual([`${hubOrigin}/embed.js`])
    await page.context().close()

    // control: the same altered file with no integrity attribute runs (and shows the changed byte)
    const control = await openVisitor(browser, `${partner.url}?integrity=`)
    await control.page.locator('[data-sparecycles-embed] iframe[title^="Spare Cycles: Asks you"]').waitFor()
    await embedFrame(control.page).getByText('Lend this site your spare CPU?').waitFor()
    await control.page.context().close()
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
  })
})
