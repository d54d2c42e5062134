/**
 * Host side of kernel ABI 1 for WASM kernels (docs/kernel-abi.md), usable in a Web Worker and in
 * Node: checks the module against its manifest before instantiating it, then runs it on input
 * bytes. Deadlines are enforced outside, by terminating the worker that runs this.
 */
import { checkWasmKernel, readAsString } from '../src/protocol/kernel-module.ts'
import type { KernelManifest } from '../src/protocol/pb/manifest.ts'
import type { ErrorName } from '../src/protocol/index.ts'

/** The kernel failed while running: abort(), a trap, out of memory, a negative return code, a bad output pointer or a missing export. */
export class KernelRunError extends Error {
  static override readonly name: ErrorName = 'KernelRunError'
  override readonly name: ErrorName = 'KernelRunError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
/** The kernel returned more output than its manifest's maxOutputBytes. */
export class KernelOutputTooLargeError extends Error {
  static override readonly name: ErrorName = 'KernelOutputTooLargeError'
  override readonly name: ErrorName = 'KernelOutputTooLargeError'
  constructor (message: string) { super(message) }
}

interface AbiExports {
  memory: WebAssembly.Memory
  sc_abi: () => number
  sc_input: (len: number) => number
  sc_run: (len: number) => number
  sc_output: () => number
}

export interface WasmKernel {
  /**
   * Run the kernel on one work unit's input bytes.
   * @throws KernelRunError, KernelOutputTooLargeError
   */
  run: (input: Uint8Array) => Uint8Array
}

/**
 * Check (hash, imports, memory limit, exports) and instantiate a WASM kernel.
 * @throws KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError (from the checks)
 */
export async function instantiateWasmKernel (bytes: Uint8Array, manifest: Pick<KernelManifest, 'kernelId' | 'memoryBytes' | 'maxOutputBytes'>): Promise<WasmKernel> {
  const module = await checkWasmKernel(bytes, manifest)
  let memory: WebAssembly.Memory | undefined
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: (msg: number, file: number, line: number, col: number) => {
        const text = `${readAsString(memory, msg) || 'abort'} at ${readAsString(memory, file)}:${line}:${col}`
        throw new KernelRunError(`kernel aborted: ${text}`)
      }
    }
  })
  const ex = instance.exports as unknown as AbiExports
  memory = ex.memory
  const abi = ex.sc_abi()
  if (abi !== 1) throw new KernelRunError(`kernel reports ABI ${abi}, expected 1`)
  return {
    run (input) {
      let outLen: number
      try {
        const inPtr = ex.sc_input(input.length)
        if (inPtr <= 0 || inPtr + input.length > ex.memory.buffer.byteLength) throw new KernelRunError(`kernel refused an input of ${input.length} bytes`)
        new Uint8Array(ex.memory.buffer, inPtr, input.length).set(input)
        outLen = ex.sc_run(input.length)
      } catch (err) {
        if (err instanceof KernelRunError) throw err
        throw new KernelRunError(`kernel trapped: ${(err as Error).message}`)
      }
      if (outLen < 0) throw new KernelRunError(`kernel returned error code ${outLen}`)
      if (outLen > manifest.maxOutputBytes) throw new KernelOutputTooLargeError(`kernel returned ${outLen} bytes, more than its limit of ${manifest.maxOutputBytes}`)
      const outPtr = ex.sc_output()
      if (outPtr < 0 || outPtr + outLen > ex.memory.buffer.byteLength) throw new KernelRunError('kernel output lies outside its memory')
      return new Uint8Array(ex.memory.buffer, outPtr, outLen).slice()
    }
  }
}
