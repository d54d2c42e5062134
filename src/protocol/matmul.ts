/**
 * The matrix-multiply job's contract (kernel id `matmul-f32/1`): the matrix file format, the
 * seeded generator, and the tile work unit's input and output layouts. Shared by hub, volunteer
 * and workers; imports nothing outside src/protocol.
 *
 * ## Matrix file format (`.f32mat`)
 *
 * | bytes      | content                                          |
 * |------------|--------------------------------------------------|
 * | 0..7       | magic, ASCII `SCMATF32`                          |
 * | 8..11      | rows, u32 little-endian, 1..MAX_MATRIX_DIM       |
 * | 12..15     | cols, u32 little-endian, 1..MAX_MATRIX_DIM       |
 * | 16..       | rows x cols IEEE-754 binary32, little-endian, row-major |
 *
 * A file is exactly `16 + 4 * rows * cols` bytes; every entry must be finite. The job's output
 * C = A x B is written in the same format.
 *
 * ## Tile work unit
 *
 * A job over A (m x k) and B (k x n) is cut into tiles of at most T x T output elements. Tile
 * (i, j) needs the row block A[iT .. iT+R, :] (R x k, row-major) and the column block
 * B[:, jT .. jT+S] (k x S, row-major), each stored by the hub as a content-addressed blob (raw
 * f32 LE, no header; id = sha-256 of the bytes) and fetched over `/sparecycles/blob/1.0.0`: a
 * 2048-wide row block is megabytes, far beyond what a Lease carries.
 *
 * Input (80 bytes): u32 version (=1), u32 R, u32 k, u32 S, 32-byte sha-256 of the A block,
 * 32-byte sha-256 of the B block (all integers little-endian).
 *
 * Output: u32 R, u32 S, then R x S f32 LE row-major (the tile of C). The shape header lets the hub
 * reject a transposed or truncated tile by name (TileShapeError), before any verification.
 */
import { BadOutputError } from './errors.ts'
import type { ErrorName } from './errors.ts'

export const MATMUL_KERNEL_ID = 'matmul-f32/1'
/** ASCII `SCMATF32`. */
export const MATRIX_MAGIC = new Uint8Array([0x53, 0x43, 0x4d, 0x41, 0x54, 0x46, 0x33, 0x32])
export const MATRIX_HEADER_BYTES = 16
/** Largest row or column count of a matrix file (a 8192 x 8192 f32 matrix is 256 MiB). */
export const MAX_MATRIX_DIM = 8192
export const TILE_INPUT_BYTES = 80
export const TILE_INPUT_VERSION = 1
export const TILE_OUTPUT_HEADER_BYTES = 8
/** Largest tile edge: a 512 x 512 tile's output is 1 MiB + 8 bytes. */
export const MAX_TILE_DIM = 512
/** Largest tile output (header included); fits the `/sparecycles/result/1.1.0` request cap. */
export const MAX_TILE_OUTPUT_BYTES = TILE_OUTPUT_HEADER_BYTES + 4 * MAX_TILE_DIM * MAX_TILE_DIM

/** A matrix file (or buffer) is malformed: wrong magic, wrong size, bad dimensions, NaN or Inf. */
export class MatrixFormatError extends Error {
  static override readonly name: ErrorName = 'MatrixFormatError'
  override readonly name: ErrorName = 'MatrixFormatError'
  constructor (message: string) {
    super(message)
  }
}

/** A tile result of the wrong length or shape (a BadOutputError: the hub stores and credits nothing). */
export class TileShapeError extends BadOutputError {
  static override readonly name: ErrorName = 'TileShapeError'
  override readonly name: ErrorName = 'TileShapeError'
}

/** A dense row-major f32 matrix. */
export interface Matrix {
  rows: number
  cols: number
  data: Float32Array
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

function assertLittleEndian (): void {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported')
}

function checkDim (value: number, what: string, max = MAX_MATRIX_DIM): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new MatrixFormatError(`${what} must be an integer from 1 to ${max}, got ${value}`)
}

/** Index of the first non-finite entry, or -1. */
export function firstNonFinite (data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (v - v !== 0) return i // NaN - NaN and Inf - Inf are NaN
  }
  return -1
}

/** Encode a matrix in the `.f32mat` format. @throws MatrixFormatError for bad dimensions */
export function encodeMatrix (m: Matrix): Uint8Array {
  assertLittleEndian()
  checkDim(m.rows, 'rows')
  checkDim(m.cols, 'cols')
  if (m.data.length !== m.rows * m.cols) throw new MatrixFormatError(`data has ${m.data.length} entries, not ${m.rows} x ${m.cols}`)
  const out = new Uint8Array(MATRIX_HEADER_BYTES + 4 * m.data.length)
  out.set(MATRIX_MAGIC, 0)
  const view = new DataView(out.buffer)
  view.setUint32(8, m.rows, true)
  view.setUint32(12, m.cols, true)
  out.set(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength), MATRIX_HEADER_BYTES)
  return out
}

/** The header of a `.f32mat` buffer. @throws MatrixFormatError naming `what` */
export function decodeMatrixHeader (bytes: Uint8Array, what = 'matrix'): { rows: number, cols: number } {
  if (bytes.length < MATRIX_HEADER_BYTES) throw new MatrixFormatError(`${what}: ${bytes.length} bytes is shorter than the ${MATRIX_HEADER_BYTES}-byte header`)
  for (let i = 0; i < MATRIX_MAGIC.length; i++) {
    if (bytes[i] !== MATRIX_MAGIC[i]) throw new MatrixFormatError(`${what}: wrong header: magic is not "SCMATF32"`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const rows = view.getUint32(8, true)
  const cols = view.getUint32(12, true)
  try {
    checkDim(rows, 'rows')
    checkDim(cols, 'cols')
  } catch (err) {
    throw new MatrixFormatError(`${what}: wrong header: ${(err as Error).message}`)
  }
  return { rows, cols }
}

/**
 * Decode and check a `.f32mat` buffer: magic, dimensions, exact size, every entry finite.
 * @throws MatrixFormatError naming `what` and the problem
 */
export function decodeMatrix (bytes: Uint8Array, what = 'matrix'): Matrix {
  assertLittleEndian()
  const { rows, cols } = decodeMatrixHeader(bytes, what)
  const expected = MATRIX_HEADER_BYTES + 4 * rows * cols
  if (bytes.length !== expected) throw new MatrixFormatError(`${what}: wrong size: a ${rows} x ${cols} matrix file is ${expected} bytes, got ${bytes.length}`)
  const data = new Float32Array(rows * cols)
  new Uint8Array(data.buffer).set(bytes.subarray(MATRIX_HEADER_BYTES))
  const bad = firstNonFinite(data)
  if (bad >= 0) throw new MatrixFormatError(`${what}: entry (${Math.floor(bad / cols)}, ${bad % cols}) is ${data[bad]}; NaN and Inf are not allowed`)
  return { rows, cols, data }
}

/**
 * A seeded matrix with entries uniform in [-1, 1) (multiples of 2^-23, exact in f32), from a
 * 32-bit PRNG (mulberry32) seeded by (seed, stream). A = generateMatrix(n, n, seed, 0),
 * B = generateMatrix(n, n, seed, 1).
 */
export function generateMatrix (rows: number, cols: number, seed: number, stream = 0): Matrix {
  checkDim(rows, 'rows')
  checkDim(cols, 'cols')
  let state = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(stream + 1, 0xc2b2ae35)) >>> 0
  const data = new Float32Array(rows * cols)
  for (let i = 0; i < data.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    t = (t ^ (t >>> 14)) >>> 0
    data[i] = ((t >>> 8) - 0x800000) / 0x800000
  }
  return { rows, cols, data }
}

/** What one tile work unit computes. */
export interface TileInput {
  /** Rows of the tile (R): rows of the A block. */
  rows: number
  /** Inner dimension (k): cols of the A block, rows of the B block. */
  inner: number
  /** Columns of the tile (S): cols of the B block. */
  cols: number
  /** sha-256 of the A block's bytes (R x k f32 LE). */
  aCid: Uint8Array
  /** sha-256 of the B block's bytes (k x S f32 LE). */
  bCid: Uint8Array
}

/** @throws RangeError for bad dimensions or digests */
export function encodeTileInput (t: TileInput): Uint8Array {
  checkTileDims(t.rows, t.inner, t.cols)
  if (t.aCid.length !== 32 || t.bCid.length !== 32) throw new RangeError('block ids must be 32-byte sha-256 digests')
  const out = new Uint8Array(TILE_INPUT_BYTES)
  const view = new DataView(out.buffer)
  view.setUint32(0, TILE_INPUT_VERSION, true)
  view.setUint32(4, t.rows, true)
  view.setUint32(8, t.inner, true)
  view.setUint32(12, t.cols, true)
  out.set(t.aCid, 16)
  out.set(t.bCid, 48)
  return out
}

/** @throws RangeError on a wrong length, version or dimension */
export function decodeTileInput (bytes: Uint8Array): TileInput {
  if (bytes.length !== TILE_INPUT_BYTES) throw new RangeError(`matmul tile input must be ${TILE_INPUT_BYTES} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== TILE_INPUT_VERSION) throw new RangeError(`unknown matmul tile input version ${view.getUint32(0, true)}`)
  const t = { rows: view.getUint32(4, true), inner: view.getUint32(8, true), cols: view.getUint32(12, true), aCid: bytes.slice(16, 48), bCid: bytes.slice(48, 80) }
  checkTileDims(t.rows, t.inner, t.cols)
  return t
}

function checkTileDims (rows: number, inner: number, cols: number): void {
  for (const [v, name, max] of [[rows, 'rows', MAX_TILE_DIM], [inner, 'inner', MAX_MATRIX_DIM], [cols, 'cols', MAX_TILE_DIM]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`tile ${name} must be an integer from 1 to ${max}, got ${v}`)
  }
}

/** Floating-point operations of one tile (a multiply and an add per inner step). */
export function tileFlops (rows: number, inner: number, cols: number): number {
  return 2 * rows * inner * cols
}

/** Encode a computed tile (R x S f32 row-major) with its shape header. */
export function encodeTileOutput (rows: number, cols: number, data: Float32Array): Uint8Array {
  assertLittleEndian()
  if (data.length !== rows * cols) throw new RangeError(`tile data has ${data.length} entries, not ${rows} x ${cols}`)
  const out = new Uint8Array(TILE_OUTPUT_HEADER_BYTES + 4 * data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, rows, true)
  view.setUint32(4, cols, true)
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), TILE_OUTPUT_HEADER_BYTES)
  return out
}

/**
 * Decode a tile output, checking it against the shape the work unit asked for.
 * @throws TileShapeError on a wrong length or shape
 */
export function decodeTileOutput (bytes: Uint8Array, rows: number, cols: number): Float32Array {
  assertLittleEndian()
  const expected = TILE_OUTPUT_HEADER_BYTES + 4 * rows * cols
  if (bytes.length < TILE_OUTPUT_HEADER_BYTES) throw new TileShapeError(`tile output is ${bytes.length} bytes, shorter than its ${TILE_OUTPUT_HEADER_BYTES}-byte shape header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const r = view.getUint32(0, true)
  const c = view.getUint32(4, true)
  if (r !== rows || c !== cols) throw new TileShapeError(`tile output has shape ${r} x ${c}, the work unit asked for ${rows} x ${cols}`)
  if (bytes.length !== expected) throw new TileShapeError(`a ${rows} x ${cols} tile output is ${expected} bytes, got ${bytes.length}`)
  const data = new Float32Array(rows * cols)
  new Uint8Array(data.buffer).set(bytes.subarray(TILE_OUTPUT_HEADER_BYTES))
  return data
}
