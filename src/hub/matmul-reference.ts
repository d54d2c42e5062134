/**
 * Float64 reference for matmul jobs, independent of the kernels (plain TypeScript loops on the
 * hub), and the HPL-style scaled residual of sampled rows:
 *
 *   scaledResidual = ||C_rows - (A B)_rows||_inf / (eps * k * ||A_rows||_inf * ||B||_inf)
 *
 * with ||.||_inf the largest absolute row sum, eps = 2^-24 (f32 unit roundoff, as HPL uses the
 * working precision's), k the inner dimension and (A B)_rows computed in float64. HPL accepts a
 * scaled residual below 16 (../shared/reference/known-answers.md, "Matrix products"); an honest f32
 * product typically scores well below 1.
 */
import type { Matrix } from '../protocol/matmul.ts'

export const SCALED_RESIDUAL_THRESHOLD = 16
export const F32_EPS = 2 ** -24

/** Row `r` of A x B in float64. */
export function referenceRow (a: Matrix, b: Matrix, r: number): Float64Array {
  const out = new Float64Array(b.cols)
  const k = a.cols
  for (let kk = 0; kk < k; kk++) {
    const v = a.data[r * k + kk]
    if (v === 0) continue
    const off = kk * b.cols
    for (let j = 0; j < b.cols; j++) out[j] += v * b.data[off + j]
  }
  return out
}

/** A x B in float64 (small matrices: tests). */
export function referenceProduct (a: Matrix, b: Matrix): Float64Array {
  const out = new Float64Array(a.rows * b.cols)
  for (let r = 0; r < a.rows; r++) out.set(referenceRow(a, b, r), r * b.cols)
  return out
}

/** `count` distinct row indices spread over [0, rows), always including the first and last. */
export function sampleRows (rows: number, count: number): number[] {
  if (count >= rows) return Array.from({ length: rows }, (_, i) => i)
  const set = new Set<number>()
  for (let i = 0; i < count; i++) set.add(Math.round(i * (rows - 1) / Math.max(1, count - 1)))
  return [...set].sort((x, y) => x - y)
}

function infNorm (data: Float32Array | Float64Array, cols: number, rows: Iterable<number>): number {
  let best = 0
  for (const r of rows) {
    let s = 0
    for (let j = 0; j < cols; j++) s += Math.abs(data[r * cols + j])
    if (s > best) best = s
  }
  return best
}

/**
 * The scaled residual of C (m x n, f32, row-major) over the sampled rows.
 * @param cRow returns row r of C (so C may stay in a file)
 */
export function scaledResidual (a: Matrix, b: Matrix, cRow: (r: number) => Float32Array, rows: number[]): { scaledResidual: number, residual: number, maxAbsError: number } {
  let residual = 0
  let maxAbsError = 0
  for (const r of rows) {
    const ref = referenceRow(a, b, r)
    const c = cRow(r)
    let s = 0
    for (let j = 0; j < ref.length; j++) {
      const e = Math.abs(c[j] - ref[j])
      s += e
      if (e > maxAbsError || Number.isNaN(e)) maxAbsError = Number.isNaN(e) ? Infinity : e
    }
    if (s > residual || Number.isNaN(s)) residual = Number.isNaN(s) ? Infinity : s
  }
  const normA = infNorm(a.data, a.cols, rows)
  const normB = infNorm(b.data, b.cols, Array.from({ length: b.rows }, (_, i) => i))
  const denom = F32_EPS * a.cols * normA * normB
  return { scaledResidual: denom > 0 ? residual / denom : (residual === 0 ? 0 : Infinity), residual, maxAbsError }
}

/**
 * Elementwise bound on an honest f32 product's error (the same bound Freivalds' tolerance sums,
 * see matmul-verify.ts): |C'_rs - (AB)_rs| <= gamma_k(2^-24) (|A||B|)_rs + 2k 2^-126.
 * Returns the bound for every element (m x n, float64). O(mkn): tests and small matrices only.
 */
export function productErrorBound (a: Matrix, b: Matrix): Float64Array {
  const k = a.cols
  const u = 2 ** -24
  const g = (k * u) / (1 - k * u)
  const absA: Matrix = { rows: a.rows, cols: a.cols, data: a.data.map(Math.abs) }
  const absB: Matrix = { rows: b.rows, cols: b.cols, data: b.data.map(Math.abs) }
  const out = referenceProduct(absA, absB)
  for (let i = 0; i < out.length; i++) out[i] = g * out[i] * (1 + 2 ** -20) + 2 * k * 2 ** -126
  return out
}
