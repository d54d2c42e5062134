/**
 * The independent oracle: Debian's `primecount` (π(x), the number of primes <= x). An interval
 * count is π(hi − 1) − π(lo − 1). One process per distinct bound (at most two at a time, one
 * thread each: the machine is shared), memoised for the life of the process.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const cache = new Map<number, Promise<bigint>>()
const PRIMECOUNT = process.env.PRIMECOUNT ?? 'primecount'

/** π(x) by primecount (0 for x < 2). @throws when primecount is missing or fails */
export async function primePi (x: number): Promise<bigint> {
  if (x < 2) return 0n
  let p = cache.get(x)
  if (p == null) {
    p = run(PRIMECOUNT, ['--threads=1', String(x)], { timeout: 30_000 }).then(({ stdout }) => {
      const s = stdout.trim()
      if (!/^\d+$/.test(s)) throw new Error(`primecount ${x} printed ${JSON.stringify(s)}`)
      return BigInt(s)
    })
    cache.set(x, p)
    p.catch(() => cache.delete(x))
  }
  return await p
}

/** Primes in each [lo, hi) by primecount, in the order given. */
export async function primecountIntervals (ranges: ReadonlyArray<{ lo: number, hi: number }>, concurrency = 2): Promise<bigint[]> {
  const bounds = [...new Set(ranges.flatMap(r => [r.lo - 1, r.hi - 1]))]
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, bounds.length) }, async () => {
    while (next < bounds.length) await primePi(bounds[next++])
  }))
  return await Promise.all(ranges.map(async r => await primePi(r.hi - 1) - await primePi(r.lo - 1)))
}
