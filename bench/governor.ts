/**
 * Governor accuracy: the workers' busy share of the machine at CPU shares 10%, 30%, 60% and 100%,
 * in headless Chromium against a real hub, with as many worker slots as cores. For each share:
 * the busy time the workers report and the renderer processes' CPU time from /proc, both over a
 * window (default 20 s; `--window-s N`), and their error against the share, in points.
 *
 *   node --import tsx bench/governor.ts [--window-s 20] [--shares 10,30,60,100]
 *
 * Prints a table and, last, one JSON line. Needs the built page (`npm run build`).
 */
import { join } from 'node:path'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { startHub } from '../src/hub/hub.ts'
import { launchMeasuredChromium, measureShare } from '../test/governor-measure.ts'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const windowMs = Number(arg('--window-s', '20')) * 1000
const shares = arg('--shares', '10,30,60,100').split(',').map(Number)
const staticDir = join(import.meta.dirname, '..', 'dist')

const hub = await startHub({ dataDir: mkdtempSync(join(tmpdir(), 'governor-bench-')), staticDir })
const { browser, marker } = await launchMeasuredChromium()
try {
  hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 2e12, unit: 1e10, quorum: 1 })
  const context = await browser.newContext()
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  // real pressure on a small machine reads 'serious' under our own load: hold it at nominal
  await cdp.send('Emulation.setPressureSourceOverrideEnabled' as never, { source: 'cpu', enabled: true } as never)
  await cdp.send('Emulation.setPressureStateOverride' as never, { source: 'cpu', state: 'nominal' } as never)
  const cores = (await import('node:os')).availableParallelism()
  await page.goto(`${hub.url}?workers=${cores}`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 })
  await page.getByRole('button', { name: 'Start' }).click()
  const rows: Array<{ share: number, reported: number, procCpu: number, errorPoints: number, procErrorPoints: number, plan: string }> = []
  for (const share of shares) {
    await page.getByLabel('CPU share').fill(String(share))
    await new Promise(resolve => setTimeout(resolve, 3000))
    const m = await measureShare(page, marker, windowMs)
    const plan = (await page.textContent('[data-field="plan"]'))?.trim() ?? ''
    const row = { share: share / 100, reported: m.reported, procCpu: m.procCpu, errorPoints: (m.reported - share / 100) * 100, procErrorPoints: (m.procCpu - share / 100) * 100, plan }
    rows.push(row)
    process.stderr.write(`share ${share}%: workers ${(m.reported * 100).toFixed(1)}% (error ${row.errorPoints.toFixed(1)} pts), /proc ${(m.procCpu * 100).toFixed(1)}% (${row.procErrorPoints.toFixed(1)} pts) — ${plan}\n`)
  }
  process.stdout.write(`${JSON.stringify({ bench: 'governor', cores, windowS: windowMs / 1000, rows })}\n`)
} finally {
  await browser.close()
  await hub.stop()
}
