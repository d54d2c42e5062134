/**
 * Web Worker entry point (comlink `expose`) for kernel `matmul-f32/1`: runs one tile product at a
 * time on WebGPU (workers/gemm-webgpu.ts) and falls back to the WASM SIMD kernel
 * (workers/gemm-wasm.ts) when the browser has no WebGPU adapter, or once the device is lost — the
 * tile that was running when the device was lost is recomputed on WASM, so no work unit is lost.
 * Receives typed arrays and numbers, never protocol objects.
 */
import { expose } from 'comlink'
import tiledWgsl from '../kernels/gemm-tiled.wgsl?raw'
import regblockWgsl from '../kernels/gemm-regblock.wgsl?raw'
import simdWasmUrl from '../build/kernels/gemm-simd.wasm?url'
import { GemmGpu, GpuDeviceLostError } from './gemm-webgpu.ts'
import { instantiateGemmKernel } from './gemm-wasm.ts'
import type { GpuAdapterSummary } from './gemm-webgpu.ts'
import type { GemmWasm } from './gemm-wasm.ts'

export type GemmBackend = 'webgpu' | 'wasm'

export interface GpuRunnerInfo {
  backend: GemmBackend
  /** The adapter in use (or last used), null without WebGPU. */
  adapter: GpuAdapterSummary | null
  /** Why the runner is on WASM ('no WebGPU in this browser', 'GPU device lost (...)'), else null. */
  fallbackReason: string | null
}

export interface GpuRunnerInit {
  /** Use WebGPU when available (default true). */
  preferGpu?: boolean
  /** Test hook: destroy the GPU device during the n-th tile (1-based), after its first dispatch. */
  loseDeviceAtTile?: number
}

export interface TileReport {
  c: Float32Array
  backend: GemmBackend
  /** Compute time of the tile (excluding transfers into the worker), ms. */
  computeMs: number
  /** Set when the device was lost during this tile and it was recomputed on WASM. */
  fellBack: string | null
}

let gpu: GemmGpu | undefined
let wasm: GemmWasm | undefined
let info: GpuRunnerInfo = { backend: 'wasm', adapter: null, fallbackReason: 'not initialised' }
let tiles = 0
let loseAt = 0

async function ensureWasm (): Promise<GemmWasm> {
  if (wasm != null) return wasm
  const response = await fetch(simdWasmUrl)
  if (!response.ok) throw new Error(`gemm kernel fetch failed: HTTP ${response.status}`)
  wasm = await instantiateGemmKernel(await response.arrayBuffer(), 'simd')
  return wasm
}

export const gpuRunner = {
  /** Request an adapter and device (if allowed and present) and load the WASM fallback. */
  async init (opts: GpuRunnerInit = {}): Promise<GpuRunnerInfo> {
    loseAt = opts.loseDeviceAtTile ?? 0
    await ensureWasm()
    if (opts.preferGpu === false) {
      info = { backend: 'wasm', adapter: null, fallbackReason: 'WebGPU disabled' }
      return info
    }
    const navGpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu
    try {
      gpu = await GemmGpu.create(navGpu, { tiled: tiledWgsl, regblock: regblockWgsl })
    } catch (err) {
      gpu = undefined
      info = { backend: 'wasm', adapter: null, fallbackReason: `WebGPU device request failed: ${(err as Error).message}` }
      return info
    }
    info = gpu == null
      ? { backend: 'wasm', adapter: null, fallbackReason: navGpu == null ? 'no WebGPU in this browser' : 'no WebGPU adapter' }
      : { backend: 'webgpu', adapter: gpu.adapter, fallbackReason: null }
    return info
  },

  info (): GpuRunnerInfo {
    return info
  },

  /** C = A x B for one tile (R x k times k x S). */
  async multiply (a: Float32Array, b: Float32Array, R: number, k: number, S: number): Promise<TileReport> {
    tiles++
    const t0 = performance.now()
    if (gpu != null && gpu.lostReason == null) {
      const thisTile = tiles
      try {
        const c = await gpu.multiply(a, b, R, k, S, {
          onProgress: () => { if (loseAt > 0 && thisTile === loseAt) { loseAt = 0; gpu?.destroy() } }
        })
        return { c, backend: 'webgpu', computeMs: performance.now() - t0, fellBack: null }
      } catch (err) {
        if (!(err instanceof GpuDeviceLostError) && gpu.lostReason == null) throw err
        const reason = gpu.lostReason != null ? `GPU device lost (${gpu.lostReason})` : (err as Error).message
        info = { backend: 'wasm', adapter: info.adapter, fallbackReason: reason }
        gpu = undefined
        const w = await ensureWasm()
        const t1 = performance.now()
        const c = await w.multiply(a, b, R, k, S)
        return { c, backend: 'wasm', computeMs: performance.now() - t1, fellBack: reason }
      }
    }
    const w = await ensureWasm()
    const c = await w.multiply(a, b, R, k, S)
    return { c, backend: 'wasm', computeMs: performance.now() - t0, fellBack: null }
  }
}

export type GpuRunner = typeof gpuRunner

expose(gpuRunner)
