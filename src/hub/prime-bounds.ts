/**
 * Proven bounds on prime counts, for refusing impossible primes outputs at submit (before anything
 * is stored): a count of primes in [lo, hi) must lie within
 *
 *   [max(0, πlo(hi - 1) - πhi(lo - 1)),  min(wheel(lo, hi), πhi(hi - 1) - πlo(lo - 1))]
 *
 * where πlo / πhi are lower / upper bounds on π(x) and wheel(lo, hi) counts the numbers of
 * [lo, hi) prime to 30 (but 1) plus those of 2, 3, 5 in it (every prime is one of them; never more than
 * hi - lo). The bounds on π(x):
 *
 *   π(x) >= x / ln x · (1 + 1 / ln x)                  for x >= 599
 *   π(x) <= x / ln x · (1 + 1 / ln x + 2.51 / ln² x)   for x >= 355,991
 *
 * (P. Dusart, "Explicit estimates of some functions over primes", Ramanujan J. 45 (2018),
 * 227–251, section 5), and below those, π(x) > x / ln x for x >= 17 and π(x) < 1.25506 x / ln x
 * for x > 1 (J. B. Rosser, L. Schoenfeld, "Approximate formulas for some functions of prime
 * numbers", Illinois J. Math. 6 (1962), 64–94, (3.5) and (3.6)). Small units are deliberately
 * not held to exact π: a near miss there is the validator's business (quorum, spot check), only
 * the impossible is refused here. Computed in float64 (relative error ~1e-16, i.e. < 0.1 below
 * 2^53) and widened by {@link FLOAT_MARGIN} each side. For a short interval far out the bounds on
 * π are far wider than the interval, and the wheel bound is what refuses; for a long one from
 * small x they are within a fraction of a percent.
 */
import { BadOutputError } from '../protocol/errors.ts'
import type { PrimesResult } from '../protocol/primes.ts'

/** Counts added to / taken from the float bounds to cover rounding. */
const FLOAT_MARGIN = 2
const RESIDUES = [1, 7, 11, 13, 17, 19, 23, 29]

/** A lower bound on π(x), x an integer (Dusart from 599, Rosser–Schoenfeld from 17, else 0). */
export function piLower (x: number): number {
  if (x < 17) return 0
  const l = Math.log(x)
  const bound = x >= 599 ? x / l * (1 + 1 / l) : x / l
  return Math.max(0, Math.floor(bound) - FLOAT_MARGIN)
}

/** An upper bound on π(x), x an integer (Dusart from 355,991, Rosser–Schoenfeld from 2; π(x) = 0 below 2). */
export function piUpper (x: number): number {
  if (x < 2) return 0
  const l = Math.log(x)
  const bound = x >= 355_991 ? x / l * (1 + 1 / l + 2.51 / (l * l)) : 1.25506 * x / l
  return Math.ceil(bound) + FLOAT_MARGIN
}

/** Numbers n with 0 <= n < x prime to 30. */
function primeTo30Below (x: number): number {
  const q = Math.floor(x / 30)
  const r = x - 30 * q
  return 8 * q + RESIDUES.filter(v => v < r).length
}

/** Numbers of [lo, hi) that could be prime by the mod-30 wheel: prime to 30 but not 1, or 2, 3, 5. */
export function wheelBound (lo: number, hi: number): number {
  const small = [2, 3, 5].filter(p => p >= lo && p < hi).length
  const one = lo <= 1 && hi > 1 ? 1 : 0
  return primeTo30Below(hi) - primeTo30Below(lo) + small - one
}

/** The proven range [min, max] of the number of primes in [lo, hi) (0 <= lo < hi <= 2^53). */
export function primeCountBounds (lo: number, hi: number): { min: number, max: number } {
  const min = Math.max(0, piLower(hi - 1) - piUpper(lo - 1))
  const max = Math.min(wheelBound(lo, hi), piUpper(hi - 1) - piLower(lo - 1))
  return { min, max }
}

/**
 * Refuse a decoded primes output whose counts no honest sieve can give: the total outside
 * {@link primeCountBounds} of [lo, hi), or a block with more primes than its wheel bound.
 * @throws BadOutputError naming the count and its bounds
 */
export function checkPrimeCounts (result: PrimesResult, lo: number, hi: number): void {
  const { min, max } = primeCountBounds(lo, hi)
  if (result.count < min || result.count > max) {
    throw new BadOutputError(`${result.count} primes in [${lo}, ${hi}) is impossible: the proven bounds are [${min}, ${max}]`, { proof: true })
  }
  let prevDone = 0
  let prevCount = 0
  result.checkpoints.forEach((c, i) => {
    const a = lo + prevDone
    const b = lo + c.done
    const bound = wheelBound(a, b)
    if (c.count - prevCount > bound) throw new BadOutputError(`block ${i} [${a}, ${b}) claims ${c.count - prevCount} primes, more than its ${bound} candidates`, { proof: true })
    prevDone = c.done
    prevCount = c.count
  })
}
