// Plain scalar WASM GEMM: C = A x B, f32 row-major (for comparison with the SIMD kernel).
// Same ABI as kernels/gemm-simd.ts: `heapBase()`, `gemm(a, b, c, m, k, n, row0, row1)` computes
// rows [row0, row1) of C. Loop order i, k, j (streams rows of B); each C element is a sequential
// f32 sum over k.

export function heapBase (): usize {
  return (__heap_base + 15) & ~(<usize>15)
}

export function gemm (a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, row0: i32, row1: i32): void {
  if (row0 < 0) row0 = 0
  if (row1 > m) row1 = m
  const rowA = <usize>k << 2
  const rowB = <usize>n << 2
  for (let i = row0; i < row1; i++) {
    const ci = c + <usize>i * rowB
    for (let j = 0; j < n; j++) store<f32>(ci + (<usize>j << 2), 0)
    const ai = a + <usize>i * rowA
    for (let kk = 0; kk < k; kk++) {
      const x = load<f32>(ai + (<usize>kk << 2))
      const bk = b + <usize>kk * rowB
      for (let j = 0; j < n; j++) {
        const p = ci + (<usize>j << 2)
        store<f32>(p, load<f32>(p) + x * load<f32>(bk + (<usize>j << 2)))
      }
    }
  }
}
