/**
 * What this page can run: the device (cores, memory, WebGPU adapter and its limits) and the
 * work/2.0.0 Capabilities built from it and from the runners the page has.
 */
import { KERNEL_ABI_VERSIONS, MATMUL_KERNEL_ID, PRIMES_KERNEL_ID } from '../protocol/index.ts'
import type { Backend, Capabilities, GpuAdapter } from '../protocol/index.ts'
import type { GpuSlotStatus } from './gpu-slot.ts'
import type { DeviceInfo } from './state.ts'

/** The runners a page has (from its options). */
export interface PageRunners {
  /** WASM worker slots (primes-sieve/1). */
  wasmSlots: number
  /** A GPU worker (matmul-f32/1 on WebGPU, else WASM SIMD). */
  gpuWorker: boolean
  /** A researcher-kernel worker: the kernel ABI versions it runs (empty: none). */
  kernelAbis: readonly number[]
}

/** The WebGPU adapter as the page saw it: GPUAdapterInfo's strings and four limits (bytes / invocations). */
export interface AdapterInfo extends GpuAdapter {
  description: string
}

/** The researcher-kernel ABI versions workers/kernel-runner.ts runs. */
export const SUPPORTED_KERNEL_ABIS: readonly number[] = KERNEL_ABI_VERSIONS

/**
 * The Capabilities of a work/2.0.0 request. Backends: 'wasm' with WASM slots; 'webgpu' only with
 * a GPU worker AND an adapter. Kernels: primes-sieve/1 with WASM slots; matmul-f32/1 with a GPU
 * worker (it falls back to WASM SIMD without an adapter). kernelAbis only with a kernel worker.
 * @param memoryBytes the device's memory estimate in bytes (0: unknown)
 */
export function buildCapabilities (runners: PageRunners, adapter: AdapterInfo | null, memoryBytes: number): Capabilities {
  const backends: Backend[] = []
  const kernels: string[] = []
  if (runners.wasmSlots > 0) { backends.push('wasm'); kernels.push(PRIMES_KERNEL_ID) }
  const webgpu = runners.gpuWorker && adapter != null
  if (webgpu) backends.push('webgpu')
  if (runners.gpuWorker) kernels.push(MATMUL_KERNEL_ID)
  const caps: Capabilities = { backends, kernels, kernelAbis: [...runners.kernelAbis], memoryBytes: Math.max(0, Math.floor(memoryBytes)) }
  if (webgpu) {
    caps.gpu = {
      vendor: adapter.vendor,
      architecture: adapter.architecture,
      fallback: adapter.fallback,
      maxComputeWorkgroupStorageSize: adapter.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: adapter.maxComputeInvocationsPerWorkgroup,
      maxStorageBufferBindingSize: adapter.maxStorageBufferBindingSize,
      maxBufferSize: adapter.maxBufferSize
    }
  }
  return caps
}

/** navigator.deviceMemory (GiB, coarse) in bytes, or 0 where the browser does not say. */
export function memoryEstimateBytes (memoryGiB: number | null): number {
  return memoryGiB != null && Number.isFinite(memoryGiB) && memoryGiB > 0 ? Math.round(memoryGiB * 2 ** 30) : 0
}

interface NavigatorLike {
  hardwareConcurrency?: number
  deviceMemory?: number
  gpu?: { requestAdapter: () => Promise<AdapterLike | null> }
}
interface AdapterLike {
  info?: { vendor?: string, architecture?: string, description?: string, isFallbackAdapter?: boolean }
  isFallbackAdapter?: boolean
  limits?: Partial<Record<'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup' | 'maxStorageBufferBindingSize' | 'maxBufferSize', number>>
}

/** Cores and memory of this device, without the GPU (that takes probeAdapter). */
export function deviceInfo (nav: NavigatorLike | undefined = globalThis.navigator): DeviceInfo {
  return { cores: Math.max(1, nav?.hardwareConcurrency ?? 2), memoryGiB: nav?.deviceMemory ?? null, gpu: null, gpuProbed: false }
}

/**
 * Ask navigator.gpu for an adapter (at most `timeoutMs`, default 3 s). Null without WebGPU, without
 * an adapter, on error, or when `signal` aborts.
 */
export async function probeAdapter (signal: AbortSignal, nav: NavigatorLike | undefined = globalThis.navigator, timeoutMs = 3000): Promise<AdapterInfo | null> {
  const gpu = nav?.gpu
  if (gpu == null || signal.aborted) return null
  let timer: ReturnType<typeof setTimeout> | undefined
  let onAbort: (() => void) | undefined
  try {
    const adapter = await Promise.race([
      gpu.requestAdapter(),
      new Promise<null>(resolve => {
        timer = setTimeout(() => { resolve(null) }, timeoutMs)
        onAbort = () => { resolve(null) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
    if (adapter == null) return null
    const info = adapter.info
    const limit = (name: keyof NonNullable<AdapterLike['limits']>): number => Math.max(0, Math.floor(adapter.limits?.[name] ?? 0))
    return {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      description: info?.description ?? '',
      fallback: info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
      maxComputeWorkgroupStorageSize: limit('maxComputeWorkgroupStorageSize'),
      maxComputeInvocationsPerWorkgroup: limit('maxComputeInvocationsPerWorkgroup'),
      maxStorageBufferBindingSize: limit('maxStorageBufferBindingSize'),
      maxBufferSize: limit('maxBufferSize')
    }
  } catch {
    return null
  } finally {
    clearTimeout(timer)
    if (onAbort != null) signal.removeEventListener('abort', onAbort)
  }
}

/** The page's one statement of whether a GPU is used, in parts the page shows (see gpuStory). */
export interface GpuStory {
  /** 'gpu': matrix tiles run (or will run) on a hardware WebGPU adapter; 'software': on a fallback (software) adapter, i.e. on the CPU; 'cpu': on WebAssembly; 'unknown': the probe has not answered yet; 'none': this page runs no matrix tiles. */
  kind: 'gpu' | 'software' | 'cpu' | 'unknown' | 'none'
  /** The adapter, "vendor architecture description[, fallback adapter …]", or why there is none. */
  adapter: string
  /** Where matrix tiles run: 'WebGPU', 'WASM SIMD (reason)' after a fallback, or 'the CPU (WebAssembly)'. */
  backend: string
  /** The last tile's throughput, "x.xx GFLOP/s (backend), n tile(s)"; null before the first tile. */
  throughput: string | null
}

/** "vendor architecture description" of a probed adapter ('adapter' when all are empty). */
export function adapterName (gpu: NonNullable<DeviceInfo['gpu']>): string {
  return [gpu.vendor, gpu.architecture, gpu.description].filter(x => x !== '').join(' ') || 'adapter'
}

const FALLBACK_NOTE = ', fallback adapter (software: it runs on the CPU)'

/**
 * Whether this page uses a GPU, once: from the matrix slot's status once it has started (what
 * actually ran), else from the adapter the page found.
 * @param device the device (its probed adapter)
 * @param gemm the matrix slot's status, null when the page has no GPU worker
 */
export function gpuStory (device: DeviceInfo, gemm: GpuSlotStatus | null): GpuStory {
  if (gemm == null) return { kind: 'none', adapter: 'no GPU work on this page', backend: 'no matrix tiles', throughput: null }
  const throughput = gemm.tilesDone === 0 ? null : `${gemm.gflops.toFixed(2)} GFLOP/s (${gemm.backend}), ${gemm.tilesDone} tile(s)`
  const found = device.gpu
  if (gemm.backend === 'webgpu') {
    const fallback = gemm.fallbackAdapter === true
    return { kind: fallback ? 'software' : 'gpu', adapter: `${gemm.adapter ?? (found != null ? adapterName(found) : 'adapter')}${fallback ? FALLBACK_NOTE : ''}`, backend: 'WebGPU', throughput }
  }
  if (gemm.backend === 'wasm') {
    const adapter = gemm.adapter ?? (found != null ? adapterName(found) : 'no WebGPU adapter')
    return { kind: 'cpu', adapter, backend: `WASM SIMD${gemm.fallbackReason != null ? ` (${gemm.fallbackReason})` : ''}`, throughput }
  }
  if (found != null) return { kind: found.fallback ? 'software' : 'gpu', adapter: `${adapterName(found)}${found.fallback ? FALLBACK_NOTE : ''}`, backend: 'WebGPU', throughput }
  if (!device.gpuProbed) return { kind: 'unknown', adapter: 'looking for a WebGPU adapter', backend: 'WebGPU if one is found, else the CPU (WebAssembly)', throughput }
  return { kind: 'cpu', adapter: 'no WebGPU adapter', backend: 'the CPU (WebAssembly)', throughput }
}
