/**
 * Web Worker entry point (comlink `expose`): runs the prime-sieve WASM kernel on one range at a
 * time. Receives plain numbers, never protocol objects. Stop and deadlines are enforced from the
 * page with `worker.terminate()`.
 */
import { expose } from 'comlink'
import { DutyCycle } from './duty-cycle.ts'
import { instantiatePrimesKernel } from './primes-kernel.ts'
import type { ThrottleSettings } from './duty-cycle.ts'
import type { PrimesKernel } from './primes-kernel.ts'

let kernel: PrimesKernel | undefined
/** The governor's duty cycle and pause gate for this worker (set from the page). */
const dutyCycle = new DutyCycle()
const createdAt = performance.now()

export const wasmRunner = {
  /** Fetch and instantiate the kernel (refused if it imports anything outside the whitelist). */
  async load (wasmUrl: string): Promise<void> {
    if (kernel != null) return
    const response = await fetch(wasmUrl)
    if (!response.ok) throw new Error(`kernel fetch failed: HTTP ${response.status}`)
    kernel = await instantiatePrimesKernel(await response.arrayBuffer())
  },
  /**
   * Count primes in [lo, hi). `onProgress(doneNumbers, totalNumbers)` is called at most every
   * ~100 ms. Returns the count.
   */
  async countPrimes (lo: number, hi: number, onProgress?: (done: number, total: number) => void): Promise<number> {
    if (kernel == null) throw new Error('kernel not loaded')
    return kernel.countRange(lo, hi, { onProgress, throttle: dutyCycle })
  },
  /**
   * Run the unit [lo, hi) and return its output bytes: the count and a checkpoint after every
   * block (layout: src/protocol/primes.ts), the same bytes on every device. `onProgress` as in
   * countPrimes.
   */
  async primesOutput (lo: number, hi: number, onProgress?: (done: number, total: number) => void): Promise<Uint8Array> {
    if (kernel == null) throw new Error('kernel not loaded')
    return await kernel.primesOutput(lo, hi, { onProgress, throttle: dutyCycle })
  },
  /** Apply the governor's duty cycle (0-1] and pause flag; takes effect at the next slice boundary. */
  setThrottle (settings: ThrottleSettings): void {
    dutyCycle.set(settings)
  },
  /** Time spent computing since the worker started, and the worker's age, both in ms. */
  stats (): { busyMs: number, aliveMs: number } {
    return { busyMs: dutyCycle.busyMs, aliveMs: performance.now() - createdAt }
  }
}

export type WasmRunner = typeof wasmRunner

expose(wasmRunner)
