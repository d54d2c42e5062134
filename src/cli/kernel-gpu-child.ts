/**
 * Child process for `sparecycles kernel test` on a webgpu kernel: runs the WGSL kernel through the
 * `webgpu` package (Dawn) and prints one JSON line with the runs. It is a separate process so a
 * crash in native code (Dawn, the Vulkan driver) costs one `kernel test`, not the CLI; the parent
 * reads the JSON line and takes it even if the process dies after writing it. The line is written,
 * flushed, and the process ends with `process.exit` before any Dawn teardown. (The crashes this
 * once had, about one run in three, came from Dawn's instance being garbage-collected while in
 * use: node-gpu.ts keeps it.)
 */
import { readFileSync, writeSync } from 'node:fs'
import { compileShaderKernel } from '../../workers/webgpu-kernel.ts'
import { openNodeGpuDevice } from './node-gpu.ts'

const { wgslPath, workgroupSize, outputBytes, deadlineMs, inputs } = JSON.parse(readFileSync(0, 'utf8')) as { wgslPath: string, workgroupSize: number, outputBytes: number, deadlineMs: number, inputs: string[] }
/** Write one JSON line to stdout synchronously (fd 1), so it is out before the process exits. */
function writeLine (value: unknown): void {
  writeSync(1, JSON.stringify(value) + '\n')
}

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
  writeLine({ runs })
} catch (err) {
  writeLine({ error: `${(err as Error).name}: ${(err as Error).message}` })
}
process.exit(0)
