/**
 * runInWorker (src/volunteer/run-in-worker.ts) driven with a fake Worker (test/fake-worker.ts):
 * every way a run ends — success, abort, deadline in governor-allowed compute time (paused time
 * and duty counted), crash, preemption, load failures, termination — with one error family.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WorkerHost, runInWorker } from '../src/volunteer/run-in-worker.ts'
import {
  DeadlineExceededError, KernelLoadError, RunAbortedError, RunPreemptedError, RunnerError, WorkerCrashedError
} from '../src/volunteer/runner-types.ts'
import { ThrottleGate } from '../src/volunteer/throttle.ts'
import { FakeWorker, never, sleep } from './fake-worker.ts'

const api = {
  async work (ms: number): Promise<number> { await sleep(ms); return 42 },
  hang: never,
  async fail (): Promise<never> { throw new TypeError('kernel trapped') },
  async setup (): Promise<void> {}
}
type Api = typeof api

const made: FakeWorker[] = []
function factory (impl: object = api): () => FakeWorker {
  return () => { const w = new FakeWorker(impl); made.push(w); return w }
}
afterEach(() => { for (const w of made.splice(0)) w.terminate() })

const signal = (): AbortSignal => new AbortController().signal

describe('runInWorker', () => {
  it('returns the job\'s value and keeps the worker for the next run', async () => {
    const host = new WorkerHost<Api>(factory())
    await expect(runInWorker(host, async r => await r.work(5), { signal: signal(), deadlineMs: 1000 })).resolves.toBe(42)
    expect(host.alive).toBe(true)
    await expect(runInWorker(host, async r => await r.work(1), { signal: signal(), deadlineMs: 1000 })).resolves.toBe(42)
    expect(made).toHaveLength(1)
  })

  it('abort: terminates the worker at once and throws RunAbortedError', async () => {
    const host = new WorkerHost<Api>(factory())
    const ac = new AbortController()
    const run = runInWorker(host, async r => await r.hang(), { signal: ac.signal, deadlineMs: 10_000 })
    await sleep(20)
    ac.abort()
    await expect(run).rejects.toBeInstanceOf(RunAbortedError)
    expect(made[0].terminated).toBe(true)
    expect(host.alive).toBe(false)
    // an already aborted signal makes no worker
    await expect(runInWorker(new WorkerHost<Api>(factory()), async r => await r.work(1), { signal: ac.signal, deadlineMs: 100 })).rejects.toBeInstanceOf(RunAbortedError)
    expect(made).toHaveLength(1)
  })

  it('deadline: a hung job is terminated with DeadlineExceededError; a fresh worker runs the next job', async () => {
    const host = new WorkerHost<Api>(factory())
    const t0 = performance.now()
    await expect(runInWorker(host, async r => await r.hang(), { signal: signal(), deadlineMs: 60 })).rejects.toMatchObject({ name: 'DeadlineExceededError', message: expect.stringMatching(/deadline of 60 ms exceeded/) })
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55)
    expect(made[0].terminated).toBe(true)
    await expect(runInWorker(host, async r => await r.work(1), { signal: signal(), deadlineMs: 1000 })).resolves.toBe(42)
    expect(made).toHaveLength(2)
  })

  it('the deadline counts only governor-allowed compute time: nothing while paused, duty x wall time otherwise', async () => {
    const gate = new ThrottleGate()
    const host = new WorkerHost<Api>(factory())
    const clock = gate.clock('governed')
    const t0 = performance.now()
    const run = runInWorker(host, async r => await r.hang(), { signal: signal(), deadlineMs: 100, clock })
    let ended = false
    run.catch(() => { ended = true })
    await sleep(40)
    gate.set({ duty: 1, paused: true })
    await sleep(300)
    expect(ended).toBe(false) // 340 ms of wall time, ~40 ms allowed
    expect(clock.usedMs).toBeGreaterThan(30)
    expect(clock.usedMs).toBeLessThan(70)
    gate.set({ duty: 0.5, paused: false }) // ~60 ms left at half rate: ~120 ms more
    await sleep(60)
    expect(ended).toBe(false)
    await expect(run).rejects.toBeInstanceOf(DeadlineExceededError)
    const wall = performance.now() - t0
    expect(wall).toBeGreaterThanOrEqual(440)
    expect(wall).toBeLessThan(900)
    clock.dispose()
  })

  it('a crash (error or messageerror event) terminates the worker: WorkerCrashedError', async () => {
    for (const type of ['error', 'messageerror'] as const) {
      const host = new WorkerHost<Api>(factory())
      const run = runInWorker(host, async r => await r.hang(), { signal: signal(), deadlineMs: 10_000 })
      await sleep(20)
      made.at(-1)!.crash(type, 'out of memory')
      const err = await run.catch(e => e)
      expect(err).toBeInstanceOf(WorkerCrashedError)
      expect(err.message).toMatch(type === 'error' ? /out of memory/ : /could not be deserialized|out of memory/)
      expect(made.at(-1)!.terminated).toBe(true)
      expect(host.alive).toBe(false)
    }
  })

  it('preemptOnPause: a pause ends work that cannot pause with RunPreemptedError', async () => {
    const gate = new ThrottleGate()
    const clock = gate.clock('running')
    const host = new WorkerHost<Api>(factory())
    const run = runInWorker(host, async r => await r.hang(), { signal: signal(), deadlineMs: 10_000, clock, preemptOnPause: true })
    await sleep(20)
    gate.set({ duty: 1, paused: true })
    await expect(run).rejects.toBeInstanceOf(RunPreemptedError)
    expect(made[0].terminated).toBe(true)
    clock.dispose()
  })

  it('load failures are KernelLoadError: the factory throws, setup fails, or the worker crashes during setup', async () => {
    const boom = (): FakeWorker => { throw new Error('no workers here') }
    await expect(runInWorker<Api, number>(boom, async r => await r.work(1), { signal: signal(), deadlineMs: 100 })).rejects.toMatchObject({ name: 'KernelLoadError', message: expect.stringMatching(/no workers here/) })
    const failing = new WorkerHost<Api>(factory(), { loadErrorLabel: 'kernel load failed', setup: async r => { await r.fail() } })
    await expect(runInWorker(failing, async r => await r.work(1), { signal: signal(), deadlineMs: 100 })).rejects.toMatchObject({ name: 'KernelLoadError', message: expect.stringMatching(/^kernel load failed: kernel trapped/) })
    expect(made.at(-1)!.terminated).toBe(true)
    const crashing = new WorkerHost<Api>(factory(), { setup: async r => { await r.hang() } })
    const run = runInWorker(crashing, async r => await r.work(1), { signal: signal(), deadlineMs: 100 })
    await sleep(20)
    made.at(-1)!.crash()
    await expect(run).rejects.toBeInstanceOf(KernelLoadError)
  })

  it('the job\'s own error passes through and the worker is terminated; terminate() ends a run with RunAbortedError', async () => {
    const host = new WorkerHost<Api>(factory())
    await expect(runInWorker(host, async r => await r.fail(), { signal: signal(), deadlineMs: 1000 })).rejects.toMatchObject({ name: 'TypeError', message: 'kernel trapped' })
    expect(made[0].terminated).toBe(true)
    const run = runInWorker(host, async r => await r.hang(), { signal: signal(), deadlineMs: 10_000 })
    await sleep(20)
    host.terminate()
    await expect(run).rejects.toBeInstanceOf(RunAbortedError)
  })

  it('a factory instead of a host: a one-off worker, terminated after the run', async () => {
    await expect(runInWorker<Api, number>(factory(), async r => await r.work(1), { signal: signal(), deadlineMs: 1000 })).resolves.toBe(42)
    expect(made[0].terminated).toBe(true)
  })

  it('one error family', () => {
    for (const E of [RunAbortedError, KernelLoadError, DeadlineExceededError, WorkerCrashedError, RunPreemptedError]) {
      expect(new E('x')).toBeInstanceOf(RunnerError)
    }
  })
})
