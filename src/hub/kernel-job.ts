/**
 * Jobs of researcher kernels (kernel ABI 1, docs/kernel-abi.md), posted over
 * `/sparecycles/job/1.0.0` (inline) or `/sparecycles/job/2.0.0` (naming uploaded blobs: postFromBlobs).
 *
 * Posting checks everything before writing anything: the manifest's researcher signature, that the
 * signer is the connection's peer and is allowed by the hub, the kernel's bytes against the
 * manifest (hash; for wasm also imports, memory maximum, exports), the inputs and the quorum. Then
 * the kernel and a hub-signed KernelTicket are stored as blobs (content-addressed: harmless if the
 * transaction below never happens); in one transaction the ticket joins the kernel catalogue (the
 * store's `kernels` table) and createWork writes the job and its work units. Work units name the
 * kernel as `k1:<ticket sha-256 hex>`; the job's spec (job_specs) holds the researcher, kernel
 * name and id and that ref; its output only the outputs directory and the count assimilated.
 *
 * Validation: quorum of agreeing outputs (bit for bit; webgpu kernels only within one device
 * class). Assimilation: each canonical output is kept as `<dataDir>/jobs/<jobId>/outputs/<index>`
 * (removed again when a reopened unit's canonical result is proven wrong).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BadJobError, BadOutputError, BlobNotFoundError, JobInfo, MAX_INPUTS_BLOB_BYTES, MAX_KERNEL_BYTES, MalformedMessageError, KERNEL_REF_PREFIX, KernelManifest, KernelTicket, MAX_OUTPUTS_PER_RESPONSE,
  MAX_POSTED_INPUT_BYTES, MAX_POSTED_UNITS, MAX_RINGERS, ResearcherMismatchError, ResearcherNotAllowedError, SignedManifest,
  UnknownJobError, checkKernelHash, checkWasmKernel, checkWgslKernel, cidToHex, signTicket, unpackInputs, verifySignedManifest
} from '../protocol/index.ts'
import { gpuLimit } from './catalogue.ts'
import type { JobQuery, PostJob, PostJobV2 } from '../protocol/index.ts'
import type { BlobStore } from './blob-store.ts'
import type { KernelDef } from './catalogue.ts'
import type { WorkPlan } from './create-work.ts'
import type { JobPolicy, JobRow, KernelRow, WorkUnitRow } from './repository.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { JobStatus } from './job-status.ts'

/** The job spec (job_specs.spec JSON) of a researcher-kernel job. */
export interface KernelJobSpec {
  kind: 'kernel'
  researcherId: string
  kernelName: string
  kernelId: string
  /** `k1:<ticket sha-256 hex>`: the catalogue id of the hub-signed ticket (the authorization). */
  kernelRef: string
  outputFormat: string
  /** Ringers the job was posted with (their answers live on the work units, never in the spec). */
  ringers?: number
}

/** The job output (jobs.output JSON) of a researcher-kernel job. */
export interface KernelJobOutput {
  outputsDir: string
  assimilated: number
}

export const MAX_QUORUM = 8

/** The manifest inside a stored ticket (KernelTicket bytes). */
export function manifestOfTicket (ticket: Uint8Array): KernelManifest {
  return KernelManifest.decode(SignedManifest.decode(KernelTicket.decode(ticket).signedManifest).manifest)
}

/**
 * Catalogue entry of a researcher kernel, from its stored ticket: runs on the manifest's backend
 * for pages implementing its ABI; wasm kernels are exact (integer WebAssembly), webgpu kernels are
 * compared only within a device class. Outputs above the manifest's cap are refused; canonical
 * outputs are kept as `<outputsDir>/<index>`.
 */
export function researcherKernel (row: KernelRow): KernelDef {
  const manifest = manifestOfTicket(row.ticket)
  return {
    id: row.id,
    backends: [manifest.backend === 'webgpu' ? 'webgpu' : 'wasm'],
    abi: manifest.abi,
    exact: manifest.backend === 'wasm',
    gpuFits: gpu => gpuLimit(gpu, 'maxComputeInvocationsPerWorkgroup') >= manifest.workgroupSize &&
      gpuLimit(gpu, 'maxBufferSize') >= manifest.memoryBytes,
    checkOutput (output) {
      if (output.length > manifest.maxOutputBytes) throw new BadOutputError(`output of ${output.length} bytes exceeds the kernel's limit of ${manifest.maxOutputBytes}`)
    },
    assimilator: {
      fold (acc: KernelJobOutput, output: Uint8Array, wu: WorkUnitRow): KernelJobOutput {
        writeFileSync(join(acc.outputsDir, String(wu.idx)), output)
        return { ...acc, assimilated: acc.assimilated + 1 }
      },
      // a canonical output proven wrong (its sender caught later): the file goes until the unit is validated again
      unfold (acc: KernelJobOutput, _output: Uint8Array, wu: WorkUnitRow): KernelJobOutput {
        rmSync(join(acc.outputsDir, String(wu.idx)), { force: true })
        return { ...acc, assimilated: Math.max(0, acc.assimilated - 1) }
      }
    }
  }
}

export interface PostContext {
  hubKey: PrivateKey
  hubPeerId: string
  blobs: BlobStore
  dataDir: string
  /** Peer ids allowed to post. */
  allowed: Set<string>
  /** The noise-authenticated peer of the posting connection. */
  remotePeerId: string
  nowMs: number
}

/** A checked post: the catalogue row to register and the createWork plan. */
export interface PreparedKernelJob {
  kernel: KernelRow
  plan: (jobId: string) => WorkPlan
}

/**
 * Check a researcher-kernel post and store the kernel and its hub-signed ticket as blobs
 * (content-addressed: harmless if the job is never written). Writes no job.
 * @throws ManifestError, ManifestSignatureError, ResearcherMismatchError, ResearcherNotAllowedError,
 *   KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError, KernelWgslError, BadJobError
 */
export async function prepareKernelJob (ctx: PostContext, post: PostJob): Promise<PreparedKernelJob> {
  const { manifest, researcherId } = await verifySignedManifest(SignedManifest.decode(post.signedManifest))
  if (researcherId !== ctx.remotePeerId) throw new ResearcherMismatchError(`manifest signed by ${researcherId}, posted by ${ctx.remotePeerId}`)
  if (!ctx.allowed.has(researcherId)) throw new ResearcherNotAllowedError(`researcher ${researcherId} is not allowed on this hub`)
  if (manifest.backend === 'wasm') await checkWasmKernel(post.kernel, manifest)
  else { checkKernelHash(post.kernel, manifest.kernelId); await checkWgslKernel(new TextDecoder().decode(post.kernel), manifest) }
  if (post.inputs.length === 0) throw new BadJobError('a job needs at least one input')
  if (post.inputs.length > MAX_POSTED_UNITS) throw new BadJobError(`at most ${MAX_POSTED_UNITS} work units per job`)
  post.inputs.forEach((input, i) => {
    if (input.length > MAX_POSTED_INPUT_BYTES) throw new BadJobError(`input ${i} is ${input.length} bytes, more than ${MAX_POSTED_INPUT_BYTES}`)
  })
  const quorum = post.quorum === 0 ? 2 : post.quorum
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > MAX_QUORUM) throw new BadJobError(`quorum must be 1 to ${MAX_QUORUM}, got ${post.quorum}`)
  kernelJobPolicy(post)
  const known = ringerAnswers(post, manifest.backend)
  if (!Number.isFinite(post.creditPerUnit) || post.creditPerUnit < 0 || post.creditPerUnit > 1e6) throw new BadJobError('creditPerUnit must be from 0 to 10^6')

  ctx.blobs.put(post.kernel)
  const ticket = KernelTicket.encode(await signTicket(post.signedManifest, ctx.hubKey, ctx.hubPeerId))
  const kernelRef = KERNEL_REF_PREFIX + cidToHex(ctx.blobs.put(ticket))
  const kernel: KernelRow = { id: kernelRef, ticket, registered_at_ms: ctx.nowMs }
  return {
    kernel,
    plan: (jobId) => {
      const outputsDir = join(ctx.dataDir, 'jobs', jobId, 'outputs')
      mkdirSync(outputsDir, { recursive: true })
      const spec: KernelJobSpec = { kind: 'kernel', researcherId, kernelName: manifest.name, kernelId: manifest.kernelId, kernelRef, outputFormat: manifest.output, ringers: known.size }
      const output: KernelJobOutput = { outputsDir, assimilated: 0 }
      const units = post.inputs.map((input, i) => ({ input, estOps: 1, credit: post.creditPerUnit, memoryBytes: manifest.memoryBytes, deadlineMs: manifest.deadlineMs, knownOutputSha256: known.get(i) }))
      return { kernel: kernelRef, quorum, creditPerOps: post.creditPerUnit, spec, output, units }
    }
  }
}

/**
 * The job/1.0.0 post that a job/2.0.0 post names: its kernel and inputs read from the blob store,
 * where blob-put put them hash-checked. The inputs blob's size is checked before it is read.
 * @throws BlobNotFoundError when either blob was not uploaded, BadJobError for a kernel above
 *   MAX_KERNEL_BYTES or an inputs blob above MAX_INPUTS_BLOB_BYTES or not in the layout (upload.ts)
 */
export function postFromBlobs (blobs: BlobStore, post: PostJobV2): PostJob {
  const sizes = { kernel: blobs.size(post.kernelCid), inputs: blobs.size(post.inputsCid) }
  for (const [what, size] of Object.entries(sizes)) {
    if (size == null) throw new BlobNotFoundError(`no ${what} blob ${cidToHex(what === 'kernel' ? post.kernelCid : post.inputsCid)} on this hub: upload it over blob-put first`)
  }
  if (sizes.kernel! > MAX_KERNEL_BYTES) throw new BadJobError(`kernel of ${sizes.kernel} bytes is more than ${MAX_KERNEL_BYTES}`)
  if (sizes.inputs! > MAX_INPUTS_BLOB_BYTES) throw new BadJobError(`inputs blob of ${sizes.inputs} bytes is more than ${MAX_INPUTS_BLOB_BYTES}`)
  let inputs: Uint8Array[]
  try {
    inputs = unpackInputs(blobs.get(post.inputsCid)!)
  } catch (err) {
    if (err instanceof MalformedMessageError) throw new BadJobError(`inputs blob: ${err.message}`)
    throw err
  }
  return { signedManifest: post.signedManifest, kernel: blobs.get(post.kernelCid) as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: post.quorum, creditPerUnit: post.creditPerUnit, policy: post.policy, ringers: post.ringers }
}

/**
 * The known answers of a post's ringers (Golle & Mironov, "Uncheatable distributed computations",
 * CT-RSA 2001): work units whose output the researcher computed and gives the hub, so that a
 * result for one is checked exactly, at no cost, by the validator; volunteers cannot tell them
 * from the job's other units (same kernel, limits and credit; the answer never leaves the hub).
 * Only for wasm kernels, whose outputs are the same bits on every device.
 * @returns input index -> expected output SHA-256 (32 bytes)
 * @throws BadJobError for more than MAX_RINGERS or than the job has units, an index outside the
 *   inputs or given twice, a digest that is not 32 bytes, or ringers for a webgpu kernel
 */
export function ringerAnswers (post: Pick<PostJob, 'ringers' | 'inputs'>, backend: string): Map<number, Uint8Array> {
  const known = new Map<number, Uint8Array>()
  if (post.ringers.length === 0) return known
  if (backend !== 'wasm') throw new BadJobError('ringers need a wasm kernel: webgpu outputs differ between devices, so a known answer would fail honest volunteers')
  if (post.ringers.length > Math.min(MAX_RINGERS, post.inputs.length)) throw new BadJobError(`at most ${Math.min(MAX_RINGERS, post.inputs.length)} ringers for ${post.inputs.length} inputs, got ${post.ringers.length}`)
  for (const r of post.ringers) {
    if (!Number.isSafeInteger(r.index) || r.index >= post.inputs.length) throw new BadJobError(`ringer index ${r.index} is outside the ${post.inputs.length} inputs`)
    if (known.has(r.index)) throw new BadJobError(`ringer index ${r.index} is given twice`)
    if (r.outputSha256.length !== 32) throw new BadJobError(`ringer ${r.index}: outputSha256 must be 32 bytes, got ${r.outputSha256.length}`)
    known.set(r.index, r.outputSha256)
  }
  return known
}

/** What a researcher's job info is made from: the job's status (job-status.ts). */
export type JobCounts = Omit<JobStatus, 'state'> & { state: string }

/**
 * The validation policy a post asks for: `policy` when given (`replicate` or `adaptive`), else
 * `replicate` when it names a quorum, else undefined (the hub's default).
 * @throws BadJobError for another policy (`certify` needs a verifier kernel, which researcher kernels do not have)
 */
export function kernelJobPolicy (post: Pick<PostJob, 'policy' | 'quorum'>): JobPolicy | undefined {
  if (post.policy === '') return post.quorum === 0 ? undefined : 'replicate'
  if (post.policy === 'replicate' || post.policy === 'adaptive') return post.policy
  if (post.policy === 'certify') throw new BadJobError('policy certify needs a verifier kernel; researcher kernels can use replicate or adaptive')
  throw new BadJobError(`policy must be replicate or adaptive, got ${JSON.stringify(post.policy.slice(0, 40))}`)
}

/**
 * Status (and a page of canonical outputs) of a researcher's own job.
 * @throws UnknownJobError for an unknown job or one posted by someone else
 */
export function kernelJobInfo (job: JobRow | undefined, remotePeerId: string, query: JobQuery, counts: JobCounts | undefined): JobInfo {
  const spec = job == null ? undefined : JSON.parse(job.spec) as Partial<KernelJobSpec>
  if (job == null || counts == null || spec?.kind !== 'kernel' || spec.researcherId !== remotePeerId) throw new UnknownJobError(`no job ${query.jobId} of yours on this hub`)
  const out = JSON.parse(job.output) as KernelJobOutput
  const outputs: JobInfo['outputs'] = []
  const max = Math.min(query.outputsMax, MAX_OUTPUTS_PER_RESPONSE)
  for (let index = query.outputsFrom; index < Math.min(counts.workUnits, query.outputsFrom + max); index++) {
    const path = join(out.outputsDir, String(index))
    if (existsSync(path)) outputs.push({ index, output: new Uint8Array(readFileSync(path)) })
  }
  return {
    jobId: job.id,
    kernelName: spec.kernelName ?? '',
    kernelId: spec.kernelId ?? '',
    state: counts.state,
    workUnits: counts.workUnits,
    validated: counts.validated,
    inProgress: counts.inProgress,
    unsent: counts.unsent,
    failed: counts.failed,
    volunteers: counts.volunteers,
    createdAtMs: job.created_at_ms,
    etaMs: counts.etaMs,
    output: spec.outputFormat ?? 'bytes',
    outputs,
    policy: job.policy,
    invalidResults: counts.invalidResults,
    replicasIssued: counts.replicasIssued,
    ringers: spec.ringers ?? 0,
    ringerChecks: counts.spotChecks,
    ringerFailures: counts.spotCheckFailures,
    hold: counts.hold ?? '',
    holdReason: counts.holdReason,
    clientErrorResults: counts.clientErrorResults,
    clientErrors: counts.clientErrors,
    probes: counts.probes,
    probeFailures: counts.probeFailures,
    workers: counts.workers,
    pausedWorkers: counts.pausedWorkers,
    pauseReasons: Object.entries(counts.pauseReasons).map(([reason, volunteers]) => ({ reason, volunteers })),
    validatedRecently: counts.validatedRecently
  }
}

