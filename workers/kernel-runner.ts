/**
 * Web Worker entry point (comlink `expose`) for researcher kernels (ABI 1, docs/kernel-abi.md).
 * Receives the kernel's bytes, its limits and one input. A WASM kernel is checked (hash, imports,
 * memory maximum, exports) before it is instantiated; a WGSL kernel is hash-checked and compiled on
 * this worker's own WebGPU device. The page enforces the deadline with `worker.terminate()`.
 */
import { expose } from 'comlink'
import { checkKernelHash } from '../src/protocol/kernel-module.ts'
import { instantiateWasmKernel } from './wasm-kernel.ts'
import { ShaderKernelError, compileShaderKernel } from './webgpu-kernel.ts'
import type { WasmKernel } from './wasm-kernel.ts'
import type { ShaderKernel } from './webgpu-kernel.ts'

export interface KernelLimits {
  kernelId: string
  backend: 'wasm' | 'webgpu'
  memoryBytes: number
  maxOutputBytes: number
  /** webgpu only */
  workgroupSize: number
  /** webgpu only: bytes read back */
  outputBytes: number
}

const kernels = new Map<string, { run: (input: Uint8Array) => Uint8Array | Promise<Uint8Array> }>()
let device: Promise<GPUDevice> | undefined

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

async function load (bytes: Uint8Array, limits: KernelLimits): Promise<WasmKernel | ShaderKernel> {
  if (limits.backend === 'wasm') return await instantiateWasmKernel(bytes, limits)
  checkKernelHash(bytes, limits.kernelId)
  return await compileShaderKernel(await gpuDevice(), new TextDecoder().decode(bytes), limits)
}

export const kernelRunner = {
  /**
   * Run the kernel `kernelId` on `input`. The first call with a kernel checks and loads it; later
   * calls reuse it.
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
  }
}

export type KernelRunner = typeof kernelRunner

expose(kernelRunner)
