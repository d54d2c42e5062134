/**
 * Jobs of researcher kernels (kernel ABI 1, docs/kernel-abi.md), posted over
 * `/sparecycles/job/1.0.0`.
 *
 * Posting checks everything before writing anything: the manifest's researcher signature, that the
 * signer is the connection's peer and is allowed by the hub, the kernel's bytes against the
 * manifest (hash; for wasm also imports, memory maximum, exports), the inputs and the quorum. Then
 * the kernel and a hub-signed KernelTicket are stored as blobs (content-addressed: harmless if the
 * transaction below never happens) and the job and its work units are written in one transaction.
 * Work units name the kernel as `k1:<ticket sha-256 hex>`.
 *
 * Validation: quorum of agreeing outputs (bit for bit; webgpu kernels only within one device
 * class). Assimilation: each canonical output is kept as `<dataDir>/jobs/<jobId>/outputs/<index>`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import {
  BadJobError, BadOutputError, JobInfo, KERNEL_REF_PREFIX, KernelManifest, KernelTicket, MAX_OUTPUTS_PER_RESPONSE,
  MAX_POSTED_INPUT_BYTES, MAX_POSTED_UNITS, ResearcherMismatchError, ResearcherNotAllowedError, SignedManifest,
  UnknownJobError, checkKernelHash, checkWasmKernel, cidFromHex, cidToHex, signTicket, verifySignedManifest
} from '../protocol/index.ts'
import { registerAssimilator } from './assimilator.ts'
import { blobStoreFor } from './blob-store.ts'
import { registerValidationPolicy } from './validator.ts'
import { workUnitId } from './work-generator.ts'
import type { JobQuery, PostJob } from '../protocol/index.ts'
import type { HubStore } from './store.ts'
import type { PrivateKey } from '@libp2p/interface'

/** The job output (jobs.output JSON) of a researcher-kernel job. */
export interface KernelJobOutput {
  kind: 'kernel'
  researcherId: string
  kernelName: string
  kernelId: string
  kernelRef: string
  outputFormat: string
  outputsDir: string
  assimilated: number
}

export const MAX_QUORUM = 8

/** The manifest behind a `k1:` kernel ref, from the hub's blob store. @throws Error when missing */
export function manifestOfKernelRef (store: HubStore, kernelRef: string): KernelManifest {
  const bytes = blobStoreFor(store).get(cidFromHex(kernelRef.slice(KERNEL_REF_PREFIX.length)))
  if (bytes == null) throw new Error(`ticket ${kernelRef} is missing from the blob store`)
  const ticket = KernelTicket.decode(bytes)
  return KernelManifest.decode(SignedManifest.decode(ticket.signedManifest).manifest)
}

/** Register the validation policy and assimilator of one researcher kernel. */
export function registerKernelRef (store: HubStore, kernelRef: string): void {
  const manifest = manifestOfKernelRef(store, kernelRef)
  registerValidationPolicy(kernelRef, {
    exact: manifest.backend === 'wasm',
    checkOutput (output) {
      if (output.length > manifest.maxOutputBytes) throw new BadOutputError(`output of ${output.length} bytes exceeds the kernel's limit of ${manifest.maxOutputBytes}`)
    }
  })
  registerAssimilator<KernelJobOutput>(kernelRef, {
    initial: () => { throw new Error('kernel jobs are created by postKernelJob') },
    fold (acc, output, wu) {
      writeFileSync(join(acc.outputsDir, String(wu.idx)), output)
      return { ...acc, assimilated: acc.assimilated + 1 }
    }
  })
}

/** Register every researcher kernel of the store's jobs (at hub start). */
export function restoreKernelJobs (store: HubStore): void {
  const refs = store.all<{ kernel: string }>('SELECT DISTINCT kernel FROM jobs WHERE kernel LIKE ?', `${KERNEL_REF_PREFIX}%`)
  for (const { kernel } of refs) registerKernelRef(store, kernel)
}

export interface PostContext {
  store: HubStore
  hubKey: PrivateKey
  hubPeerId: string
  /** Peer ids allowed to post. */
  allowed: Set<string>
  /** The noise-authenticated peer of the posting connection. */
  remotePeerId: string
  nowMs: number
}

/**
 * Check and create a researcher-kernel job.
 * @throws ManifestError, ManifestSignatureError, ResearcherMismatchError, ResearcherNotAllowedError,
 *   KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError, BadJobError —
 *   all before anything is written
 */
export async function postKernelJob (ctx: PostContext, post: PostJob): Promise<{ jobId: string, workUnits: number, kernelRef: string }> {
  const { manifest, researcherId } = await verifySignedManifest(SignedManifest.decode(post.signedManifest))
  if (researcherId !== ctx.remotePeerId) throw new ResearcherMismatchError(`manifest signed by ${researcherId}, posted by ${ctx.remotePeerId}`)
  if (!ctx.allowed.has(researcherId)) throw new ResearcherNotAllowedError(`researcher ${researcherId} is not allowed on this hub`)
  if (manifest.backend === 'wasm') await checkWasmKernel(post.kernel, manifest)
  else checkKernelHash(post.kernel, manifest.kernelId)
  if (post.inputs.length === 0) throw new BadJobError('a job needs at least one input')
  if (post.inputs.length > MAX_POSTED_UNITS) throw new BadJobError(`at most ${MAX_POSTED_UNITS} work units per job`)
  post.inputs.forEach((input, i) => {
    if (input.length > MAX_POSTED_INPUT_BYTES) throw new BadJobError(`input ${i} is ${input.length} bytes, more than ${MAX_POSTED_INPUT_BYTES}`)
  })
  const quorum = post.quorum === 0 ? 2 : post.quorum
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > MAX_QUORUM) throw new BadJobError(`quorum must be 1 to ${MAX_QUORUM}, got ${post.quorum}`)
  if (!Number.isFinite(post.creditPerUnit) || post.creditPerUnit < 0 || post.creditPerUnit > 1e6) throw new BadJobError('creditPerUnit must be from 0 to 10^6')

  const blobs = blobStoreFor(ctx.store)
  blobs.put(post.kernel)
  const ticket = await signTicket(post.signedManifest, ctx.hubKey, ctx.hubPeerId)
  const kernelRef = KERNEL_REF_PREFIX + cidToHex(blobs.put(KernelTicket.encode(ticket)))
  registerKernelRef(ctx.store, kernelRef)

  return ctx.store.transaction(() => {
    const seq = (ctx.store.get<{ n: number | null }>('SELECT max(seq) AS n FROM jobs')?.n ?? 0) + 1
    const jobId = `job-${seq}`
    const outputsDir = join(dirname(ctx.store.path), 'jobs', jobId, 'outputs')
    mkdirSync(outputsDir, { recursive: true })
    const output: KernelJobOutput = {
      kind: 'kernel', researcherId, kernelName: manifest.name, kernelId: manifest.kernelId, kernelRef,
      outputFormat: manifest.output, outputsDir, assimilated: 0
    }
    const n = post.inputs.length
    ctx.store.run(`INSERT INTO jobs (id, seq, kernel, range_from, range_to, unit, quorum, credit_per_ops, state,
        created_at_ms, wu_count, output) VALUES (?, ?, ?, 0, ?, 1, ?, ?, 'running', ?, ?, ?)`,
    jobId, seq, kernelRef, n, quorum, post.creditPerUnit, ctx.nowMs, n, JSON.stringify(output))
    const insert = ctx.store.stmt(`INSERT INTO work_units (id, job_id, job_seq, idx, kernel, input, est_ops, credit,
        memory_bytes, deadline_ms, quorum, wanted) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`)
    post.inputs.forEach((input, index) => {
      insert.run(workUnitId(jobId, index), jobId, seq, index, kernelRef, input, post.creditPerUnit,
        manifest.memoryBytes, manifest.deadlineMs, quorum, quorum)
    })
    return { jobId, workUnits: n, kernelRef }
  })
}

export interface JobCounts {
  state: string
  workUnits: number
  validated: number
  inProgress: number
  unsent: number
  failed: number
  volunteers: number
}

/**
 * Status (and a page of canonical outputs) of a researcher's own job.
 * @throws UnknownJobError for an unknown job or one posted by someone else
 */
export function queryKernelJob (store: HubStore, remotePeerId: string, query: JobQuery, counts: JobCounts, nowMs: number): JobInfo {
  const job = store.getJob(query.jobId)
  const out = job == null ? undefined : JSON.parse(job.output) as Partial<KernelJobOutput>
  if (job == null || out?.kind !== 'kernel' || out.researcherId !== remotePeerId) throw new UnknownJobError(`no job ${query.jobId} of yours on this hub`)
  const elapsed = nowMs - job.created_at_ms
  const etaMs = counts.validated > 0 && counts.state === 'running' ? Math.round(elapsed / counts.validated * (counts.workUnits - counts.validated)) : 0
  const outputs: JobInfo['outputs'] = []
  const max = Math.min(query.outputsMax, MAX_OUTPUTS_PER_RESPONSE)
  for (let index = query.outputsFrom; index < Math.min(counts.workUnits, query.outputsFrom + max); index++) {
    const path = join(out.outputsDir!, String(index))
    if (existsSync(path)) outputs.push({ index, output: new Uint8Array(readFileSync(path)) })
  }
  return {
    jobId: job.id,
    kernelName: out.kernelName!,
    kernelId: out.kernelId!,
    state: counts.state,
    workUnits: counts.workUnits,
    validated: counts.validated,
    inProgress: counts.inProgress,
    unsent: counts.unsent,
    failed: counts.failed,
    volunteers: counts.volunteers,
    createdAtMs: job.created_at_ms,
    etaMs,
    output: out.outputFormat ?? 'bytes',
    outputs
  }
}

