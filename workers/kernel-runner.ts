/**
 * Web Worker entry point (comlink `expose`) for researcher WASM kernels (ABI 1,
 * docs/kernel-abi.md). Receives the kernel's bytes, its limits and one input; checks the module
 * before instantiating it. The page enforces the deadline with `worker.terminate()`.
 */
import { expose } from 'comlink'
import { instantiateWasmKernel } from './wasm-kernel.ts'
import type { WasmKernel } from './wasm-kernel.ts'

const kernels = new Map<string, WasmKernel>()

export const kernelRunner = {
  /**
   * Run the kernel `kernelId` on `input`. The first call with a kernel instantiates it (after the
   * hash, import, memory and export checks); later calls reuse the instance.
   * @throws KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError,
   *   KernelRunError, KernelOutputTooLargeError (their name and message cross to the page)
   */
  async run (kernelBytes: Uint8Array, limits: { kernelId: string, memoryBytes: number, maxOutputBytes: number }, input: Uint8Array): Promise<Uint8Array> {
    let kernel = kernels.get(limits.kernelId)
    if (kernel == null) {
      kernel = await instantiateWasmKernel(kernelBytes, limits)
      kernels.set(limits.kernelId, kernel)
    }
    return kernel.run(input)
  }
}

export type KernelRunner = typeof kernelRunner

expose(kernelRunner)
