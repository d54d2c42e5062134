/**
 * The primes-sieve/1 output as the simulated volunteers write it: ONE switchable encoder.
 *
 * Every strategy describes its answer as a count function over sub-ranges of its unit
 * (`CountFn(a, b)` = the primes it claims in [a, b), lo <= a < b <= hi); the format decides which
 * sub-ranges it needs. Today's hub takes 8 bytes (the count, u64 LE: src/protocol/primes.ts). When
 * the checkpointed output lands (an 8-byte count followed by checkpoints), add its encoder here
 * and point SIM_OUTPUT at it: honest sims then write checkpoints from the real kernel, and cheaters
 * forge checkpoints from their own count function, with no change to any strategy.
 */
export type CountFn = (a: number, b: number) => bigint

export interface OutputFormat {
  name: string
  /** The output bytes claiming `count` for the unit [lo, hi). */
  encode: (lo: number, hi: number, count: CountFn) => Uint8Array
  /** The total count an output claims (first 8 bytes, u64 LE), as a bigint (cheaters may exceed 2^53). */
  total: (output: Uint8Array) => bigint
}

function u64le (value: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true)
  return out
}

function readTotal (output: Uint8Array): bigint {
  if (output.length < 8) return -1n
  return new DataView(output.buffer, output.byteOffset, output.byteLength).getBigUint64(0, true)
}

/** primes-sieve/1 as of today: 8 bytes, the count of [lo, hi). */
export const COUNT_ONLY: OutputFormat = {
  name: 'count-u64',
  encode: (lo, hi, count) => u64le(count(lo, hi)),
  total: readTotal
}

/** The format every simulated volunteer writes (switch here at merge time). */
export const SIM_OUTPUT: OutputFormat = COUNT_ONLY
