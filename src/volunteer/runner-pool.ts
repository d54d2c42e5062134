/**
 * The runner pool: one loop per worker slot takes a lease (work-fetch.ts), routes it by kernel id
 * to the runner that has it — primes-sieve/1 to the slot's WASM worker, matmul-f32/1 to the GPU
 * slot (WebGPU, else WASM SIMD), `k1:` researcher kernels to the slot's kernel worker — and hands
 * the report to the outbox. The governor gates the loops (how many slots take work, pauses) and
 * its duty cycle and pause flag go to every slot that takes a throttle. Owns `run`, `workers`,
 * `running`, `gemm` and `governor` of the state, and the stored `running` flag.
 */
import { KERNEL_REF_PREFIX } from '../protocol/index.ts'
import { sleep } from './async.ts'
import { GpuSlot } from './gpu-slot.ts'
import { KernelUnsupportedError } from './kernel-slot.ts'
import { KernelLoadError, RunAbortedError } from './task-runner.ts'
import type { Lease, ReleaseReason } from '../protocol/index.ts'
import type { Governor } from './governor.ts'
import type { GpuSlotStatus } from './gpu-slot.ts'
import type { ResolvedKernel } from './kernel-resolver.ts'
import type { Metrics } from './metrics.ts'
import type { Outbox } from './outbox.ts'
import type { SlotState, StateBus } from './state.ts'
import type { VolunteerStore } from './store.ts'
import type { RunReport, RunnableUnit } from './task-runner.ts'
import type { TakeResult } from './work-fetch.ts'

/** The governor's settings for one slot (workers/duty-cycle.ts's ThrottleSettings). */
export interface Throttle { duty: number, paused: boolean }

/** What the pool uses of a WasmSlot (task-runner.ts). */
export interface CpuRunner {
  readonly alive: boolean
  run: (unit: RunnableUnit, opts: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }) => Promise<RunReport>
  terminate: () => void
  busyMs: (signal?: AbortSignal) => Promise<number>
  applyThrottle: (settings: Throttle) => void
}

/**
 * What the pool uses of a KernelSlot (kernel-slot.ts): the CPU plan for WASM kernels, the GPU plan
 * for WGSL kernels, and busy time, where it has them.
 */
export interface ResearcherRunner {
  readonly alive: boolean
  run: (unit: RunnableUnit, opts: { signal: AbortSignal, resolveKernel: () => Promise<ResolvedKernel> }) => Promise<RunReport>
  terminate: () => void
  applyThrottle?: (settings: Throttle) => void
  applyGpuThrottle?: (settings: Throttle) => void
  busyMs?: (signal?: AbortSignal) => Promise<number>
}

/** What the pool uses of a GpuSlot (gpu-slot.ts): it waits and rests at tile boundaries by the GPU plan. */
export interface TileRunner {
  run: (unit: RunnableUnit, opts: { signal: AbortSignal, fetchBlob: (cid: Uint8Array) => Promise<Uint8Array> }) => Promise<RunReport>
  terminate: () => void
  applyThrottle?: (settings: Throttle) => void
  /** Wall time tiles kept the GPU busy so far, in ms (rests excluded). */
  readonly gpuBusyMs?: number
}

/**
 * Where the pool's leases come from (hub-set.ts: every hub's work fetch, in turn); each call after
 * take names the lease's hub, since two hubs may issue the same replica id.
 */
export interface WorkSource {
  take: (signal: AbortSignal) => Promise<TakeResult>
  finish: (hubPeerId: string, replicaId: string) => void
  putBack: (hubPeerId: string, replicaId: string) => void
  release: (hubPeerId: string, replicaId: string, reason: ReleaseReason) => Promise<void>
  releaseStored: (reason: ReleaseReason, opts?: { alsoCheckedOut?: boolean }) => Promise<void>
}

export interface RunnerPoolOptions {
  bus: StateBus
  governor: Governor
  workFetch: WorkSource
  outbox: Pick<Outbox, 'record'>
  metrics: Pick<Metrics, 'recordOps' | 'recordUnit' | 'recordGpuBusy'>
  store: Pick<VolunteerStore, 'putMeta'>
  /** One WASM runner per slot (primes-sieve/1). */
  cpu: CpuRunner[]
  /** One researcher-kernel runner per slot, same index; null when the page has no kernel worker. */
  researcher: ResearcherRunner[] | null
  /** The matmul runner; null when the page has no GPU worker. */
  tiles: TileRunner | null
  /** A matmul input block by CID for a lease of hub `hubPeerId`, hash-checked (blob protocol, cached). */
  fetchBlob: (cid: Uint8Array, hubPeerId: string, signal: AbortSignal) => Promise<Uint8Array>
  /** A researcher kernel, verified hub -> researcher -> kernel. */
  resolveKernel: (kernelRef: string, hubPeerId: string, signal: AbortSignal) => Promise<ResolvedKernel>
  /** Pause after a failed work fetch or a kernel that could not load, ms (default 2000). */
  retryMs?: number
}

/** How long a Start holds when the visitor did not choose "always on this device" (24 h, like the embed's yes). */
export const DEFAULT_START_MS = 24 * 3_600_000

export class RunnerPool {
  private readonly running = new Map<string, SlotState>()
  private runController: AbortController | undefined
  private expiry: ReturnType<typeof setTimeout> | undefined
  private loops: Array<Promise<void>> = []
  private unsubscribeGovernor: (() => void) | undefined

  constructor (private readonly opts: RunnerPoolOptions) {}

  /** Wire the governor to every slot (now and on each change). */
  start (): void {
    if (this.unsubscribeGovernor != null) return
    this.unsubscribeGovernor = this.opts.governor.subscribe(g => {
      const plan = this.opts.governor.cpuPlan()
      const throttle = { duty: plan.duty, paused: plan.paused }
      const gpu = this.opts.governor.gpuPlan()
      const gpuThrottle = { duty: gpu.duty, paused: gpu.paused }
      // every runner obeys the same two plans: CPU share and pauses, GPU share and pauses
      for (const slot of this.opts.cpu) slot.applyThrottle(throttle)
      for (const slot of this.opts.researcher ?? []) {
        slot.applyThrottle?.(throttle)
        slot.applyGpuThrottle?.(gpuThrottle)
      }
      this.opts.tiles?.applyThrottle?.(gpuThrottle)
      this.opts.bus.patch({ governor: g })
    })
  }

  /** Stop computing (workers terminated, leases given back) and unwire the governor. */
  async stop (): Promise<void> {
    await this.stopWork()
    this.unsubscribeGovernor?.()
    this.unsubscribeGovernor = undefined
  }

  get isRunning (): boolean { return this.runController != null }

  /** Whether this page has a runner for a kernel id. */
  canRun (kernel: string): boolean {
    if (kernel.startsWith(KERNEL_REF_PREFIX)) return this.opts.researcher != null
    if (GpuSlot.handles(kernel)) return this.opts.tiles != null
    return this.opts.cpu.length > 0
  }

  /**
   * Start every slot's loop, remembered across reloads until `untilMs` (Unix ms; null: always on
   * this device), when work stops by itself (issue 12: a yes expires). A Start already in the past
   * starts nothing; called while running, it moves the expiry.
   */
  async startWork (untilMs: number | null = Date.now() + DEFAULT_START_MS): Promise<void> {
    if (untilMs != null && untilMs <= Date.now()) return
    await this.opts.store.putMeta('runUntil', untilMs)
    this.armExpiry(untilMs)
    if (this.runController != null) return
    const controller = new AbortController()
    this.runController = controller
    await this.opts.store.putMeta('running', true)
    this.publish({ run: 'running' })
    this.loops = this.opts.cpu.map((_, index) => this.slotLoop(index, controller.signal))
  }

  /** Stop now: every worker terminated at once, then the leases given back ('stopped'). */
  async stopWork (): Promise<void> {
    clearTimeout(this.expiry)
    const controller = this.runController
    if (controller == null) return
    this.runController = undefined
    controller.abort()
    this.terminateAll()
    this.running.clear()
    this.publish({ run: 'stopped' })
    await this.opts.store.putMeta('running', false)
    await Promise.allSettled(this.loops)
    this.loops = []
    await this.opts.workFetch.releaseStored('stopped', { alsoCheckedOut: true })
  }

  /** Stop work when the Start expires (timers hold at most 2^31 - 1 ms: longer ones re-arm). */
  private armExpiry (untilMs: number | null): void {
    clearTimeout(this.expiry)
    if (untilMs == null) return
    this.expiry = setTimeout(() => {
      if (Date.now() < untilMs) this.armExpiry(untilMs)
      else void this.stopWork()
    }, Math.min(Math.max(0, untilMs - Date.now()), 2 ** 31 - 1))
  }

  private terminateAll (): void {
    for (const slot of this.opts.cpu) slot.terminate()
    for (const slot of this.opts.researcher ?? []) slot.terminate()
    this.opts.tiles?.terminate()
  }

  /** Compute ms of every slot that counts it (WASM slots, and kernel slots where they count). */
  async busyMs (signal: AbortSignal): Promise<number> {
    const all = [
      ...this.opts.cpu.map(s => s.busyMs(signal)),
      ...(this.opts.researcher ?? []).map(s => 'busyMs' in s && s.busyMs != null ? s.busyMs(signal) : Promise.resolve(0))
    ]
    return (await Promise.all(all)).reduce((a, b) => a + b, 0)
  }

  private publish (update: Partial<{ run: 'running' | 'stopped' }> = {}): void {
    this.opts.bus.patch({ ...update, running: [...this.running.values()].map(s => ({ ...s })), workers: this.opts.cpu.filter(s => s.alive).length })
  }

  private async slotLoop (index: number, signal: AbortSignal): Promise<void> {
    const { bus, governor, workFetch } = this.opts
    const retryMs = this.opts.retryMs ?? 2000
    while (!signal.aborted) {
      // the governor decides how many slots take work, and holds them all while paused
      await governor.whenSlotMayRun(index, signal)
      if (signal.aborted) return
      let next
      try {
        next = await workFetch.take(signal)
      } catch (err) {
        if (signal.aborted) return
        bus.error('work fetch', err)
        await sleep(retryMs, signal)
        continue
      }
      if ('retryAfterMs' in next) { await sleep(next.retryAfterMs, signal); continue }
      const { lease, hubPeerId } = next
      if (!this.canRun(lease.kernel)) {
        // give it back: the hub never leases a work unit to the same peer twice, so it goes elsewhere
        await workFetch.release(hubPeerId, lease.replicaId, 'cannot-run')
        await sleep(250, signal)
        continue
      }
      const outcome = await this.runOne(index, lease, hubPeerId, signal)
      if (outcome === 'aborted') return
      if (outcome === 'retry-later') await sleep(retryMs, signal)
    }
  }

  /** Run one lease on its runner and record the result; what the loop does next. */
  private async runOne (index: number, lease: Lease, hubPeerId: string, signal: AbortSignal): Promise<'done' | 'aborted' | 'retry-later'> {
    const { bus, metrics, workFetch } = this.opts
    const slotState: SlotState = { replicaId: lease.replicaId, kernel: lease.kernel, done: 0, total: lease.estOps }
    // keyed by hub and replica: two hubs may issue the same replica id
    const runningKey = `${hubPeerId} ${lease.replicaId}`
    this.running.set(runningKey, slotState)
    this.publish()
    let lastDone = 0
    let release: ReleaseReason | null = null
    try {
      const report = await this.route(index, lease, hubPeerId, signal, done => {
        metrics.recordOps(lease.kernel, done - lastDone)
        lastDone = done
        slotState.done = done
        this.publish()
      })
      if (report.outcome === 'success') metrics.recordOps(lease.kernel, lease.estOps - lastDone)
      else bus.error(`work unit ${lease.wuId} failed`, report.errorMessage)
      metrics.recordUnit()
      await this.opts.outbox.record(lease, report, hubPeerId)
      workFetch.finish(hubPeerId, lease.replicaId)
      return 'done'
    } catch (err) {
      if (err instanceof RunAbortedError || signal.aborted) return 'aborted'
      if (err instanceof KernelUnsupportedError) {
        // another volunteer can run it: the hub never hands it to this peer again
        release = 'cannot-run'
        bus.error('cannot run', err)
        return 'done'
      }
      if (err instanceof KernelLoadError) {
        // transient: the lease stays stored and is taken again after the pause
        bus.error('kernel load', err)
        workFetch.putBack(hubPeerId, lease.replicaId)
        return 'retry-later'
      }
      bus.error('run', err)
      release = 'failed'
      return 'done'
    } finally {
      this.running.delete(runningKey)
      this.publish()
      if (release != null) await workFetch.release(hubPeerId, lease.replicaId, release)
    }
  }

  /** Route by kernel id: `k1:` to the kernel worker, matmul to the GPU slot, primes to the WASM slot. */
  private async route (index: number, lease: Lease, hubPeerId: string, signal: AbortSignal, onProgress: (done: number) => void): Promise<RunReport> {
    if (lease.kernel.startsWith(KERNEL_REF_PREFIX)) {
      const slot = this.opts.researcher?.[index]
      if (slot == null) throw new KernelUnsupportedError('this page runs no researcher kernels')
      return await slot.run(lease, { signal, resolveKernel: async () => await this.opts.resolveKernel(lease.kernel, hubPeerId, signal) })
    }
    if (GpuSlot.handles(lease.kernel)) return await this.runTile(lease, hubPeerId, signal)
    return await this.opts.cpu[index].run(lease, { signal, onProgress })
  }

  /**
   * A matmul tile on the GPU slot. The slot itself keeps the governor's GPU share (it waits while
   * paused and rests after each tile, applyThrottle above), like every other runner.
   */
  private async runTile (lease: Lease, hubPeerId: string, signal: AbortSignal): Promise<RunReport> {
    const tiles = this.opts.tiles
    if (tiles == null) throw new KernelUnsupportedError('this page has no GPU worker')
    const started = performance.now()
    const busyBefore = tiles.gpuBusyMs
    const report = await tiles.run(lease, { signal, fetchBlob: async cid => await this.opts.fetchBlob(cid, hubPeerId, signal) })
    this.opts.metrics.recordGpuBusy(tiles.gpuBusyMs != null && busyBefore != null ? tiles.gpuBusyMs - busyBefore : performance.now() - started)
    return report
  }
}

/** The initial `gemm` state of a page with a GPU worker. */
export const GEMM_NOT_STARTED: GpuSlotStatus = { backend: 'none', adapter: null, fallbackAdapter: null, fallbackReason: null, gflops: 0, tilesDone: 0 }
