// Register-blocked single-precision GEMM without workgroup memory, C = A x B (row-major f32),
// entry point `main` (kernel matmul-f32/1). Same bindings and Params as gemm-tiled.wgsl.
//
// Each invocation computes a 4 x 4 block of C straight from storage memory (B read as vec4 when
// the row stride allows). No barriers: CPU-emulated adapters (SwiftShader, isFallbackAdapter)
// run barrier-free shaders far faster, so the runtime picks this shader there and the tiled,
// shared-memory one (gemm-tiled.wgsl) on real GPUs. Workgroup 8 x 8 invocations = a 32 x 32 block.
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

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = p.rowOffset + gid.y * 4u;
  let c0 = gid.x * 4u;
  if (r0 >= p.rowEnd || c0 >= p.N) { return; }
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  // rows past rowEnd read row r0 again (clamped) and are never written
  let ra0 = r0 * p.K;
  let ra1 = min(r0 + 1u, p.rowEnd - 1u) * p.K;
  let ra2 = min(r0 + 2u, p.rowEnd - 1u) * p.K;
  let ra3 = min(r0 + 3u, p.rowEnd - 1u) * p.K;
  let full = c0 + 4u <= p.N;
  for (var k = p.kStart; k < p.kEnd; k++) {
    let bi = k * p.N + c0;
    var b: vec4f;
    if (full) {
      b = vec4f(B[bi], B[bi + 1u], B[bi + 2u], B[bi + 3u]);
    } else {
      b = vec4f(B[bi], 0.0, 0.0, 0.0);
      if (c0 + 1u < p.N) { b.y = B[bi + 1u]; }
      if (c0 + 2u < p.N) { b.z = B[bi + 2u]; }
    }
    acc0 = acc0 + A[ra0 + k] * b;
    acc1 = acc1 + A[ra1 + k] * b;
    acc2 = acc2 + A[ra2 + k] * b;
    acc3 = acc3 + A[ra3 + k] * b;
  }
  let rows = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.rowEnd) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + j;
      if (c >= p.N) { break; }
      var v = rows[i][j];
      if (p.accumulate != 0u) { v = v + C[r * p.N + c]; }
      C[r * p.N + c] = v;
    }
  }
}
