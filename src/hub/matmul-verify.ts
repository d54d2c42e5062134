/**
 * Freivalds' check of one matmul tile, C' =? A_R x B_S (A_R: R x k, B_S: k x S, C': R x S, f32).
 *
 * ## The check
 * For each of `checks` (k below is the inner dimension, so call the count t) random sign vectors
 * x in {-1, +1}^S the hub computes, in float64, y = C' x and z = A_R (B_S x), and accepts only if
 * |y_r - z_r| <= tau_r for every row r. Cost: t (kS + Rk + RS) multiply-adds, against the
 * volunteer's 2RkS flops (for a 256 x 2048 x 256 tile and t = 20: ~22 M vs 268 M).
 *
 * ## Tolerance (from f32 rounding bounds)
 * u = 2^-24 (f32 unit roundoff), gamma_j(u) = j u / (1 - j u) (Higham, Accuracy and Stability,
 * Thm 3.1/3.5). An honest volunteer computes each C'_rs as an f32 dot product of k terms, in any
 * order, fused or not (WGSL's f32 `+` and `*` are correctly rounded; fma is at least as
 * accurate; k-split dispatches that add partial sums are still a summation of the same k
 * products), so |C'_rs - C_rs| <= gamma_k(u) (|A||B|)_rs. WGSL may flush subnormals; each of the
 * 2k operations then loses at most 2^-126 more, so add 2k 2^-126 per element. Summed over the row
 * with |x_s| = 1:
 *
 *   |(C'x)_r - (Cx)_r| <= gamma_k(u) w_r + 2kS 2^-126,   w_r = sum_s (|A||B|)_rs = (|A_R| (|B_S| 1))_r.
 *
 * The hub's float64 evaluation of z = A(Bx) and y = C'x adds at most gamma_{k+S+1}(2^-53)
 * (w_r + sum_s |C'_rs|); an honest tile has sum_s |C'_rs| <= (1 + gamma_k(u)) w_r, and a tile
 * breaking that bound is rejected outright (so a cheater cannot widen tau by inflating C'). Hence
 *
 *   tau_r = (1 + 2^-10) [ gamma_k(u) w_r + 2kS 2^-126 + gamma_{k+S+1}(2^-53) (2 + gamma_k(u)) w_r ]
 *
 * (the 2^-10 only absorbs the rounding of computing tau itself). No honest tile is ever rejected.
 *
 * ## Guarantee
 * Let E = C' - C. If some |E_rs| > tau_r + (honest error of row r is already inside tau), fix all
 * signs but x_s: the two choices of x_s move (C'x - z)_r by 2 E_rs, so at most one of them lands
 * within [-tau_r, tau_r]; each vector accepts with probability <= 1/2 and t independent vectors
 * accept with probability <= 2^-t. In short: any tile with an element off by more than tau_r of
 * its row is rejected with probability >= 1 - 2^-t. Smaller deviations (below the worst-case f32
 * rounding budget of the row) are indistinguishable from rounding and may pass. Non-finite
 * entries are rejected outright.
 *
 * Results from different device classes are never compared with each other: each tile is checked
 * against A and B alone.
 */

const U32 = 2 ** -24
const U64 = 2 ** -53
const gamma = (j: number, u: number): number => (j * u) / (1 - j * u)

export interface FreivaldsOptions {
  /** Number of random vectors t (false accept <= 2^-t). */
  checks: number
  /** Random 32-bit words; default crypto.getRandomValues. Tests pass a seeded generator. */
  randomU32?: () => number
}

export interface FreivaldsVerdict {
  ok: boolean
  /** Why the tile was refused (empty when ok). */
  reason: string
  /** Largest |y_r - z_r| / tau_r seen (< 1 when ok). */
  worstRatio: number
}

function defaultRandom (): () => number {
  const buf = new Uint32Array(256)
  let i = buf.length
  return () => {
    if (i === buf.length) { globalThis.crypto.getRandomValues(buf); i = 0 }
    return buf[i++]
  }
}

/** tau_r for each row, and w_r (see the module doc). */
export function freivaldsTolerance (a: Float32Array, b: Float32Array, R: number, K: number, S: number): { tau: Float64Array, w: Float64Array } {
  const colAbs = new Float64Array(K) // |B_S| 1
  for (let k = 0; k < K; k++) {
    let s = 0
    const off = k * S
    for (let j = 0; j < S; j++) s += Math.abs(b[off + j])
    colAbs[k] = s
  }
  const w = new Float64Array(R)
  const tau = new Float64Array(R)
  const g32 = gamma(K, U32)
  const g64 = gamma(K + S + 1, U64)
  for (let r = 0; r < R; r++) {
    let s = 0
    const off = r * K
    for (let k = 0; k < K; k++) s += Math.abs(a[off + k]) * colAbs[k]
    w[r] = s
    tau[r] = (1 + 2 ** -10) * (g32 * s + 2 * K * S * 2 ** -126 + g64 * (2 + g32) * s)
  }
  return { tau, w }
}

/**
 * Freivalds' check of C' (R x S) against A (R x K) times B (K x S), all row-major f32.
 * Never throws for a wrong C' value; RangeError only for mismatched array lengths.
 */
export function freivaldsCheck (a: Float32Array, b: Float32Array, c: Float32Array, R: number, K: number, S: number, opts: FreivaldsOptions): FreivaldsVerdict {
  if (a.length !== R * K || b.length !== K * S || c.length !== R * S) throw new RangeError('operand lengths do not match R x K x S')
  const t = opts.checks
  if (!Number.isInteger(t) || t < 1 || t > 64) throw new RangeError(`checks must be an integer from 1 to 64, got ${t}`)
  const { tau, w } = freivaldsTolerance(a, b, R, K, S)
  const g32 = gamma(K, U32)
  // Non-finite entries, and rows whose magnitude no honest f32 product can reach.
  for (let r = 0; r < R; r++) {
    let s = 0
    const off = r * S
    for (let j = 0; j < S; j++) {
      const v = c[off + j]
      if (v - v !== 0) return { ok: false, reason: `entry (${r}, ${j}) is ${v}`, worstRatio: Infinity }
      s += Math.abs(v)
    }
    if (s > (1 + g32) * w[r] * (1 + 2 ** -20) + 2 * K * S * 2 ** -126) return { ok: false, reason: `row ${r} is larger than any f32 product of these operands can be`, worstRatio: Infinity }
  }
  const rand = opts.randomU32 ?? defaultRandom()
  // X: S x t signs; BX = B X (K x t); Z = A BX (R x t); Y = C' X (R x t); all float64.
  const X = new Float64Array(S * t)
  for (let i = 0; i < X.length; i += 32) {
    const word = rand() >>> 0
    for (let bit = 0; bit < 32 && i + bit < X.length; bit++) X[i + bit] = (word >>> bit) & 1 ? 1 : -1
  }
  const BX = new Float64Array(K * t)
  for (let k = 0; k < K; k++) {
    const bo = k * S
    const o = k * t
    for (let j = 0; j < S; j++) {
      const v = b[bo + j]
      const xo = j * t
      for (let q = 0; q < t; q++) BX[o + q] += v * X[xo + q]
    }
  }
  const Z = new Float64Array(t)
  const Y = new Float64Array(t)
  let worst = 0
  for (let r = 0; r < R; r++) {
    Z.fill(0)
    Y.fill(0)
    const ao = r * K
    for (let k = 0; k < K; k++) {
      const v = a[ao + k]
      const o = k * t
      for (let q = 0; q < t; q++) Z[q] += v * BX[o + q]
    }
    const co = r * S
    for (let j = 0; j < S; j++) {
      const v = c[co + j]
      const xo = j * t
      for (let q = 0; q < t; q++) Y[q] += v * X[xo + q]
    }
    for (let q = 0; q < t; q++) {
      const d = Math.abs(Y[q] - Z[q])
      const ratio = tau[r] > 0 ? d / tau[r] : (d === 0 ? 0 : Infinity)
      if (ratio > worst) worst = ratio
      if (!(d <= tau[r])) return { ok: false, reason: `row ${r}: |C'x - ABx| = ${d.toExponential(3)} exceeds the f32 rounding bound ${tau[r].toExponential(3)} (vector ${q})`, worstRatio: ratio }
    }
  }
  return { ok: true, reason: '', worstRatio: worst }
}
