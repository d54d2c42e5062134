/**
 * Consent no partner page can forge (issue 12, items 1 and 2), in headless Chromium against a real
 * hub, each attack written as the partner page's own script (the example partner page on
 * http://localhost:<port>, the hub on http://127.0.0.1:<port>):
 *
 * (a) a consent record written into the page's localStorage (the old loader's, and the frame's key
 *     name), a reload and SpareCycles.start(): the frame still asks;
 * (b) the page's own 1x1, opacity 0, off-screen iframe to /embed-frame.html and forged posted
 *     start/consent messages: nothing connects;
 * (c) the frame at opacity 0.001 over the page's own "Play" button, or covered by a page element
 *     that lets clicks through, or flashed visible just before the click, and a real mouse click on
 *     Yes: no yes (and the same click on the visible frame is one);
 * (d) after a real yes: display:none, opacity 0, 1x1, off-screen, covered or removed each pause
 *     work within one second with no new lease, and it resumes when the frame is seen again; the
 *     page's own hidden frame, which shares the visitor's yes (same partition), runs nothing.
 *
 * What is asserted cannot be told by the page: the hub's connected peers and its lease count for
 * the site key, the frame's own state (read by the test, not by page script) and the page's workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEEN_BEFORE_YES_MS } from '../src/embed/frame-rules.ts'
import { embedFrame, embedFrameOf, frameState, openVisitor, registeredPartner } from './embed-browser.ts'
import type { EmbedWorld } from './embed-browser.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PartnerServer } from '../examples/partner/server.ts'
import type { Browser, Frame, Page } from 'playwright-core'
import type {} from '../src/embed/embed.d.ts'

const SITE = 'site_e2e-consent-partner_01'
const WEEK_MS = 7 * 86_400_000
let hub: RunningHub
let partner: PartnerServer
let browser: Browser
let hubOrigin: string

let world: EmbedWorld | undefined

beforeAll(async () => { world = await registeredPartner(SITE); ({ hub, hubOrigin, partner, browser } = world) })
afterAll(async () => { await world?.close() })

const leases = async (): Promise<number> => (await hub.core.siteStats(SITE)).leases
/** Nothing ran for this site: no peer ever connected, no lease for the key. */
async function expectNothingRan (page: Page): Promise<void> {
  expect(page.workers()).toHaveLength(0)
  expect((await hub.core.hubPeerStats()).peers).toBe(0)
  expect(await leases()).toBe(0)
}
const frameStorage = async (frame: Frame): Promise<string[]> => await frame.evaluate(() => Object.keys(localStorage))
const stillAsking = async (page: Page): Promise<unknown> => await page.evaluate(async () =>
  await Promise.race([window.SpareCycles!.start(), new Promise(resolve => setTimeout(() => { resolve('still asking') }, 1500))]))

describe('consent the partner page cannot forge', () => {
  it('(a) a consent record in the page\'s localStorage, a reload and start(): the frame still asks, nothing runs', async () => {
    const { page, log } = await openVisitor(browser, partner.url)
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    await page.evaluate(({ site, hub, week }) => {
      const until = Date.now() + week
      localStorage.setItem(`sparecycles:consent:${site}`, JSON.stringify({ choice: 'yes', hub, until }))
      localStorage.setItem(`sparecycles:choice:${site}`, JSON.stringify({ choice: 'yes', until }))
    }, { site: SITE, hub: hubOrigin, week: WEEK_MS })
    await page.reload()
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    expect(await stillAsking(page)).toBe('still asking')
    expect(await page.evaluate(() => window.SpareCycles!.state)).toBe('consent')
    const frame = await embedFrameOf(page)
    expect(await frameState(frame)).toBe('asking')
    expect(await frameStorage(frame)).toEqual([])
    expect(log.websockets).toEqual([])
    await expectNothingRan(page)
    await page.context().close()
  })

  it('(b) the page\'s own hidden 1x1 frame to /embed-frame.html and forged start and consent messages: nothing connects', async () => {
    const { page, log } = await openVisitor(browser, partner.url)
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    await page.evaluate(async ({ hub, site, week }) => {
      const f = document.createElement('iframe')
      f.id = 'own'
      f.style.cssText = 'position:absolute;left:-10000px;top:0;width:1px;height:1px;opacity:0;border:0'
      f.src = `${hub}/embed-frame.html#${new URLSearchParams({ site, parent: location.origin, workers: '4', hours: '168' }).toString()}`
      document.body.append(f)
      await new Promise(resolve => { f.onload = resolve })
      const forged = [
        { v: 1, type: 'start', consentUntil: Date.now() + week },
        { v: 2, type: 'start' },
        { v: 2, type: 'start', consentUntil: Date.now() + week },
        { v: 2, type: 'consent', until: Date.now() + week },
        { v: 2, type: 'yes' },
        { v: 2, type: 'visibility', hidden: false }
      ]
      // to both frames, for two seconds
      const real = document.querySelector('[data-sparecycles-embed]')!.shadowRoot!.querySelector('iframe')!
      const end = Date.now() + 2000
      while (Date.now() < end) {
        for (const m of forged) for (const w of [f.contentWindow!, real.contentWindow!]) w.postMessage({ ns: 'sparecycles-embed', ...m }, hub)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }, { hub: hubOrigin, site: SITE, week: WEEK_MS })
    const own = await (await page.locator('#own').elementHandle())!.contentFrame()
    // the page's 'start' opened its own frame's question, which nobody can see: no yes is possible there
    expect(await frameState(own!)).toBe('asking')
    expect(await own!.evaluate(() => ({ seen: document.body.dataset.seen, yesDisabled: document.querySelector<HTMLButtonElement>('[data-act="yes"]')!.disabled }))).toEqual({ seen: 'false', yesDisabled: true })
    expect(await frameState(await embedFrameOf(page))).toBe('asking')
    expect(await frameStorage(own!)).toEqual([])
    expect(log.websockets).toEqual([])
    await expectNothingRan(page)
    await page.context().close()
  })

  it('(c) a real click on Yes through a nearly transparent, covered or just-flashed frame is no yes; the same click on the frame in view is one', async () => {
    const { page } = await openVisitor(browser, partner.url)
    const yes = embedFrame(page).getByRole('button', { name: 'Yes, contribute' })
    await yes.waitFor()
    const frame = await embedFrameOf(page)
    await expect.poll(async () => await yes.isEnabled(), { timeout: 5000 }).toBe(true)
    const b = (await yes.boundingBox())!
    const [x, y] = [b.x + b.width / 2, b.y + b.height / 2]
    // the page's own "Play" button, right under our Yes
    await page.evaluate(({ b }) => {
      const play = document.createElement('button')
      play.id = 'play'
      play.textContent = 'Play'
      play.style.cssText = `position:fixed;left:${b.x}px;top:${b.y}px;width:${b.width}px;height:${b.height}px;z-index:1`
      document.body.append(play)
    }, { b })
    const tricks: Array<[string, string]> = [
      // the partner styles the box the loader owns
      ['opacity 0.001 over Play', '[data-sparecycles-embed]::part(box) { opacity: 0.001 }'],
      // a page element over the frame that lets the click through
      ['covered by a click-through element', `#cover { position:fixed; left:0; top:0; width:100vw; height:100vh; z-index:2147483647; pointer-events:none; background:rgba(255,255,255,.98) }`]
    ]
    for (const [name, css] of tricks) {
      await page.evaluate((css) => {
        const st = document.createElement('style')
        st.id = 'trick'
        st.textContent = css
        document.head.append(st)
        if (css.includes('#cover')) { const d = document.createElement('div'); d.id = 'cover'; d.textContent = 'Play the game'; document.body.append(d) }
      }, css)
      await page.waitForTimeout(SEEN_BEFORE_YES_MS + 500)
      await page.mouse.click(x, y)
      await page.waitForTimeout(1000)
      expect(await frameState(frame), name).toBe('asking')
      expect(await frameStorage(frame), name).toEqual([])
      // (the frame keeps its Yes disabled while unseen)
      expect(await yes.isDisabled(), name).toBe(true)
      await page.evaluate(() => { document.getElementById('trick')?.remove(); document.getElementById('cover')?.remove() })
      await expect.poll(async () => await yes.isEnabled(), { timeout: 5000 }).toBe(true)
    }
    // flashed: transparent for long, then shown just before the click
    await page.evaluate(() => { const st = document.createElement('style'); st.id = 'trick'; st.textContent = '[data-sparecycles-embed]::part(box) { opacity: 0.001 }'; document.head.append(st) })
    await page.waitForTimeout(1000)
    await page.evaluate(() => { document.getElementById('trick')!.remove() })
    await page.waitForTimeout(150)
    await page.mouse.click(x, y)
    await page.waitForTimeout(1000)
    expect(await frameState(frame), 'flashed').toBe('asking')
    await expectNothingRan(page)

    // control: the same click at the same place, on the frame in plain view for a moment, is a yes
    await expect.poll(async () => await yes.isEnabled(), { timeout: 5000 }).toBe(true)
    await page.mouse.click(x, y)
    await expect.poll(async () => await frameState(frame), { timeout: 5000 }).not.toBe('asking')
    expect(await frameStorage(frame)).toEqual([`sparecycles:choice:${SITE}`])
    // that visitor wanted it: stop and forget, for the next test's clean slate
    await embedFrame(page).getByRole('button', { name: 'Stop and forget my yes' }).click()
    await expect.poll(async () => await frameStorage(frame), { timeout: 2000 }).toEqual([])
    await page.context().close()
  })

  it('(d) after a real yes: hidden, transparent, 1x1, off-screen, covered or removed pauses within 1 s with no new lease, and seen again resumes; the page\'s own hidden frame runs nothing', async () => {
    await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 4e11, unit: 1e9, quorum: 1 })
    const { page } = await openVisitor(browser, partner.url)
    await embedFrame(page).getByRole('button', { name: 'Yes, contribute' }).click()
    const running = async (): Promise<void> => {
      await expect.poll(async () => await frameState(await embedFrameOf(page)), { timeout: 20_000 }).toBe('running')
      await expect.poll(() => page.workers().length, { timeout: 20_000 }).toBeGreaterThan(0)
      // leasing again
      const before = await leases()
      await expect.poll(leases, { timeout: 20_000 }).toBeGreaterThan(before)
    }
    await running()
    const tricks: Array<[string, string]> = [
      ['display:none', '[data-sparecycles-embed] { display: none }'],
      ['opacity 0', '[data-sparecycles-embed]::part(box) { opacity: 0 }'],
      ['1x1 px', '[data-sparecycles-embed]::part(box) { width: 1px; height: 1px; overflow: hidden }'],
      ['off-screen', '[data-sparecycles-embed]::part(box) { right: auto; left: -5000px }'],
      ['covered', '#cover { position:fixed; left:0; top:0; width:100vw; height:100vh; z-index:2147483647; pointer-events:none; background:#fff }'],
      ['removed', '']
    ]
    const timings: Record<string, number> = {}
    for (const [name, css] of tricks) {
      const t0 = Date.now()
      await page.evaluate((css) => {
        if (css === '') {
          const host = document.querySelector('[data-sparecycles-embed]')!
          ;(window as unknown as { __removed: Element }).__removed = host
          host.remove()
          return
        }
        const st = document.createElement('style')
        st.id = 'trick'
        st.textContent = css
        document.head.append(st)
        if (css.includes('#cover')) { const d = document.createElement('div'); d.id = 'cover'; document.body.append(d) }
      }, css)
      if (name !== 'removed') await expect.poll(async () => await frameState(await embedFrameOf(page)), { timeout: 1000, interval: 50 }).toBe('paused')
      await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
      timings[name] = Date.now() - t0
      expect(timings[name], name).toBeLessThan(1000)
      const held = await leases()
      await page.waitForTimeout(1000)
      expect(await leases(), `${name}: no new lease while paused`).toBe(held)
      await page.evaluate(() => {
        document.getElementById('trick')?.remove()
        document.getElementById('cover')?.remove()
        const removed = (window as unknown as { __removed?: Element }).__removed
        if (removed != null) document.body.append(removed)
      })
      await running()
    }
    process.stderr.write(`embed consent e2e: paused (frame state and workers) after ${JSON.stringify(timings)} ms\n`)

    // the page hides ours and frames the hub itself, hidden: that frame holds the visitor's yes (same
    // partition), but nobody sees it, so it runs nothing
    await page.addStyleTag({ content: '[data-sparecycles-embed] { display: none }' })
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    await page.evaluate(async ({ hub, site }) => {
      const f = document.createElement('iframe')
      f.id = 'own'
      f.style.cssText = 'position:absolute;left:-10000px;top:0;width:1px;height:1px;opacity:0;border:0'
      f.src = `${hub}/embed-frame.html#${new URLSearchParams({ site, parent: location.origin, workers: '4' }).toString()}`
      document.body.append(f)
      await new Promise(resolve => { f.onload = resolve })
      for (let i = 0; i < 10; i++) {
        f.contentWindow!.postMessage({ ns: 'sparecycles-embed', v: 2, type: 'start' }, hub)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    }, { hub: hubOrigin, site: SITE })
    const own = (await (await page.locator('#own').elementHandle())!.contentFrame())!
    expect(await frameStorage(own)).toEqual([`sparecycles:choice:${SITE}`])
    expect(await frameState(own)).toBe('paused')
    const held = await leases()
    await page.waitForTimeout(1500)
    expect(page.workers()).toHaveLength(0)
    expect(await leases()).toBe(held)
    await page.context().close()
  })
})
