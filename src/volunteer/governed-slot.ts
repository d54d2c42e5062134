/**
 * What the CPU slots (WasmSlot, KernelSlot) share: a {@link WorkerHost} whose worker obeys the
 * governor's CPU plan (`setThrottle`, applied at its next slice boundary) and reports its busy
 * time (`stats().busyMs`), with the plan kept in a {@link ThrottleGate} for the page's own
 * gating and deadline clocks.
 */
import { WorkerHost } from './run-in-worker.ts'
import { BusyCounter, ThrottleGate } from './throttle.ts'
import type { Remote } from 'comlink'
import type { ThrottleSettings, WorkerFactory } from './runner-types.ts'

/** The calls a governed worker exposes (workers/wasm-runner.ts, workers/kernel-runner.ts). */
export interface GovernedWorker {
  setThrottle: (settings: ThrottleSettings) => void
  stats: () => { busyMs: number, aliveMs: number }
}

export class GovernedSlot<R extends GovernedWorker> {
  /** The governor's CPU plan for this slot. */
  protected readonly gate = new ThrottleGate()
  private readonly busy = new BusyCounter()
  protected readonly host: WorkerHost<R>

  /**
   * @param createWorker makes the worker (may throw KernelLoadError)
   * @param loadErrorLabel prefix of the KernelLoadError when it cannot start
   * @param load run on every new worker before the plan is sent (e.g. load the kernel)
   */
  constructor (createWorker: WorkerFactory, loadErrorLabel: string, load?: (remote: Remote<R>) => Promise<void>) {
    const send = async (remote: Remote<R>): Promise<void> => { await (remote as unknown as Remote<GovernedWorker>).setThrottle(this.gate.settings) }
    this.host = new WorkerHost<R>(createWorker, {
      loadErrorLabel,
      setup: async remote => { await load?.(remote); await send(remote) },
      onEnded: () => { this.busy.workerEnded() }
    })
    this.gate.onChange(() => {
      const remote = this.host.remote
      if (remote != null) send(remote).catch(() => { /* the worker was terminated */ })
    })
  }

  /** Whether a worker is currently alive in this slot. */
  get alive (): boolean { return this.host.alive }

  /**
   * The governor's CPU plan for this slot (`cpuPlan()`: duty (0, 1], paused): sent to the worker
   * now (it applies them at its next slice boundary) and to every worker this slot makes later.
   */
  applyThrottle (settings: ThrottleSettings): void {
    this.gate.set(settings)
  }

  /** Whether this slot's work is paused by the governor. */
  get paused (): boolean { return this.gate.paused }

  /**
   * Total ms this slot's workers have spent computing (a worker reports its own slice time; a
   * terminated worker's last report is kept). Waits at most 1 s for the worker.
   */
  async busyMs (signal?: AbortSignal): Promise<number> {
    const remote = this.host.remote as unknown as Remote<GovernedWorker> | undefined
    return await this.busy.total(remote == null ? undefined : async () => (await remote.stats()).busyMs, remote, signal)
  }

  /** Kill the worker now (stop button, deadline); the next run makes a fresh one. */
  terminate (): void {
    this.host.terminate()
  }
}
