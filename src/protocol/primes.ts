/**
 * The built-in prime-counting kernel's input and output layout (kernel id `primes-sieve/1`).
 *
 * Input: 16 bytes, `lo` u64 little-endian then `hi` u64 little-endian: count primes in [lo, hi).
 * Ranges satisfy 0 <= lo < hi <= 2^53 so every bound is an exact JS number.
 *
 * Output: the count, then checkpoints, all u64 little-endian:
 *
 * | offset | field | meaning |
 * |---|---|---|
 * | 0 | `count` | primes p with lo <= p < hi |
 * | 8 + 16 i | `done_i` | numbers of [lo, hi) covered by blocks 0 .. i (i = 0 .. n - 2) |
 * | 16 + 16 i | `cum_i` | primes in [lo, lo + done_i) |
 *
 * so 8 + 16 (n - 1) bytes for a unit of n blocks. The blocks depend on [lo, hi) alone (every
 * honest device writes the same bytes, so replicas still compare by digest): with f = floor(lo / 30)
 * and e = floor((hi - 1) / 30) + 1 the unit's bytes of the kernel's mod-30 sieve (30 numbers a
 * byte), the block size B ({@link primesBlocks}) is the smallest power of two of at least
 * {@link PRIMES_MIN_BLOCK_BYTES} bytes that makes n = ceil((e - f) / B) <= {@link PRIMES_MAX_BLOCKS},
 * and block i holds the numbers [max(lo, 30 (f + i B)), min(hi, 30 (f + (i + 1) B))). B divides the
 * kernel's segment ({@link PRIMES_SEGMENT_BYTES}), so a block is never longer than one segment.
 * The last checkpoint (hi - lo, count) is implied by `count` and not written, so a unit of one
 * block (up to 4096 bytes, 122,880 numbers) has the 8-byte output of the first version of this
 * layout, which stays valid exactly there. Limits: `done_i` strictly increasing, each equal to
 * its block's end; `cum_i` non-decreasing, at most `count`; every value below 2^53; a unit is at
 * most {@link PRIMES_MAX_UNIT} numbers (1024 blocks of a segment), so an output is at most
 * 16,376 bytes, under the result protocol's MAX_OUTPUT_BYTES (32 KiB).
 */

export const PRIMES_KERNEL_ID = 'primes-sieve/1'
/** Largest allowed range end (exclusive): 2^53. */
export const PRIMES_MAX_HI = 2 ** 53
export const PRIMES_INPUT_BYTES = 16
/** Length of the count alone: the whole output of a one-block unit. */
export const PRIMES_OUTPUT_BYTES = 8
/** Bytes of one checkpoint (done u64, cumulative count u64). */
export const PRIMES_CHECKPOINT_BYTES = 16
/** The kernel's segment, in sieve bytes of 30 numbers (SEG_BYTES of kernels/primes-sieve.ts; 15,728,640 numbers). */
export const PRIMES_SEGMENT_BYTES = 2 ** 19
/** Smallest block, in sieve bytes (122,880 numbers): below ~10^5 numbers a check costs the kernel's setup anyway. */
export const PRIMES_MIN_BLOCK_BYTES = 4096
/** Most blocks a unit is split into (so most checkpoints written: 1023). */
export const PRIMES_MAX_BLOCKS = 1024
/** Largest unit with checkpoints: 30 (2^29 - 2) numbers (~1.6 * 10^10), i.e. at most 1024 blocks of one segment. */
export const PRIMES_MAX_UNIT = 30 * (PRIMES_MAX_BLOCKS * PRIMES_SEGMENT_BYTES - 2)

/** A half-open range [lo, hi) of non-negative integers. */
export interface PrimesRange { lo: number, hi: number }

/**
 * Check a range [lo, hi).
 * @throws RangeError naming what is wrong (not an integer, negative, lo >= hi, beyond 2^53)
 */
export function checkPrimesRange (lo: number, hi: number): void {
  if (!Number.isSafeInteger(lo) || !Number.isInteger(hi) || hi > PRIMES_MAX_HI) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new RangeError(`range bounds must be integers, got [${lo}, ${hi})`)
    throw new RangeError(`range end must be at most 2^53, got ${hi}`)
  }
  if (lo < 0) throw new RangeError(`range start must be >= 0, got ${lo}`)
  if (lo >= hi) throw new RangeError(`range start must be below its end, got [${lo}, ${hi})`)
}

/** Encode [lo, hi) as 16 bytes. @throws RangeError for a bad range */
export function encodePrimesInput (lo: number, hi: number): Uint8Array {
  checkPrimesRange(lo, hi)
  const out = new Uint8Array(PRIMES_INPUT_BYTES)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(lo), true)
  view.setBigUint64(8, BigInt(hi), true)
  return out
}

/** Decode 16 input bytes. @throws RangeError on a wrong length or a bad range */
export function decodePrimesInput (bytes: Uint8Array): PrimesRange {
  if (bytes.length !== PRIMES_INPUT_BYTES) throw new RangeError(`primes input must be ${PRIMES_INPUT_BYTES} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const lo = view.getBigUint64(0, true)
  const hi = view.getBigUint64(8, true)
  if (hi > BigInt(PRIMES_MAX_HI)) throw new RangeError(`range end must be at most 2^53, got ${hi}`)
  const range = { lo: Number(lo), hi: Number(hi) }
  checkPrimesRange(range.lo, range.hi)
  return range
}

/** One checkpoint: `count` primes in the first `done` numbers of the unit. */
export interface PrimesCheckpoint { done: number, count: number }

/** How a unit splits into blocks (see the layout above). */
export interface PrimesBlocks {
  /** Block size in sieve bytes (30 numbers each), a power of two. */
  blockBytes: number
  /** Number of blocks n (the output holds n - 1 checkpoints). */
  blocks: number
}

/**
 * The blocks of the unit [lo, hi).
 * @returns null for a unit longer than {@link PRIMES_MAX_UNIT} (no checkpoints: its output is the count alone)
 * @throws RangeError for a bad range
 */
export function primesBlocks (lo: number, hi: number): PrimesBlocks | null {
  checkPrimesRange(lo, hi)
  const bytes = Math.floor((hi - 1) / 30) + 1 - Math.floor(lo / 30)
  let blockBytes = PRIMES_MIN_BLOCK_BYTES
  while (blockBytes * PRIMES_MAX_BLOCKS < bytes) blockBytes *= 2
  if (blockBytes > PRIMES_SEGMENT_BYTES) return null
  return { blockBytes, blocks: Math.ceil(bytes / blockBytes) }
}

/** Block i of [lo, hi) with blocks of `blockBytes` sieve bytes: [max(lo, 30 (f + i B)), min(hi, 30 (f + (i + 1) B))). */
export function primesBlockRange (lo: number, hi: number, blockBytes: number, i: number): PrimesRange {
  const f = Math.floor(lo / 30)
  return { lo: Math.max(lo, 30 * (f + i * blockBytes)), hi: Math.min(hi, 30 * (f + (i + 1) * blockBytes)) }
}

/** Length of the output of [lo, hi): 8 + 16 (n - 1) bytes. @throws RangeError for a bad range */
export function primesOutputBytes (lo: number, hi: number): number {
  const b = primesBlocks(lo, hi)
  return PRIMES_OUTPUT_BYTES + (b == null ? 0 : (b.blocks - 1) * PRIMES_CHECKPOINT_BYTES)
}

/**
 * Encode a prime count and its checkpoints (none for a one-block unit).
 * @throws RangeError when a value is not a non-negative safe integer
 */
export function encodePrimesOutput (count: number, checkpoints: readonly PrimesCheckpoint[] = []): Uint8Array {
  const out = new Uint8Array(PRIMES_OUTPUT_BYTES + PRIMES_CHECKPOINT_BYTES * checkpoints.length)
  const view = new DataView(out.buffer)
  const put = (at: number, v: number, what: string): void => {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`)
    view.setBigUint64(at, BigInt(v), true)
  }
  put(0, count, 'prime count')
  checkpoints.forEach((c, i) => {
    put(8 + 16 * i, c.done, `checkpoint ${i} done`)
    put(16 + 16 * i, c.count, `checkpoint ${i} count`)
  })
  return out
}

function readSafe (view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${value} is not below 2^53`)
  return Number(value)
}

/**
 * The count of an output (its first 8 bytes), without checking the checkpoints.
 * @throws RangeError on a length other than 8 + 16 k or a count >= 2^53
 */
export function decodePrimesOutput (bytes: Uint8Array): number {
  if (bytes.length < PRIMES_OUTPUT_BYTES || (bytes.length - PRIMES_OUTPUT_BYTES) % PRIMES_CHECKPOINT_BYTES !== 0) {
    throw new RangeError(`primes output must be ${PRIMES_OUTPUT_BYTES} + ${PRIMES_CHECKPOINT_BYTES} k bytes, got ${bytes.length}`)
  }
  return readSafe(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, 'prime count')
}

/** A decoded, structurally checked output of one unit. */
export interface PrimesResult {
  count: number
  /** The n - 1 written checkpoints, then the implied last one (hi - lo, count): n in all. */
  checkpoints: PrimesCheckpoint[]
  /** The unit's blocks (null: a unit too long for checkpoints). */
  blocks: PrimesBlocks | null
}

/**
 * Decode the output of the unit [lo, hi) and check its structure: its length is 8 + 16 (n - 1)
 * for the unit's n blocks, each `done_i` is block i's end, the counts are non-decreasing, at
 * most `count`, and below 2^53. (Whether the counts are plausible primes counts is the hub's
 * check, src/hub/prime-bounds.ts.)
 * @throws RangeError naming the first thing wrong
 */
export function decodePrimesResult (bytes: Uint8Array, lo: number, hi: number): PrimesResult {
  const blocks = primesBlocks(lo, hi)
  const want = primesOutputBytes(lo, hi)
  if (bytes.length !== want) {
    throw new RangeError(`primes output of [${lo}, ${hi}) must be ${want} bytes (${blocks?.blocks ?? 1} blocks), got ${bytes.length}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = readSafe(view, 0, 'prime count')
  const checkpoints: PrimesCheckpoint[] = []
  let prev = 0
  for (let i = 0; i + 1 < (blocks?.blocks ?? 1); i++) {
    const done = readSafe(view, 8 + 16 * i, `checkpoint ${i} done`)
    const cum = readSafe(view, 16 + 16 * i, `checkpoint ${i} count`)
    const end = primesBlockRange(lo, hi, blocks!.blockBytes, i).hi - lo
    if (done !== end) throw new RangeError(`checkpoint ${i} must be at ${end} numbers (the end of block ${i}), got ${done}`)
    if (cum < prev) throw new RangeError(`checkpoint ${i} count ${cum} is below the previous ${prev}`)
    checkpoints.push({ done, count: cum })
    prev = cum
  }
  if (count < prev) throw new RangeError(`prime count ${count} is below the last checkpoint's ${prev}`)
  checkpoints.push({ done: hi - lo, count })
  return { count, checkpoints, blocks }
}
