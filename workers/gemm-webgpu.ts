import type { ErrorName } from '../src/protocol/index.ts'
/// <reference types="@webgpu/types" />
/**
 * WebGPU GEMM runtime for kernel `matmul-f32/1`: one adapter and device, pipelines cached by a
 * shader key, storage buffers pooled, large products cut into dispatches that each stay far
 * below the GPU watchdog, and device loss surfaced as {@link GpuDeviceLostError} so the caller
 * can fall back to WASM. Works in a Web Worker (navigator.gpu) and in Node (the `webgpu`
 * package); it gets the `GPU` object and the WGSL source from its caller.
 *
 * - The device is requested with no optional features and with exactly the adapter's own
 *   maxStorageBufferBindingSize and maxBufferSize (never more than the adapter has).
 * - Dispatch sizing: the first dispatch is at most `initialDispatchFlops` (32 MFLOP); after each
 *   one the measured rate sets the next budget to `targetDispatchMs` (100 ms) of work, clamped to
 *   [4 MFLOP, 4 GFLOP]. A dispatch is a band of 64-row blocks over all of k, or, when even one
 *   band is over budget, a band over a k-range (16-aligned) that adds into C.
 * - Every await on the GPU races the device's `lost` promise: a lost device (driver reset, or
 *   `device.destroy()`) rejects the running multiply at once with GpuDeviceLostError.
 */

/** A GEMM shader and the block of C one workgroup computes. Shader sources come from kernels/*.wgsl. */
export interface GemmShader {
  /** Pipeline cache key. */
  key: string
  source: string
  /** Rows and columns of C per workgroup. */
  blockRows: number
  blockCols: number
}

/** kernels/gemm-tiled.wgsl: workgroup memory + 4 x 4 register blocks (for real GPUs). */
export const GEMM_TILED = { key: 'gemm-tiled/v1/wg16x16/b64x64x16', blockRows: 64, blockCols: 64 }
/** kernels/gemm-regblock.wgsl: 4 x 4 register blocks, no workgroup memory (for CPU-emulated adapters). */
export const GEMM_REGBLOCK = { key: 'gemm-regblock/v1/wg8x8/b32x32', blockRows: 32, blockCols: 32 }
/** k-split granularity (the tiled shader's k step). */
const BK = 16

/** The device was lost (or destroyed) before the product was read back. */
export class GpuDeviceLostError extends Error {
  static override readonly name: ErrorName = 'GpuDeviceLostError'
  override readonly name: ErrorName = 'GpuDeviceLostError'
  constructor (message: string) {
    super(message)
  }
}

/** What the page shows about the adapter. */
export interface GpuAdapterSummary {
  vendor: string
  architecture: string
  device: string
  description: string
  isFallbackAdapter: boolean
}

/** WGSL sources of kernels/gemm-tiled.wgsl and (optionally) kernels/gemm-regblock.wgsl. */
export interface GemmShaderSources {
  tiled: string
  regblock?: string
}

export interface GemmGpuOptions {
  /** 'auto' (default): regblock on a fallback adapter when its source is given, else tiled. */
  variant?: 'auto' | 'tiled' | 'regblock'
  initialDispatchFlops?: number
  targetDispatchMs?: number
  /** Bytes of idle buffers kept in the pool (default 256 MiB). */
  poolBytes?: number
}

export interface GpuMultiplyStats {
  dispatches: number
  /** Longest single dispatch, ms (submit to onSubmittedWorkDone). */
  maxDispatchMs: number
}

/** Summarise an adapter (Chromium puts isFallbackAdapter on adapter.info, older builds on the adapter). */
export function summariseAdapter (adapter: GPUAdapter): GpuAdapterSummary {
  const info = (adapter as unknown as { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info
  const fallback = info?.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(fallback)
  }
}

class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>()
  private idleBytes = 0
  constructor (private readonly device: GPUDevice, private readonly maxIdleBytes: number) {}

  acquire (size: number, usage: number): GPUBuffer {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16)
    const key = `${usage}:${bytes}`
    const list = this.free.get(key)
    const buf = list?.pop()
    if (buf != null) {
      this.idleBytes -= bytes
      return buf
    }
    return this.device.createBuffer({ size: bytes, usage })
  }

  release (buf: GPUBuffer): void {
    if (this.idleBytes + buf.size > this.maxIdleBytes) { buf.destroy(); return }
    const key = `${buf.usage}:${buf.size}`
    let list = this.free.get(key)
    if (list == null) { list = []; this.free.set(key, list) }
    list.push(buf)
    this.idleBytes += buf.size
  }

  clear (): void {
    for (const list of this.free.values()) for (const b of list) b.destroy()
    this.free.clear()
    this.idleBytes = 0
  }
}

export class GemmGpu {
  readonly adapter: GpuAdapterSummary
  /** Set once the device is lost; the runtime is then unusable. */
  lostReason: string | null = null
  private readonly pipelines = new Map<string, GPUComputePipeline>()
  private readonly pool: BufferPool
  private readonly lost: Promise<never>
  private dispatchFlops: number
  private readonly targetMs: number
  private busy = false
  /** The shader in use: the tiled one, or the register-blocked one on a fallback (CPU) adapter. */
  readonly shader: GemmShader

  private constructor (readonly device: GPUDevice, adapter: GPUAdapter, shaders: GemmShaderSources, opts: GemmGpuOptions) {
    this.adapter = summariseAdapter(adapter)
    const variant = opts.variant ?? 'auto'
    const useRegblock = shaders.regblock != null && (variant === 'regblock' || (variant === 'auto' && this.adapter.isFallbackAdapter))
    this.shader = useRegblock ? { ...GEMM_REGBLOCK, source: shaders.regblock as string } : { ...GEMM_TILED, source: shaders.tiled }
    this.pool = new BufferPool(device, opts.poolBytes ?? 256 * 1024 * 1024)
    this.dispatchFlops = opts.initialDispatchFlops ?? 32e6
    this.targetMs = opts.targetDispatchMs ?? 100
    this.lost = device.lost.then(info => {
      this.lostReason = `${info.reason}: ${info.message}`
      this.pipelines.clear()
      throw new GpuDeviceLostError(`GPU device lost (${this.lostReason})`)
    })
    this.lost.catch(() => {})
  }

  /**
   * Request an adapter and a device (no optional features; the adapter's own buffer limits).
   * @returns undefined when there is no WebGPU adapter
   */
  static async create (gpu: GPU | undefined, shaders: GemmShaderSources, opts: GemmGpuOptions = {}): Promise<GemmGpu | undefined> {
    if (gpu == null) return undefined
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (adapter == null) return undefined
    if (adapter.limits.maxComputeInvocationsPerWorkgroup < 256 || adapter.limits.maxComputeWorkgroupStorageSize < 8192) return undefined
    const device = await adapter.requestDevice({
      requiredFeatures: [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize
      }
    })
    return new GemmGpu(device, adapter, shaders, opts)
  }

  /** The compute pipeline for a shader key, compiled once. */
  private pipeline (shader: GemmShader): GPUComputePipeline {
    const key = shader.key
    let p = this.pipelines.get(key)
    if (p == null) {
      const module = this.device.createShaderModule({ code: shader.source, label: key })
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key })
      this.pipelines.set(key, p)
    }
    return p
  }

  private async race<T> (p: Promise<T>): Promise<T> {
    return await Promise.race([p, this.lost])
  }

  /**
   * C = A x B (m x k times k x n, row-major f32) on the GPU.
   * @throws GpuDeviceLostError when the device is lost meanwhile; RangeError for bad shapes or
   *   matrices larger than the device's binding limit
   */
  async multiply (a: Float32Array, b: Float32Array, m: number, k: number, n: number,
    opts: { signal?: AbortSignal, onProgress?: (doneFlops: number, totalFlops: number) => void, stats?: GpuMultiplyStats } = {}): Promise<Float32Array> {
    if (this.lostReason != null) throw new GpuDeviceLostError(`GPU device lost (${this.lostReason})`)
    if (a.length !== m * k || b.length !== k * n) throw new RangeError(`operands do not match ${m} x ${k} x ${n}`)
    const maxBinding = this.device.limits.maxStorageBufferBindingSize
    for (const bytes of [4 * m * k, 4 * k * n, 4 * m * n]) {
      if (bytes > maxBinding) throw new RangeError(`a ${bytes}-byte operand exceeds the device's maxStorageBufferBindingSize ${maxBinding}`)
    }
    if (this.busy) throw new Error('GPU GEMM is busy')
    this.busy = true
    const { device } = this
    const S = GPUBufferUsage.STORAGE
    const bufA = this.pool.acquire(4 * m * k, S | GPUBufferUsage.COPY_DST)
    const bufB = this.pool.acquire(4 * k * n, S | GPUBufferUsage.COPY_DST)
    const bufC = this.pool.acquire(4 * m * n, S | GPUBufferUsage.COPY_SRC)
    const uniform = this.pool.acquire(32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST)
    const readback = this.pool.acquire(4 * m * n, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST)
    try {
      device.pushErrorScope('validation')
      device.pushErrorScope('out-of-memory')
      device.queue.writeBuffer(bufA, 0, a.buffer, a.byteOffset, a.byteLength)
      device.queue.writeBuffer(bufB, 0, b.buffer, b.byteOffset, b.byteLength)
      const pipeline = this.pipeline(this.shader)
      const BM = this.shader.blockRows
      const BN = this.shader.blockCols
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: bufA, size: Math.max(4, 4 * m * k) } },
          { binding: 1, resource: { buffer: bufB, size: Math.max(4, 4 * k * n) } },
          { binding: 2, resource: { buffer: bufC, size: Math.max(4, 4 * m * n) } },
          { binding: 3, resource: { buffer: uniform } }
        ]
      })
      const totalFlops = 2 * m * k * n
      let doneFlops = 0
      let row = 0
      while (row < m) {
        // rows in this band: whole 64-row blocks within the flop budget, at least one block
        const bandFlopsPerBlock = 2 * BM * k * n
        const blocks = Math.max(1, Math.floor(this.dispatchFlops / bandFlopsPerBlock))
        const rowEnd = Math.min(m, row + blocks * BM)
        // k-split when a single 64-row block over all of k is over budget
        const kStep = blocks === 1 && bandFlopsPerBlock > this.dispatchFlops
          ? Math.max(BK, Math.floor(this.dispatchFlops / (2 * BM * n) / BK) * BK)
          : k
        for (let k0 = 0; k0 < k; k0 += kStep) {
          if (opts.signal?.aborted) throw opts.signal.reason
          const k1 = Math.min(k, k0 + kStep)
          device.queue.writeBuffer(uniform, 0, new Uint32Array([m, n, k, row, rowEnd, k0, k1, k0 > 0 ? 1 : 0]))
          const enc = device.createCommandEncoder()
          const pass = enc.beginComputePass()
          pass.setPipeline(pipeline)
          pass.setBindGroup(0, bindGroup)
          pass.dispatchWorkgroups(Math.ceil(n / BN), Math.ceil((rowEnd - row) / BM))
          pass.end()
          const t0 = performance.now()
          device.queue.submit([enc.finish()])
          await this.race(device.queue.onSubmittedWorkDone())
          const ms = performance.now() - t0
          const flops = 2 * (rowEnd - row) * (k1 - k0) * n
          if (opts.stats != null) { opts.stats.dispatches++; opts.stats.maxDispatchMs = Math.max(opts.stats.maxDispatchMs, ms) }
          const rate = flops / Math.max(ms, 0.5)
          this.dispatchFlops = Math.min(4e9, Math.max(4e6, rate * this.targetMs))
          doneFlops += flops
          opts.onProgress?.(doneFlops, totalFlops)
        }
        row = rowEnd
      }
      const enc = device.createCommandEncoder()
      enc.copyBufferToBuffer(bufC, 0, readback, 0, Math.max(4, 4 * m * n))
      device.queue.submit([enc.finish()])
      const oom = await this.race(device.popErrorScope())
      const invalid = await this.race(device.popErrorScope())
      if (oom != null) throw new Error(`GPU out of memory: ${oom.message}`)
      if (invalid != null) throw new Error(`GPU validation error: ${invalid.message}`)
      await this.race(readback.mapAsync(GPUMapMode.READ, 0, Math.max(4, 4 * m * n)))
      const out = new Float32Array(readback.getMappedRange(0, Math.max(4, 4 * m * n)).slice(0, 4 * m * n))
      readback.unmap()
      return out
    } catch (err) {
      if (this.lostReason != null && !(err instanceof GpuDeviceLostError)) throw new GpuDeviceLostError(`GPU device lost (${this.lostReason}): ${(err as Error)?.message}`)
      throw err
    } finally {
      this.busy = false
      if (this.lostReason == null) {
        for (const buf of [bufA, bufB, bufC, uniform, readback]) this.pool.release(buf)
      }
    }
  }

  /** Destroy the device on purpose (tests cause device loss this way) or on shutdown. */
  destroy (): void {
    this.pool.clear()
    this.device.destroy()
  }
}
