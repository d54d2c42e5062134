/**
 * Web Worker entry point (comlink `expose`) for researcher kernels (ABI 1 and 2,
 * docs/kernel-abi.md). Receives the kernel's bytes, its limits and one input. A WASM kernel is
 * checked (hash, imports, memory maximum, exports for its ABI) before it is instantiated; a WGSL
 * kernel is hash-checked and compiled on this worker's own WebGPU device.
 *
 * The governor, as in the primes worker (wasm-runner.ts): an ABI 2 kernel runs in ~4 ms slices
 * under this worker's duty cycle and pause gate (duty-cycle.ts, set with `setThrottle`); an ABI 1
 * kernel is one call, throttled between units by the page (kernel-slot.ts); a WGSL kernel is one
 * dispatch per unit, likewise throttled by the page in the GPU share. The page enforces the
 * deadline with `worker.terminate()`.
 */
import { expose } from 'comlink'
import { checkKernelHash } from '../src/protocol/kernel-module.ts'
import { DutyCycle } from './duty-cycle.ts'
import { instantiateWasmKernel } from './wasm-kernel.ts'
import { ShaderKernelError, compileShaderKernel } from './webgpu-kernel.ts'
import type { ThrottleSettings } from './duty-cycle.ts'

export interface KernelLimits {
  kernelId: string
  /** The manifest's ABI version (1 or 2; default 1). */
  abi?: number
  backend: 'wasm' | 'webgpu'
  memoryBytes: number
  maxOutputBytes: number
  /** webgpu only */
  workgroupSize: number
  /** webgpu only: bytes read back */
  outputBytes: number
}

const kernels = new Map<string, { run: (input: Uint8Array) => Promise<Uint8Array> }>()
let device: Promise<GPUDevice> | undefined
/** The governor's duty cycle and pause gate for this worker's sliced kernels (set from the page). */
const dutyCycle = new DutyCycle()
const createdAt = performance.now()

/** This worker's WebGPU device (requested once, with only the adapter's defaults). @throws ShaderKernelError */
async function gpuDevice (): Promise<GPUDevice> {
  device ??= (async () => {
    const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu
    const adapter = await gpu?.requestAdapter()
    if (adapter == null) throw new ShaderKernelError('this browser has no WebGPU adapter')
    return await adapter.requestDevice()
  })()
  return await device
}

async function load (bytes: Uint8Array, limits: KernelLimits): Promise<{ run: (input: Uint8Array) => Promise<Uint8Array> }> {
  if (limits.backend === 'webgpu') {
    checkKernelHash(bytes, limits.kernelId)
    const shader = await compileShaderKernel(await gpuDevice(), new TextDecoder().decode(bytes), limits)
    return { run: async input => await shader.run(input) }
  }
  const kernel = await instantiateWasmKernel(bytes, limits)
  return {
    async run (input) {
      if (kernel.abi !== 1) return await kernel.run(input, { throttle: dutyCycle })
      // one call: its wall time is busy time (the page rests after it)
      const t0 = performance.now()
      try {
        return await kernel.run(input)
      } finally {
        dutyCycle.recordBusy(performance.now() - t0)
      }
    }
  }
}

export const kernelRunner = {
  /**
   * Run the kernel `kernelId` on `input`. The first call with a kernel checks and compiles it;
   * later calls reuse the compiled module, and every call runs in a fresh WebAssembly instance (a
   * WASM kernel keeps no state from one unit to the next; instantiateWasmKernel).
   * @throws KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError,
   *   KernelRunError, KernelOutputTooLargeError, ShaderKernelError (their name and message cross to
   *   the page)
   */
  async run (kernelBytes: Uint8Array, limits: KernelLimits, input: Uint8Array): Promise<Uint8Array> {
    let kernel = kernels.get(limits.kernelId)
    if (kernel == null) {
      kernel = await load(kernelBytes, limits)
      kernels.set(limits.kernelId, kernel)
    }
    return await kernel.run(input)
  },
  /** Apply the governor's duty cycle (0-1] and pause flag; an ABI 2 kernel obeys them at its next slice boundary. */
  setThrottle (settings: ThrottleSettings): void {
    dutyCycle.set(settings)
  },
  /** Time spent computing WASM kernels since the worker started, and the worker's age, both in ms. */
  stats (): { busyMs: number, aliveMs: number } {
    return { busyMs: dutyCycle.busyMs, aliveMs: performance.now() - createdAt }
  }
}

export type KernelRunner = typeof kernelRunner

expose(kernelRunner)
