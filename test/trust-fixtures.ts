/**
 * A test kernel for trust tests: `trust-test/1` counts primes in [lo, hi) like primes-sieve/1 (same
 * input and output encoding), and its fake spot check recomputes the whole count with the sieve
 * written in hub-fixtures.ts while reporting the cost of a 2% sample (`checkedOps`).
 */
import { createWork } from '../src/hub/create-work.ts'
import { decodePrimesInput, decodePrimesOutput, encodePrimesInput } from '../src/protocol/primes.ts'
import { countPrimes } from './hub-fixtures.ts'
import type { HubCore } from '../src/hub/hub-core.ts'
import type { JobPolicy } from '../src/hub/repository.ts'

export const TRUST_KERNEL = 'trust-test/1'
/** Share of a unit's estOps that the fake spot check says it cost. */
export const SPOT_SHARE = 0.02

/** Define the test kernel in `core`'s catalogue (with or without a spot check). */
export function defineTrustKernel (core: HubCore, opts: { spotCheck?: boolean, id?: string } = {}): string {
  const id = opts.id ?? TRUST_KERNEL
  core.catalogue.define({
    id,
    backends: ['wasm'],
    exact: true,
    checkOutput: () => {},
    ...(opts.spotCheck === false
      ? {}
      : {
          spotCheck: (_ctx, wu, output) => {
            const { lo, hi } = decodePrimesInput(wu.input)
            const ok = decodePrimesOutput(output) === countPrimes(lo, hi)
            return { ok, reason: ok ? '' : 'count differs from the re-sieved sample', checkedOps: wu.est_ops * SPOT_SHARE }
          }
        }),
    assimilator: {
      fold: (acc: { primes: number }, output: Uint8Array) => ({ primes: acc.primes + decodePrimesOutput(output) }),
      unfold: (acc: { primes: number }, output: Uint8Array) => ({ primes: acc.primes - decodePrimesOutput(output) })
    }
  })
  return id
}

/** A job of `units` units of `size` numbers from 0 on the test kernel. @returns its id */
export async function createTrustJob (core: HubCore, units: number, size: number, policy: JobPolicy = 'adaptive', kernel = TRUST_KERNEL): Promise<string> {
  const { jobId } = await core.repo.transaction(async tx => await createWork(tx, core.now(), () => ({
    kernel, quorum: 2, creditPerOps: 1e-6, spec: {}, output: { primes: 0 }, policy,
    units: Array.from({ length: units }, (_, i) => ({ input: encodePrimesInput(i * size, (i + 1) * size), estOps: size, credit: size / 1e6, memoryBytes: 1 << 20, deadlineMs: 60_000 }))
  })))
  return jobId
}

/** The prime-number-theorem estimate a cheater answers with. */
export function estimate (lo: number, hi: number): number {
  const li = (x: number): number => x < 3 ? 0 : x / Math.log(x)
  return Math.round(li(hi) - li(lo)) + 1
}
