/**
 * Prime-counting throughput, one core: the WASM kernel in Node, the same kernel in a Chromium Web
 * Worker, and native `primesieve --threads=1`, on the same interval; checks that the three counts
 * agree and prints a table, the kernel/primesieve ratios and a final one-line JSON summary.
 *
 *   node --import tsx bench/primes.ts [--lo 1e12] [--length 2e9] [--runs 3] [--slice 1]
 *                                     [--no-browser] [--no-primesieve] [--chromium /usr/bin/chromium]
 *
 * Throughput is numbers of the interval per second (hi - lo over the best of `runs` warm runs,
 * each after one warm-up run). Needs build/kernels/primes-sieve.wasm (`npm run build:kernels`;
 * built here with asc if missing).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Command } from 'commander'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'

const ROOT = new URL('..', import.meta.url).pathname
const WASM_PATH = join(ROOT, 'build', 'kernels', 'primes-sieve.wasm')

interface EngineResult {
  engine: string
  count: number | null
  seconds: number | null
  numbersPerSecond: number | null
  note?: string
}

const program = new Command()
  .name('bench-primes')
  .option('--lo <n>', 'interval start', '1e12')
  .option('--length <n>', 'interval length (numbers)', '2e9')
  .option('--runs <n>', 'timed runs per engine (best is reported), each engine warmed up first', '3')
  .option('--slice <segments>', 'kernel segments per step() call', '1')
  .option('--chromium <path>', 'Chromium executable', '/usr/bin/chromium')
  .option('--no-browser', 'skip the Chromium Web Worker run')
  .option('--no-primesieve', 'skip primesieve')
  .parse()
const opts = program.opts<{ lo: string, length: string, runs: string, slice: string, chromium: string, browser: boolean, primesieve: boolean }>()

const lo = Number(opts.lo)
const length = Number(opts.length)
const hi = lo + length
const runs = Math.max(1, Math.floor(Number(opts.runs)))
const slice = Math.max(1, Math.floor(Number(opts.slice)))
if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(length) || length <= 0 || hi > 2 ** 53) {
  throw new RangeError(`bad interval: lo=${opts.lo} length=${opts.length}`)
}

function log (msg: string): void {
  process.stderr.write(`${msg}\n`)
}

function ensureWasm (): Uint8Array<ArrayBuffer> {
  if (!existsSync(WASM_PATH)) {
    log('building kernel (asc) ...')
    execFileSync(join(ROOT, 'node_modules', '.bin', 'asc'),
      ['kernels/primes-sieve.ts', '--config', 'kernels/asconfig.json', '--target', 'release'], { cwd: ROOT, stdio: 'inherit' })
  }
  return new Uint8Array(readFileSync(WASM_PATH))
}

async function benchNode (wasm: Uint8Array<ArrayBuffer>): Promise<EngineResult> {
  const kernel = await instantiatePrimesKernel(wasm)
  log(`node: warm-up [${lo}, ${hi}) ...`)
  await kernel.countRange(lo, hi, { sliceSegments: slice })
  let best = Infinity
  let count = 0
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    count = await kernel.countRange(lo, hi, { sliceSegments: slice })
    const s = (performance.now() - t0) / 1000
    log(`node: run ${r + 1}: ${s.toFixed(3)} s`)
    best = Math.min(best, s)
  }
  return { engine: `node ${process.version} (wasm)`, count, seconds: best, numbersPerSecond: length / best }
}

/** The worker: the real wrapper (workers/primes-kernel.ts), bundled by esbuild. */
const WORKER_SOURCE = `
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
self.onmessage = async (ev) => {
  const { wasmUrl, lo, hi, runs, slice } = ev.data
  try {
    const res = await fetch(wasmUrl)
    const kernel = await instantiatePrimesKernel(await res.arrayBuffer())
    await kernel.countRange(lo, hi, { sliceSegments: slice }) // warm-up
    const times = []
    let count = 0
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now()
      count = await kernel.countRange(lo, hi, { sliceSegments: slice })
      times.push((performance.now() - t0) / 1000)
    }
    self.postMessage({ ok: true, count, times, userAgent: navigator.userAgent })
  } catch (err) {
    self.postMessage({ ok: false, error: String(err && err.stack || err) })
  }
}
`

const PAGE = `<!doctype html><meta charset="utf-8"><title>primes bench</title>
<script>
window.runBench = (params) => new Promise((resolve) => {
  const worker = new Worker('/worker.js')
  worker.onmessage = (ev) => { worker.terminate(); resolve(ev.data) }
  worker.onerror = (ev) => { worker.terminate(); resolve({ ok: false, error: 'worker error: ' + ev.message }) }
  worker.postMessage(params)
})
</script>`

async function benchChromium (wasm: Uint8Array<ArrayBuffer>): Promise<EngineResult> {
  const bundle = await build({
    stdin: { contents: WORKER_SOURCE, resolveDir: join(ROOT, 'bench'), sourcefile: 'bench-worker.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    logLevel: 'silent'
  })
  const workerJs = bundle.outputFiles[0].text
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE)
    } else if (url === '/worker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(workerJs)
    } else if (url === '/primes-sieve.wasm') {
      res.writeHead(200, { 'content-type': 'application/wasm' }).end(wasm)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  try {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/`)
    log(`chromium ${browser.version()}: warm-up + ${runs} runs in a Web Worker ...`)
    const out = await page.evaluate(
      async (params) => await (window as unknown as { runBench: (p: unknown) => Promise<unknown> }).runBench(params),
      { wasmUrl: '/primes-sieve.wasm', lo, hi, runs, slice }
    ) as { ok: boolean, count?: number, times?: number[], error?: string }
    if (!out.ok) throw new Error(out.error)
    out.times!.forEach((s, i) => log(`chromium: run ${i + 1}: ${s.toFixed(3)} s`))
    const best = Math.min(...out.times!)
    return { engine: `chromium ${browser.version()} (wasm, Web Worker)`, count: out.count!, seconds: best, numbersPerSecond: length / best }
  } finally {
    await browser.close()
    server.close()
  }
}

function benchPrimesieve (): EngineResult {
  // primesieve counts the closed interval [START, STOP]
  const args = [String(lo), String(hi - 1), '--count', '--threads=1', '--time', '--no-status']
  let best = Infinity
  let count: number | null = null
  let version = 'primesieve'
  try {
    version = execFileSync('primesieve', ['--version'], { encoding: 'utf8' }).split('\n')[0].replace(/,.*$/, '').trim()
  } catch { /* reported below */ }
  for (let r = 0; r <= runs; r++) { // run 0 is the warm-up
    const out = execFileSync('primesieve', args, { encoding: 'utf8' })
    const seconds = Number(/Seconds:\s*([\d.]+)/.exec(out)?.[1])
    const primes = Number(/Primes:\s*(\d+)/.exec(out)?.[1])
    if (!Number.isFinite(seconds) || !Number.isFinite(primes)) throw new Error(`cannot parse primesieve output:\n${out}`)
    count = primes
    if (r > 0) {
      log(`primesieve: run ${r}: ${seconds.toFixed(3)} s`)
      best = Math.min(best, seconds)
    }
  }
  return { engine: `${version} (native, --threads=1)`, count, seconds: best, numbersPerSecond: length / best }
}

function fmtRate (x: number | null): string {
  return x == null ? '-' : `${(x / 1e9).toFixed(3)} G/s`
}

async function main (): Promise<void> {
  const wasm = ensureWasm()
  const results: EngineResult[] = []
  const node = await benchNode(wasm)
  results.push(node)
  let browser: EngineResult | null = null
  if (opts.browser) {
    try {
      browser = await benchChromium(wasm)
    } catch (err) {
      browser = { engine: 'chromium (wasm, Web Worker)', count: null, seconds: null, numbersPerSecond: null, note: `failed: ${(err as Error).message}` }
    }
    results.push(browser)
  }
  let native: EngineResult | null = null
  if (opts.primesieve) {
    try {
      native = benchPrimesieve()
    } catch (err) {
      native = { engine: 'primesieve', count: null, seconds: null, numbersPerSecond: null, note: `failed: ${(err as Error).message}` }
    }
    results.push(native)
  }

  const counts = results.map(r => r.count).filter((c): c is number => c != null)
  const agree = counts.length > 0 && counts.every(c => c === counts[0])
  const ratio = (r: EngineResult | null): number | null =>
    r?.numbersPerSecond != null && native?.numbersPerSecond != null ? r.numbersPerSecond / native.numbersPerSecond : null

  console.log(`interval [${lo}, ${hi})  length ${length}  runs ${runs} (best, warm)  slice ${slice} segment(s)`)
  const rows = results.map(r => [r.engine, r.count == null ? '-' : String(r.count), r.seconds == null ? '-' : r.seconds.toFixed(3),
    fmtRate(r.numbersPerSecond), ratio(r) == null ? '-' : ratio(r)!.toFixed(3), r.note ?? ''])
  const head = ['engine', 'primes', 'seconds', 'numbers/s', 'vs primesieve', '']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(row => row[i].length)))
  for (const row of [head, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd())
  console.log(`counts agree: ${agree ? 'yes' : 'NO'}`)
  const nodeRatio = ratio(node)
  const browserRatio = ratio(browser)
  if (nodeRatio != null) console.log(`kernel/primesieve (node):     ${nodeRatio.toFixed(3)}`)
  if (browserRatio != null) console.log(`kernel/primesieve (chromium): ${browserRatio.toFixed(3)}`)
  console.log(JSON.stringify({
    lo,
    hi,
    length,
    runs,
    slice,
    countsAgree: agree,
    count: counts[0] ?? null,
    nodeNumbersPerSecond: node.numbersPerSecond,
    chromiumNumbersPerSecond: browser?.numbersPerSecond ?? null,
    primesieveNumbersPerSecond: native?.numbersPerSecond ?? null,
    nodeVsPrimesieve: nodeRatio,
    chromiumVsPrimesieve: browserRatio,
    engines: results
  }))
  if (!agree) process.exitCode = 1
}

await main()
