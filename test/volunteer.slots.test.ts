/**
 * The slots on runInWorker, with fake workers (test/fake-worker.ts) standing in for
 * workers/kernel-runner.ts and workers/wasm-runner.ts: how a researcher-kernel slot obeys the
 * governor for ABI 1 (gate before a unit, rest after, preempt and rerun on pause), for ABI 2
 * (the plan reaches the worker; the deadline stops while paused), and for WGSL (the GPU share);
 * the primes slot's deadline, crash and busy-time reports.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { KernelSlot } from '../src/volunteer/kernel-slot.ts'
import { WasmSlot } from '../src/volunteer/task-runner.ts'
import { PRIMES_KERNEL_ID, encodePrimesInput, encodePrimesOutput } from '../src/protocol/index.ts'
import { FakeWorker, never, sleep } from './fake-worker.ts'
import type { ResolvedKernel } from '../src/volunteer/kernel-resolver.ts'
import type { KernelManifest } from '../src/protocol/pb/manifest.ts'
import type { ThrottleSettings } from '../workers/duty-cycle.ts'

const made: FakeWorker[] = []
afterEach(() => { for (const w of made.splice(0)) w.terminate() })

/** A stand-in for workers/kernel-runner.ts: each run takes `runMs` (or hangs), throttles are recorded. */
function fakeKernelRunner (opts: { runMs: number | 'hang' }): { factory: () => Worker, throttles: ThrottleSettings[], runs: () => number } {
  const throttles: ThrottleSettings[] = []
  let runs = 0
  const factory = (): Worker => {
    const w = new FakeWorker({
      async run (_bytes: Uint8Array, _limits: unknown, input: Uint8Array): Promise<Uint8Array> {
        runs++
        if (opts.runMs === 'hang') return await never()
        await sleep(opts.runMs)
        return input.map(b => b * 2)
      },
      setThrottle (s: ThrottleSettings) { throttles.push(s) },
      stats: () => ({ busyMs: 123, aliveMs: 1000 })
    })
    made.push(w)
    return w as unknown as Worker
  }
  return { factory, throttles, runs: () => runs }
}

function resolved (abi: number, backend = 'wasm', deadlineMs = 10_000): () => Promise<ResolvedKernel> {
  const manifest = { abi, backend, kernelId: 'ab'.repeat(32), memoryBytes: 65536, maxOutputBytes: 64, deadlineMs, workgroupSize: 64, outputBytes: 4 } as unknown as KernelManifest
  return async () => ({ manifest, researcherId: 'r', bytes: new Uint8Array(8) })
}

const unit = (deadlineMs = 10_000) => ({ kernel: 'k1:x', input: new Uint8Array([1, 2, 3]), deadlineMs })
const signal = (): AbortSignal => new AbortController().signal

describe('KernelSlot on runInWorker', () => {
  it('ABI 1: waits while paused, then rests after the unit so busy / (busy + rest) is the duty', async () => {
    const fake = fakeKernelRunner({ runMs: 100 })
    const slot = new KernelSlot(fake.factory)
    slot.applyThrottle({ duty: 1, paused: true })
    const t0 = performance.now()
    const run = slot.run(unit(), { signal: signal(), resolveKernel: resolved(1) })
    await sleep(150)
    expect(fake.runs()).toBe(0)
    slot.applyThrottle({ duty: 0.5, paused: false })
    const report = await run
    expect(report).toMatchObject({ outcome: 'success', output: new Uint8Array([2, 4, 6]), deviceClass: 'wasm' })
    // 150 paused + ~100 busy + ~100 rest
    expect(performance.now() - t0).toBeGreaterThanOrEqual(340)
    expect(slot.alive).toBe(true)
    expect(fake.throttles.at(-1)).toEqual({ duty: 0.5, paused: false })
    expect(await slot.busyMs(signal())).toBe(123)
  })

  it('ABI 1: a pause terminates the running unit at once and reruns it at resume', async () => {
    const fake = fakeKernelRunner({ runMs: 150 })
    const slot = new KernelSlot(fake.factory)
    const run = slot.run(unit(), { signal: signal(), resolveKernel: resolved(1) })
    await sleep(50)
    slot.applyThrottle({ duty: 1, paused: true })
    await sleep(20)
    expect(made[0].terminated).toBe(true)
    expect(slot.alive).toBe(false)
    await sleep(100)
    expect(fake.runs()).toBe(1)
    slot.applyThrottle({ duty: 1, paused: false })
    expect(await run).toMatchObject({ outcome: 'success', output: new Uint8Array([2, 4, 6]) })
    expect(fake.runs()).toBe(2)
    expect(made).toHaveLength(2)
  })

  it('ABI 2: the plan reaches the worker and the deadline stops while paused', async () => {
    const fake = fakeKernelRunner({ runMs: 'hang' })
    const slot = new KernelSlot(fake.factory)
    slot.applyThrottle({ duty: 0.5, paused: false })
    const run = slot.run(unit(100), { signal: signal(), resolveKernel: resolved(2) })
    let done = false
    void run.then(() => { done = true })
    await sleep(40) // ~20 ms of allowed time
    slot.applyThrottle({ duty: 0.5, paused: true })
    await sleep(250)
    expect(done).toBe(false)
    expect(fake.throttles).toEqual([{ duty: 0.5, paused: false }, { duty: 0.5, paused: true }])
    slot.applyThrottle({ duty: 1, paused: false })
    const report = await run
    expect(report.outcome).toBe('client-error')
    expect(report.errorMessage).toMatch(/deadline of 100 ms exceeded/)
    expect(made[0].terminated).toBe(true)
  })

  it('WGSL: gated and rested by the GPU share, not the CPU plan', async () => {
    const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator
    const had = gpu != null && 'gpu' in gpu
    if (gpu != null && !had) Object.defineProperty(gpu, 'gpu', { value: {}, configurable: true })
    try {
      const fake = fakeKernelRunner({ runMs: 60 })
      const slot = new KernelSlot(fake.factory)
      slot.applyThrottle({ duty: 1, paused: true }) // the CPU pause does not hold a GPU kernel
      slot.applyGpuThrottle({ duty: 0.25, paused: false })
      const t0 = performance.now()
      const report = await slot.run(unit(), { signal: signal(), resolveKernel: resolved(1, 'webgpu') })
      expect(report).toMatchObject({ outcome: 'success', deviceClass: 'webgpu' })
      expect(performance.now() - t0).toBeGreaterThanOrEqual(60 + 170) // rest = 60 × 0.75 / 0.25
    } finally {
      if (gpu != null && !had) delete (gpu as { gpu?: unknown }).gpu
    }
  })

  it('abort during the unit or its rest throws RunAbortedError', async () => {
    const fake = fakeKernelRunner({ runMs: 30 })
    const slot = new KernelSlot(fake.factory)
    slot.applyThrottle({ duty: 0.1, paused: false })
    const ac = new AbortController()
    const run = slot.run(unit(), { signal: ac.signal, resolveKernel: resolved(1) })
    await sleep(80) // resting
    ac.abort()
    await expect(run).rejects.toMatchObject({ name: 'RunAbortedError' })
  })
})

describe('WasmSlot on runInWorker', () => {
  function fakePrimes (behaviour: 'ok' | 'hang'): () => Worker {
    return () => {
      const w = new FakeWorker({
        async load () {},
        setThrottle () {},
        async countPrimes (lo: number, hi: number) { if (behaviour === 'hang') return await never(); return hi - lo },
        async primesOutput (lo: number, hi: number) { if (behaviour === 'hang') return await never(); return encodePrimesOutput(hi - lo) },
        stats: () => ({ busyMs: 50, aliveMs: 100 })
      })
      made.push(w)
      return w as unknown as Worker
    }
  }
  const primes = (deadlineMs: number) => ({ kernel: PRIMES_KERNEL_ID, input: encodePrimesInput(10, 20), deadlineMs })

  it('succeeds, reports a deadline in allowed time and a crash as client errors, and keeps busy time across workers', async () => {
    const ok = new WasmSlot(fakePrimes('ok'), 'http://localhost/primes.wasm')
    expect(await ok.run(primes(1000), { signal: signal() })).toMatchObject({ outcome: 'success' })
    expect(await ok.busyMs()).toBe(50)
    ok.terminate()
    expect(await ok.busyMs()).toBe(50)

    const hung = new WasmSlot(fakePrimes('hang'), 'http://localhost/primes.wasm')
    hung.applyThrottle({ duty: 0.5, paused: false })
    const t0 = performance.now()
    const late = await hung.run(primes(50), { signal: signal() })
    expect(late.errorMessage).toMatch(/deadline of 50 ms exceeded/)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95) // 50 ms at half duty
    const run = hung.run(primes(10_000), { signal: signal() })
    await sleep(30)
    made.at(-1)!.crash('error', 'worker ran out of memory')
    expect(await run).toMatchObject({ outcome: 'client-error', errorMessage: expect.stringMatching(/WorkerCrashedError: worker crashed: worker ran out of memory/) })
    expect(hung.alive).toBe(false)
  })
})
