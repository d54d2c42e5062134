/**
 * The slice loop every sliced kernel runs in (the primes sieve, ABI 2 researcher kernels): call
 * `step` until it reports done, and between slices apply the governor's duty cycle and pause gate
 * (duty-cycle.ts), honour an AbortSignal, and yield to the event loop now and then so that
 * messages (a new throttle, a stats request) are processed. No protocol imports.
 */
import type { SliceThrottle } from './duty-cycle.ts'

export interface SliceLoopOptions {
  /** The governor's duty cycle and pause gate, consulted after every slice. */
  throttle?: SliceThrottle
  /** Checked between slices; when aborted, the loop rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Await a macrotask at least this often, in ms (default 50). */
  yieldEveryMs?: number
  /** Called after every slice that left work to do, before any rest. */
  onSlice?: () => void
}

/** A macrotask: setImmediate (Node), else a MessageChannel post (not clamped like nested setTimeout), else setTimeout. */
export function macrotask (): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown }
  if (typeof g.setImmediate === 'function') return new Promise(resolve => { g.setImmediate!(resolve) })
  if (typeof MessageChannel === 'function') {
    return new Promise(resolve => {
      const ch = new MessageChannel()
      ch.port1.onmessage = () => { ch.port1.close(); resolve() }
      ch.port2.postMessage(null)
    })
  }
  return new Promise(resolve => setTimeout(resolve, 0))
}

const now = (): number => performance.now()

/**
 * Run `step` (one slice of a few ms; returns true when the work is done) until done. Each slice's
 * wall time counts as busy time of `throttle`; a pause waits at the slice boundary and the loop
 * goes on from there on resume.
 * @throws `signal.reason` when aborted; whatever `step` throws
 */
export async function runSlices (step: () => boolean, opts: SliceLoopOptions = {}): Promise<void> {
  const { signal, throttle } = opts
  const yieldEvery = opts.yieldEveryMs ?? 50
  signal?.throwIfAborted()
  let lastYield = now()
  let sliceStart = now()
  while (!step()) {
    signal?.throwIfAborted()
    opts.onSlice?.()
    const t = now()
    const rest = throttle?.afterSlice(t - sliceStart)
    if (rest != null) {
      await rest
      lastYield = now()
      signal?.throwIfAborted()
    } else if (t - lastYield >= yieldEvery) {
      await macrotask()
      lastYield = now()
      signal?.throwIfAborted()
    }
    sliceStart = now()
  }
  throttle?.recordBusy(now() - sliceStart)
}
