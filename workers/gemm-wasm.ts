/**
 * Host wrapper for the WASM GEMM kernels (`kernels/gemm-simd.ts`, `kernels/gemm-scalar.ts`), the
 * fallback backend of kernel `matmul-f32/1`. Runs in Node and in a Web Worker: no Node imports.
 *
 * The module is refused before it runs if it imports anything but `env.abort`. `multiply` lays
 * A, B and C out in the kernel's memory (growing it up to the module's declared maximum) and
 * calls `gemm` in row slices of about `sliceFlops` each, so V8 tiers the kernel up after the first
 * slices (design.md: a long first call stays on the baseline tier), yields to the event loop now
 * and then, reports progress and honours an AbortSignal.
 */

/** The only imports a GEMM kernel may declare. */
export const GEMM_KERNEL_ALLOWED_IMPORTS: readonly string[] = Object.freeze(['env.abort'])

export interface GemmMultiplyOptions {
  signal?: AbortSignal
  /** Called with (rows done, rows) after each slice. */
  onProgress?: (done: number, total: number) => void
  /** Work per `gemm` call, in flops (default 2^24: a few ms). */
  sliceFlops?: number
  /** Await a macrotask at most this often, in ms (default 50). */
  yieldEveryMs?: number
}

export interface GemmWasm {
  /** 'simd' or 'scalar', as the caller named it. */
  readonly variant: string
  /** C = A x B (m x k times k x n, row-major f32). @throws RangeError for bad shapes or too little memory */
  multiply: (a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts?: GemmMultiplyOptions) => Promise<Float32Array>
  /** The same in one blocking loop (benchmarks). */
  multiplySync: (a: Float32Array, b: Float32Array, m: number, k: number, n: number) => Float32Array
}

interface GemmExports {
  memory: WebAssembly.Memory
  heapBase: () => number
  gemm: (a: number, b: number, c: number, m: number, k: number, n: number, row0: number, row1: number) => void
}

const align16 = (x: number): number => (x + 15) & ~15

/**
 * Rows per `gemm` call: about `flops` of work, but a multiple of 4 and at least 32 rows, so the
 * SIMD kernel's 4-row register blocks are used and each k x 8 panel of B is reused across many
 * rows (2-row slices of a 2048-wide product ran 8x slower).
 */
function sliceRows (flops: number, k: number, n: number): number {
  return Math.max(32, Math.floor(flops / (2 * k * n) / 4) * 4)
}

/**
 * Compile and instantiate a GEMM kernel.
 * @throws Error naming the import when the module imports anything outside the whitelist
 */
export async function instantiateGemmKernel (bytes: BufferSource, variant: string): Promise<GemmWasm> {
  const module = await WebAssembly.compile(bytes)
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`
    if (!GEMM_KERNEL_ALLOWED_IMPORTS.includes(name) || imp.kind !== 'function') {
      throw new Error(`kernel import "${name}" is not allowed (allowed: ${GEMM_KERNEL_ALLOWED_IMPORTS.join(', ')})`)
    }
  }
  const instance = await WebAssembly.instantiate(module, {
    env: { abort: () => { throw new Error('gemm kernel called abort') } }
  })
  const ex = instance.exports as unknown as GemmExports
  for (const name of ['memory', 'heapBase', 'gemm']) {
    if (!(name in ex)) throw new Error(`gemm kernel lacks the export ${name}`)
  }
  let busy = false

  const layout = (a: Float32Array, b: Float32Array, m: number, k: number, n: number): { aOff: number, bOff: number, cOff: number } => {
    for (const [v, what] of [[m, 'm'], [k, 'k'], [n, 'n']] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${v}`)
    }
    if (a.length !== m * k) throw new RangeError(`A has ${a.length} entries, not ${m} x ${k}`)
    if (b.length !== k * n) throw new RangeError(`B has ${b.length} entries, not ${k} x ${n}`)
    const aOff = align16(ex.heapBase())
    const bOff = align16(aOff + 4 * m * k)
    const cOff = align16(bOff + 4 * k * n)
    const end = cOff + 4 * m * n
    const have = ex.memory.buffer.byteLength
    if (end > have) {
      try {
        ex.memory.grow(Math.ceil((end - have) / 65536))
      } catch {
        throw new RangeError(`a ${m} x ${k} x ${n} product needs ${end} bytes, more than the kernel's memory maximum`)
      }
    }
    new Float32Array(ex.memory.buffer, aOff, m * k).set(a)
    new Float32Array(ex.memory.buffer, bOff, k * n).set(b)
    return { aOff, bOff, cOff }
  }

  return {
    variant,
    async multiply (a, b, m, k, n, opts = {}) {
      if (busy) throw new Error('gemm kernel is busy')
      busy = true
      try {
        const { aOff, bOff, cOff } = layout(a, b, m, k, n)
        const rowsPerSlice = sliceRows(opts.sliceFlops ?? 2 ** 24, k, n)
        const yieldEvery = opts.yieldEveryMs ?? 50
        let lastYield = performance.now()
        for (let r = 0; r < m; r += rowsPerSlice) {
          if (opts.signal?.aborted) throw opts.signal.reason
          ex.gemm(aOff, bOff, cOff, m, k, n, r, Math.min(m, r + rowsPerSlice))
          opts.onProgress?.(Math.min(m, r + rowsPerSlice), m)
          if (performance.now() - lastYield > yieldEvery) {
            await new Promise(resolve => setTimeout(resolve, 0))
            lastYield = performance.now()
          }
        }
        return new Float32Array(ex.memory.buffer, cOff, m * n).slice()
      } finally {
        busy = false
      }
    },
    multiplySync (a, b, m, k, n) {
      if (busy) throw new Error('gemm kernel is busy')
      const { aOff, bOff, cOff } = layout(a, b, m, k, n)
      const rowsPerSlice = sliceRows(2 ** 24, k, n)
      for (let r = 0; r < m; r += rowsPerSlice) ex.gemm(aOff, bOff, cOff, m, k, n, r, Math.min(m, r + rowsPerSlice))
      return new Float32Array(ex.memory.buffer, cOff, m * n).slice()
    }
  }
}
