// Collatz delay-record search, sliced: the same kernel as examples/collatz, for Spare Cycles kernel
// ABI 2 (docs/kernel-abi.md). Its output equals the ABI 1 kernel's for every input; the host calls
// sc_step in slices of ~4 ms, so the volunteer's governor can hold it to its share and pause it.
//
// Input (16 bytes): lo u64 LE, hi u64 LE, 1 <= lo < hi <= 2^40.
// Output: the work unit's local delay records as (n u64 LE, steps u64 LE) pairs: every n in [lo, hi)
// whose number of Collatz steps to reach 1 exceeds that of every smaller n in the unit (so n = lo is
// always one). Merging units in order and keeping the pairs that beat the running maximum gives the
// global records (OEIS A006877 / A006878).
// One iteration of sc_step = one start value n.

const INPUT = memory.data(16)
const OUTPUT_CAP: i32 = 4096
const OUTPUT = memory.data(OUTPUT_CAP)
// Beyond this, 3x + 1 could overflow u64.
const SAFE_MAX: u64 = (u64.MAX_VALUE - 1) / 3

// The unit's state between slices.
let next: u64 = 0
let hi: u64 = 0
let best: i64 = -1
let out: i32 = 0
let failed: i32 = 0

export function sc_abi (): i32 { return 2 }

export function sc_input (len: i32): i32 {
  return len == 16 ? <i32>INPUT : 0
}

/** Start a unit on the input bytes: 0, or -1 bad length, -2 bad range. */
export function sc_init (len: i32): i32 {
  if (len != 16) return -1
  const lo = load<u64>(INPUT)
  hi = load<u64>(INPUT, 8)
  if (lo < 1 || hi <= lo || hi > (<u64>1 << 40)) return -2
  next = lo
  best = -1
  out = 0
  failed = 0
  return 0
}

/** Test up to maxIterations start values: 0 more to do, 1 done, -3 overflow, -4 output full. */
export function sc_step (maxIterations: i32): i32 {
  if (failed != 0) return failed
  let left = maxIterations
  while (next < hi && left > 0) {
    let x = next
    let steps: i64 = 0
    while (x != 1) {
      if (x & 1) {
        if (x > SAFE_MAX) { failed = -3; return failed }
        x = 3 * x + 1
      } else {
        x >>= 1
      }
      steps++
    }
    if (steps > best) {
      best = steps
      if (out + 16 > OUTPUT_CAP) { failed = -4; return failed }
      store<u64>(<usize>OUTPUT + out, next)
      store<u64>(<usize>OUTPUT + out, <u64>steps, 8)
      out += 16
    }
    next++
    left--
  }
  return next < hi ? 0 : 1
}

/** The output length, once sc_step returned 1. */
export function sc_finish (): i32 { return out }

export function sc_output (): i32 { return <i32>OUTPUT }
