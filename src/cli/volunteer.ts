/**
 * `sparecycles volunteer --hub URL [--tabs N] [--workers K]`: headless Chromium volunteers on any
 * hub's page, pressing Start as a visitor would (the same code path as `npm run demo`,
 * demo.ts startVolunteers), so a researcher can put volunteers on their own job from their
 * laptop. Each tab is its own browser context (its own key). Progress per tab, read from the
 * page's own dashboard, goes to stderr when it changes; Ctrl-C (SIGINT) or SIGTERM presses Stop
 * in every tab and closes the browser, and the command exits 0.
 */
import { launchChromium } from './chromium.ts'
import { startVolunteers } from './demo.ts'
import type { Page } from 'playwright-core'

export interface VolunteerOptions {
  /** The hub's page, e.g. http://127.0.0.1:8080/ */
  hub: string
  tabs: number
  workers: number
  /** ms between progress reads (default 2000) */
  intervalMs?: number
  log: (line: string) => void
  /** Resolves when the volunteers should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>
}

const FIELDS = ['run', 'connection', 'unitsDone', 'resultsValidated', 'resultsPending', 'creditGranted', 'pause'] as const

async function progressOf (page: Page): Promise<string> {
  const values = await page.evaluate((fields) => fields.map(f => document.querySelector(`[data-field="${f}"]`)?.textContent?.trim() ?? ''), [...FIELDS])
  const v = Object.fromEntries(FIELDS.map((f, i) => [f, values[i]]))
  return `${v.run || 'idle'}, ${v.connection}; ${v.unitsDone || 0} units done, ${v.resultsValidated || 0} validated, ${v.resultsPending || 0} pending; credit ${v.creditGranted || 0}${v.pause !== '' && v.pause !== 'not paused' ? `; paused: ${v.pause}` : ''}`
}

/**
 * Run the volunteers until `opts.until` (default: a signal).
 * @throws Error when Chromium is missing or the hub's page does not load
 */
export async function runVolunteers (opts: VolunteerOptions): Promise<{ tabs: number }> {
  let url: URL
  try {
    url = new URL(opts.hub)
  } catch {
    throw new Error(`--hub: not a URL: ${opts.hub} (the hub's page, e.g. http://127.0.0.1:8080/)`)
  }
  const until = opts.until ?? new Promise(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  const browser = await launchChromium({ ownSignals: true })
  try {
    const pages = await startVolunteers(browser, url.toString().replace(/\/?$/, '/'), { count: opts.tabs, workers: opts.workers }, opts.log)
    const last = pages.map(() => '')
    let stopping = false
    void until.then(() => { stopping = true })
    while (!stopping) {
      for (const [i, page] of pages.entries()) {
        const line = await progressOf(page).catch((err: Error) => `unreadable: ${err.message}`)
        if (line !== last[i]) { opts.log(`volunteer ${i}: ${line}`); last[i] = line }
      }
      await Promise.race([until, new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 2000))])
    }
    opts.log('stopping: pressing Stop in every tab')
    for (const page of pages) await page.click('#stop', { timeout: 2000 }).catch(() => {})
    return { tabs: pages.length }
  } finally {
    await browser.close()
  }
}
