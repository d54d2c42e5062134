/**
 * A WebGPU device in Node through the `webgpu` package (Dawn). Without a GPU it runs on Chromium's
 * SwiftShader Vulkan driver (Debian 12's lavapipe is refused), which `scripts/setup.sh` provides.
 */
import { existsSync } from 'node:fs'
import type { ErrorName } from '../protocol/index.ts'

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json'

/** No WebGPU adapter could be had in Node. */
export class NoGpuAdapterError extends Error {
  static override readonly name: ErrorName = 'NoGpuAdapterError'
  override readonly name: ErrorName = 'NoGpuAdapterError'
  constructor (message: string) { super(message) }
}

/**
 * The Dawn instance `create` returned. Dawn lives only as long as that object is referenced (the
 * `webgpu` package's README, "Lifetime"): once it is garbage-collected its native instance is torn
 * down under a device still in use, which crashed `kernel test` about one run in three (SIGSEGV,
 * SIGABRT on std::system_error, or a deadlock in Dawn's callback flush). Kept here for the life of
 * the process, which therefore ends with `process.exit`.
 */
let dawnInstance: GPU | undefined

/**
 * A device on the process's one Dawn instance (kept alive, see `dawnInstance`).
 * @throws NoGpuAdapterError
 */
export async function openNodeGpuDevice (): Promise<GPUDevice> {
  if (process.env.VK_ICD_FILENAMES == null && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD
  const { create, globals } = await import('webgpu')
  Object.assign(globalThis, globals)
  dawnInstance ??= create([]) as unknown as GPU
  const gpu = dawnInstance
  const adapter = await gpu.requestAdapter()
  if (adapter == null) throw new NoGpuAdapterError('no WebGPU adapter in Node (is chromium installed for SwiftShader?)')
  return adapter.requestDevice()
}
