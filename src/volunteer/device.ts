/**
 * What this page can run: the device (cores, memory, WebGPU adapter and its limits) and the
 * work/2.0.0 Capabilities built from it and from the runners the page has.
 */
import { KERNEL_ABI_VERSIONS, MATMUL_KERNEL_ID, PRIMES_KERNEL_ID } from '../protocol/index.ts'
import type { Backend, Capabilities, GpuAdapter } from '../protocol/index.ts'
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
  return { cores: Math.max(1, nav?.hardwareConcurrency ?? 2), memoryGiB: nav?.deviceMemory ?? null, gpu: null }
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
