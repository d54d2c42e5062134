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

/**
 * The checkpointed layout of issue 10's spot check (written here from its description, not
 * imported: the layout lives in src/protocol/primes.ts once it lands; compare at merge): the count,
 * then for blocks 0 .. n − 2 the pair (done_i = numbers of [lo, hi) covered by blocks 0..i,
 * cum_i = primes in them), all u64 LE. Blocks: the unit's bytes of a mod-30 sieve (f = ⌊lo/30⌋,
 * e = ⌊(hi − 1)/30⌋ + 1), block size B = the smallest power of two ≥ 4096 bytes with
 * ⌈(e − f)/B⌉ ≤ 1024, block i = [max(lo, 30(f + iB)), min(hi, 30(f + (i + 1)B))). A unit of one
 * block (≤ 122,880 numbers) has no checkpoints: the same 8 bytes as COUNT_ONLY.
 * The encoder asks the count function for each block, so a cheater's fraud sits where its count
 * function puts it.
 */
export const CHECKPOINTED: OutputFormat = {
  name: 'count-u64+checkpoints',
  encode: (lo, hi, count) => {
    const f = Math.floor(lo / 30)
    const bytes = Math.floor((hi - 1) / 30) + 1 - f
    let blockBytes = 4096
    while (blockBytes * 1024 < bytes) blockBytes *= 2
    const blocks = blockBytes > 2 ** 19 ? 1 : Math.ceil(bytes / blockBytes)
    if (blocks === 1) return u64le(count(lo, hi))
    const out = new Uint8Array(8 + 16 * (blocks - 1))
    const view = new DataView(out.buffer)
    let cum = 0n
    for (let i = 0; i < blocks; i++) {
      const a = Math.max(lo, 30 * (f + i * blockBytes))
      const b = Math.min(hi, 30 * (f + (i + 1) * blockBytes))
      cum += count(a, b)
      if (i < blocks - 1) {
        view.setBigUint64(8 + 16 * i, BigInt(b - lo), true)
        view.setBigUint64(16 + 16 * i, BigInt.asUintN(64, cum), true)
      }
    }
    view.setBigUint64(0, BigInt.asUintN(64, cum), true)
    return out
  },
  total: readTotal
}

/**
 * The format every simulated volunteer writes unless a scenario names one (switch here at merge
 * time, to CHECKPOINTED once the hub takes checkpoints; the scenarios' units of 10^5 numbers are
 * one block, where the two write the same bytes).
 */
export const SIM_OUTPUT: OutputFormat = process.env.SIM_OUTPUT === 'checkpointed' ? CHECKPOINTED : COUNT_ONLY
