/** The governor's plan (workers x duty cycle), pauses with hysteresis, and the worker-side duty cycle on the real kernel. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Governor, Hysteresis, ShareOutOfRangeError } from '../src/volunteer/governor.ts'
import { DutyCycle } from '../workers/duty-cycle.ts'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { REPO_ROOT } from './helpers.ts'

describe('governor', () => {
  it('meets a share with ceil(share x cores) workers at share x cores / workers duty, capped by the slots', () => {
    const g = new Governor(8, 8, { cpuShare: 0.3, gpuShare: 0.5 })
    expect(g.cpuPlan().workers).toBe(3)
    expect(g.cpuPlan().duty).toBeCloseTo(0.8, 9)
    g.setShares({ cpuShare: 1 })
    expect(g.cpuPlan()).toEqual({ workers: 8, duty: 1, paused: false })
    const capped = new Governor(8, 2, { cpuShare: 0.5, gpuShare: 0.5 })
    expect(capped.state.reachableCpuShare).toBe(0.25)
    expect(() => { g.setShares({ cpuShare: 0.05 }) }).toThrow(ShareOutOfRangeError)
    expect(() => { g.setShares({ gpuShare: 1.5 }) }).toThrow(ShareOutOfRangeError)
  })

  it('holds GPU work while paused and rests it so busy / (busy + rest) is the GPU share', async () => {
    const g = new Governor(4, 2, { cpuShare: 1, gpuShare: 0.25 })
    expect(g.gpuRestMs(100)).toBeCloseTo(300, 9)
    g.setShares({ gpuShare: 1 })
    expect(g.gpuRestMs(100)).toBe(0)
    g.setPause('tab-hidden', true)
    let released = false
    const gate = g.whenGpuMayRun(new AbortController().signal).then(() => { released = true })
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(released).toBe(false)
    g.setPause('tab-hidden', false)
    await gate
    expect(released).toBe(true)
  })

  it('pauses while any reason holds; a reason clears only after its hold time', async () => {
    const g = new Governor(2, 2)
    const h = new Hysteresis(g, 'tab-hidden', 100)
    h.bad()
    g.setPause('battery-low', true)
    expect(g.cpuPlan().workers).toBe(0)
    g.setPause('battery-low', false)
    h.good()
    await new Promise(resolve => setTimeout(resolve, 50))
    h.bad(); h.good() // a flicker restarts the hold
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(g.paused).toBe(true)
    await new Promise(resolve => setTimeout(resolve, 80))
    expect(g.paused).toBe(false)
  })

  it('the duty cycle holds the kernel to its share of wall time, and a pause holds it at a slice boundary', async () => {
    const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
    const dc = new DutyCycle()
    dc.set({ duty: 0.3, paused: false })
    const started = performance.now()
    let pausedBusy = 0
    setTimeout(() => { dc.set({ duty: 0.3, paused: true }); setTimeout(() => { pausedBusy = dc.busyMs }, 50) }, 1000)
    setTimeout(() => { expect(dc.busyMs - pausedBusy).toBe(0); dc.set({ duty: 0.3, paused: false }) }, 1500)
    const count = await kernel.countRange(1e12, 1e12 + 2e9, { throttle: dc })
    const wall = performance.now() - started - 500
    expect(count).toBe(72_381_054)
    expect(dc.busyMs / wall).toBeGreaterThan(0.25)
    expect(dc.busyMs / wall).toBeLessThan(0.35)
  }, 30_000)
})
