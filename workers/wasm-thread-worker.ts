/**
 * worker_threads entry of runWasmInThread (wasm-thread.ts: `kernel test`, ringers, the hub's failure probe): checks a WASM kernel and runs it (ABI 1, or
 * ABI 2 sliced at full duty) on each of its inputs in turn, posting `{ ok, output, ms }` or
 * `{ ok: false, name, message }` after each, so the parent can enforce the manifest's deadline per
 * unit with `worker.terminate()`. `fresh`: each unit in a new instance (what volunteers do); else
 * all units in one instance, to find kernels that keep state between units.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { checkWasmKernel } from '../src/protocol/kernel-module.ts'
import { instantiateOnce } from './wasm-kernel.ts'

const { bytes, manifest, inputs, fresh } = workerData as { bytes: Uint8Array, manifest: { kernelId: string, abi?: number, memoryBytes: number, maxOutputBytes: number }, inputs: Uint8Array[], fresh: boolean }
const post = (err: unknown): void => { parentPort?.postMessage({ ok: false, name: (err as Error).name, message: (err as Error).message }) }
try {
  const limits = { ...manifest, abi: manifest.abi ?? 1 }
  const module = await checkWasmKernel(bytes, limits)
  const shared = fresh ? undefined : await instantiateOnce(module, limits)
  for (const input of inputs) {
    try {
      const kernel = shared ?? await instantiateOnce(module, limits)
      const started = performance.now()
      const output = await kernel.run(input)
      parentPort?.postMessage({ ok: true, output, ms: performance.now() - started })
    } catch (err) {
      post(err)
    }
  }
} catch (err) {
  post(err)
}
