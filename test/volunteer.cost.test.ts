/**
 * What the page says contributing costs (issue 12, item 5): the energy estimate from the governor's
 * plan, and the one GPU statement (gpuStory); and the page's short ids and byte formatting.
 */
import { describe, expect, it } from 'vitest'
import { TYPICAL_BATTERY_WH, WATTS_PER_BUSY_CORE, estimateCost } from '../src/volunteer/cost.ts'
import { gpuStory } from '../src/volunteer/device.ts'
import { Governor, ownContributionOf } from '../src/volunteer/governor.ts'
import { GEMM_NOT_STARTED } from '../src/volunteer/runner-pool.ts'
import { formatBytes, formatRange, splitId } from '../src/ui/format.ts'
import type { DeviceInfo } from '../src/volunteer/state.ts'

describe('estimateCost', () => {
  it('busy cores are workers x duty cycle, watts busy cores x the typical per-core figures', () => {
    const g = new Governor(8, 7, { cpuShare: 0.5, gpuShare: 0.5 }).state
    const c = estimateCost(g)
    expect(c.workers).toBe(4)
    expect(c.busyCores).toBeCloseTo(4)
    expect(c.watts.low).toBeCloseTo(4 * WATTS_PER_BUSY_CORE.low)
    expect(c.watts.high).toBeCloseTo(4 * WATTS_PER_BUSY_CORE.high)
    expect(c.whPerHour).toEqual(c.watts)
    expect(c.batteryPercentPerHour.high).toBeCloseTo(100 * c.watts.high / TYPICAL_BATTERY_WH)
  })

  it('a share the worker cap cannot reach is estimated at what the workers can do', () => {
    // 2 cores at 30%: one worker computing 60% of the time = 0.6 cores
    const c = estimateCost(new Governor(2, 1, { cpuShare: 0.3, gpuShare: 0.5 }).state)
    expect(c.busyCores).toBeCloseTo(0.6)
    // 8 cores at 100% with 2 slots: 2 busy cores, not 8
    expect(estimateCost(new Governor(8, 2, { cpuShare: 1, gpuShare: 0.5 }).state).busyCores).toBeCloseTo(2)
  })
})

describe('gpuStory', () => {
  const device = (gpu: DeviceInfo['gpu'], gpuProbed = true): DeviceInfo => ({ cores: 4, memoryGiB: null, gpu, gpuProbed })
  const swiftshader = { vendor: 'google', architecture: 'swiftshader', description: '', fallback: true }

  it('before the probe answers it does not claim either way', () => {
    expect(gpuStory(device(null, false), { ...GEMM_NOT_STARTED }).kind).toBe('unknown')
  })

  it('no adapter: matrix tiles run on the CPU', () => {
    const s = gpuStory(device(null), { ...GEMM_NOT_STARTED })
    expect(s).toMatchObject({ kind: 'cpu', adapter: 'no WebGPU adapter', backend: 'the CPU (WebAssembly)', throughput: null })
    expect(`${s.adapter}: matrix tiles run on ${s.backend}`).toBe('no WebGPU adapter: matrix tiles run on the CPU (WebAssembly)')
  })

  it('a fallback adapter is software, on the CPU; a hardware one is a GPU', () => {
    expect(gpuStory(device(swiftshader), { ...GEMM_NOT_STARTED })).toMatchObject({ kind: 'software', backend: 'WebGPU' })
    expect(gpuStory(device(swiftshader), { ...GEMM_NOT_STARTED }).adapter).toMatch(/google swiftshader, fallback adapter/)
    expect(gpuStory(device({ ...swiftshader, vendor: 'nvidia', architecture: 'hopper', fallback: false }), { ...GEMM_NOT_STARTED })).toMatchObject({ kind: 'gpu', adapter: 'nvidia hopper' })
  })

  it('once tiles ran, what ran: the slot\'s backend, adapter and throughput', () => {
    const ran = gpuStory(device(swiftshader), { backend: 'webgpu', adapter: 'google swiftshader', fallbackAdapter: true, fallbackReason: null, gflops: 0.9, tilesDone: 3 })
    expect(ran).toMatchObject({ kind: 'software', backend: 'WebGPU', throughput: '0.90 GFLOP/s (webgpu), 3 tile(s)' })
    const lost = gpuStory(device(swiftshader), { backend: 'wasm', adapter: 'google swiftshader', fallbackAdapter: true, fallbackReason: 'GPU device lost (destroyed)', gflops: 20, tilesDone: 4 })
    expect(lost).toMatchObject({ kind: 'cpu', backend: 'WASM SIMD (GPU device lost (destroyed))' })
    expect(gpuStory(device(null), null).kind).toBe('none')
  })
})

describe('ownContributionOf', () => {
  it('passes a 0-1 estimate through and reports nothing otherwise', () => {
    expect(ownContributionOf({ ownContributionEstimate: 0.42 })).toBe(0.42)
    expect(ownContributionOf({})).toBeNull()
    expect(ownContributionOf({ ownContributionEstimate: -1 })).toBeNull()
    expect(ownContributionOf({ ownContributionEstimate: '0.5' })).toBeNull()
  })
})

describe('page formatting', () => {
  it('splitId keeps the head and tail and the middle for copying', () => {
    const id = '12D3KooWFgpfTGKZYjGRr3CXoyYgid9Y3SdbyFaDR2M8DZyxCKte'
    const p = splitId(id)
    expect(`${p.head}…${p.tail}`).toBe('12D3Koo…CKte')
    expect(p.head + p.middle + p.tail).toBe(id)
    expect(splitId('short')).toEqual({ head: 'short', middle: '', tail: '' })
  })

  it('formatBytes and formatRange', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(950)).toBe('950 B')
    expect(formatBytes(12_300)).toBe('12.3 kB')
    expect(formatBytes(157_537_800)).toBe('158 MB')
    expect(formatBytes(4.56e9)).toBe('4.56 GB')
    expect(formatRange({ low: 1.25, high: 65 / 12 }, 'W')).toBe('1.3–5.4 W')
    expect(formatRange({ low: 12.4, high: 12.2 }, 'W')).toBe('12 W')
  })
})
