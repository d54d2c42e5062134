/**
 * The built-in prime-counting kernel's input and output layout (kernel id `primes-sieve/1`).
 *
 * Input: 16 bytes, `lo` u64 little-endian then `hi` u64 little-endian: count primes in [lo, hi).
 * Output: 8 bytes, the count as u64 little-endian.
 * Ranges satisfy 0 <= lo < hi <= 2^53 so every bound is an exact JS number.
 */

export const PRIMES_KERNEL_ID = 'primes-sieve/1'
/** Largest allowed range end (exclusive): 2^53. */
export const PRIMES_MAX_HI = 2 ** 53
export const PRIMES_INPUT_BYTES = 16
export const PRIMES_OUTPUT_BYTES = 8

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

/** Encode a prime count as 8 bytes. */
export function encodePrimesOutput (count: number): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`prime count must be a non-negative integer, got ${count}`)
  const out = new Uint8Array(PRIMES_OUTPUT_BYTES)
  new DataView(out.buffer).setBigUint64(0, BigInt(count), true)
  return out
}

/** Decode 8 output bytes. @throws RangeError on a wrong length or a count >= 2^53 */
export function decodePrimesOutput (bytes: Uint8Array): number {
  if (bytes.length !== PRIMES_OUTPUT_BYTES) throw new RangeError(`primes output must be ${PRIMES_OUTPUT_BYTES} bytes, got ${bytes.length}`)
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('prime count out of range')
  return Number(value)
}
