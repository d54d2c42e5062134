/**
 * The embed's refusals, in headless Chromium against a real hub, with the example partner page on
 * another site: a missing or malformed data-site shows a console error and a "misconfigured"
 * widget and starts nothing; a loader altered by one byte is blocked by Subresource Integrity and
 * nothing of it runs (while the same altered file without integrity runs: the byte alone is
 * harmless JavaScript, so it is SRI that stopped it).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { startPartnerServer } from '../examples/partner/server.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { launchEmbedChromium, openVisitor } from './embed-browser.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PartnerServer } from '../examples/partner/server.ts'
import type { Browser } from 'playwright-core'
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

  it('the partner themes the widget (--sparecycles-* properties, ::part) and the visitor can say "not now": folded, nothing remembered, nothing runs', async () => {
    const { hub, partner } = await hubAndPartner(STATIC_DIR)
    const { page, log } = await openVisitor(browser, partner.url)
    await page.getByText('Lend this site your spare CPU?').waitFor()
    await page.addStyleTag({ content: '[data-sparecycles-embed] { --sparecycles-bg: rgb(17, 17, 17); --sparecycles-fg: rgb(240, 240, 240); } [data-sparecycles-embed]::part(yes) { border-radius: 0px; }' })
    const look = await page.evaluate(() => {
      const root = document.querySelector('[data-sparecycles-embed]')!.shadowRoot!
      const box = getComputedStyle(root.querySelector('.box')!)
      const yes = getComputedStyle(root.querySelector('[data-act="yes"]')!)
      return { bg: box.backgroundColor, fg: box.color, radius: yes.borderTopLeftRadius }
    })
    expect(look).toEqual({ bg: 'rgb(17, 17, 17)', fg: 'rgb(240, 240, 240)', radius: '0px' })
    await page.getByRole('button', { name: 'Not now' }).click()
    await page.getByRole('button', { name: 'Spare Cycles: lend spare CPU?' }).waitFor()
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    await page.waitForTimeout(500)
    expect(page.workers()).toHaveLength(0)
    expect(page.frames()).toHaveLength(1)
    expect(log.consoleErrors).toEqual([])
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
    // a reload asks again (nothing was remembered)
    await page.reload()
    await page.getByText('Lend this site your spare CPU?').waitFor()
    await page.context().close()
  })

  it('a loader altered by one byte is blocked by Subresource Integrity and nothing runs', async () => {
    // a hub serving a copy of dist/ whose embed.js differs in one byte ("Lend" -> "Lent")
    const tampered = tempDir('sparecycles-tampered-')
    cpSync(STATIC_DIR, tampered, { recursive: true })
    const original = readFileSync(join(STATIC_DIR, 'embed.js'))
    const at = original.indexOf('Lend this site')
    expect(at).toBeGreaterThan(0)
    const altered = Buffer.from(original)
    altered[at + 3] = 't'.charCodeAt(0)
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
    await control.page.getByText('Lent this site your spare CPU?').waitFor()
    await control.page.context().close()
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
  })
})
