/**
 * GEMM kernels in Node: the WGSL kernels through the `webgpu` package (Dawn on SwiftShader, no
 * GPU needed), and the AssemblyScript WASM kernels (SIMD and scalar), against a float64
 * reference within the documented f32 bound (productErrorBound) on awkward shapes. Device loss:
 * destroying the device during a multi-dispatch product rejects it with GpuDeviceLostError.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { create, globals } from 'webgpu'
import { generateMatrix } from '../src/protocol/matmul.ts'
import { productErrorBound, referenceProduct } from '../src/hub/matmul-reference.ts'
import { GEMM_REGBLOCK, GEMM_TILED, GemmGpu, GpuDeviceLostError } from '../workers/gemm-webgpu.ts'
import { instantiateGemmKernel } from '../workers/gemm-wasm.ts'
import { REPO_ROOT } from './helpers.ts'
import type { GemmWasm } from '../workers/gemm-wasm.ts'

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json'
Object.assign(globalThis, globals)

const SHAPES: Array<[number, number, number]> = [[1, 1, 1], [17, 33, 5], [257, 129, 511], [100, 100, 100]]
const shaders = {
  tiled: readFileSync(join(REPO_ROOT, 'kernels/gemm-tiled.wgsl'), 'utf8'),
  regblock: readFileSync(join(REPO_ROOT, 'kernels/gemm-regblock.wgsl'), 'utf8')
}
let gpu: GPU
const runtimes: GemmGpu[] = []
let simd: GemmWasm
let scalar: GemmWasm

beforeAll(async () => {
  gpu = create([]) as unknown as GPU
  simd = await instantiateGemmKernel(readFileSync(join(REPO_ROOT, 'build/kernels/gemm-simd.wasm')), 'simd')
  scalar = await instantiateGemmKernel(readFileSync(join(REPO_ROOT, 'build/kernels/gemm-scalar.wasm')), 'scalar')
})

afterAll(() => {
  for (const r of runtimes) if (r.lostReason == null) r.destroy()
})

function expectWithinBound (c: Float32Array, m: number, k: number, n: number, seed: number): void {
  const a = generateMatrix(m, k, seed, 0)
  const b = generateMatrix(k, n, seed, 1)
  const ref = referenceProduct(a, b)
  const bound = productErrorBound(a, b)
  expect(c.length).toBe(m * n)
  let worst = 0
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(c[i] - ref[i])
    if (!(e <= bound[i])) throw new Error(`element ${i} (${Math.floor(i / n)}, ${i % n}) of ${m}x${k}x${n}: error ${e} > bound ${bound[i]}`)
    worst = Math.max(worst, e / bound[i])
  }
  expect(worst).toBeLessThan(1)
}

describe('WebGPU GEMM in Node (webgpu package, SwiftShader)', () => {
  for (const variant of ['tiled', 'regblock'] as const) {
    it(`${variant} shader matches the float64 reference within the f32 bound on awkward shapes`, async () => {
      const g = await GemmGpu.create(gpu, shaders, { variant })
      expect(g).toBeDefined()
      runtimes.push(g!)
      expect(g!.shader.key).toBe(variant === 'tiled' ? GEMM_TILED.key : GEMM_REGBLOCK.key)
      expect(g!.adapter.isFallbackAdapter).toBe(true)
      for (const [m, k, n] of SHAPES) {
        const seed = m * 7 + n
        const c = await g!.multiply(generateMatrix(m, k, seed, 0).data, generateMatrix(k, n, seed, 1).data, m, k, n)
        expectWithinBound(c, m, k, n, seed)
      }
    })
  }

  it('splits a product into many short dispatches (k-split included) and still matches', async () => {
    // a 4 MFLOP budget forces row bands and k-chunks that add into C
    const g = await GemmGpu.create(gpu, shaders, { variant: 'tiled', initialDispatchFlops: 4e6, targetDispatchMs: 1 })
    runtimes.push(g!)
    const [m, k, n] = [130, 700, 140]
    const stats = { dispatches: 0, maxDispatchMs: 0 }
    const c = await g!.multiply(generateMatrix(m, k, 5, 0).data, generateMatrix(k, n, 5, 1).data, m, k, n, { stats })
    expect(stats.dispatches).toBeGreaterThan(3)
    expect(stats.maxDispatchMs).toBeLessThan(1000)
    expectWithinBound(c, m, k, n, 5)
  })

  it('device.destroy() during a product rejects it with GpuDeviceLostError, and the runtime stays lost', async () => {
    const g = await GemmGpu.create(gpu, shaders, { initialDispatchFlops: 4e6, targetDispatchMs: 1 })
    runtimes.push(g!)
    const [m, k, n] = [256, 256, 256]
    let destroyed = false
    const run = g!.multiply(generateMatrix(m, k, 1, 0).data, generateMatrix(k, n, 1, 1).data, m, k, n, {
      onProgress: () => { if (!destroyed) { destroyed = true; g!.destroy() } }
    })
    await expect(run).rejects.toBeInstanceOf(GpuDeviceLostError)
    expect(g!.lostReason).toMatch(/destroyed/)
    await expect(g!.multiply(new Float32Array(1), new Float32Array(1), 1, 1, 1)).rejects.toBeInstanceOf(GpuDeviceLostError)
    // the fallback computes the same product within the bound
    expectWithinBound(await simd.multiply(generateMatrix(m, k, 1, 0).data, generateMatrix(k, n, 1, 1).data, m, k, n), m, k, n, 1)
  })
})

describe('WASM GEMM kernels', () => {
  for (const name of ['simd', 'scalar'] as const) {
    it(`${name} matches the float64 reference within the f32 bound on awkward shapes`, async () => {
      const kernel = name === 'simd' ? simd : scalar
      for (const [m, k, n] of [...SHAPES, [13, 9, 7] as [number, number, number]]) {
        const seed = m * 7 + n
        expectWithinBound(await kernel.multiply(generateMatrix(m, k, seed, 0).data, generateMatrix(k, n, seed, 1).data, m, k, n), m, k, n, seed)
      }
    })
  }

  it('the SIMD module uses v128 instructions and imports nothing but env.abort', () => {
    const bytes = readFileSync(join(REPO_ROOT, 'build/kernels/gemm-simd.wasm'))
    const module = new WebAssembly.Module(bytes)
    expect(WebAssembly.Module.imports(module).every(i => `${i.module}.${i.name}` === 'env.abort')).toBe(true)
    expect(readFileSync(join(REPO_ROOT, 'build/kernels/gemm-simd.wat'), 'utf8')).toMatch(/f32x4\.mul/)
    expect(readFileSync(join(REPO_ROOT, 'build/kernels/gemm-scalar.wat'), 'utf8')).not.toMatch(/f32x4/)
  })
})
