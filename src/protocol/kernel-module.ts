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
import type { WgslReflect } from 'wgsl_reflect'

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

/** A WGSL kernel that does not parse, lacks its compute entry point, or breaks the ABI's workgroup size or bindings. */
export class KernelWgslError extends Error {
  static override readonly name: ErrorName = 'KernelWgslError'
  override readonly name: ErrorName = 'KernelWgslError'
  constructor (message: string) { super(message) }
}

/** The WGSL entry point the host dispatches. */
export const WGSL_ENTRY_POINT = 'main'
/** Largest params uniform in bytes: the host binds 16 bytes (inputWords, outputWords, 0, 0). */
const WGSL_PARAMS_BYTES = 16
/** The ABI's bindings, all in @group(0) (docs/kernel-abi.md, "Backend webgpu"). */
const WGSL_BINDINGS: ReadonlyArray<{ binding: number, role: string, decl: string, storage: boolean, access?: string }> = [
  { binding: 0, role: 'input', decl: 'var<storage, read> input: array<u32>', storage: true, access: 'read' },
  { binding: 1, role: 'output', decl: 'var<storage, read_write> output: array<u32>', storage: true, access: 'read_write' },
  { binding: 2, role: 'params', decl: 'var<uniform> params: Params', storage: false }
]

/**
 * Parse and reflect a WGSL kernel (wgsl_reflect) and check it against the ABI: it parses, has a
 * compute entry point `main` whose `@workgroup_size` is (`manifest.workgroupSize`, 1, 1), and binds
 * exactly @group(0) @binding(0) input (storage, read, an array), 1 output (storage, read_write, an
 * array) and 2 params (uniform, at most 16 bytes), each used by `main` (the host binds all three to
 * an `auto` layout, which leaves out unused ones). Used by `kernel build` and by the hub at post.
 * Parsing is not compiling: the GPU's own compiler can still refuse the shader (ShaderKernelError).
 * @param manifest `workgroupSize`: invocations per workgroup, 1-256
 * @throws KernelWgslError naming the first problem (a syntax error with its line)
 */
export async function checkWgslKernel (source: string, manifest: { workgroupSize: number }): Promise<void> {
  // loaded on demand: the volunteer page never checks WGSL this way, so it stays out of its bundle
  const { WgslReflect: Reflect } = await import('wgsl_reflect/wgsl_reflect.module.js')
  let reflect: WgslReflect
  try {
    reflect = new Reflect(source)
  } catch (err) {
    const text = (err as Error).message
    const line = /Line: (\d+)/.exec(text)?.[1]
    throw new KernelWgslError(`WGSL syntax error${line != null ? ` on line ${line}` : ''}: ${text.replace(/\.*\s*Line: \d+\s*$/, '')}`)
  }
  const entry = reflect.entry.compute.find(f => f.name === WGSL_ENTRY_POINT)
  if (entry == null) {
    const other = [...reflect.entry.vertex, ...reflect.entry.fragment].find(f => f.name === WGSL_ENTRY_POINT)
    throw new KernelWgslError(other != null
      ? `WGSL entry point ${WGSL_ENTRY_POINT} is a ${other.stage ?? 'non-compute'} shader; it must be @compute`
      : `WGSL has no @compute entry point named ${WGSL_ENTRY_POINT}`)
  }
  const size = entry.workgroupSize ?? [1, 1, 1]
  if (size[0] !== manifest.workgroupSize || size[1] !== 1 || size[2] !== 1) {
    throw new KernelWgslError(`WGSL @workgroup_size(${size.join(', ')}) of ${WGSL_ENTRY_POINT} does not match kernel.json webgpu.workgroupSize ${manifest.workgroupSize}: write @workgroup_size(${manifest.workgroupSize}) (the host dispatches in x only)`)
  }
  const declared = reflect.getBindGroups().flatMap((group, g) => group.filter(b => b != null).map(b => ({ ...b, group: g, isArray: b.isArray, size: b.size })))
  for (const b of declared) {
    const want = WGSL_BINDINGS.find(w => w.binding === b.binding)
    if (b.group !== 0 || want == null) throw new KernelWgslError(`WGSL binds ${b.name} at @group(${b.group}) @binding(${b.binding}), outside the ABI's @group(0) bindings 0-2`)
    const ok = want.storage ? b.resourceType === 1 && b.access === want.access && b.isArray : b.resourceType === 0 && b.size <= WGSL_PARAMS_BYTES
    if (!ok) throw new KernelWgslError(`WGSL @group(0) @binding(${b.binding}) (${b.name}) must be the ABI's ${want.role}: ${want.decl}${want.storage ? '' : ` (at most ${WGSL_PARAMS_BYTES} bytes)`}`)
  }
  const used = new Set(entry.resources.map(r => `${r.group}/${r.binding}`))
  for (const want of WGSL_BINDINGS) {
    if (!declared.some(b => b.group === 0 && b.binding === want.binding)) throw new KernelWgslError(`WGSL lacks @group(0) @binding(${want.binding}) ${want.decl}`)
    if (!used.has(`0/${want.binding}`)) throw new KernelWgslError(`WGSL declares @group(0) @binding(${want.binding}) (${want.role}) but ${WGSL_ENTRY_POINT} does not use it; the host binds all three bindings`)
  }
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
