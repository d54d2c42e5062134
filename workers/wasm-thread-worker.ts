/**
 * worker_threads entry of {@link runWasmInThread} (wasm-thread.ts): runs one WASM kernel (ABI 1,
 * or ABI 2 sliced at full duty) on one input in a fresh instance, so that the parent can enforce
 * the manifest's deadline with `worker.terminate()`. Posts `{ ok, output, ms }` or `{ ok: false, name, message }`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { instantiateWasmKernel } from './wasm-kernel.ts'

const { bytes, manifest, input } = workerData as { bytes: Uint8Array, manifest: { kernelId: string, abi?: number, memoryBytes: number, maxOutputBytes: number }, input: Uint8Array }
try {
  const kernel = await instantiateWasmKernel(bytes, manifest)
  const started = performance.now()
  const output = await kernel.run(input)
  parentPort?.postMessage({ ok: true, output, ms: performance.now() - started })
} catch (err) {
  parentPort?.postMessage({ ok: false, name: (err as Error).name, message: (err as Error).message })
}
