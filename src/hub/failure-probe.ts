/**
 * The failure probe (issue 13): the hub runs, on its own machine, a researcher-kernel unit that
 * several volunteers report failing (queued by the transitioner, probe-policy.ts), so a kernel
 * that traps, aborts, overflows its output cap or its deadline everywhere shows up as failed
 * units and a paused job with the error as its reason — while no number of fresh keys reporting
 * false errors can fail a job (a unit the hub runs fine stays open and becomes a ringer with the
 * hub's own answer).
 *
 * One unit at a time, in a worker thread with the manifest's checks, memory and deadline
 * (workers/wasm-thread.ts), outside any transaction. WebGPU kernels are not run (`skipped`): their
 * units fail only on client errors from established peers (transitioner.ts).
 */
import { cidFromHex } from '../protocol/blob.ts'
import { sha256Bytes } from '../protocol/signing.ts'
import { runWasmInThread } from '../../workers/wasm-thread.ts'
import { manifestOfTicket } from './kernel-job.ts'
import type { BlobStore } from './blob-store.ts'
import type { HubRepository, WorkUnitRow } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { HubLogger } from './log.ts'

export interface FailureProbeOptions {
  repo: HubRepository
  transitioner: Transitioner
  blobs: BlobStore
  /** The operator's log (a probe's outcome at info, a unit failing or a job paused at warn); default none. */
  logger?: HubLogger
  /** How often the queue is looked at, ms (default 1000). */
  intervalMs?: number
  now?: () => number
}

/** What one probe found. */
export type ProbeOutcome = 'ok' | 'failed' | 'skipped' | 'paused'

export class FailureProbe {
  private timer?: ReturnType<typeof setTimeout>
  private running?: Promise<void>
  private abort?: AbortController
  private readonly intervalMs: number

  constructor (private readonly opts: FailureProbeOptions) {
    this.intervalMs = opts.intervalMs ?? 1000
  }

  /** Look at the queue every `intervalMs` until stopped. */
  start (): void {
    if (this.abort != null) return
    this.abort = new AbortController()
    const tick = (): void => {
      this.running = this.runQueued(this.abort?.signal).then(() => {}, err => { this.opts.logger?.error({ error: (err as Error).name }, `failure probe: ${(err as Error).message}`) })
      void this.running.then(() => { if (this.abort != null && !this.abort.signal.aborted) this.timer = setTimeout(tick, this.intervalMs) })
    }
    this.timer = setTimeout(tick, this.intervalMs)
  }

  /** Stop: the probe in flight is aborted (its thread terminated) and awaited. */
  async stop (): Promise<void> {
    this.abort?.abort(new Error('hub stopping'))
    clearTimeout(this.timer)
    await this.running
    this.abort = undefined
  }

  /**
   * Probe every queued unit now, one after the other.
   * @returns the outcome per unit id
   */
  async runQueued (signal?: AbortSignal): Promise<Map<string, ProbeOutcome>> {
    const done = new Map<string, ProbeOutcome>()
    for (;;) {
      if (signal?.aborted === true) return done
      const [wu] = await this.opts.repo.read(async tx => await tx.queuedProbes(1))
      if (wu == null || done.has(wu.id)) return done
      done.set(wu.id, await this.probe(wu, signal))
    }
  }

  private async probe (wu: WorkUnitRow, signal?: AbortSignal): Promise<ProbeOutcome> {
    const row = await this.opts.repo.read(async tx => await tx.getKernel(wu.kernel))
    const manifest = row == null ? undefined : manifestOfTicket(row.ticket)
    const bytes = manifest == null ? undefined : this.opts.blobs.get(cidFromHex(manifest.kernelId))
    let run: Parameters<Transitioner['probed']>[2]
    if (manifest == null || bytes == null) {
      run = { ok: false, skipped: true, message: 'the kernel is not in this hub\'s store' }
    } else if (manifest.backend !== 'wasm') {
      run = { ok: false, skipped: true, message: 'the hub does not run webgpu kernels' }
    } else {
      const [r] = await runWasmInThread(bytes, { kernelId: manifest.kernelId, abi: manifest.abi, memoryBytes: manifest.memoryBytes, maxOutputBytes: manifest.maxOutputBytes, deadlineMs: manifest.deadlineMs }, [wu.input], { signal })
      if (signal?.aborted === true) return 'skipped'
      run = r.ok && r.output != null ? { ok: true, outputSha256: sha256Bytes(r.output) } : { ok: false, message: r.error ?? 'no output' }
      this.opts.logger?.[r.ok ? 'info' : 'warn']({ wuId: wu.id, jobId: wu.job_id, elapsedMs: Math.round(r.ms) }, `failure probe ${wu.id}: ${r.ok ? `ran fine on the hub in ${Math.round(r.ms)} ms (the volunteers' errors are theirs; the unit is now a ringer)` : `fails on the hub too: ${run.ok ? '' : run.message}`}`)
    }
    const paused = await this.opts.repo.transaction(async tx => {
      const current = await tx.getWorkUnit(wu.id)
      if (current?.probe !== 'queued') return false
      return await this.opts.transitioner.probed(tx, current, run)
    })
    if (paused) this.opts.logger?.warn({ jobId: wu.job_id }, `job ${wu.job_id} paused: its kernel fails on the hub too (job status shows why; the researcher can resume or cancel it)`)
    return paused ? 'paused' : run.ok ? 'ok' : run.skipped === true ? 'skipped' : 'failed'
  }
}
