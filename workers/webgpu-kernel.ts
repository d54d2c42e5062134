/**
 * Host side of kernel ABI 1 for WebGPU kernels (docs/kernel-abi.md): one WGSL entry point `main`
 * with bindings 0 (input, storage read), 1 (output, storage read_write), 2 (params uniform:
 * inputWords, outputWords). Works with any GPUDevice: a browser worker's or Node's `webgpu` package.
 */
import type { ErrorName } from '../src/protocol/index.ts'

/** The shader failed to compile or the dispatch failed. */
export class ShaderKernelError extends Error {
  static override readonly name: ErrorName = 'ShaderKernelError'
  override readonly name: ErrorName = 'ShaderKernelError'
  constructor (message: string) { super(message) }
}

export interface ShaderKernelManifest {
  workgroupSize: number
  /** Output size in bytes (a multiple of 4). */
  outputBytes: number
}

export interface ShaderKernel {
  /**
   * Run on one work unit's input bytes (padded to whole u32 words); returns `outputBytes` bytes.
   * @throws ShaderKernelError
   */
  run: (input: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>
}

/**
 * Compile a WGSL kernel on `device` and report compilation errors.
 * @throws ShaderKernelError with the compiler's messages
 */
export async function compileShaderKernel (device: GPUDevice, wgsl: string, manifest: ShaderKernelManifest): Promise<ShaderKernel> {
  const module = device.createShaderModule({ code: wgsl })
  const info = await module.getCompilationInfo()
  const errors = info.messages.filter(m => m.type === 'error')
  if (errors.length > 0) throw new ShaderKernelError(`WGSL does not compile: ${errors.map(e => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`)
  device.pushErrorScope('validation')
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } })
  const pipelineError = await device.popErrorScope()
  if (pipelineError != null) throw new ShaderKernelError(`pipeline: ${pipelineError.message}`)
  return {
    async run (input, signal) {
      const inputWords = Math.max(1, Math.ceil(input.length / 4))
      const padded = new Uint8Array(inputWords * 4)
      padded.set(input)
      const outputWords = manifest.outputBytes / 4
      const inBuf = device.createBuffer({ size: padded.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST })
      const outBuf = device.createBuffer({ size: manifest.outputBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC })
      const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST })
      const readBuf = device.createBuffer({ size: manifest.outputBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
      try {
        device.queue.writeBuffer(inBuf, 0, padded)
        device.queue.writeBuffer(params, 0, new Uint32Array([inputWords, outputWords, 0, 0]))
        device.pushErrorScope('validation')
        const bind = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [{ binding: 0, resource: { buffer: inBuf } }, { binding: 1, resource: { buffer: outBuf } }, { binding: 2, resource: { buffer: params } }]
        })
        const encoder = device.createCommandEncoder()
        const pass = encoder.beginComputePass()
        pass.setPipeline(pipeline)
        pass.setBindGroup(0, bind)
        pass.dispatchWorkgroups(Math.ceil(inputWords / manifest.workgroupSize))
        pass.end()
        encoder.copyBufferToBuffer(outBuf, 0, readBuf, 0, manifest.outputBytes)
        device.queue.submit([encoder.finish()])
        const error = await device.popErrorScope()
        if (error != null) throw new ShaderKernelError(`dispatch: ${error.message}`)
        if (signal?.aborted === true) throw signal.reason
        await readBuf.mapAsync(GPUMapMode.READ)
        return new Uint8Array(readBuf.getMappedRange()).slice()
      } finally {
        for (const b of [inBuf, outBuf, params, readBuf]) b.destroy()
      }
    }
  }
}
