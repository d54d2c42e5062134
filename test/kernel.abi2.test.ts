/**
 * Kernel ABI 2 (sliced researcher kernels, docs/kernel-abi.md) in Node: the load-time checks per
 * ABI, the sliced Collatz example (examples/collatz-sliced) giving the same output as the ABI 1
 * one (examples/collatz) for the same inputs, obeying the duty cycle and doing no steps while
 * paused, and the `kernel init` skeletons of both ABIs passing `kernel test`.
 */
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManifestError, checkDirManifest, checkWasmKernel, sha256Bytes, toHex } from '../src/protocol/index.ts'
import { buildKernel, compareOutputs, initKernel, readKernelDir, testKernel } from '../src/cli/kernel.ts'
import { DutyCycle } from '../workers/duty-cycle.ts'
import { instantiateWasmKernel, nextIterations } from '../workers/wasm-kernel.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { WasmKernel } from '../workers/wasm-kernel.ts'

const u64Pair = (lo: number, hi: number): Uint8Array => {
  const b = new Uint8Array(16)
  const v = new DataView(b.buffer)
  v.setBigUint64(0, BigInt(lo), true)
  v.setBigUint64(8, BigInt(hi), true)
  return b
}

async function built (example: string): Promise<{ bytes: Uint8Array, abi: number, kernel: WasmKernel }> {
  const dir = join(tempDir(), example)
  cpSync(join(REPO_ROOT, 'examples', example), dir, { recursive: true, filter: src => !src.includes('/build') })
  await buildKernel(dir)
  const manifest = readKernelDir(dir)
  const bytes = new Uint8Array(readFileSync(join(dir, manifest.entry)))
  const kernel = await instantiateWasmKernel(bytes, { kernelId: toHex(sha256Bytes(bytes)), abi: manifest.abi, memoryBytes: manifest.limits.memoryBytes, maxOutputBytes: manifest.limits.maxOutputBytes })
  return { bytes, abi: manifest.abi, kernel }
}

let abi1: Awaited<ReturnType<typeof built>>
let abi2: Awaited<ReturnType<typeof built>>
beforeAll(async () => {
  abi1 = await built('collatz')
  abi2 = await built('collatz-sliced')
})

describe('kernel ABI 2', () => {
  it('manifests accept ABI 1 and 2 and refuse others; the exports are checked per ABI', async () => {
    const dir = { ...readKernelDir(join(REPO_ROOT, 'examples/collatz-sliced')) }
    expect(checkDirManifest(dir).abi).toBe(2)
    expect(() => checkDirManifest({ ...dir, abi: 3 })).toThrow(ManifestError)
    const id = (b: Uint8Array): string => toHex(sha256Bytes(b))
    await expect(checkWasmKernel(abi2.bytes, { kernelId: id(abi2.bytes), memoryBytes: 131072, abi: 2 })).resolves.toBeInstanceOf(WebAssembly.Module)
    await expect(checkWasmKernel(abi2.bytes, { kernelId: id(abi2.bytes), memoryBytes: 131072, abi: 1 })).rejects.toMatchObject({ name: 'KernelAbiError', message: expect.stringMatching(/sc_run/) })
    await expect(checkWasmKernel(abi1.bytes, { kernelId: id(abi1.bytes), memoryBytes: 131072, abi: 2 })).rejects.toMatchObject({ name: 'KernelAbiError', message: expect.stringMatching(/sc_init/) })
    await expect(checkWasmKernel(abi1.bytes, { kernelId: id(abi1.bytes), memoryBytes: 131072, abi: 3 })).rejects.toMatchObject({ name: 'KernelAbiError' })
    expect(abi1.kernel.abi).toBe(1)
    expect(abi2.kernel.abi).toBe(2)
  })

  it('the sliced Collatz kernel returns the ABI 1 kernel\'s output for the same inputs, errors included', async () => {
    const inputs = [u64Pair(1, 2), u64Pair(1, 100_000), u64Pair(27, 28), u64Pair(100_000, 150_000), u64Pair(2 ** 39, 2 ** 39 + 3000)]
    for (const input of inputs) {
      const want = await abi1.kernel.run(input)
      expect(want.length).toBeGreaterThan(0)
      expect(await abi2.kernel.run(input)).toEqual(want)
      expect(await abi2.kernel.run(input, { firstIterations: 1_000_000 })).toEqual(want)
    }
    for (const bad of [u64Pair(0, 10), u64Pair(10, 10), new Uint8Array(15)]) {
      const e1 = await abi1.kernel.run(bad).catch(e => e as Error)
      const e2 = await abi2.kernel.run(bad).catch(e => e as Error)
      expect(e1).toMatchObject({ name: 'KernelRunError' })
      expect(e2).toMatchObject({ name: 'KernelRunError' })
    }
  })

  it('slices aim at ~4 ms: maxIterations grows at most 8x a slice and shrinks after a long one', () => {
    expect(nextIterations(1, 0)).toBe(8)
    expect(nextIterations(100, 1)).toBe(400)
    expect(nextIterations(1000, 40)).toBe(100)
    expect(nextIterations(1, 1000)).toBe(1)
    expect(nextIterations(2 ** 30, 0.01)).toBe(0x7fffffff)
  })

  it('does no steps while paused, goes on at resume with the same output, and holds a duty cycle', async () => {
    const input = u64Pair(1, 1_500_000)
    const want = await abi1.kernel.run(input)
    const dc = new DutyCycle()
    let slices = 0
    const run = abi2.kernel.run(input, { throttle: dc, onSlice: () => { slices++ } })
    await new Promise(resolve => setTimeout(resolve, 30))
    dc.set({ duty: 1, paused: true })
    await new Promise(resolve => setTimeout(resolve, 20))
    const atPause = slices
    const busyAtPause = dc.busyMs
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(slices).toBe(atPause)
    expect(dc.busyMs).toBe(busyAtPause)
    const resumed = performance.now()
    dc.set({ duty: 0.3, paused: false })
    expect(await run).toEqual(want)
    const wall = performance.now() - resumed
    const busy = dc.busyMs - busyAtPause
    expect(slices).toBeGreaterThan(atPause)
    // at 30%: busy / wall near 0.3 (generous bounds: this machine is shared)
    if (busy > 200) {
      expect(busy / wall).toBeGreaterThan(0.2)
      expect(busy / wall).toBeLessThan(0.42)
    }
  }, 60_000)

  it('an abort between slices ends the run with the signal\'s reason', async () => {
    const ac = new AbortController()
    const run = abi2.kernel.run(u64Pair(1, 3_000_000), { signal: ac.signal })
    setTimeout(() => { ac.abort(new Error('stopped')) }, 20)
    await expect(run).rejects.toThrow('stopped')
    // the instance takes the next unit
    expect(await abi2.kernel.run(u64Pair(27, 28))).toEqual(await abi1.kernel.run(u64Pair(27, 28)))
  })

  it('kernel init makes an ABI 1 and an ABI 2 skeleton that build and pass kernel test', async () => {
    for (const abi of [1, 2]) {
      const dir = join(tempDir(), `k-abi${abi}`)
      initKernel(`skeleton-abi${abi}`, 'wasm', dir, abi)
      expect(readKernelDir(dir).abi).toBe(abi)
      await buildKernel(dir)
      const { runs } = await testKernel(dir, join(dir, 'sample-inputs.json'))
      expect(compareOutputs(runs, join(dir, 'expected-outputs.json'))).toEqual([])
    }
  }, 120_000)
})
