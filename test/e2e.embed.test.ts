/**
 * The partner-site embed end to end, in headless Chromium against a real hub: the example partner
 * page (examples/partner) is served by its own server on another site (http://localhost:<port>)
 * than the hub (http://127.0.0.1:<port>) and embeds embed.js with its integrity. The hub's frame
 * asks the visitor; before the visitor's click on its Yes nothing connects to the hub and no worker
 * starts; after it work is done and credited to the visitor and to the site key; script on the host
 * page cannot reach the frame, its key or its workers; our script never stalls the host page's main
 * thread; hidden pauses, the yes (kept in the frame) survives a reload and is revoked in one click,
 * which ends every worker within one second. The partner's own attacks: e2e.embed-consent.test.ts.
 */
import { CreditEntry } from '../src/protocol/index.ts'
import { coarseTotal } from '../src/embed/frame-rules.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFrameMessage } from '../src/embed/messages.ts'
import { embedFrame, embedFrameOf, frameState, openVisitor, registeredPartner } from './embed-browser.ts'
import type { EmbedWorld } from './embed-browser.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PartnerServer } from '../examples/partner/server.ts'
import type { Browser, Page } from 'playwright-core'
import type {} from '../src/embed/embed.d.ts'

const SITE = 'site_e2e-recipe-blog_0001'
let hub: RunningHub
let partner: PartnerServer
let browser: Browser
let hubOrigin: string
let visitor: Page

const widgetText = async (page: Page): Promise<string> => (await embedFrame(page).locator('#msg').innerText()).replace(/\s+/g, ' ')

let world: EmbedWorld | undefined

beforeAll(async () => { world = await registeredPartner(SITE); ({ hub, hubOrigin, partner, browser } = world) })
afterAll(async () => { await world?.close() })

describe('partner-site embed', () => {
  it('before opt-in: only the question, drawn by the frame; no worker, no connection, nothing from the hub but embed.js and the small frame page; page script cannot say yes', async () => {
    expect(new URL(partner.url).origin).not.toBe(hubOrigin)
    const { page, log } = await openVisitor(browser, partner.url)
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    const text = await widgetText(page)
    // what runs, how much of the machine, for how long, who gets the credit
    expect(text).toContain(`a prime-counting program (WebAssembly, from ${new URL(hub.url).host}) runs in 1 background worker`)
    expect(text).toMatch(/at most 1 of your \d+ CPU cores, only while this tab is open and this box is visible, for up to 24 hours/)
    expect(text).toContain(`Credit goes to you and to this site (${SITE})`)

    // the page's own script tries to opt in for the visitor: a click in the frame (out of its
    // reach), forged messages (a request at most), and the API
    const started = await page.evaluate(async (hub) => {
      const frame = document.querySelector('[data-sparecycles-embed]')!.shadowRoot!.querySelector('iframe')!
      let click = 'clicked'
      try { frame.contentWindow!.document.querySelector<HTMLElement>('[data-act="yes"]')!.click() } catch (err) { click = (err as Error).name }
      frame.contentWindow!.postMessage({ ns: 'sparecycles-embed', v: 2, type: 'start' }, hub)
      frame.contentWindow!.postMessage({ ns: 'sparecycles-embed', v: 1, type: 'start', consentUntil: Date.now() + 7 * 86_400_000 }, hub)
      const r = await Promise.race([window.SpareCycles!.start(), new Promise(resolve => setTimeout(() => { resolve('still asking') }, 1000))])
      return { click, r, state: window.SpareCycles!.state }
    }, hubOrigin)
    expect(started).toEqual({ click: 'SecurityError', r: 'still asking', state: 'consent' })
    await page.waitForTimeout(500)
    expect(await frameState(await embedFrameOf(page))).toBe('asking')
    expect(page.workers()).toHaveLength(0)
    // the frame's page and its small script; not the volunteer client, the kernel or the hub's info
    // (preload-helper: Vite's dynamic-import helper, a chunk of its own since the client too loads a module lazily)
    const fromHub = log.requests.filter(u => u.startsWith(hubOrigin)).map(u => new URL(u).pathname)
    expect(fromHub.slice(0, 2)).toEqual(['/embed.js', '/embed-frame.html'])
    for (const p of fromHub.slice(2)) expect(p).toMatch(/^\/assets\/(embed-frame|site-key|config|modulepreload-polyfill|preload-helper)-[\w-]+\.js$/)
    expect(log.websockets).toEqual([])
    expect((await hub.core.hubPeerStats()).peers).toBe(0)
    expect(log.consoleErrors).toEqual([])
    await page.context().close()
  })

  it('after opt-in: work is done and credited to the visitor and the site key; the host cannot reach the key or the workers; embed.js never stalls the host page', async () => {
    const job = await hub.core.createPrimesJob({ from: 0, to: 1e8, unit: 1e7, quorum: 1 })
    // and ~10 s more of work, so the long-task measurement covers a busy stretch
    const job2 = await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 3e10, unit: 1e9, quorum: 1 })
    const { page, log } = await openVisitor(browser, partner.url)
    visitor = page
    const t0 = Date.now()
    // the visitor's own click, inside the hub's frame (Playwright waits for Yes to be enabled: the frame
    // enables it once its box has been seen for half a second)
    await embedFrame(page).getByRole('button', { name: 'Yes, contribute' }).click()
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 60_000, interval: 250 }).toBe('complete')
    expect((await hub.core.jobStatus(job.id))!.primes).toBe(5_761_455)
    await expect.poll(async () => (await hub.core.jobStatus(job2.id))?.state, { timeout: 90_000, interval: 250 }).toBe('complete')
    const balances = await hub.core.ledgerBalances()
    const peers = Object.keys(balances)
    expect(peers).toHaveLength(1)
    const credit = balances[peers[0]]
    expect(credit).toBe(100 + 30_000)
    // credited to the site key as well, shown by the read-only endpoint
    expect(await hub.core.siteStats(SITE)).toMatchObject({ credit, results: 40, volunteers: 1, visitors: 1 })
    const api = await (await fetch(new URL(`/api/sites/${SITE}`, hub.url))).json() as { credit: number }
    expect(api.credit).toBe(credit)
    // what a partner can fetch besides its own page's events: the public ledger and job API name
    // the visitor by a pseudonym, never by its peer id
    for (const path of ['/api/ledger', '/api/jobs']) {
      const text = await (await fetch(new URL(path, hub.url))).text()
      const entries = path === '/api/ledger' ? (JSON.parse(text) as { entries: Array<{ entry: string }> }).entries.map(e => CreditEntry.decode(Buffer.from(e.entry, 'base64')).peerId).join(' ') : text
      expect(entries.length).toBeGreaterThan(0)
      expect(entries, path).not.toContain(peers[0])
      expect(entries, path).toContain(hub.core.ledger.pseudonymOf(peers[0]))
    }
    // the JS API told the host page (its 'credit' listener writes #credit), as a coarse total
    // (two significant digits) that cannot be matched entry by entry to the public ledger
    await expect.poll(async () => page.textContent('#credit'), { timeout: 20_000 }).toBe(String(coarseTotal(credit)))
    expect(coarseTotal(credit)).toBe(30_000)
    expect(await page.evaluate(() => document.body.dataset.embedRun)).toBe('running')
    expect(log.requests.some(u => u.startsWith(`${hubOrigin}/embed-frame.html`))).toBe(true)

    // script on the host page: the frame, its storage and its workers are out of reach
    const probe = await page.evaluate(async () => {
      const frame = document.querySelector('[data-sparecycles-embed]')!.shadowRoot!.querySelector('iframe')!
      const w = frame.contentWindow as unknown as Record<string, { [k: string]: unknown }>
      const tries: Record<string, string> = {}
      const attempt = (name: string, fn: () => unknown): void => {
        try { fn(); tries[name] = 'reached' } catch (err) { tries[name] = (err as Error).name }
      }
      attempt('document', () => w.document.body)
      attempt('indexedDB', () => (w.indexedDB as unknown as IDBFactory).open('sparecycles-embed'))
      attempt('localStorage', () => w.localStorage.length)
      attempt('globals', () => w.Worker.name)
      const host = window as unknown as { __messages: Array<{ origin: string, data: unknown }> }
      return {
        tries,
        databases: (await indexedDB.databases()).map(d => d.name),
        storage: Object.keys(localStorage),
        messages: host.__messages
      }
    })
    expect(probe.tries).toEqual({ document: 'SecurityError', indexedDB: 'SecurityError', localStorage: 'SecurityError', globals: 'SecurityError' })
    expect(probe.databases).toEqual([])
    // the yes is the frame's: the partner's page stores nothing
    expect(probe.storage).toEqual([])
    expect(await (await embedFrameOf(page)).evaluate(() => Object.keys(localStorage))).toEqual([`sparecycles:choice:${SITE}`])
    const fromFrame = probe.messages.filter(m => m.origin === hubOrigin)
    expect(fromFrame.length).toBeGreaterThan(0)
    for (const m of fromFrame) expect(parseFrameMessage(m.data), JSON.stringify(m.data)).not.toBeNull()
    // nothing the host received names the visitor's identity
    expect(JSON.stringify(probe.messages)).not.toContain(peers[0])

    // the host page's main thread, from its load through opt-in and the whole job. The 50 ms
    // long-task figure is wall time, so on a 2-core machine shared with the hub, the worker and
    // other test files it measures the OS scheduler as much as our code (CI once saw a 66 ms task
    // with no script of ours in it): it is printed here and reported in README with its load. What
    // is asserted is attributed to our code: no frame in which embed.js (from the hub's origin)
    // ran 200 ms or more, a stall any visitor would notice; a loop or a synchronous computation in
    // the loader fails it.
    type Frames = Array<{ duration: number, blockingDuration: number, scripts: Array<{ duration: number, sourceURL: string, invoker: string }> }>
    const { longTasks, longFrames } = await page.evaluate(() => {
      const w = window as unknown as { __longTasks: Array<{ duration: number }>, __longFrames: Frames }
      return { longTasks: w.__longTasks, longFrames: w.__longFrames }
    })
    const ours = (f: Frames[number]): number => f.scripts.filter(s => s.sourceURL.startsWith(hubOrigin)).reduce((t, s) => t + s.duration, 0)
    const oursLongest = longFrames.reduce((m, f) => Math.max(m, ours(f)), 0)
    const longest = longTasks.reduce((m, t) => Math.max(m, t.duration), 0)
    process.stderr.write(`embed e2e: host page over ${((Date.now() - t0) / 1000).toFixed(1)} s of opt-in and work: ${longTasks.length} long tasks (longest ${longest} ms), ${longFrames.length} long animation frames, longest run of embed.js in one ${oursLongest.toFixed(0)} ms\n`)
    expect(longFrames.filter(f => ours(f) >= 200), JSON.stringify(longFrames)).toEqual([])

    // the observer sees scripts: a 60 ms timer callback of the host page's own shows up as a long
    // frame with a script in it that is not ours (so the check above has entries to fail on)
    await page.evaluate(() => { setTimeout(() => { const end = performance.now() + 60; while (performance.now() < end) { /* busy */ } }, 0) })
    await expect.poll(async () => (await page.evaluate(() => (window as unknown as { __longFrames: Frames }).__longFrames)).slice(longFrames.length)
      .some(f => f.duration >= 60 && f.scripts.some(s => s.duration >= 55 && !s.sourceURL.startsWith(hubOrigin))), { timeout: 5_000 }).toBe(true)
  })

  it('pauses while the host tab is hidden; consent survives a reload; one click revokes it and ends every worker within 1 s', async () => {
    const page = visitor
    await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 2e11, unit: 2e9, quorum: 1 })
    await expect.poll(() => page.workers().length, { timeout: 20_000 }).toBeGreaterThan(0)

    // headless Chromium never hides a tab: emulate the host document going hidden, as the browser does
    const setHidden = async (hidden: boolean): Promise<void> => {
      await page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => h ? 'hidden' : 'visible' })
        document.dispatchEvent(new Event('visibilitychange'))
      }, hidden)
    }
    await setHidden(true)
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    await expect.poll(() => page.evaluate(() => window.SpareCycles!.state), { timeout: 1000 }).toBe('paused')
    await setHidden(false)
    await expect.poll(() => page.workers().length, { timeout: 10_000 }).toBeGreaterThan(0)

    // the JS API: stop() ends the workers, start() resumes without asking again
    await page.evaluate(async () => { await window.SpareCycles!.stop() })
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    expect(await page.evaluate(async () => window.SpareCycles!.start())).toBe(true)
    await expect.poll(() => page.workers().length, { timeout: 10_000 }).toBeGreaterThan(0)

    // a reload within 24 h: the yes the frame keeps starts it without asking
    await page.reload()
    await expect.poll(() => page.workers().length, { timeout: 20_000 }).toBeGreaterThan(0)
    expect(await widgetText(page)).toContain('Stop and forget my yes')

    // one click in the frame revokes: every worker ends within one second, the yes is forgotten
    const clicked = Date.now()
    await embedFrame(page).getByRole('button', { name: 'Stop and forget my yes' }).click()
    await expect.poll(() => page.workers().length, { timeout: 1000, interval: 50 }).toBe(0)
    expect(Date.now() - clicked).toBeLessThan(1000)
    expect(await frameState(await embedFrameOf(page))).toBe('consent')
    expect(await (await embedFrameOf(page)).evaluate(() => Object.keys(localStorage))).toEqual([])
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([])
    await page.reload()
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor()
    await page.waitForTimeout(500)
    expect(await frameState(await embedFrameOf(page))).toBe('asking')
    expect(page.workers()).toHaveLength(0)
    await page.context().close()
  })
})
