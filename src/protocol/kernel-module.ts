/**
 * Load-time checks of a researcher's kernel against its manifest (kernel ABI 1 and 2,
 * docs/kernel-abi.md): the bytes hash to the manifest's id, a WASM module imports nothing outside
 * the whitelist, defines its own memory with a declared maximum within the manifest's limit, and
 * has the ABI's exports. Run before anything is instantiated: at post time (researcher and hub)
 * and at load time (volunteer).
 */
import { sha256Bytes, toHex } from './signing.ts'
import type { KernelManifest } from './pb/manifest.ts'
import type { ErrorName } from './errors.ts'

/** Imports a kernel may have, as `module.name`. */
export const KERNEL_ALLOWED_IMPORTS: readonly string[] = ['env.abort']
export const WASM_PAGE_BYTES = 65536
/** The exports an ABI 1 module must have (one `sc_run` call per work unit). */
export const WASM_KERNEL_EXPORTS: readonly string[] = ['memory', 'sc_abi', 'sc_input', 'sc_run', 'sc_output']
/** The exports an ABI 2 module must have (sliced: `sc_init`, then `sc_step` until done, then `sc_finish`). */
export const WASM_KERNEL_EXPORTS_ABI2: readonly string[] = ['memory', 'sc_abi', 'sc_input', 'sc_init', 'sc_step', 'sc_finish', 'sc_output']
/** Required exports by ABI version. */
export const WASM_KERNEL_EXPORTS_BY_ABI: Readonly<Record<number, readonly string[]>> = { 1: WASM_KERNEL_EXPORTS, 2: WASM_KERNEL_EXPORTS_ABI2 }

/** The kernel's bytes do not hash to the manifest's kernel id. */
export class KernelHashMismatchError extends Error {
  static override readonly name: ErrorName = 'KernelHashMismatchError'
  override readonly name: ErrorName = 'KernelHashMismatchError'
  constructor (message: string) { super(message) }
}
/** The module imports something outside KERNEL_ALLOWED_IMPORTS. */
export class KernelImportError extends Error {
  static override readonly name: ErrorName = 'KernelImportError'
  override readonly name: ErrorName = 'KernelImportError'
  constructor (message: string, readonly importName: string) { super(message) }
}
/** The module's memory is imported, unbounded, or larger than the manifest allows. */
export class KernelMemoryError extends Error {
  static override readonly name: ErrorName = 'KernelMemoryError'
  override readonly name: ErrorName = 'KernelMemoryError'
  constructor (message: string) { super(message) }
}
/** The module is not valid WebAssembly or lacks an ABI export. */
export class KernelAbiError extends Error {
  static override readonly name: ErrorName = 'KernelAbiError'
  override readonly name: ErrorName = 'KernelAbiError'
  constructor (message: string) { super(message) }
}

/**
 * @throws KernelHashMismatchError when sha-256(bytes) differs from `kernelId`
 */
export function checkKernelHash (bytes: Uint8Array, kernelId: string): void {
  const actual = toHex(sha256Bytes(bytes))
  if (actual !== kernelId) throw new KernelHashMismatchError(`kernel bytes hash to ${actual}, the manifest says ${kernelId}`)
}

function readLeb (bytes: Uint8Array, at: { pos: number }): number {
  let result = 0
  let shift = 0
  for (;;) {
    if (at.pos >= bytes.length) throw new KernelAbiError('truncated WebAssembly module')
    const b = bytes[at.pos++]
    result += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return result
    shift += 7
    if (shift > 35) throw new KernelAbiError('bad LEB128 in WebAssembly module')
  }
}

/**
 * Check a compiled module's imports against KERNEL_ALLOWED_IMPORTS (each must be a function).
 * @throws KernelImportError naming the first import that is not allowed
 */
export function checkKernelImports (module: WebAssembly.Module): void {
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`
    if (!KERNEL_ALLOWED_IMPORTS.includes(name) || imp.kind !== 'function') {
      throw new KernelImportError(`kernel imports ${imp.kind} ${name}, outside the whitelist (${KERNEL_ALLOWED_IMPORTS.join(', ')})`, name)
    }
  }
}

/**
 * Decode an AssemblyScript string (UTF-16LE, byte length in the u32 before it) from a kernel's
 * memory, for abort() messages; '' when out of bounds or implausibly long.
 */
export function readAsString (memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (memory == null || ptr < 4 || ptr >= memory.buffer.byteLength) return ''
  const bytes = new DataView(memory.buffer).getUint32(ptr - 4, true)
  if ((bytes & 1) !== 0 || ptr + bytes > memory.buffer.byteLength || bytes > 4096) return ''
  return String.fromCharCode(...new Uint16Array(memory.buffer.slice(ptr, ptr + bytes)))
}

/**
 * The message of a kernel's `env.abort(message, file, line, column)`: the decoded message
 * ('abort' when unreadable), then ` at file:line:column` only when the file name is readable.
 */
export function abortMessage (memory: WebAssembly.Memory | undefined, msgPtr: number, filePtr: number, line: number, column: number): string {
  const file = readAsString(memory, filePtr >>> 0)
  return `${readAsString(memory, msgPtr >>> 0) || 'abort'}${file !== '' ? ` at ${file}:${line >>> 0}:${column >>> 0}` : ''}`
}

/**
 * Declared memory limits of the module's own memories (section 5 of the binary format,
 * WebAssembly Core Specification §5.5.8), in pages; `max` is null when undeclared.
 * @throws KernelAbiError on a malformed binary
 */
export function wasmMemoryLimits (bytes: Uint8Array): Array<{ min: number, max: number | null, memory64: boolean }> {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new KernelAbiError('not a WebAssembly module')
  const at = { pos: 8 }
  const memories: Array<{ min: number, max: number | null, memory64: boolean }> = []
  while (at.pos < bytes.length) {
    const id = bytes[at.pos++]
    const size = readLeb(bytes, at)
    const end = at.pos + size
    if (end > bytes.length) throw new KernelAbiError('truncated WebAssembly section')
    if (id === 5) {
      const count = readLeb(bytes, at)
      for (let i = 0; i < count; i++) {
        const flags = readLeb(bytes, at)
        const min = readLeb(bytes, at)
        const max = (flags & 1) === 1 ? readLeb(bytes, at) : null
        memories.push({ min, max, memory64: (flags & 4) === 4 })
      }
    }
    at.pos = end
  }
  return memories
}

/**
 * All the load-time checks of a WASM kernel; returns the compiled module (not instantiated).
 * @param manifest `abi` (default 1) selects the required exports (WASM_KERNEL_EXPORTS_BY_ABI)
 * @throws KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError (also for
 *   an ABI version with no WASM exports defined)
 */
export async function checkWasmKernel (bytes: Uint8Array, manifest: Pick<KernelManifest, 'kernelId' | 'memoryBytes'> & { abi?: number }): Promise<WebAssembly.Module> {
  checkKernelHash(bytes, manifest.kernelId)
  let module: WebAssembly.Module
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>)
  } catch (err) {
    throw new KernelAbiError(`not valid WebAssembly: ${(err as Error).message}`)
  }
  checkKernelImports(module)
  const memories = wasmMemoryLimits(bytes)
  if (memories.length !== 1) throw new KernelMemoryError(`kernel must define exactly one memory, it defines ${memories.length}`)
  const [mem] = memories
  if (mem.memory64) throw new KernelMemoryError('64-bit memories are not allowed')
  if (mem.max == null) throw new KernelMemoryError('kernel memory declares no maximum')
  if (mem.max * WASM_PAGE_BYTES > manifest.memoryBytes) {
    throw new KernelMemoryError(`kernel memory maximum ${mem.max * WASM_PAGE_BYTES} bytes exceeds the manifest's ${manifest.memoryBytes}`)
  }
  const exports = new Set(WebAssembly.Module.exports(module).map(e => e.name))
  const required = WASM_KERNEL_EXPORTS_BY_ABI[manifest.abi ?? 1]
  if (required == null) throw new KernelAbiError(`no WASM exports are defined for ABI ${manifest.abi}`)
  for (const name of required) if (!exports.has(name)) throw new KernelAbiError(`kernel lacks the export ${name} (ABI ${manifest.abi ?? 1})`)
  return module
}
