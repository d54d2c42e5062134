// Tiled single-precision GEMM, C = A x B (row-major f32), entry point `main` (kernel matmul-f32/1).
//
// Workgroup 16 x 16 threads computes a 64 x 64 block of C; each thread keeps a 4 x 4 register
// block of accumulators. Per step the workgroup stages a 64 x 16 slice of A (stored transposed,
// so a thread's four A values are adjacent) and a 16 x 64 slice of B in workgroup memory (8 KiB).
// Every load is bounds-checked (zero outside the matrix), so any shape works: 1 x 1, 17 x 33, ...
//
// One dispatch covers rows [rowOffset, rowEnd) and the inner range [kStart, kEnd): the host cuts a
// large product into dispatches that each stay far below the GPU watchdog (~1 s). With
// accumulate != 0 a dispatch adds its partial sums to C (the k-split of one long inner product);
// the result is still an f32 sum of the same k products in some order, so the error bound
// gamma_k * sum_k |a||b| of the validator holds (see src/hub/matmul-verify.ts).
struct Params {
  M: u32,
  N: u32,
  K: u32,
  rowOffset: u32,
  rowEnd: u32,
  kStart: u32,
  kEnd: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 16u;
const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [BK][BM], A slice transposed
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * WG + tx;
  let row0 = p.rowOffset + wid.y * BM;
  let col0 = wid.x * BN;

  var acc: array<f32, 16>;
  var k0 = p.kStart;
  loop {
    if (k0 >= p.kEnd) { break; }
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let r = e / BK;
      let kk = e % BK;
      let gr = row0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < p.rowEnd && gk < p.kEnd) { v = A[gr * p.K + gk]; }
      As[kk * BM + r] = v;
    }
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let kk = e / BN;
      let c = e % BN;
      let gk = k0 + kk;
      let gc = col0 + c;
      var v = 0.0;
      if (gk < p.kEnd && gc < p.N) { v = B[gk * p.N + gc]; }
      Bs[kk * BN + c] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = vec4f(As[kk * BM + ty * 4u], As[kk * BM + ty * 4u + 1u], As[kk * BM + ty * 4u + 2u], As[kk * BM + ty * 4u + 3u]);
      let b = vec4f(Bs[kk * BN + tx * 4u], Bs[kk * BN + tx * 4u + 1u], Bs[kk * BN + tx * 4u + 2u], Bs[kk * BN + tx * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = acc[i * 4u + j] + a[i] * b[j];
        }
      }
    }
    workgroupBarrier();
    k0 = k0 + BK;
  }

  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty * 4u + i;
    if (r >= p.rowEnd) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tx * 4u + j;
      if (c >= p.N) { continue; }
      var v = acc[i * 4u + j];
      if (p.accumulate != 0u) { v = v + C[r * p.N + c]; }
      C[r * p.N + c] = v;
    }
  }
}
