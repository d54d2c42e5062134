/**
 * Honest computation: the real WASM kernel (build/kernels/primes-sieve.wasm via
 * workers/primes-kernel.ts) run in Node, one instance per process, and a counter of the numbers
 * it sieved (the volunteers' compute, the denominator of the hub's checking cost).
 */
import { existsSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { instantiatePrimesKernel } from '../../workers/primes-kernel.ts'
import type { PrimesKernel } from '../../workers/primes-kernel.ts'

const ROOT = new URL('../..', import.meta.url).pathname
export const PRIMES_WASM = join(ROOT, 'build', 'kernels', 'primes-sieve.wasm')

let kernel: Promise<PrimesKernel> | undefined

/** The kernel, built with `npm run build:kernels` first if it is missing. */
export async function primesKernel (): Promise<PrimesKernel> {
  if (kernel == null) {
    if (!existsSync(PRIMES_WASM)) execFileSync('npm', ['run', '--silent', 'build:kernels'], { cwd: ROOT, stdio: 'inherit' })
    kernel = instantiatePrimesKernel(readFileSync(PRIMES_WASM))
  }
  return await kernel
}

/** Counts primes with the kernel and adds up the numbers sieved. */
export class HonestCounter {
  sieved = 0
  constructor (private readonly k: PrimesKernel) {}

  static async create (): Promise<HonestCounter> { return new HonestCounter(await primesKernel()) }

  /** Primes in [lo, hi), computed by the kernel (synchronously: units are small). */
  count (lo: number, hi: number): number {
    this.sieved += hi - lo
    return this.k.countRangeSync(lo, hi)
  }
}
