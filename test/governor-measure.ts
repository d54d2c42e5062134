/**
 * Shared by the governor's end-to-end test and bench/governor.ts: launch Chromium so that its
 * processes can be found in /proc, and measure the CPU time of its renderer processes (an
 * independent check on the busy time the workers report).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../src/cli/chromium.ts'
import type { Browser, Page } from 'playwright-core'

const CLK_TCK = 100

export interface MeasuredBrowser { browser: Browser, marker: string }

/** Launch headless Chromium with a unique marker switch on its command line (ignored by Chromium). */
export async function launchMeasuredChromium (): Promise<MeasuredBrowser> {
  const marker = `--sparecycles-measure=${randomUUID()}`
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, marker], headless: true })
  return { browser, marker }
}

function procStat (pid: number): { ppid: number, cpuMs: number } | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * 1000 / CLK_TCK }
  } catch { return undefined }
}

/** CPU time (user + system, ms) of all renderer processes of the browser launched with `marker`. */
export function rendererCpuMs (marker: string): number {
  const pids = readdirSync('/proc').filter(d => /^\d+$/.test(d)).map(Number)
  const cmd = (pid: number): string => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { return '' } }
  const root = pids.find(pid => cmd(pid).includes(marker) && !cmd(pid).includes('--type='))
  if (root == null) throw new Error('browser process not found in /proc')
  const parent = new Map<number, number>()
  for (const pid of pids) { const st = procStat(pid); if (st != null) parent.set(pid, st.ppid) }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid), i = 0; p != null && i < 10; p = parent.get(p), i++) if (p === root) return true
    return false
  }
  let total = 0
  for (const pid of pids) {
    if (!descends(pid) || !cmd(pid).includes('--type=renderer')) continue
    total += procStat(pid)?.cpuMs ?? 0
  }
  return total
}

/** The workers' compute time the page reports (ms since load). */
export async function pageBusyMs (page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-field="cpuBusy"]', 'data-ms'))
}

/**
 * Measure the workers' busy share over `windowMs`: busy ms reported by the workers, and the
 * renderer processes' CPU time from /proc, both divided by windowMs x cores.
 */
export async function measureShare (page: Page, marker: string, windowMs: number): Promise<{ reported: number, procCpu: number, cores: number }> {
  const cores = await page.evaluate(() => navigator.hardwareConcurrency)
  // the page samples busy time once a second: align on a fresh sample
  const aligned = async (): Promise<{ busy: number, t: number, cpu: number }> => {
    const b0 = await pageBusyMs(page)
    const deadline = Date.now() + 3000
    let b = b0
    while (b === b0 && Date.now() < deadline) { await new Promise(r => setTimeout(r, 20)); b = await pageBusyMs(page) }
    return { busy: b, t: Date.now(), cpu: rendererCpuMs(marker) }
  }
  const start = await aligned()
  await new Promise(r => setTimeout(r, windowMs - 1000))
  const end = await aligned()
  const wall = end.t - start.t
  return { reported: (end.busy - start.busy) / (wall * cores), procCpu: (end.cpu - start.cpu) / (wall * cores), cores }
}
