/**
 * Headless Chromium for the embed's end-to-end tests, with the partner page on another site than
 * the hub (http://localhost:<port> vs http://127.0.0.1:<port>), as in production.
 *
 * Playwright turns Chromium's ThirdPartyStoragePartitioning off (its issue 32230); this Chromium
 * then refuses IndexedDB to every third-party frame, which no shipping browser's default does
 * (Chrome, Firefox and Safari give third-party frames partitioned storage). So these tests launch
 * with partitioning back on: Playwright's own --disable-features list minus that one feature
 * (Chromium keeps the last --disable-features / --enable-features switch).
 *
 * The embed frame's visibility rule needs IntersectionObserver v2 (trackVisibility, isVisible). It
 * works in headless Chromium 156 with these flags (no extra switch): probed with a cross-origin
 * frame (a separate process), isVisible turns false for opacity < 1, a cover of 1% alpha, blur,
 * mix-blend-mode, scale-down and rotate transforms, display:none, visibility:hidden and off-screen,
 * and a clip (clip-path, a smaller iframe) shows in the intersection rect. Two tricks it does not
 * see: CSS `zoom` on the iframe (the frame sees it as devicePixelRatio, frame-rules.ts MIN_ZOOM)
 * and a CSS `mask-image` that hides the iframe (isVisible stays true; see README).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../src/cli/chromium.ts'
import { startHub } from '../src/hub/hub.ts'
import { registerSite } from '../src/hub/site-registry.ts'
import { startPartnerServer } from '../examples/partner/server.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PartnerServer } from '../examples/partner/server.ts'
import type { Browser, BrowserContext, Frame, FrameLocator, Page } from 'playwright-core'

export const EMBED_CHROMIUM_ARGS = [
  ...CHROMIUM_ARGS,
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,' +
    'HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,AvoidCorsURLLoaderRestartOnRedirect,' +
    'OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch',
  '--enable-features=CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies,ThirdPartyStoragePartitioning'
]

export async function launchEmbedChromium (): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: EMBED_CHROMIUM_ARGS, headless: true })
}

/** What a partner page test records: every request and WebSocket, console errors, long tasks. */
export interface PageLog {
  requests: string[]
  websockets: string[]
  consoleErrors: string[]
}

/**
 * A fresh visitor (own browser context) on a page; records requests (page, frames, workers),
 * WebSockets and console errors, and installs Long Tasks and Long Animation Frames observers and a log of every message
 * the host page receives, before any of the page's scripts run.
 */
export async function openVisitor (browser: Browser, url: string, context?: BrowserContext): Promise<{ page: Page, log: PageLog }> {
  const ctx = context ?? await browser.newContext()
  const page = await ctx.newPage()
  const log: PageLog = { requests: [], websockets: [], consoleErrors: [] }
  page.on('request', r => { log.requests.push(r.url()) })
  page.on('websocket', ws => { log.websockets.push(ws.url()) })
  page.on('console', m => { if (m.type() === 'error') log.consoleErrors.push(m.text()) })
  await page.addInitScript(() => {
    if (window.top !== window) return
    interface ScriptTiming { duration: number, sourceURL: string, invoker: string, forcedStyleAndLayoutDuration: number }
    const w = window as unknown as {
      __longTasks: Array<{ duration: number, name: string }>
      __longFrames: Array<{ duration: number, blockingDuration: number, scripts: ScriptTiming[] }>
      __messages: unknown[]
    }
    w.__longTasks = []
    w.__longFrames = []
    w.__messages = []
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) w.__longTasks.push({ duration: e.duration, name: e.name })
    }).observe({ type: 'longtask', buffered: true })
    // Long Animation Frames (Chromium 123+): the same stretches with the scripts that ran in them
    // (each script over 5 ms, with its source URL), so a long task can be told apart from our code
    new PerformanceObserver(list => {
      for (const e of list.getEntries() as unknown as Array<{ duration: number, blockingDuration: number, scripts: ScriptTiming[] }>) {
        w.__longFrames.push({
          duration: e.duration,
          blockingDuration: e.blockingDuration,
          scripts: e.scripts.map(s => ({ duration: s.duration, sourceURL: s.sourceURL, invoker: s.invoker, forcedStyleAndLayoutDuration: s.forcedStyleAndLayoutDuration }))
        })
      }
    }).observe({ type: 'long-animation-frame', buffered: true })
    window.addEventListener('message', e => { w.__messages.push({ origin: e.origin, data: e.data as unknown }) })
  })
  await page.goto(url)
  return { page, log }
}

/** The loader's frame (the hub's embed-frame.html inside the loader's shadow root), for clicks and text. */
export function embedFrame (page: Page): FrameLocator {
  return page.frameLocator('[data-sparecycles-embed] iframe')
}

/** The loader's frame as a Frame (to read its state, which page script cannot). */
export async function embedFrameOf (page: Page): Promise<Frame> {
  const frame = await (await page.locator('[data-sparecycles-embed] iframe').elementHandle())?.contentFrame()
  if (frame == null) throw new Error('no embed frame on the page')
  return frame
}

/**
 * A frame's own state (frame.ts sets it on its body): 'asking' | 'consent' | 'running' | 'paused' |
 * 'stopped' | 'refused', or '' before the frame ran.
 */
export async function frameState (frame: Frame): Promise<string> {
  return await frame.evaluate(() => document.body.dataset.state ?? '')
}

export interface EmbedWorld {
  hub: RunningHub
  hubOrigin: string
  partner: PartnerServer
  browser: Browser
  /** Close the browser, the partner's server and the hub. */
  close: () => Promise<void>
}

/**
 * A hub serving dist/ (fresh data directory), the example partner page for `siteKey` on its own
 * server, the key registered for the partner's origin (as its owner would, site-registry.ts), and
 * headless Chromium.
 * @throws Error when dist/embed.js is missing (run `npm run build` first)
 */
export async function registeredPartner (siteKey: string): Promise<EmbedWorld> {
  const staticDir = join(REPO_ROOT, 'dist')
  if (!existsSync(join(staticDir, 'embed.js'))) throw new Error('dist/embed.js is missing: run `npm run build` first')
  const dataDir = tempDir()
  const hub = await startHub({ dataDir, staticDir })
  const partner = await startPartnerServer({ hubUrl: hub.url, siteKey })
  registerSite(join(dataDir, 'sites.json'), siteKey, new URL(partner.url).origin)
  const browser = await launchEmbedChromium()
  return {
    hub,
    hubOrigin: new URL(hub.url).origin,
    partner,
    browser,
    close: async () => {
      await browser.close()
      await partner.close()
      await hub.stop()
    }
  }
}
