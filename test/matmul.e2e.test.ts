import { inspect } from './hub-fixtures.ts'
/**
 * Matmul end to end in headless Chromium (WebGPU on SwiftShader via --enable-unsafe-webgpu): a
 * visitor page computes tiles on its GPU worker; products of awkward shapes (1x1, 17x33 x 33x5,
 * 257x129 x 129x511 as single tiles, and 300x300 in 128-tiles) match a float64 reference within
 * the documented f32 bound; the page shows the adapter and GFLOP/s. Then a real device loss
 * (device.destroy() in the worker, during the 2nd tile) falls back to WASM: the interrupted tile
 * is recomputed, the job completes with the right product, and the page says it runs on WASM.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { productErrorBound, referenceProduct } from '../src/hub/matmul-reference.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { decodeMatrix, generateMatrix } from '../src/protocol/matmul.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Matrix } from '../src/protocol/matmul.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let hub: RunningHub
let browser: Browser

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

async function openVolunteer (query: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${hub.url}?workers=1${query}`)
  await page.waitForSelector('body[data-ready="true"]')
  await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
  await page.getByRole('button', { name: 'Start' }).click()
  return page
}

async function expectProduct (jobId: string, a: Matrix, b: Matrix): Promise<void> {
  const out = (await hub.core.jobStatus(jobId))!.output as { outputPath: string }
  const c = decodeMatrix(readFileSync(out.outputPath), 'C')
  expect([c.rows, c.cols]).toEqual([a.rows, b.cols])
  const ref = referenceProduct(a, b)
  const bound = productErrorBound(a, b)
  for (let i = 0; i < ref.length; i++) {
    if (!(Math.abs(c.data[i] - ref[i]) <= bound[i])) throw new Error(`${jobId}: element ${i} off by ${Math.abs(c.data[i] - ref[i])} > ${bound[i]}`)
  }
}

/**
 * Canonical tiles per backend (`webgpu` or `wasm`). Each WebGPU result must carry the real device
 * class of its adapter, `webgpu:<vendor>/<architecture>` (SwiftShader here), never a bare `webgpu`.
 */
function tilesByClass (jobId: string): Record<string, number> {
  const rows = inspect(hub.core).all<{ device_class: string, n: number }>(`SELECT r.device_class, count(*) AS n FROM work_units w
    JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ? GROUP BY r.device_class`, jobId)
  const byBackend: Record<string, number> = {}
  for (const r of rows) {
    if (r.device_class !== 'wasm') expect(r.device_class).toMatch(/^webgpu:google\/swiftshader$/)
    const backend = r.device_class === 'wasm' ? 'wasm' : 'webgpu'
    byBackend[backend] = (byBackend[backend] ?? 0) + r.n
  }
  return byBackend
}

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
  hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
  // co-located headless volunteers must not pause on their own CPU pressure (see demo-matmul.ts)
  browser = await launchChromium({ extraArgs: ['--disable-blink-features=ComputePressure'] })
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('matmul in headless Chromium', () => {
  const pages: Page[] = []

  it('computes awkward shapes on WebGPU (SwiftShader) within the f32 bound and shows the adapter and GFLOP/s', async () => {
    const cases: Array<[number, number, number, number]> = [[1, 1, 1, 512], [17, 33, 5, 512], [257, 129, 511, 512], [300, 300, 300, 128]]
    const jobs = []
    for (const [i, [m, k, n, tile]] of cases.entries()) {
      const a = generateMatrix(m, k, 100 + i, 0)
      const b = generateMatrix(k, n, 100 + i, 1)
      jobs.push({ a, b, id: (await hub.core.createMatmulJob({ a, b, tile })).id })
    }
    pages.push(await openVolunteer(''))
    for (const job of jobs) {
      await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 90_000, interval: 250 }).toBe('complete')
      await expectProduct(job.id, job.a, job.b)
      expect(tilesByClass(job.id)).toEqual({ webgpu: (await hub.core.jobStatus(job.id))!.workUnits })
    }
    expect((await hub.core.jobStatus(jobs[3].id))!.workUnits).toBe(9)
    const page = pages[0]
    expect(await readField(page, 'gemmBackend')).toBe('WebGPU')
    expect(await readField(page, 'gemmAdapter')).toMatch(/swiftshader.*fallback adapter/i)
    expect(await readField(page, 'gemmGflops')).toMatch(/^\d+\.\d\d GFLOP\/s \(webgpu\), \d+ tile\(s\)$/)
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect.poll(async () => readField(page, 'run')).toBe('stopped')
  })

  it('a GPU device lost in the middle of a job falls back to WASM and the job completes with the right product', async () => {
    const a = generateMatrix(192, 160, 7, 0)
    const b = generateMatrix(160, 192, 7, 1)
    const job = await hub.core.createMatmulJob({ a, b, tile: 64 })
    // destroy the worker's GPU device during its 2nd tile
    const page = await openVolunteer('&loseGpuAtTile=2')
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 90_000, interval: 250 }).toBe('complete')
    await expectProduct(job.id, a, b)
    const classes = tilesByClass(job.id)
    expect(classes.webgpu).toBe(1)
    expect(classes.wasm).toBe(8)
    expect((await hub.core.jobStatus(job.id))!.invalidResults).toBe(0)
    expect(await readField(page, 'gemmBackend')).toMatch(/^WASM SIMD \(GPU device lost \(destroyed/)
    expect(await page.locator('body').getAttribute('data-gemm-backend')).toBe('wasm')
  })
})
