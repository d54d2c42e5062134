/**
 * GEMM throughput, side by side in one run: WebGPU (the `webgpu` package in Node: Dawn, here on
 * SwiftShader when there is no GPU — the adapter is printed), WASM SIMD and WASM scalar
 * (AssemblyScript kernels), at n = 256, 512, 1024, 2048 (C = A x B, n x n f32). Each figure is the
 * best of `--runs` timed runs after one warm-up; GFLOP/s = 2 n^3 / seconds. Each product is also
 * checked on sampled rows against a float64 reference (scaled residual printed), so a broken
 * kernel shows. The WebGPU and WASM engines run in two child processes (one per backend): in one
 * Node process, instantiating WASM next to Dawn/SwiftShader crashed Dawn here (futex /
 * std::system_error aborts), so each backend gets a clean process; the parent prints one table.
 *
 * Then the verification cost of the matmul job: for a 256 x n x 256 tile, the hub's Freivalds
 * check (20 vectors, src/hub/matmul-verify.ts) in ms beside the tile's compute ms on each backend.
 *
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node --import tsx bench/gemm.ts \
 *     [--sizes 256,512,1024,2048] [--runs 2] [--checks 20] [--tiled-max 512]
 *
 * The WebGPU row uses the shader the runtime picks (register-blocked on a fallback adapter,
 * tiled with workgroup memory otherwise); `--tiled-max` also times the tiled shader up to that n.
 * Prints a table and a last-line JSON summary. Needs build/kernels/gemm-*.wasm (built with asc if
 * missing).
 */
import { execFileSync } from 'node:child_process'
import { scaledResidual, sampleRows } from '../src/hub/matmul-reference.ts'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { create, globals } from 'webgpu'
import { freivaldsCheck } from '../src/hub/matmul-verify.ts'
import { generateMatrix } from '../src/protocol/matmul.ts'
import { GemmGpu } from '../workers/gemm-webgpu.ts'
import { instantiateGemmKernel } from '../workers/gemm-wasm.ts'

const ROOT = new URL('..', import.meta.url).pathname
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json'

const opts = new Command()
  .option('--sizes <list>', 'matrix sizes', '256,512,1024,2048')
  .option('--runs <n>', 'timed runs per engine and size (best is reported)', '2')
  .option('--checks <k>', 'Freivalds vectors', '20')
  .option('--tiled-max <n>', 'also time the tiled (workgroup-memory) shader up to this n', '512')
  .option('--part <backend>', 'internal: run only "gpu" or "wasm" engines and print their JSON')
  .parse(process.argv)
  .opts<{ sizes: string, runs: string, checks: string, tiledMax: string, part?: string }>()
const sizes = opts.sizes.split(',').map(Number)
const runs = Math.max(1, Number(opts.runs))
const checks = Number(opts.checks)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

interface Row { engine: string, n: number, ms: number, gflops: number, scaledResidual: number }
interface Verify { n: number, tile: string, engine: string, computeMs: number, freivaldsMs: number }
interface Part { adapter?: string, shader?: string, fallback?: boolean, rows: Row[], verify: Verify[] }
type Engine = { name: string, maxN?: number, run: (a: Float32Array, b: Float32Array, m: number, k: number, n: number) => Promise<Float32Array> }

async function measure (engines: Engine[]): Promise<Pick<Part, 'rows' | 'verify'>> {
  const rows: Row[] = []
  for (const n of sizes) {
    const A = generateMatrix(n, n, n, 0)
    const B = generateMatrix(n, n, n, 1)
    const sample = sampleRows(n, 4)
    for (const e of engines) {
      if (e.maxN != null && n > e.maxN) continue
      let c = await e.run(A.data, B.data, n, n, n) // warm-up
      let best = Infinity
      for (let r = 0; r < runs; r++) {
        const t = performance.now()
        c = await e.run(A.data, B.data, n, n, n)
        best = Math.min(best, performance.now() - t)
      }
      const res = scaledResidual(A, B, r => c.subarray(r * n, (r + 1) * n), sample)
      rows.push({ engine: e.name, n, ms: best, gflops: 2 * n ** 3 / best / 1e6, scaledResidual: res.scaledResidual })
      log(`n=${String(n).padStart(4)}  ${e.name.padEnd(22)} ${best.toFixed(1).padStart(9)} ms  ${(2 * n ** 3 / best / 1e6).toFixed(2).padStart(7)} GFLOP/s  scaled residual ${res.scaledResidual.toExponential(1)}`)
    }
  }
  // verification cost: one 256 x n x 256 tile, computed by the first engine, checked by Freivalds
  const verify: Verify[] = []
  const e = engines[0]
  for (const n of sizes) {
    const R = Math.min(256, n)
    const a = generateMatrix(R, n, 3, 0).data
    const b = generateMatrix(n, R, 3, 1).data
    let c = await e.run(a, b, R, n, R)
    const t0 = performance.now()
    c = await e.run(a, b, R, n, R)
    const computeMs = performance.now() - t0
    freivaldsCheck(a, b, c, R, n, R, { checks }) // warm-up
    let best = Infinity
    for (let r = 0; r < 3; r++) {
      const t = performance.now()
      const v = freivaldsCheck(a, b, c, R, n, R, { checks })
      best = Math.min(best, performance.now() - t)
      if (!v.ok) throw new Error(`Freivalds refused an honest ${e.name} tile: ${v.reason}`)
    }
    verify.push({ n, tile: `${R}x${n}x${R}`, engine: e.name, computeMs, freivaldsMs: best })
  }
  return { rows, verify }
}

if (opts.part === 'wasm') {
  for (const name of ['gemm-simd', 'gemm-scalar']) {
    if (!existsSync(join(ROOT, `build/kernels/${name}.wasm`))) {
      execFileSync(join(ROOT, 'node_modules/.bin/asc'), [`kernels/${name}.ts`, '--config', 'kernels/asconfig.json', '--target', name], { cwd: ROOT, stdio: 'inherit' })
    }
  }
  const simd = await instantiateGemmKernel(readFileSync(join(ROOT, 'build/kernels/gemm-simd.wasm')), 'simd')
  const scalar = await instantiateGemmKernel(readFileSync(join(ROOT, 'build/kernels/gemm-scalar.wasm')), 'scalar')
  const part = await measure([
    { name: 'wasm-simd', run: async (a, b, m, k, n) => simd.multiplySync(a, b, m, k, n) },
    { name: 'wasm-scalar', run: async (a, b, m, k, n) => scalar.multiplySync(a, b, m, k, n) }
  ])
  process.stdout.write(`${JSON.stringify(part)}\n`)
  process.exit(0)
}

if (opts.part === 'gpu') {
  Object.assign(globalThis, globals)
  const gpuApi = create([]) as unknown as GPU
  const shaders = { tiled: readFileSync(join(ROOT, 'kernels/gemm-tiled.wgsl'), 'utf8'), regblock: readFileSync(join(ROOT, 'kernels/gemm-regblock.wgsl'), 'utf8') }
  const gpu = await GemmGpu.create(gpuApi, shaders)
  if (gpu == null) { process.stdout.write(`${JSON.stringify({ adapter: 'none', rows: [], verify: [] })}\n`); process.exit(0) }
  const a = gpu.adapter
  const adapter = `${a.vendor} ${a.architecture} (${a.description})${a.isFallbackAdapter ? ', fallback adapter' : ''}`
  log(`adapter: ${adapter}; shader ${gpu.shader.key}`)
  const engines: Engine[] = [{ name: `webgpu ${gpu.shader.key.split('/')[0]}`, run: async (x, y, m, k, n) => await gpu.multiply(x, y, m, k, n) }]
  if (gpu.shader.key.startsWith('gemm-regblock')) {
    // the tiled shader on the same adapter (its own device), for comparison, up to --tiled-max
    const tiled = await GemmGpu.create(gpuApi, shaders, { variant: 'tiled' })
    if (tiled != null) engines.push({ name: 'webgpu gemm-tiled', maxN: Number(opts.tiledMax), run: async (x, y, m, k, n) => await tiled.multiply(x, y, m, k, n) })
  }
  const part = await measure(engines)
  process.stdout.write(`${JSON.stringify({ adapter, shader: gpu.shader.key, fallback: a.isFallbackAdapter, ...part })}\n`)
  process.exit(0)
}

// parent: one child per backend, then one table
const child = (part: string): Part => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--part', part,
    '--sizes', opts.sizes, '--runs', opts.runs, '--checks', opts.checks, '--tiled-max', opts.tiledMax],
  { cwd: ROOT, env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 })
  return JSON.parse(out.toString().trim().split('\n').pop() as string) as Part
}
const gpuPart = child('gpu')
const wasmPart = child('wasm')
const rows = [...gpuPart.rows, ...wasmPart.rows]
const engines = [...new Set(rows.map(r => r.engine))]
const lines: string[] = []
lines.push(`GEMM C = A x B, n x n f32 — GFLOP/s (best of ${runs}); WebGPU adapter: ${gpuPart.adapter ?? 'none'}${gpuPart.fallback === true ? ' — SwiftShader on the CPU, no GPU on this machine' : ''}`)
lines.push(['n'.padStart(6), ...engines.map(e => e.padStart(22))].join(' '))
for (const n of sizes) {
  lines.push([String(n).padStart(6), ...engines.map(e => {
    const r = rows.find(x => x.engine === e && x.n === n)
    return (r == null ? '–' : r.gflops.toFixed(2)).padStart(22)
  })].join(' '))
}
lines.push('')
lines.push(`Verification cost per tile (Freivalds, ${checks} vectors, hub-side float64) beside the tile's compute time:`)
lines.push(['tile'.padStart(14), 'freivalds ms'.padStart(13), ...[...gpuPart.verify, ...wasmPart.verify].map(v => v.engine).filter((e, i, all) => all.indexOf(e) === i).map(e => `${e} ms`.padStart(24))].join(' '))
for (const n of sizes) {
  const vs = [...gpuPart.verify, ...wasmPart.verify].filter(v => v.n === n)
  if (vs.length === 0) continue
  lines.push([vs[0].tile.padStart(14), Math.min(...vs.map(v => v.freivaldsMs)).toFixed(1).padStart(13), ...vs.map(v => v.computeMs.toFixed(1).padStart(24))].join(' '))
}
process.stderr.write(`${lines.join('\n')}\n`)
process.stdout.write(`${JSON.stringify({ bench: 'gemm', adapter: gpuPart.adapter, webgpuShader: gpuPart.shader, swiftshader: gpuPart.fallback === true, results: rows, verification: [...gpuPart.verify, ...wasmPart.verify] })}\n`)
