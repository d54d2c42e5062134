/**
 * Matrix-multiply jobs (kernel `matmul-f32/1`): C = A x B for f32 matrices read from `.f32mat`
 * files (format in src/protocol/matmul.ts) or generated from a seed.
 *
 * Work generation: the operands are checked in full first (header, size, NaN/Inf, conforming
 * dimensions, no possible f32 overflow); only then are the input blocks stored as blobs and the
 * job and its work units written by createWork, in one repository transaction. The job's spec
 * (job_specs) holds the dimensions, tile, checks, seed and the blocks' CIDs; its output only the
 * product file, the tiles assimilated and the product's sha-256. Tile (i, j) (index i * tilesN + j, so
 * consecutive tiles share A's row block and a volunteer's blob cache hits) covers rows
 * [i T, i T + R) and columns [j T, j T + S) of C, T = `tile` (default 256).
 *
 * Verification: quorum 1 with a certificate. A tile from ONE volunteer is valid when Freivalds'
 * check (src/hub/matmul-verify.ts, `checks` random vectors, false accept <= 2^-checks) passes
 * against the A and B blocks; otherwise it is invalid, its sender is marked and the work unit is
 * reissued to another volunteer. No replica is compared with another, so device classes never
 * meet bit for bit.
 *
 * Assimilation: each canonical tile is written into `<dataDir>/jobs/<jobId>/C.f32mat` (header
 * written at job creation; positional writes, so a repeated write after a rollback is harmless).
 * When the last tile lands, the job output gets `outputSha256`, the sha-256 of the whole file.
 *
 * Credit: 1 credit per GFLOP (2 R k S flops per tile), pre-assigned.
 */
import { createHash } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import {
  MATMUL_KERNEL_ID, MATRIX_HEADER_BYTES, MAX_TILE_DIM, MatrixFormatError, decodeMatrix, decodeTileInput, decodeTileOutput,
  encodeMatrix, encodeTileInput, generateMatrix, tileFlops
} from '../protocol/matmul.ts'
import { cidToHex } from '../protocol/index.ts'
import { gpuLimit } from './catalogue.ts'
import { freivaldsCheck } from './matmul-verify.ts'
import { creditFor } from './work-generator.ts'
import type { Matrix } from '../protocol/matmul.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelContext, KernelDef } from './catalogue.ts'
import type { UnitPlan, WorkPlan } from './create-work.ts'
import type { WorkUnitRow } from './repository.ts'

export interface MatmulJobSpec {
  /** A as a matrix, a `.f32mat` path, or generated (with `n` and `seed`). */
  a?: Matrix | string
  b?: Matrix | string
  /** Generated operands: A and B are n x n from generateMatrix(n, n, seed, 0 / 1). */
  n?: number
  seed?: number
  /** Tile edge T, 1..512 (default 256). */
  tile?: number
  /** Freivalds vectors per tile (default 20: false accept <= 2^-20). */
  checks?: number
  /** Credit per flop (default 1e-9: 1 credit per GFLOP). */
  creditPerOps?: number
}

/** The job spec (job_specs.spec JSON) of a matmul job. */
export interface MatmulSpec {
  m: number
  k: number
  n: number
  tile: number
  checks: number
  tilesM: number
  tilesN: number
  /** Seed of generated operands, or null for files. */
  seed: number | null
  /** Hex CIDs of A's row blocks and B's column blocks in the blob store. */
  aCids: string[]
  bCids: string[]
}

/** The job output (jobs.output JSON) of a matmul job: only what assimilation produced. */
export interface MatmulJobOutput {
  /** Path of the product file (`.f32mat`). */
  outputPath: string
  tilesAssimilated: number
  /** sha-256 (hex) of the product file once every tile is in, else null. */
  outputSha256: string | null
}

export const DEFAULT_TILE = 256
export const DEFAULT_CHECKS = 20
export const DEFAULT_MATMUL_CREDIT_PER_OPS = 1e-9
/** Largest magnitude an f32 product's partial sums may reach before we refuse the operands. */
const F32_SAFE_MAX = 2 ** 120

function loadOperand (v: Matrix | string | undefined, what: string): Matrix {
  if (v == null) throw new MatrixFormatError(`${what}: missing (give a file, or n and seed)`)
  if (typeof v === 'string') {
    let bytes: Uint8Array
    try {
      bytes = readFileSync(v)
    } catch (err) {
      throw new MatrixFormatError(`${what}: cannot read ${v}: ${(err as Error).message}`)
    }
    return decodeMatrix(bytes, `${what} (${v})`)
  }
  // re-check an in-memory matrix through the same decoder
  return decodeMatrix(encodeMatrix(v), what)
}

/**
 * Resolve and check a spec's operands. Everything a job needs is refused here, before any work
 * unit exists.
 * @throws MatrixFormatError (bad file, size, NaN/Inf, non-conforming) or RangeError (bad option)
 */
export function resolveMatmulOperands (spec: MatmulJobSpec): { a: Matrix, b: Matrix, tile: number, checks: number, creditPerOps: number, seed: number | null } {
  const tile = spec.tile ?? DEFAULT_TILE
  if (!Number.isInteger(tile) || tile < 1 || tile > MAX_TILE_DIM) throw new RangeError(`tile must be an integer from 1 to ${MAX_TILE_DIM}, got ${tile}`)
  const checks = spec.checks ?? DEFAULT_CHECKS
  if (!Number.isInteger(checks) || checks < 1 || checks > 64) throw new RangeError(`checks must be an integer from 1 to 64, got ${checks}`)
  const creditPerOps = spec.creditPerOps ?? DEFAULT_MATMUL_CREDIT_PER_OPS
  if (!Number.isFinite(creditPerOps) || creditPerOps < 0) throw new RangeError(`creditPerOps must be a finite non-negative number, got ${creditPerOps}`)
  let a: Matrix
  let b: Matrix
  let seed: number | null = null
  if (spec.a == null && spec.b == null) {
    const n = spec.n
    if (n == null || spec.seed == null) throw new RangeError('give matrices a and b, or n and seed')
    if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xFFFF_FFFF) throw new RangeError(`seed must be an integer from 0 to 2^32-1, got ${spec.seed}`)
    a = generateMatrix(n, n, spec.seed, 0)
    b = generateMatrix(n, n, spec.seed, 1)
    seed = spec.seed
  } else {
    a = loadOperand(spec.a, 'A')
    b = loadOperand(spec.b, 'B')
  }
  if (a.cols !== b.rows) throw new MatrixFormatError(`non-conforming dimensions: A is ${a.rows} x ${a.cols}, B is ${b.rows} x ${b.cols} (A's columns must equal B's rows)`)
  let maxA = 0
  let maxB = 0
  for (const v of a.data) maxA = Math.max(maxA, Math.abs(v))
  for (const v of b.data) maxB = Math.max(maxB, Math.abs(v))
  if (maxA * maxB * a.cols > F32_SAFE_MAX) throw new MatrixFormatError(`entries too large: max|A| ${maxA} x max|B| ${maxB} x ${a.cols} may overflow f32`)
  return { a, b, tile, checks, creditPerOps, seed }
}

/** Rows [r0, r0 + R) of A, or columns [c0, c0 + S) of B, as raw f32 LE bytes. */
function rowBlock (a: Matrix, r0: number, R: number): Uint8Array {
  return new Uint8Array(a.data.buffer, a.data.byteOffset + 4 * r0 * a.cols, 4 * R * a.cols).slice()
}

function colBlock (b: Matrix, c0: number, S: number): Uint8Array {
  const out = new Float32Array(b.rows * S)
  for (let k = 0; k < b.rows; k++) out.set(b.data.subarray(k * b.cols + c0, k * b.cols + c0 + S), k * S)
  return new Uint8Array(out.buffer)
}


/** Deadline for one tile: 120 s + 10 ns per flop (a 0.1 GFLOP/s device still makes it). */
export function matmulDeadlineMs (flops: number): number {
  return Math.min(0xFFFF_FFFF, Math.ceil(120_000 + flops / 1e5))
}

/**
 * The createWork plan of a matmul job: stores the input blocks as blobs now (content-addressed:
 * harmless if the job is never written), and, given the job id, writes the product file's header
 * under `<dataDir>/jobs/<jobId>/C.f32mat`. Resolve the operands first (resolveMatmulOperands).
 */
export function matmulWorkPlan (operands: ReturnType<typeof resolveMatmulOperands>, blobs: BlobStore, dataDir: string): (jobId: string) => WorkPlan {
  const { a, b, tile, checks, creditPerOps, seed } = operands
  const m = a.rows
  const k = a.cols
  const n = b.cols
  const tilesM = Math.ceil(m / tile)
  const tilesN = Math.ceil(n / tile)
  const aCids = Array.from({ length: tilesM }, (_, i) => blobs.put(rowBlock(a, i * tile, Math.min(tile, m - i * tile))))
  const bCids = Array.from({ length: tilesN }, (_, j) => blobs.put(colBlock(b, j * tile, Math.min(tile, n - j * tile))))
  return (jobId) => {
    const outDir = join(dataDir, 'jobs', jobId)
    mkdirSync(outDir, { recursive: true })
    const outputPath = join(outDir, 'C.f32mat')
    const header = encodeMatrix({ rows: 1, cols: 1, data: new Float32Array(1) }).subarray(0, MATRIX_HEADER_BYTES).slice()
    new DataView(header.buffer).setUint32(8, m, true)
    new DataView(header.buffer).setUint32(12, n, true)
    const fd = openSync(outputPath, 'w')
    try {
      writeSync(fd, header, 0, header.length, 0)
      writeSync(fd, new Uint8Array(1), 0, 1, MATRIX_HEADER_BYTES + 4 * m * n - 1) // size the file
    } finally {
      closeSync(fd)
    }
    function * units (): Generator<UnitPlan> {
      for (let i = 0; i < tilesM; i++) {
        for (let j = 0; j < tilesN; j++) {
          const R = Math.min(tile, m - i * tile)
          const S = Math.min(tile, n - j * tile)
          const flops = tileFlops(R, k, S)
          yield {
            input: encodeTileInput({ rows: R, inner: k, cols: S, aCid: aCids[i], bCid: bCids[j] }),
            estOps: flops,
            credit: creditFor(flops, creditPerOps),
            memoryBytes: 2 * 4 * (R * k + k * S + R * S),
            deadlineMs: matmulDeadlineMs(flops)
          }
        }
      }
    }
    const spec: MatmulSpec = { m, k, n, tile, checks, tilesM, tilesN, seed, aCids: aCids.map(cidToHex), bCids: bCids.map(cidToHex) }
    const output: MatmulJobOutput = { outputPath, tilesAssimilated: 0, outputSha256: null }
    return { kernel: MATMUL_KERNEL_ID, quorum: 1, creditPerOps, spec, output, units: units() }
  }
}

/** The A and B blocks of a tile work unit, from the hub's blob store. @throws Error when missing */
export function tileOperands (blobs: BlobStore, wu: WorkUnitRow): { a: Float32Array, b: Float32Array, rows: number, inner: number, cols: number } {
  const t = decodeTileInput(wu.input)
  const aBytes = blobs.get(t.aCid)
  const bBytes = blobs.get(t.bCid)
  if (aBytes == null || bBytes == null) throw new Error(`input blocks of ${wu.id} are missing from the blob store`)
  const f32 = (bytes: Uint8Array): Float32Array => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
  return { a: f32(aBytes), b: f32(bBytes), rows: t.rows, inner: t.inner, cols: t.cols }
}

/** Milliseconds spent in Freivalds checks, for benchmarks. */
export const verifyStats = { tiles: 0, ms: 0 }

/** Workgroup memory (bytes) and invocations the WGSL GEMM needs (kernels/gemm-tiled.wgsl: 2 x 1024 f32, 16 x 16). */
export const GEMM_WORKGROUP_STORAGE_BYTES = 8192
export const GEMM_INVOCATIONS = 256

/**
 * Catalogue entry of matmul-f32/1: WebGPU first, its WASM SIMD fallback second (a GPU whose
 * limits are below the GEMM's runs it on wasm); not bit-exact, but certificate-validated
 * (Freivalds), so tiles are never compared between replicas and never pinned to a device class.
 */
export function matmulKernel (): KernelDef {
  return {
    id: MATMUL_KERNEL_ID,
    backends: ['webgpu', 'wasm'],
    exact: false,
    gpuFits: gpu => gpuLimit(gpu, 'maxComputeWorkgroupStorageSize') >= GEMM_WORKGROUP_STORAGE_BYTES &&
      gpuLimit(gpu, 'maxComputeInvocationsPerWorkgroup') >= GEMM_INVOCATIONS,
    // at submission: the tile must have the shape its work unit asked for (TileShapeError)
    checkOutput (output, wu) {
      const t = decodeTileInput(wu.input)
      decodeTileOutput(output, t.rows, t.cols)
    },
    certify (ctx, wu, output) {
      const t0 = performance.now()
      const ops = tileOperands(ctx.blobs, wu)
      const c = decodeTileOutput(output, ops.rows, ops.cols)
      const verdict = freivaldsCheck(ops.a, ops.b, c, ops.rows, ops.inner, ops.cols, { checks: (ctx.spec as MatmulSpec).checks ?? DEFAULT_CHECKS })
      verifyStats.tiles++
      verifyStats.ms += performance.now() - t0
      return verdict
    },
    assimilator: {
      fold (acc: MatmulJobOutput, output: Uint8Array, wu: WorkUnitRow, ctx: KernelContext): MatmulJobOutput {
        const spec = ctx.spec as MatmulSpec
        const t = decodeTileInput(wu.input)
        const c = decodeTileOutput(output, t.rows, t.cols)
        const i = Math.floor(wu.idx / spec.tilesN)
        const j = wu.idx % spec.tilesN
        const fd = openSync(acc.outputPath, 'r+')
        try {
          const bytes = new Uint8Array(c.buffer)
          for (let r = 0; r < t.rows; r++) {
            const pos = MATRIX_HEADER_BYTES + 4 * ((i * spec.tile + r) * spec.n + j * spec.tile)
            writeSync(fd, bytes, 4 * r * t.cols, 4 * t.cols, pos)
          }
        } finally {
          closeSync(fd)
        }
        const next = { ...acc, tilesAssimilated: acc.tilesAssimilated + 1 }
        if (next.tilesAssimilated === spec.tilesM * spec.tilesN) next.outputSha256 = createHash('sha256').update(readFileSync(acc.outputPath)).digest('hex')
        return next
      }
    }
  }
}

/** Row r of a product file (for residual checks without loading the whole file). */
export function readProductRow (path: string, cols: number, r: number): Float32Array {
  const out = new Float32Array(cols)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, new Uint8Array(out.buffer), 0, 4 * cols, MATRIX_HEADER_BYTES + 4 * r * cols)
  } finally {
    closeSync(fd)
  }
  return out
}
