/**
 * Partner-page load benchmark (issue 12, item 7): the example partner page (examples/partner, its
 * own server on `localhost`) embedding the built `dist/embed.js` from a real hub on `127.0.0.1`,
 * loaded `--loads` times by fresh headless Chromium contexts; per load, the Long Tasks API from
 * navigation start (tasks over 50 ms) and the Long Animation Frames API's script attribution (how
 * long embed.js itself ran inside any long frame) until the hub's frame shows its consent question. Prints the count
 * of loads with a long task beside the reference (0 of N) and one JSON line. Needs `npm run build`.
 *
 *   node --import tsx bench/embed-load.ts [--loads 20]
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { startHub } from '../src/hub/hub.ts'
import { startPartnerServer } from '../examples/partner/server.ts'
import { embedFrame, launchEmbedChromium, openVisitor } from '../test/embed-browser.ts'
import { REPO_ROOT, tempDir } from '../test/helpers.ts'

const program = new Command()
  .name('bench-embed-load')
  .option('--loads <n>', 'page loads (fresh browser context each)', '20')
  .parse()
const loads = Number(program.opts<{ loads: string }>().loads)
if (!Number.isSafeInteger(loads) || loads < 1 || loads > 200) program.error('--loads must be an integer from 1 to 200')
const staticDir = join(REPO_ROOT, 'dist')
if (!existsSync(join(staticDir, 'embed.js'))) program.error('dist/embed.js is missing: run `npm run build` first')

const hub = await startHub({ dataDir: tempDir('bench-embed-'), staticDir })
const partner = await startPartnerServer({ hubUrl: hub.url, siteKey: 'site_bench_embed_load_01' })
const browser = await launchEmbedChromium()
const rows: Array<{ longTasks: number[], embedJsMs: number }> = []
try {
  for (let i = 0; i < loads; i++) {
    const { page } = await openVisitor(browser, partner.url)
    await embedFrame(page).getByText('Lend this site your spare CPU?').waitFor({ timeout: 30_000 })
    await page.waitForTimeout(300)
    rows.push(await page.evaluate(() => {
      const w = window as unknown as { __longTasks: Array<{ duration: number }>, __longFrames: Array<{ scripts: Array<{ duration: number, sourceURL: string }> }> }
      const src = document.querySelector<HTMLScriptElement>('script[src*="embed.js"]')?.src ?? ''
      const origin = src === '' ? '' : new URL(src).origin
      const ours = w.__longFrames.flatMap(f => f.scripts).filter(s => origin !== '' && s.sourceURL.startsWith(origin)).map(s => s.duration)
      return { longTasks: w.__longTasks.map(t => t.duration), embedJsMs: Math.max(0, ...ours) }
    }))
    await page.context().close()
  }
} finally {
  await browser.close()
  await partner.close()
  await hub.stop()
}
const withTask = rows.filter(r => r.longTasks.length > 0).length
const withOurs = rows.filter(r => r.embedJsMs > 0).length
const longest = Math.max(0, ...rows.flatMap(r => r.longTasks))
console.log(`partner page, ${loads} loads: loads with a long task ${withTask} (reference 0), longest ${Math.round(longest)} ms; loads where embed.js ran inside a long frame ${withOurs}, longest ${Math.round(Math.max(0, ...rows.map(r => r.embedJsMs)))} ms`)
console.log(JSON.stringify({ bench: 'embed-load', loads, loadsWithLongTask: withTask, longestTaskMs: Math.round(longest), loadsWithEmbedJsInLongFrame: withOurs, embedJsMsPerLoad: rows.map(r => Math.round(r.embedJsMs)) }))
