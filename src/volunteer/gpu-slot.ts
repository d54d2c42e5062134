/**
 * The GPU slot: one Web Worker (workers/gpu-runner.ts) that runs `matmul-f32/1` tiles on WebGPU,
 * or on the WASM SIMD kernel when the browser has no WebGPU or the device was lost (the worker
 * recomputes the interrupted tile, so the lease is never lost). Tiles run one at a time, in
 * arrival order, whichever worker slot leased them, each through {@link runInWorker}.
 *
 * For each lease: decode the tile input, fetch the A and B blocks by CID (the caller's fetcher:
 * `/sparecycles/blob/1.0.0`, hash-checked, cached), transfer them to the worker, encode the tile
 * with its shape header. The report carries the device class that actually computed the tile
 * ('webgpu' or 'wasm'). A run past the lease deadline terminates the worker (client error), as
 * does a crash; a stop terminates it at once (RunAbortedError); a blob fetch failure is transient
 * (KernelLoadError, the lease is kept and retried).
 *
 * GPU share: with {@link GpuSlot.applyThrottle} (the governor's `gpuPlan()`), a tile starts only
 * while not paused and the slot rests after it so that busy / (busy + rest) equals the share. The
 * default, `{ duty: 1, paused: false }`, leaves that to the caller.
 */
import { transfer } from 'comlink'
import { MATMUL_KERNEL_ID, decodeTileInput, encodeTileOutput, tileFlops } from '../protocol/index.ts'
import { WorkerHost, runInWorker } from './run-in-worker.ts'
import { KernelLoadError, RunAbortedError, clientErrorReport, failureReport } from './runner-types.ts'
import { ThrottleGate } from './throttle.ts'
import type { DeviceClass } from '../protocol/index.ts'
import type { RunReport, RunnableUnit, ThrottleSettings, WorkerFactory } from './runner-types.ts'
import type { GpuRunner, GpuRunnerInfo, GpuRunnerInit } from '../../workers/gpu-runner.ts'

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
  private readonly host: WorkerHost<GpuRunner>
  private readonly gate = new ThrottleGate()
  private tileBusyMs = 0
  private queue: Promise<unknown> = Promise.resolve()
  readonly status: GpuSlotStatus = { backend: 'none', adapter: null, fallbackAdapter: null, fallbackReason: null, gflops: 0, tilesDone: 0 }

  /**
   * @param createWorker makes a workers/gpu-runner.ts worker
   * @param init what the worker's `init` gets (prefer WebGPU, test hooks)
   * @param onStatus called with a copy of {@link status} whenever it changes
   */
  constructor (
    createWorker: WorkerFactory,
    private readonly init: GpuRunnerInit = {},
    private readonly onStatus: (s: GpuSlotStatus) => void = () => {}
  ) {
    this.host = new WorkerHost<GpuRunner>(createWorker, {
      loadErrorLabel: 'GPU worker failed to start',
      setup: async remote => {
        this.applyInfo(await remote.init(this.init))
        // a test hook fires once: a restarted worker keeps its device
        this.init.loseDeviceAtTile = undefined
      }
    })
  }

  get alive (): boolean { return this.host.alive }

  /** Wall time tiles kept the GPU worker busy since the page loaded, in ms (rests excluded). */
  get gpuBusyMs (): number { return this.tileBusyMs }

  /** Whether this slot runs the kernel of a lease. */
  static handles (kernel: string): boolean {
    return kernel === MATMUL_KERNEL_ID
  }

  /**
   * The governor's GPU share (duty, the fraction of wall time the GPU may be kept busy) and pause
   * flag: applied at tile boundaries from the next tile on.
   */
  applyThrottle (settings: ThrottleSettings): void {
    this.gate.set(settings)
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

  /**
   * Start the worker and its GPU device (idempotent).
   * @throws KernelLoadError when the worker cannot start; RunAbortedError when `signal` aborts
   */
  async start (signal?: AbortSignal): Promise<GpuSlotStatus> {
    await this.host.start(signal)
    return { ...this.status }
  }

  terminate (): void {
    this.host.terminate()
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

  private deviceClass (): DeviceClass { return this.status.backend === 'webgpu' ? 'webgpu' : 'wasm' }

  private async runNow (unit: RunnableUnit, opts: { signal: AbortSignal, fetchBlob: (cid: Uint8Array) => Promise<Uint8Array> }): Promise<GpuRunReport> {
    const started = performance.now()
    const clientError = (message: string): GpuRunReport => ({ ...clientErrorReport(message, started), deviceClass: this.deviceClass() })
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
    // the GPU share, at tile boundaries: start only while not paused, rest after the tile
    await this.gate.whenRunning(opts.signal)
    // copies: the cached blobs stay usable for the next tile of the row
    const a = new Float32Array(aBytes.buffer.slice(aBytes.byteOffset, aBytes.byteOffset + aBytes.byteLength))
    const b = new Float32Array(bBytes.buffer.slice(bBytes.byteOffset, bBytes.byteOffset + bBytes.byteLength))
    const tileStarted = performance.now()
    let report: GpuRunReport
    try {
      // a tile is not paused inside (each dispatch is short): its deadline counts wall time
      report = await runInWorker(this.host, async remote => {
        const r = await remote.multiply(transfer(a, [a.buffer]), transfer(b, [b.buffer]), t.rows, t.inner, t.cols)
        this.status.tilesDone++
        this.status.gflops = tileFlops(t.rows, t.inner, t.cols) / Math.max(r.computeMs, 0.001) / 1e6
        if (r.fellBack != null) this.applyInfo(await remote.info())
        else this.onStatus({ ...this.status })
        return { outcome: 'success', output: encodeTileOutput(t.rows, t.cols, r.c), elapsedMs: Math.round(performance.now() - started), errorMessage: '', deviceClass: r.backend }
      }, { signal: opts.signal, deadlineMs: unit.deadlineMs })
    } catch (err) {
      report = { ...failureReport(err, started), deviceClass: this.deviceClass() }
    }
    const busy = performance.now() - tileStarted
    this.tileBusyMs += busy
    await this.gate.rest(busy, opts.signal)
    return report
  }
}
