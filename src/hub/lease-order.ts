/**
 * The random lease order both stores use (issue 10: no requester steers which unit it gets;
 * issue 14: no sort of every open unit per lease). Each open unit has a random 53-bit `rand_key`
 * (schema 8); a lease draws a start point `t` from the CSPRNG and walks each job's open units in
 * rand_key order from `t`, wrapping around — two index scans (rand_key >= t, rand_key < t) that
 * each stop at the first `take` fitting units. Merged in (job, wrapped, rand_key) order, the
 * first `take` of both are the first `take` of all. Then units with a replica already leased from
 * the requester's address go last among those of their job (two replicas of a unit go to one
 * address only when little else is there).
 */
import { secureRandom } from './trust.ts'

/** What the order reads of a unit: its id, its job's sequence number and its random key. */
export interface OrderedUnit { id: string, job_seq: number, rand_key: number }

/** A start point for the walk: uniform over the keys' range, ±2^52 (exact as a JS number). */
export function randomStartPoint (): number {
  return Math.floor((secureRandom() * 2 - 1) * 2 ** 52)
}

/**
 * The first `take` units from `t` on: `atOrAfter` (rand_key >= t) and `before` (rand_key < t),
 * each sorted by (job_seq, rand_key), merged with the wrapped ones after the others in each job.
 */
export function fromStartPoint<T extends OrderedUnit> (t: number, atOrAfter: readonly T[], before: readonly T[], take: number): T[] {
  const key = (w: T): [number, number, number] => [w.job_seq, w.rand_key < t ? 1 : 0, w.rand_key]
  const cmp = (a: [number, number, number], b: [number, number, number]): number => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)
  return [...atOrAfter, ...before].sort((a, b) => cmp(key(a), key(b))).slice(0, take)
}

/** `units` (in walk order) with those in `sharedAddress` (unit ids with a replica from the requester's address) last within each job. */
export function sameAddressLast<T extends OrderedUnit> (units: readonly T[], sharedAddress: ReadonlySet<string>): T[] {
  return units
    .map((w, i) => ({ w, i, last: sharedAddress.has(w.id) ? 1 : 0 }))
    .sort((a, b) => a.w.job_seq - b.w.job_seq || a.last - b.last || a.i - b.i)
    .map(({ w }) => w)
}
