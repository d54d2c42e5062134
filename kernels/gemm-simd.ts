// WASM SIMD (v128) GEMM: C = A x B, f32 row-major (kernel matmul-f32/1, fallback backend).
//
// ABI (no imports but `env.abort`): the host places A (m x k), B (k x n) and C (m x n) in the
// exported memory at 16-byte aligned byte offsets at or above `heapBase()` (growing the memory
// itself), then calls `gemm(a, b, c, m, k, n, row0, row1)` to compute rows [row0, row1) of C,
// overwriting them; it calls in row slices so V8 tiers the kernel up and the worker stays
// responsive. Register blocking: 4 rows x 8 columns of C in eight f32x4 accumulators; the j loop
// is outside the i loop so that a k x 8 panel of B stays in cache while the rows stream past.
// Each C element is a sequential f32 sum over k (multiply then add, no fusing).

export function heapBase (): usize {
  return (__heap_base + 15) & ~(<usize>15)
}

@inline function dot1 (a: usize, b: usize, k: i32, n: i32, j: i32): f32 {
  let s: f32 = 0
  let bp = b + (<usize>j << 2)
  const stride = <usize>n << 2
  for (let kk = 0; kk < k; kk++) {
    s += load<f32>(a + (<usize>kk << 2)) * load<f32>(bp)
    bp += stride
  }
  return s
}

export function gemm (a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, row0: i32, row1: i32): void {
  if (row0 < 0) row0 = 0
  if (row1 > m) row1 = m
  const n8 = n & ~7
  const strideB = <usize>n << 2
  const rowA = <usize>k << 2
  const rowC = <usize>n << 2
  const rows4 = row0 + ((row1 - row0) & ~3)
  for (let j = 0; j < n8; j += 8) {
    for (let i = row0; i < rows4; i += 4) {
      const a0 = a + <usize>i * rowA
      const a1 = a0 + rowA
      const a2 = a1 + rowA
      const a3 = a2 + rowA
      let s00 = f32x4.splat(0); let s01 = f32x4.splat(0)
      let s10 = f32x4.splat(0); let s11 = f32x4.splat(0)
      let s20 = f32x4.splat(0); let s21 = f32x4.splat(0)
      let s30 = f32x4.splat(0); let s31 = f32x4.splat(0)
      let bp = b + (<usize>j << 2)
      for (let kk = 0; kk < k; kk++) {
        const off = <usize>kk << 2
        const b0 = v128.load(bp)
        const b1 = v128.load(bp, 16)
        const x0 = f32x4.splat(load<f32>(a0 + off))
        const x1 = f32x4.splat(load<f32>(a1 + off))
        const x2 = f32x4.splat(load<f32>(a2 + off))
        const x3 = f32x4.splat(load<f32>(a3 + off))
        s00 = f32x4.add(s00, f32x4.mul(x0, b0)); s01 = f32x4.add(s01, f32x4.mul(x0, b1))
        s10 = f32x4.add(s10, f32x4.mul(x1, b0)); s11 = f32x4.add(s11, f32x4.mul(x1, b1))
        s20 = f32x4.add(s20, f32x4.mul(x2, b0)); s21 = f32x4.add(s21, f32x4.mul(x2, b1))
        s30 = f32x4.add(s30, f32x4.mul(x3, b0)); s31 = f32x4.add(s31, f32x4.mul(x3, b1))
        bp += strideB
      }
      const c0 = c + <usize>i * rowC + (<usize>j << 2)
      v128.store(c0, s00); v128.store(c0, s01, 16)
      v128.store(c0 + rowC, s10); v128.store(c0 + rowC, s11, 16)
      v128.store(c0 + 2 * rowC, s20); v128.store(c0 + 2 * rowC, s21, 16)
      v128.store(c0 + 3 * rowC, s30); v128.store(c0 + 3 * rowC, s31, 16)
    }
    for (let i = rows4; i < row1; i++) {
      const a0 = a + <usize>i * rowA
      let s0 = f32x4.splat(0); let s1 = f32x4.splat(0)
      let bp = b + (<usize>j << 2)
      for (let kk = 0; kk < k; kk++) {
        const x0 = f32x4.splat(load<f32>(a0 + (<usize>kk << 2)))
        s0 = f32x4.add(s0, f32x4.mul(x0, v128.load(bp)))
        s1 = f32x4.add(s1, f32x4.mul(x0, v128.load(bp, 16)))
        bp += strideB
      }
      const c0 = c + <usize>i * rowC + (<usize>j << 2)
      v128.store(c0, s0); v128.store(c0, s1, 16)
    }
  }
  for (let i = row0; i < row1; i++) {
    const a0 = a + <usize>i * rowA
    const c0 = c + <usize>i * rowC
    for (let j = n8; j < n; j++) store<f32>(c0 + (<usize>j << 2), dot1(a0, b, k, n, j))
  }
}
