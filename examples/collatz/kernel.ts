// Collatz delay-record search: a researcher kernel for Spare Cycles kernel ABI 1 (docs/kernel-abi.md).
//
// Input (16 bytes): lo u64 LE, hi u64 LE, 1 <= lo < hi < 2^40.
// Output: the work unit's local delay records as (n u64 LE, steps u64 LE) pairs: every n in [lo, hi)
// whose number of Collatz steps to reach 1 exceeds that of every smaller n in the unit (so n = lo is
// always one). Merging units in order and keeping the pairs that beat the running maximum gives the
// global records (OEIS A006877 / A006878).

const INPUT = memory.data(16)
const OUTPUT_CAP: i32 = 4096
const OUTPUT = memory.data(OUTPUT_CAP)
// Beyond this, 3x + 1 could overflow u64.
const SAFE_MAX: u64 = (u64.MAX_VALUE - 1) / 3

export function sc_abi (): i32 { return 1 }

export function sc_input (len: i32): i32 {
  return len == 16 ? <i32>INPUT : 0
}

export function sc_run (len: i32): i32 {
  if (len != 16) return -1
  const lo = load<u64>(INPUT)
  const hi = load<u64>(INPUT, 8)
  if (lo < 1 || hi <= lo || hi > (<u64>1 << 40)) return -2
  let best: i64 = -1
  let out: i32 = 0
  for (let n = lo; n < hi; n++) {
    let x = n
    let steps: i64 = 0
    while (x != 1) {
      if (x & 1) {
        if (x > SAFE_MAX) return -3
        x = 3 * x + 1
      } else {
        x >>= 1
      }
      steps++
    }
    if (steps > best) {
      best = steps
      if (out + 16 > OUTPUT_CAP) return -4
      store<u64>(<usize>OUTPUT + out, n)
      store<u64>(<usize>OUTPUT + out, <u64>steps, 8)
      out += 16
    }
  }
  return out
}

export function sc_output (): i32 { return <i32>OUTPUT }
