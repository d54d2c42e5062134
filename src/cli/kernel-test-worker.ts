/**
 * worker_threads entry for `sparecycles kernel test`: runs one WASM kernel (ABI 1, or ABI 2 sliced at full duty) on one input, so the
 * parent can enforce the manifest's deadline with `worker.terminate()`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { instantiateWasmKernel } from '../../workers/wasm-kernel.ts'

const { bytes, manifest, input } = workerData as { bytes: Uint8Array, manifest: { kernelId: string, abi?: number, memoryBytes: number, maxOutputBytes: number }, input: Uint8Array }
try {
  const kernel = await instantiateWasmKernel(bytes, manifest)
  const started = performance.now()
  const output = await kernel.run(input)
  parentPort?.postMessage({ ok: true, output, ms: performance.now() - started })
} catch (err) {
  parentPort?.postMessage({ ok: false, name: (err as Error).name, message: (err as Error).message })
}
