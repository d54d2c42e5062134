/**
 * Child process for `sparecycles kernel test` on a webgpu kernel: runs the WGSL kernel through the
 * `webgpu` package (Dawn) and prints one JSON line with the runs. It is a separate process because
 * Dawn in Node can abort in its own teardown at exit (seen here: std::system_error, SIGSEGV) once
 * WebAssembly has been instantiated in the same process; the parent only reads the JSON line.
 */
import { readFileSync } from 'node:fs'
import { compileShaderKernel } from '../../workers/webgpu-kernel.ts'
import { openNodeGpuDevice } from './node-gpu.ts'

const { wgslPath, workgroupSize, outputBytes, deadlineMs, inputs } = JSON.parse(readFileSync(0, 'utf8')) as { wgslPath: string, workgroupSize: number, outputBytes: number, deadlineMs: number, inputs: string[] }
const runs: Array<{ index: number, ok: boolean, output?: string, error?: string, ms: number }> = []
try {
  const device = await openNodeGpuDevice()
  const kernel = await compileShaderKernel(device, readFileSync(wgslPath, 'utf8'), { workgroupSize, outputBytes })
  for (const [index, hex] of inputs.entries()) {
    const started = performance.now()
    try {
      const output = await kernel.run(Buffer.from(hex, 'hex'), AbortSignal.timeout(deadlineMs))
      runs.push({ index, ok: true, output: Buffer.from(output).toString('hex'), ms: performance.now() - started })
    } catch (err) {
      runs.push({ index, ok: false, error: `${(err as Error).name}: ${(err as Error).message}`, ms: performance.now() - started })
    }
  }
  process.stdout.write(JSON.stringify({ runs }) + '\n')
} catch (err) {
  process.stdout.write(JSON.stringify({ error: `${(err as Error).name}: ${(err as Error).message}` }) + '\n')
}
process.exit(0)
