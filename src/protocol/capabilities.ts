/**
 * `/sparecycles/work/2.0.0`: capability-aware leasing. A WorkRequestV2 carries what the page can
 * run (backends, built-in kernel ids, researcher-kernel ABI versions, the WebGPU adapter and its
 * limits, memory); the hub leases only work units the page has a runner for. Each give-back names
 * a reason; `cannot-run` never counts against the work unit's replica limit.
 *
 * Device classes (homogeneous redundancy, BOINC's term): `wasm` for WebAssembly on any CPU, and
 * `webgpu:<vendor>/<architecture>` per GPU family (GPUAdapterInfo's strings, lower-cased, reduced to
 * `[a-z0-9._-]`, at most 32 characters each, `unknown` when empty). Results of a kernel whose
 * output is not bit-exact across devices are only compared within one device class.
 */
import { MalformedMessageError } from './errors.ts'
import { MAX_HOLDING_PER_REQUEST, MAX_ID_CHARS, MAX_LEASES_PER_REQUEST, MAX_RELEASES_PER_REQUEST } from './ids.ts'
import { isSiteKey } from './site-key.ts'
import type { Capabilities, GpuAdapter, WorkRequestV2 } from './pb/messages.ts'

/** Lease replicas with the page's capabilities: one WorkRequestV2 -> one WorkResponse. */
export const WORK_PROTOCOL_V2 = '/sparecycles/work/2.0.0'

/** Backends a page may offer. */
export type Backend = 'wasm' | 'webgpu'
export const BACKENDS: readonly Backend[] = ['wasm', 'webgpu']

/**
 * A device class: `wasm`, `webgpu:<vendor>/<architecture>`, or the bare `webgpu` that
 * result/1.x pages without adapter information report.
 */
export type DeviceClass = 'wasm' | 'webgpu' | `webgpu:${string}/${string}`

/** Why a replica is given back. */
export type ReleaseReason = 'cannot-run' | 'stopped' | 'failed'
export const RELEASE_REASONS: readonly ReleaseReason[] = ['cannot-run', 'stopped', 'failed']

/** Most kernel ids, backends or ABI versions one Capabilities may list. */
export const MAX_CAPABILITY_ENTRIES = 32
/** Longest vendor or architecture part of a device class, in characters. */
export const MAX_DEVICE_PART_CHARS = 32

const DEVICE_PART = /^[a-z0-9._-]{1,32}$/

/** Lower-case, keep `[a-z0-9._-]`, cut to 32 characters; `unknown` when nothing is left. */
export function deviceClassPart (raw: string): string {
  const part = raw.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, MAX_DEVICE_PART_CHARS)
  return part === '' ? 'unknown' : part
}

/** The device class of a backend on this page: `wasm`, or `webgpu:<vendor>/<architecture>` of the adapter. */
export function deviceClassOf (backend: Backend, gpu?: Pick<GpuAdapter, 'vendor' | 'architecture'> | null): DeviceClass {
  if (backend === 'wasm') return 'wasm'
  if (gpu == null) return 'webgpu'
  return `webgpu:${deviceClassPart(gpu.vendor)}/${deviceClassPart(gpu.architecture)}`
}

/** True for `wasm`, `webgpu` and well-formed `webgpu:<vendor>/<architecture>`. */
export function isDeviceClass (value: string): value is DeviceClass {
  if (value === 'wasm' || value === 'webgpu') return true
  if (!value.startsWith('webgpu:')) return false
  const parts = value.slice('webgpu:'.length).split('/')
  return parts.length === 2 && DEVICE_PART.test(parts[0]) && DEVICE_PART.test(parts[1])
}

/** The backend a device class runs on. */
export function backendOfDeviceClass (deviceClass: DeviceClass): Backend {
  return deviceClass === 'wasm' ? 'wasm' : 'webgpu'
}

export function isBackend (value: string): value is Backend {
  return (BACKENDS as readonly string[]).includes(value)
}

export function isReleaseReason (value: string): value is ReleaseReason {
  return (RELEASE_REASONS as readonly string[]).includes(value)
}

function fail (what: string): never {
  throw new MalformedMessageError(what)
}

function checkShortString (value: string, field: string): void {
  if (value.length === 0) fail(`${field} is empty`)
  if (value.length > MAX_ID_CHARS) fail(`${field} is longer than ${MAX_ID_CHARS} characters`)
  if (!/^[\w./:@-]*$/.test(value)) fail(`${field} has characters outside [A-Za-z0-9_./:@-]`)
}

/** @throws MalformedMessageError */
export function checkCapabilities (caps: Capabilities): Capabilities {
  if (caps.backends.length > MAX_CAPABILITY_ENTRIES || caps.kernels.length > MAX_CAPABILITY_ENTRIES || caps.kernelAbis.length > MAX_CAPABILITY_ENTRIES) {
    fail(`capabilities list more than ${MAX_CAPABILITY_ENTRIES} entries`)
  }
  caps.backends.forEach((b, i) => { if (!isBackend(b)) fail(`capabilities.backends[${i}] must be one of ${BACKENDS.join(', ')}`) })
  caps.kernels.forEach((k, i) => { checkShortString(k, `capabilities.kernels[${i}]`) })
  caps.kernelAbis.forEach((v, i) => { if (!(v >= 1 && v <= 1000)) fail(`capabilities.kernelAbis[${i}] out of range`) })
  if (!Number.isSafeInteger(caps.memoryBytes) || caps.memoryBytes < 0) fail('capabilities.memoryBytes out of range')
  const gpu = caps.gpu
  if (gpu != null) {
    if (!caps.backends.includes('webgpu')) fail('capabilities.gpu is set but webgpu is not among the backends')
    if (gpu.vendor.length > 256 || gpu.architecture.length > 256) fail('capabilities.gpu vendor or architecture is too long')
    if (!Number.isSafeInteger(gpu.maxStorageBufferBindingSize) || !Number.isSafeInteger(gpu.maxBufferSize)) fail('capabilities.gpu limits out of range')
  }
  return caps
}

/** @throws MalformedMessageError */
export function checkWorkRequestV2 (msg: WorkRequestV2): WorkRequestV2 {
  if (msg.maxUnits > MAX_LEASES_PER_REQUEST) fail(`maxUnits must be at most ${MAX_LEASES_PER_REQUEST}`)
  if (msg.release.length > MAX_RELEASES_PER_REQUEST) fail(`release lists more than ${MAX_RELEASES_PER_REQUEST} replicas`)
  msg.release.forEach((r, i) => {
    checkShortString(r.replicaId, `release[${i}].replicaId`)
    if (!isReleaseReason(r.reason)) fail(`release[${i}].reason must be one of ${RELEASE_REASONS.join(', ')}`)
  })
  if (msg.capabilities == null) fail('capabilities are missing')
  checkCapabilities(msg.capabilities)
  if (msg.siteKey !== '' && !isSiteKey(msg.siteKey)) fail('siteKey must be empty or site_ followed by 16 to 64 characters of [A-Za-z0-9_-]')
  if (msg.siteOrigin.length > 256) fail('siteOrigin must be at most 256 characters')
  if (msg.paused.length > 4 || msg.paused.some(r => !/^[a-z-]{1,32}$/.test(r))) fail('paused must be at most 4 reasons of [a-z-]{1,32}')
  if (msg.holding.length > MAX_HOLDING_PER_REQUEST) fail(`holding lists more than ${MAX_HOLDING_PER_REQUEST} replicas`)
  msg.holding.forEach((id, i) => { checkShortString(id, `holding[${i}]`) })
  if (!msg.reportsHolding && msg.holding.length > 0) fail('holding is given without reportsHolding')
  return msg
}
