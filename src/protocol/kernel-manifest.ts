/**
 * Researcher kernel manifests (kernel ABI 1 and 2, docs/kernel-abi.md): the `kernel.json` a researcher
 * writes, the protobuf `KernelManifest` that is posted, and its signature by the researcher's key.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { z } from 'zod'
import { MAX_OUTPUT_BYTES } from './ids.ts'
import { didYouMean } from './suggest.ts'
import { KernelManifest, SignedManifest } from './pb/manifest.ts'
import { sha256Bytes, signingBytes, toHex } from './signing.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { ErrorName } from './errors.ts'

/** The ABI `initKernel` writes when given none (1: one `sc_run` call per unit; the CLI's `kernel init` asks for 2). */
export const KERNEL_ABI_VERSION = 1
/** Every ABI version a loader accepts: 1 (one call per unit) and 2 (sliced, obeys the governor inside a unit). */
export const KERNEL_ABI_VERSIONS: readonly number[] = [1, 2]
export const MANIFEST_SIGNING_DOMAIN = 'sparecycles-manifest-v1'
/** Largest kernel accepted, in bytes. */
export const MAX_KERNEL_BYTES = 8 * 1024 * 1024
/** Largest memory a kernel may declare: 256 MiB. */
export const MAX_KERNEL_MEMORY_BYTES = 256 * 1024 * 1024
/** Longest deadline a kernel may declare: 10 minutes. */
export const MAX_KERNEL_DEADLINE_MS = 600_000

export type KernelBackend = 'wasm' | 'webgpu'
export type KernelOutputFormat = 'bytes' | 'u64le'

/** The manifest file a researcher keeps beside the kernel source (`kernel.json`). */
export interface KernelDirManifest {
  abi: number
  name: string
  version: string
  backend: KernelBackend
  source: string
  entry: string
  limits: { memoryBytes: number, maxOutputBytes: number, deadlineMs: number }
  output: KernelOutputFormat
  webgpu?: { workgroupSize: number, outputBytes: number }
}

/** A manifest that breaks a rule of the ABI. */
export class ManifestError extends Error {
  static override readonly name: ErrorName = 'ManifestError'
  override readonly name: ErrorName = 'ManifestError'
  constructor (message: string) {
    super(message)
  }
}

/** A signed manifest whose signature does not verify, or whose signer is not allowed. */
export class ManifestSignatureError extends Error {
  static override readonly name: ErrorName = 'ManifestSignatureError'
  override readonly name: ErrorName = 'ManifestSignatureError'
  constructor (message: string) {
    super(message)
  }
}

function need (ok: boolean, message: string): void {
  if (!ok) throw new ManifestError(message)
}

function checkLimits (m: { abi: number, name: string, version: string, backend: string, memoryBytes: number, maxOutputBytes: number, deadlineMs: number, output: string, workgroupSize?: number, outputBytes?: number }): void {
  need(KERNEL_ABI_VERSIONS.includes(m.abi), `abi must be one of ${KERNEL_ABI_VERSIONS.join(', ')}, got ${m.abi}`)
  need(/^[a-z0-9][a-z0-9-]{0,63}$/.test(m.name), `name must be 1-64 of [a-z0-9-], got '${m.name}'`)
  need(/^\d+\.\d+\.\d+$/.test(m.version), `version must be semver x.y.z, got '${m.version}'`)
  need(m.backend === 'wasm' || m.backend === 'webgpu', `backend must be wasm or webgpu, got '${m.backend}'`)
  need(Number.isInteger(m.memoryBytes) && m.memoryBytes >= 65536 && m.memoryBytes <= MAX_KERNEL_MEMORY_BYTES, `limits.memoryBytes must be from 65536 to ${MAX_KERNEL_MEMORY_BYTES}`)
  need(Number.isInteger(m.maxOutputBytes) && m.maxOutputBytes >= 1 && m.maxOutputBytes <= MAX_OUTPUT_BYTES, `limits.maxOutputBytes must be from 1 to ${MAX_OUTPUT_BYTES}`)
  need(Number.isInteger(m.deadlineMs) && m.deadlineMs >= 1 && m.deadlineMs <= MAX_KERNEL_DEADLINE_MS, `limits.deadlineMs must be from 1 to ${MAX_KERNEL_DEADLINE_MS}`)
  need(m.output === 'bytes' || m.output === 'u64le', `output must be bytes or u64le, got '${m.output}'`)
  if (m.backend === 'webgpu') {
    need(Number.isInteger(m.workgroupSize) && m.workgroupSize! >= 1 && m.workgroupSize! <= 256, 'webgpu.workgroupSize must be from 1 to 256')
    need(Number.isInteger(m.outputBytes) && m.outputBytes! >= 4 && m.outputBytes! <= m.maxOutputBytes && m.outputBytes! % 4 === 0, 'webgpu.outputBytes must be a multiple of 4 up to limits.maxOutputBytes')
  }
}

const typeOf = (v: unknown): string => v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
/** The message of a field of the wrong JSON type, or missing; `what` is the type it must be. */
const typeError = (what: string) => (issue: { input: unknown, path?: PropertyKey[] }): string => {
  const path = (issue.path ?? []).join('.')
  if (path === '') return `kernel.json must hold ${what}, got ${typeOf(issue.input)}`
  return issue.input === undefined ? `${path} is missing` : `${path} must be ${what}, got ${typeOf(issue.input)}`
}
// the values' ranges are checkLimits' (their messages stay in one place)
const num = (): z.ZodNumber => z.number({ error: typeError('a number') })
const str = (): z.ZodString => z.string({ error: typeError('a string') })
const LIMITS_SCHEMA = z.strictObject({ memoryBytes: num(), maxOutputBytes: num(), deadlineMs: num() }, { error: typeError('an object') })
const WEBGPU_SCHEMA = z.strictObject({ workgroupSize: num(), outputBytes: num() }, { error: typeError('an object') })
/**
 * The shape of `kernel.json` (docs/kernel-abi.md): every field and its JSON type, and no others;
 * `checkLimits` then checks the values.
 */
export const KERNEL_DIR_MANIFEST_SCHEMA = z.strictObject({
  abi: num(),
  name: str(),
  version: str(),
  backend: str(),
  source: str().min(1, 'source must name the kernel source file'),
  entry: str().min(1, 'entry must name the built kernel file'),
  limits: LIMITS_SCHEMA,
  output: str(),
  webgpu: WEBGPU_SCHEMA.optional()
}, { error: typeError('an object') })
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': Object.keys(KERNEL_DIR_MANIFEST_SCHEMA.shape),
  limits: Object.keys(LIMITS_SCHEMA.shape),
  webgpu: Object.keys(WEBGPU_SCHEMA.shape)
}

/** One sentence for the schema's first issue, unknown fields first (a misspelt field also leaves its right name missing). */
function schemaMessage (issues: readonly z.core.$ZodIssue[]): string {
  const unknown = issues.find(i => i.code === 'unrecognized_keys')
  if (unknown != null && unknown.code === 'unrecognized_keys') {
    const parent = unknown.path.join('.')
    const key = unknown.keys[0]
    return `unknown field ${parent === '' ? '' : `${parent}.`}${key}${didYouMean(key, KNOWN_FIELDS[parent] ?? [])}`
  }
  return issues[0].message
}

/**
 * Check a parsed `kernel.json` against its schema (KERNEL_DIR_MANIFEST_SCHEMA: an unknown or
 * misspelt field is named, with the closest known one) and the ABI's ranges.
 * @throws ManifestError naming the first bad field, e.g. `unknown field limits.maxOutputByte — did you mean maxOutputBytes?`
 */
export function checkDirManifest (value: unknown): KernelDirManifest {
  const parsed = KERNEL_DIR_MANIFEST_SCHEMA.safeParse(value)
  if (!parsed.success) throw new ManifestError(schemaMessage(parsed.error.issues))
  const m = parsed.data as KernelDirManifest
  checkLimits({ ...m, ...m.limits, workgroupSize: m.webgpu?.workgroupSize, outputBytes: m.webgpu?.outputBytes })
  return m
}

/** The posted manifest for `kernelBytes` built from a directory manifest. */
export function buildManifest (dir: KernelDirManifest, kernelBytes: Uint8Array, researcher: PrivateKey, nowMs = Date.now()): KernelManifest {
  return {
    abi: dir.abi,
    name: dir.name,
    version: dir.version,
    backend: dir.backend,
    kernelId: toHex(sha256Bytes(kernelBytes)),
    memoryBytes: dir.limits.memoryBytes,
    maxOutputBytes: dir.limits.maxOutputBytes,
    deadlineMs: dir.limits.deadlineMs,
    researcherKey: publicKeyToProtobuf(researcher.publicKey) as Uint8Array<ArrayBuffer>,
    createdAtMs: nowMs,
    output: dir.output,
    workgroupSize: dir.webgpu?.workgroupSize ?? 0,
    outputBytes: dir.webgpu?.outputBytes ?? 0
  }
}

export async function signManifest (manifest: KernelManifest, researcher: PrivateKey): Promise<SignedManifest> {
  const body = KernelManifest.encode(manifest)
  const signature = await researcher.sign(signingBytes(MANIFEST_SIGNING_DOMAIN, body))
  return { manifest: body, signature: signature as Uint8Array<ArrayBuffer> }
}

export interface VerifiedManifest {
  manifest: KernelManifest
  /** Peer id of the researcher key that signed it. */
  researcherId: string
}

/**
 * Decode, check and verify a signed manifest.
 * @throws ManifestError for a malformed manifest, ManifestSignatureError for a bad signature
 */
export async function verifySignedManifest (signed: SignedManifest): Promise<VerifiedManifest> {
  let manifest: KernelManifest
  try {
    manifest = KernelManifest.decode(signed.manifest)
  } catch (err) {
    throw new ManifestError(`undecodable manifest: ${(err as Error).message}`)
  }
  checkLimits(manifest)
  need(/^[0-9a-f]{64}$/.test(manifest.kernelId), 'kernelId must be 64 lowercase hex digits')
  let key
  try {
    key = publicKeyFromProtobuf(manifest.researcherKey)
  } catch {
    throw new ManifestError('researcherKey is not a libp2p public key')
  }
  if (key.type !== 'Ed25519') throw new ManifestError('researcherKey must be Ed25519')
  const ok = await key.verify(signingBytes(MANIFEST_SIGNING_DOMAIN, signed.manifest), signed.signature)
  if (!ok) throw new ManifestSignatureError(`manifest of ${manifest.name} is not signed by its researcher key`)
  return { manifest, researcherId: peerIdFromPublicKey(key).toString() }
}
