/**
 * The GPU slot: one Web Worker (workers/gpu-runner.ts) that runs `matmul-f32/1` tiles on WebGPU,
 * or on the WASM SIMD kernel when the browser has no WebGPU or the device was lost (the worker
 * recomputes the interrupted tile, so the lease is never lost). Tiles run one at a time, in
 * arrival order, whichever worker slot leased them.
 *
 * For each lease: decode the tile input, fetch the A and B blocks by CID (the caller's fetcher:
 * `/sparecycles/blob/1.0.0`, hash-checked, cached), transfer them to the worker, encode the tile
 * with its shape header. The report carries the device class that actually computed the tile
 * ('webgpu' or 'wasm'). A run past the lease deadline terminates the worker (client error); a
 * stop terminates it at once (RunAbortedError); a blob fetch failure is transient (KernelLoadError,
 * the lease is kept and retried).
 */
import { transfer, wrap } from 'comlink'
import { MATMUL_KERNEL_ID, decodeTileInput, encodeTileOutput, tileFlops } from '../protocol/index.ts'
import { KernelLoadError, RunAbortedError } from './task-runner.ts'
import type { DeviceClass } from '../protocol/index.ts'
import type { RunReport, RunnableUnit, WorkerFactory } from './task-runner.ts'
import type { GpuRunner, GpuRunnerInfo, GpuRunnerInit } from '../../workers/gpu-runner.ts'
import type { Remote } from 'comlink'

export interface GpuSlotStatus {
  /** 'webgpu' or 'wasm' (fallback); 'none' before the worker started. */
  backend: 'webgpu' | 'wasm' | 'none'
  /** Adapter as "vendor architecture (description)", or null. */
  adapter: string | null
  /** Whether the adapter is a fallback (software) adapter, null without one. */
  fallbackAdapter: boolean | null
  /** Why the slot runs on WASM, or null. */
  fallbackReason: string | null
  /** Throughput of the last tile, GFLOP/s (0 before the first). */
  gflops: number
  tilesDone: number
}

export interface GpuRunReport extends RunReport {
  deviceClass: DeviceClass
}

export class GpuSlot {
  private worker: Worker | undefined
  private remote: Remote<GpuRunner> | undefined
  private queue: Promise<unknown> = Promise.resolve()
  readonly status: GpuSlotStatus = { backend: 'none', adapter: null, fallbackAdapter: null, fallbackReason: null, gflops: 0, tilesDone: 0 }

  constructor (
    private readonly createWorker: WorkerFactory,
    private readonly init: GpuRunnerInit = {},
    private readonly onStatus: (s: GpuSlotStatus) => void = () => {}
  ) {}

  get alive (): boolean { return this.worker != null }

  /** Whether this slot runs the kernel of a lease. */
  static handles (kernel: string): boolean {
    return kernel === MATMUL_KERNEL_ID
  }

  private applyInfo (info: GpuRunnerInfo): void {
    const a = info.adapter
    Object.assign(this.status, {
      backend: info.backend,
      adapter: a == null ? null : [a.vendor, a.architecture].filter(Boolean).join(' ') + (a.description !== '' ? ` (${a.description})` : ''),
      fallbackAdapter: a == null ? null : a.isFallbackAdapter,
      fallbackReason: info.fallbackReason
    })
    this.onStatus({ ...this.status })
  }

  /** Start the worker and its GPU device (idempotent). @throws KernelLoadError */
  async start (): Promise<GpuSlotStatus> {
    if (this.remote != null) return { ...this.status }
    const worker = this.createWorker()
    this.worker = worker
    const remote = wrap<GpuRunner>(worker)
    try {
      this.applyInfo(await remote.init(this.init))
    } catch (err) {
      this.terminate()
      throw new KernelLoadError(`GPU worker failed to start: ${(err as Error)?.message ?? String(err)}`)
    }
    this.remote = remote
    // a test hook fires once: a restarted worker keeps its device
    this.init.loseDeviceAtTile = undefined
    return { ...this.status }
  }

  terminate (): void {
    this.worker?.terminate()
    this.worker = undefined
    this.remote = undefined
  }

  /**
   * Run one tile (queued behind any tile already running).
   * @param fetchBlob returns the bytes of a CID, hash-checked
   * @throws RunAbortedError when `signal` aborts; KernelLoadError when the worker or a blob could not be loaded
   */
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, fetchBlob: (cid: Uint8Array) => Promise<Uint8Array> }): Promise<GpuRunReport> {
    const next = this.queue.then(async () => await this.runNow(unit, opts))
    this.queue = next.catch(() => {})
    return await next
  }

  private async runNow (unit: RunnableUnit, opts: { signal: AbortSignal, fetchBlob: (cid: Uint8Array) => Promise<Uint8Array> }): Promise<GpuRunReport> {
    const started = performance.now()
    const clientError = (message: string): GpuRunReport => ({ outcome: 'client-error', output: new Uint8Array(0), elapsedMs: Math.round(performance.now() - started), errorMessage: message.slice(0, 1000), deviceClass: this.status.backend === 'webgpu' ? 'webgpu' : 'wasm' })
    if (!GpuSlot.handles(unit.kernel)) return clientError(`unknown kernel ${unit.kernel}`)
    let t
    try {
      t = decodeTileInput(unit.input)
    } catch (err) {
      return clientError(`bad input: ${(err as Error).message}`)
    }
    if (opts.signal.aborted) throw new RunAbortedError()
    let aBytes: Uint8Array, bBytes: Uint8Array
    try {
      [aBytes, bBytes] = await Promise.all([opts.fetchBlob(t.aCid), opts.fetchBlob(t.bCid)])
    } catch (err) {
      if (opts.signal.aborted) throw new RunAbortedError()
      throw new KernelLoadError(`input blocks: ${(err as Error)?.message ?? String(err)}`)
    }
    if (aBytes.length !== 4 * t.rows * t.inner || bBytes.length !== 4 * t.inner * t.cols) return clientError('input blocks do not match the tile shape')
    await this.start()
    const remote = this.remote
    if (remote == null) throw new KernelLoadError('GPU worker is not running')
    if (opts.signal.aborted) { this.terminate(); throw new RunAbortedError() }
    // copies: the cached blobs stay usable for the next tile of the row
    const a = new Float32Array(aBytes.buffer.slice(aBytes.byteOffset, aBytes.byteOffset + aBytes.byteLength))
    const b = new Float32Array(bBytes.buffer.slice(bBytes.byteOffset, bBytes.byteOffset + bBytes.byteLength))
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      return await new Promise<GpuRunReport>((resolve, reject) => {
        onAbort = () => { this.terminate(); reject(new RunAbortedError()) }
        opts.signal.addEventListener('abort', onAbort, { once: true })
        timer = setTimeout(() => { this.terminate(); resolve(clientError(`deadline of ${unit.deadlineMs} ms exceeded`)) }, unit.deadlineMs)
        remote.multiply(transfer(a, [a.buffer]), transfer(b, [b.buffer]), t.rows, t.inner, t.cols)
          .then(async report => {
            this.status.tilesDone++
            this.status.gflops = tileFlops(t.rows, t.inner, t.cols) / Math.max(report.computeMs, 0.001) / 1e6
            if (report.fellBack != null) this.applyInfo(await remote.info())
            else this.onStatus({ ...this.status })
            resolve({
              outcome: 'success',
              output: encodeTileOutput(t.rows, t.cols, report.c),
              elapsedMs: Math.round(performance.now() - started),
              errorMessage: '',
              deviceClass: report.backend
            })
          })
          .catch(err => {
            if (opts.signal.aborted) { reject(new RunAbortedError()); return }
            this.terminate()
            resolve(clientError(`kernel failed: ${(err as Error)?.message ?? String(err)}`))
          })
      })
    } finally {
      clearTimeout(timer)
      if (onAbort != null) opts.signal.removeEventListener('abort', onAbort)
    }
  }
}
