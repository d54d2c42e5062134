/**
 * The primes-sieve/1 output as the simulated volunteers write it: ONE switchable encoder.
 *
 * Every strategy describes its answer as a count function over sub-ranges of its unit
 * (`CountFn(a, b)` = the primes it claims in [a, b), lo <= a < b <= hi); the format decides which
 * sub-ranges it needs. The layout is the protocol's (src/protocol/primes.ts): the count, u64 LE,
 * then one checkpoint per block but the last. {@link CHECKPOINTED} (the default) asks the count
 * function for every block of the unit (the protocol's `primesBlocks` / `primesBlockRange`) and
 * writes the bytes with the protocol's `encodePrimesOutput`, so an honest volunteer's bytes are the
 * kernel's own and a cheater's fraud sits in the blocks where its count function puts it. Values
 * the protocol's encoder refuses (a forged count of 2^53 or more, a negative one) are written into
 * the same layout as raw u64 LE (two's complement for a negative), so that the hub, not the sim,
 * judges them. {@link COUNT_ONLY} (the first version of the layout: 8 bytes) stays available with
 * SIM_OUTPUT=count; the hub accepts it only for one-block units (≤ 122,880 numbers).
 */
import { encodePrimesOutput, primesBlockRange, primesBlocks } from '../../src/protocol/primes.ts'

export type CountFn = (a: number, b: number) => bigint

export interface OutputFormat {
  name: string
  /** The output bytes claiming `count` for the unit [lo, hi). */
  encode: (lo: number, hi: number, count: CountFn) => Uint8Array
  /** The total count an output claims (first 8 bytes, u64 LE), as a bigint (cheaters may exceed 2^53). */
  total: (output: Uint8Array) => bigint
}

/** A checkpoint with values a cheater may have forged (any bigint). */
interface ClaimedCheckpoint { done: number, count: bigint }

const isSafeCount = (v: bigint): boolean => v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)

/** The protocol's output layout: encodePrimesOutput where it takes the values, else the same layout as raw u64 LE. */
function writeOutput (count: bigint, checkpoints: readonly ClaimedCheckpoint[]): Uint8Array {
  if (isSafeCount(count) && checkpoints.every(c => isSafeCount(c.count))) {
    return encodePrimesOutput(Number(count), checkpoints.map(c => ({ done: c.done, count: Number(c.count) })))
  }
  const out = new Uint8Array(8 + 16 * checkpoints.length)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt.asUintN(64, count), true)
  checkpoints.forEach((c, i) => {
    view.setBigUint64(8 + 16 * i, BigInt(c.done), true)
    view.setBigUint64(16 + 16 * i, BigInt.asUintN(64, c.count), true)
  })
  return out
}

function readTotal (output: Uint8Array): bigint {
  if (output.length < 8) return -1n
  return new DataView(output.buffer, output.byteOffset, output.byteLength).getBigUint64(0, true)
}

/** The first version of primes-sieve/1: 8 bytes, the count of [lo, hi) (valid for one-block units only). */
export const COUNT_ONLY: OutputFormat = {
  name: 'count-u64',
  encode: (lo, hi, count) => writeOutput(count(lo, hi), []),
  total: readTotal
}

/**
 * primes-sieve/1 with checkpoints (src/protocol/primes.ts): the count, then for blocks 0 .. n − 2
 * the pair (done_i = block i's end − lo, cum_i = the claimed primes in blocks 0..i). The count is
 * the sum of the blocks' claims. A unit of one block (≤ 122,880 numbers) has no checkpoints:
 * the same 8 bytes as COUNT_ONLY, from one call count(lo, hi).
 */
export const CHECKPOINTED: OutputFormat = {
  name: 'count-u64+checkpoints',
  encode: (lo, hi, count) => {
    const blocks = primesBlocks(lo, hi)
    if (blocks == null || blocks.blocks === 1) return writeOutput(count(lo, hi), [])
    const checkpoints: ClaimedCheckpoint[] = []
    let cum = 0n
    for (let i = 0; i < blocks.blocks; i++) {
      const r = primesBlockRange(lo, hi, blocks.blockBytes, i)
      cum += count(r.lo, r.hi)
      if (i < blocks.blocks - 1) checkpoints.push({ done: r.hi - lo, count: cum })
    }
    return writeOutput(cum, checkpoints)
  },
  total: readTotal
}

/** The format every simulated volunteer writes unless a scenario names one: CHECKPOINTED, or COUNT_ONLY with SIM_OUTPUT=count. */
export const SIM_OUTPUT: OutputFormat = process.env.SIM_OUTPUT === 'count' ? COUNT_ONLY : CHECKPOINTED
