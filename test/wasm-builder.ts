/**
 * Builds tiny WebAssembly modules byte by byte (binary format of the WebAssembly Core
 * Specification, chapter 5), for tests that need a module the AssemblyScript compiler would not
 * produce: extra imports, unbounded or oversized memory, missing exports, endless loops.
 */
function leb (n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

/** Signed LEB128 (i32.const immediates). */
function sleb (n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out }
    out.push(b | 0x80)
  }
}

function str (s: string): number[] {
  const b = [...new TextEncoder().encode(s)]
  return [...leb(b.length), ...b]
}

function section (id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body]
}

function vec (items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()]
}

export interface ModuleSpec {
  /** Function imports `module.name` of type () -> void. */
  imports?: string[]
  /** Memory limits in pages; `max` null for none; omit for no memory. */
  memory?: { min: number, max: number | null }
  /** ABI exports to include (default all of sc_abi, sc_input, sc_run, sc_output). */
  exports?: string[]
  /** Body of sc_run: 'return-len' returns the i32 constant `outLen`; 'loop' never returns. */
  run?: { kind: 'return-len', outLen: number } | { kind: 'loop' } | { kind: 'grow-forever' }
}

/** Assemble a module following ABI 1's shape (see docs/kernel-abi.md). */
export function buildModule (spec: ModuleSpec): Uint8Array {
  const imports = spec.imports ?? []
  const exportsWanted = spec.exports ?? ['sc_abi', 'sc_input', 'sc_run', 'sc_output']
  // types: 0 = () -> void, 1 = () -> i32, 2 = (i32) -> i32
  const types = vec([[0x60, 0, 0], [0x60, 0, 1, 0x7f], [0x60, 1, 0x7f, 1, 0x7f]])
  const importSec = vec(imports.map(full => {
    const [mod, name] = full.split('.')
    return [...str(mod), ...str(name), 0x00, 0]
  }))
  // functions: sc_abi (type 1), sc_input (type 2), sc_run (type 2), sc_output (type 1)
  const funcs = vec([[1], [2], [2], [1]])
  const n = imports.length
  const names: Record<string, number> = { sc_abi: n, sc_input: n + 1, sc_run: n + 2, sc_output: n + 3 }
  const exportItems = exportsWanted.map(name => [...str(name), 0x00, ...leb(names[name])])
  if (spec.memory != null) exportItems.push([...str('memory'), 0x02, 0])
  const run = spec.run ?? { kind: 'return-len', outLen: 0 }
  const i32 = (v: number): number[] => [0x41, ...sleb(v)]
  const runBody = run.kind === 'return-len'
    ? [...i32(run.outLen)]
    : run.kind === 'loop'
      ? [0x03, 0x40, 0x0c, 0x00, 0x0b, ...i32(0)] // loop br 0 end; i32.const 0
      : [0x03, 0x40, ...i32(1), 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b, ...i32(0)] // loop (memory.grow 1; drop; br 0)
  const bodies = [
    [...i32(1)],
    [...i32(1024)],
    runBody,
    [...i32(2048)]
  ].map(code => {
    const body = [0, ...code, 0x0b] // no locals
    return [...leb(body.length), ...body]
  })
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  out.push(...section(1, types))
  if (imports.length > 0) out.push(...section(2, importSec))
  out.push(...section(3, funcs))
  if (spec.memory != null) {
    const lim = spec.memory.max == null ? [0x00, ...leb(spec.memory.min)] : [0x01, ...leb(spec.memory.min), ...leb(spec.memory.max)]
    out.push(...section(5, vec([lim])))
  }
  out.push(...section(7, vec(exportItems)))
  out.push(...section(10, vec(bodies)))
  return new Uint8Array(out)
}
