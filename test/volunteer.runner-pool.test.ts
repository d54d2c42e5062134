/**
 * The runner pool with fake slots, work fetch, outbox and store: leases are routed by kernel id,
 * the governor's throttle reaches every slot (kernel slots too, where they take one), and
 * give-backs carry the right reason.
 */
import { describe, expect, it } from 'vitest'
import { Governor } from '../src/volunteer/governor.ts'
import { KernelUnsupportedError } from '../src/volunteer/kernel-slot.ts'
import { RunnerPool } from '../src/volunteer/runner-pool.ts'
import { KernelLoadError, RunAbortedError } from '../src/volunteer/task-runner.ts'
import { lease, newBus } from './volunteer-fakes.ts'
import type { Lease, ReleaseReason } from '../src/protocol/index.ts'
import type { CpuRunner, ResearcherRunner, RunnerPoolOptions, Throttle, TileRunner } from '../src/volunteer/runner-pool.ts'
import type { RunReport, RunnableUnit } from '../src/volunteer/task-runner.ts'
import type { TakeResult } from '../src/volunteer/work-fetch.ts'

const ok = (deviceClass?: 'wasm' | 'webgpu'): RunReport => ({ outcome: 'success', output: new Uint8Array(8), elapsedMs: 1, errorMessage: '', deviceClass })

class FakeSlot implements CpuRunner, ResearcherRunner, TileRunner {
  readonly runs: string[] = []
  readonly throttles: Throttle[] = []
  alive = false
  terminated = 0
  behaviour: (unit: RunnableUnit, signal: AbortSignal) => Promise<RunReport> = async () => ok()
  constructor (readonly name: string) {}
  async run (unit: RunnableUnit, opts: { signal: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<RunReport> {
    this.runs.push(`${this.name}:${(unit as Lease).replicaId}`)
    this.alive = true
    opts.onProgress?.(500, 1000)
    return await this.behaviour(unit, opts.signal)
  }
  terminate (): void { this.terminated++; this.alive = false }
  async busyMs (): Promise<number> { return 10 }
  applyThrottle (t: Throttle): void { this.throttles.push({ ...t }) }
}

/** A researcher slot as it is before the runner engineer adds applyThrottle / busyMs. */
class BareKernelSlot implements ResearcherRunner {
  readonly runs: string[] = []
  alive = false
  async run (unit: RunnableUnit): Promise<RunReport> { this.runs.push((unit as Lease).replicaId); return ok() }
  terminate (): void {}
}

function pool (opts: { leases: Lease[], cpu?: FakeSlot[], researcher?: ResearcherRunner[] | null, tiles?: FakeSlot | null, governor?: Governor }) {
  const queue = [...opts.leases]
  const releases: Array<{ id: string, reason: ReleaseReason }> = []
  const recorded: Array<{ id: string, report: RunReport }> = []
  const storedReleases: Array<{ reason: ReleaseReason, alsoCheckedOut?: boolean }> = []
  const meta: Record<string, unknown> = {}
  const bus = newBus()
  const governor = opts.governor ?? new Governor(4, 2, { cpuShare: 1, gpuShare: 1 })
  const cpu = opts.cpu ?? [new FakeSlot('cpu0'), new FakeSlot('cpu1')]
  const workFetch: RunnerPoolOptions['workFetch'] = {
    take: async (): Promise<TakeResult> => {
      const next = queue.shift()
      return next != null ? { lease: next, stored: false, hubPeerId: 'hub' } : { retryAfterMs: 60_000 }
    },
    finish: () => {},
    putBack: () => {},
    release: async (_hub, id, reason) => { releases.push({ id, reason }) },
    releaseStored: async (reason, o) => { storedReleases.push({ reason, alsoCheckedOut: o?.alsoCheckedOut }) }
  }
  const ops: Array<[string, number]> = []
  const p = new RunnerPool({
    bus, governor, workFetch, cpu,
    outbox: { record: async (l, report) => { recorded.push({ id: l.replicaId, report }) } },
    metrics: { recordOps: (k, n) => { ops.push([k, n]) }, recordUnit: () => {}, recordGpuBusy: () => {} },
    store: { putMeta: async (k, v) => { meta[k] = v } },
    researcher: opts.researcher === undefined ? null : opts.researcher,
    tiles: opts.tiles ?? null,
    fetchBlob: async () => new Uint8Array(0),
    resolveKernel: async () => { throw new Error('not used') },
    retryMs: 10
  })
  p.start()
  const settled = async (count: number): Promise<void> => {
    await expect.poll(() => recorded.length + releases.length, { timeout: 2000, interval: 5 }).toBeGreaterThanOrEqual(count)
  }
  return { p, bus, governor, cpu, releases, recorded, storedReleases, meta, ops, settled }
}

describe('runner pool', () => {
  it('routes by kernel id: primes to the WASM slot, matmul to the GPU slot, k1: to the slot\'s kernel worker', async () => {
    const tiles = new FakeSlot('gpu')
    tiles.behaviour = async () => ok('webgpu')
    const kernels = [new FakeSlot('k0'), new FakeSlot('k1')]
    const t = pool({ leases: [lease('p1'), lease('m1', 'matmul-f32/1'), lease('x1', 'k1:abcd')], tiles, researcher: kernels })
    await t.p.startWork()
    await t.settled(3)
    expect(t.recorded.map(r => r.id).sort()).toEqual(['m1', 'p1', 'x1'])
    expect(tiles.runs).toEqual(['gpu:m1'])
    // whichever slot loop took it: primes on a WASM slot, k1: on a kernel slot of the same index
    const cpuRuns = t.cpu.flatMap(s => s.runs)
    const kernelRuns = kernels.flatMap(k => k.runs)
    expect(cpuRuns.map(r => r.split(':')[1])).toEqual(['p1'])
    expect(kernelRuns.map(r => r.split(':')[1])).toEqual(['x1'])
    expect(t.recorded.find(r => r.id === 'm1')!.report.deviceClass).toBe('webgpu')
    expect(t.ops).toContainEqual(['primes-sieve/1', 500]) // progress, then the rest at the end
    expect(t.ops).toContainEqual(['primes-sieve/1', 500])
    expect(t.meta.running).toBe(true)
    expect(t.bus.snapshot.run).toBe('running')
    await t.p.stop()
  })

  it('gives back what the page has no runner for, and a KernelUnsupportedError, as cannot-run; other errors as failed', async () => {
    const cpu = [new FakeSlot('cpu0')]
    const t = pool({ leases: [lease('m1', 'matmul-f32/1'), lease('x1', 'k1:abcd'), lease('p1'), lease('p2')], cpu, governor: new Governor(1, 1) })
    let n = 0
    cpu[0].behaviour = async () => {
      n++
      if (n === 1) throw new KernelUnsupportedError('no WebGPU')
      throw new Error('worker exploded')
    }
    await t.p.startWork()
    await t.settled(4)
    expect(t.releases).toEqual([
      { id: 'm1', reason: 'cannot-run' }, { id: 'x1', reason: 'cannot-run' }, { id: 'p1', reason: 'cannot-run' }, { id: 'p2', reason: 'failed' }
    ])
    expect(t.recorded).toEqual([])
    expect(t.bus.snapshot.lastError).toBe('run: worker exploded')
    await t.p.stop()
  })

  it('keeps the lease after a KernelLoadError (retried later) and reports a failed unit as a client error', async () => {
    const cpu = [new FakeSlot('cpu0')]
    const t = pool({ leases: [lease('p1'), lease('p2')], cpu, governor: new Governor(1, 1) })
    let n = 0
    cpu[0].behaviour = async () => {
      n++
      if (n === 1) throw new KernelLoadError('hub unreachable')
      return { outcome: 'client-error', output: new Uint8Array(0), elapsedMs: 1, errorMessage: 'deadline exceeded' }
    }
    await t.p.startWork()
    await t.settled(1)
    expect(t.releases).toEqual([])
    expect(t.recorded[0]).toMatchObject({ id: 'p2', report: { outcome: 'client-error' } })
    expect(t.bus.snapshot.lastError).toBe('work unit wu-p2 failed: deadline exceeded')
    await t.p.stop()
  })

  it('passes the governor\'s duty cycle and pauses to every slot, kernel slots with applyThrottle included', async () => {
    const kernels: ResearcherRunner[] = [new FakeSlot('k0'), new BareKernelSlot()]
    const t = pool({ leases: [], researcher: kernels, governor: new Governor(4, 2) })
    t.governor.setShares({ cpuShare: 0.3 }) // 1.2 cores on 2 workers: 60% each
    t.governor.setPause('tab-hidden', true)
    for (const slot of [...t.cpu, kernels[0] as FakeSlot]) {
      expect(slot.throttles.at(-2)).toEqual({ duty: 0.6, paused: false })
      expect(slot.throttles.at(-1)).toEqual({ duty: 0.6, paused: true })
    }
    expect(t.bus.snapshot.governor).toMatchObject({ cpuShare: 0.3, paused: true, pauseReasons: ['tab-hidden'] })
    expect(await t.p.busyMs(new AbortController().signal)).toBe(30) // two WASM slots + the kernel slot that counts
    await t.p.stop()
    t.governor.setShares({ cpuShare: 1 })
    expect((t.cpu[0]).throttles.at(-1)).toEqual({ duty: 0.6, paused: true }) // unwired after stop()
  })

  it('stop terminates every worker at once and gives the leases back as stopped', async () => {
    const cpu = [new FakeSlot('cpu0')]
    const tiles = new FakeSlot('gpu')
    const t = pool({ leases: [lease('p1')], cpu, tiles, governor: new Governor(1, 1) })
    cpu[0].behaviour = async (_unit, signal) => await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new RunAbortedError()) }) })
    await t.p.startWork()
    await expect.poll(() => t.bus.snapshot.running.length, { timeout: 2000, interval: 5 }).toBe(1)
    expect(t.bus.snapshot.running[0]).toMatchObject({ replicaId: 'p1', kernel: 'primes-sieve/1', done: 500, total: 1000 })
    await t.p.stopWork()
    expect(cpu[0].terminated).toBeGreaterThan(0)
    expect(tiles.terminated).toBeGreaterThan(0)
    expect(t.storedReleases).toEqual([{ reason: 'stopped', alsoCheckedOut: true }])
    expect(t.bus.snapshot).toMatchObject({ run: 'stopped', running: [], workers: 0 })
    expect(t.meta.running).toBe(false)
    expect(t.recorded).toEqual([])
    await t.p.stop()
  })
})

describe('a Start that expires (issue 12)', () => {
  it('holds until its time, then stops work by itself; one already past starts nothing; null holds for good', async () => {
    const t = pool({ leases: [] })
    await t.p.startWork(Date.now() - 1)
    expect(t.p.isRunning).toBe(false)
    expect(t.meta.running).toBeUndefined()
    await t.p.startWork(Date.now() + 150)
    expect(t.p.isRunning).toBe(true)
    expect(t.meta.running).toBe(true)
    expect(typeof t.meta.runUntil).toBe('number')
    await expect.poll(() => t.p.isRunning, { timeout: 2000, interval: 10 }).toBe(false)
    expect(t.meta.running).toBe(false)
    expect(t.bus.snapshot.run).toBe('stopped')
    // "always on this device": no expiry
    await t.p.startWork(null)
    expect(t.meta.runUntil).toBeNull()
    await new Promise(resolve => setTimeout(resolve, 250))
    expect(t.p.isRunning).toBe(true)
    await t.p.stop()
  })
})
