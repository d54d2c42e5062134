/**
 * `/sparecycles/job/1.0.0`: a researcher posts a small kernel job (signed manifest + kernel + inputs
 * inline, at most JOB_LIMITS.maxRequestBytes; bigger ones: upload.ts, job/2.0.0) and follows it
 * (status, canonical outputs). One JobRequest -> one JobResponse per stream. The hub
 * accepts posts only from researcher keys it allows, and only from the researcher who signed the
 * manifest (the noise-authenticated peer of the connection).
 *
 * Kernel tickets: the hub endorses an accepted manifest by signing its hash; volunteers verify
 * hub -> researcher -> kernel before instantiating anything.
 */
import { MalformedMessageError, ProtocolError } from './errors.ts'
import { MAX_KERNEL_BYTES } from './kernel-manifest.ts'
import { KernelTicket } from './pb/jobs.ts'
import { sha256Bytes, signingBytes } from './signing.ts'
import type { ProtocolLimits } from './ids.ts'
import type { JobRequest, JobResponse } from './pb/jobs.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import type { ErrorName } from './errors.ts'

export const JOB_PROTOCOL = '/sparecycles/job/1.0.0'
export const TICKET_SIGNING_DOMAIN = 'sparecycles-ticket-v1'
/** Lease kernel ids of researcher kernels: `k1:<sha-256 hex of the KernelTicket blob>`. */
export const KERNEL_REF_PREFIX = 'k1:'
/** Largest input of one work unit of a posted job, in bytes (it rides inside a Lease). */
export const MAX_POSTED_INPUT_BYTES = 16 * 1024
/** Most work units one post may create. */
export const MAX_POSTED_UNITS = 100_000
/** Most ringers (units with a known answer, PostJob.ringers) one post may name. */
export const MAX_RINGERS = 1024
/** Most outputs one JobResponse carries. */
export const MAX_OUTPUTS_PER_RESPONSE = 1000

/**
 * Requests are capped at 1 MiB: enough for a query and a small inline post (old CLIs); big kernels
 * and inputs go over blob-put + job/2.0.0 (upload.ts). Responses carry up to 1000 outputs.
 */
export const JOB_LIMITS: ProtocolLimits = {
  maxRequestBytes: 1024 * 1024,
  maxResponseBytes: 40 * 1024 * 1024,
  maxInboundStreams: 4,
  timeoutMs: 60_000
}

/** The connection's peer is not in the hub's allowed researchers. */
export class ResearcherNotAllowedError extends ProtocolError {
  static override readonly name: ErrorName = 'ResearcherNotAllowedError'
  override readonly name: ErrorName = 'ResearcherNotAllowedError'
}
/** The manifest is signed by a key other than the connection's peer. */
export class ResearcherMismatchError extends ProtocolError {
  static override readonly name: ErrorName = 'ResearcherMismatchError'
  override readonly name: ErrorName = 'ResearcherMismatchError'
}
/** The job id is unknown (or belongs to another researcher). */
export class UnknownJobError extends ProtocolError {
  static override readonly name: ErrorName = 'UnknownJobError'
  override readonly name: ErrorName = 'UnknownJobError'
}
/** The post is malformed: no inputs, an input too large, a bad quorum or credit. */
export class BadJobError extends ProtocolError {
  static override readonly name: ErrorName = 'BadJobError'
  override readonly name: ErrorName = 'BadJobError'
}
/** A kernel ticket whose hub signature does not verify. */
export class BadTicketError extends ProtocolError {
  static override readonly name: ErrorName = 'BadTicketError'
  override readonly name: ErrorName = 'BadTicketError'
}

/** @throws MalformedMessageError */
export function checkJobRequest (msg: JobRequest): JobRequest {
  if ([msg.post, msg.query, msg.revive, msg.control].filter(x => x != null).length !== 1) throw new MalformedMessageError('a job request carries exactly one of post, query, revive, control')
  if (msg.control != null && msg.control.action.length > 16) throw new MalformedMessageError('action must be at most 16 characters')
  if (msg.post != null) {
    if (msg.post.policy.length > 32) throw new MalformedMessageError('policy must be at most 32 characters')
    if (msg.post.kernel.length === 0 || msg.post.kernel.length > MAX_KERNEL_BYTES) throw new MalformedMessageError(`kernel must be 1 to ${MAX_KERNEL_BYTES} bytes`)
    if (msg.post.inputs.length > MAX_POSTED_UNITS) throw new MalformedMessageError(`more than ${MAX_POSTED_UNITS} inputs`)
  }
  const jobId = msg.query?.jobId ?? msg.revive?.jobId ?? msg.control?.jobId
  if (jobId != null && !/^[\w-]{1,64}$/.test(jobId)) throw new MalformedMessageError('bad jobId')
  return msg
}

/** @throws MalformedMessageError */
export function checkJobResponse (msg: JobResponse): JobResponse {
  if (msg.job != null && msg.job.outputs.length > MAX_OUTPUTS_PER_RESPONSE) throw new MalformedMessageError('too many outputs')
  return msg
}

export async function signTicket (signedManifest: Uint8Array, hubKey: PrivateKey, hubPeerId: string): Promise<KernelTicket> {
  const signature = await hubKey.sign(signingBytes(TICKET_SIGNING_DOMAIN, sha256Bytes(signedManifest)))
  return { signedManifest: signedManifest as Uint8Array<ArrayBuffer>, hubPeerId, hubSignature: signature as Uint8Array<ArrayBuffer> }
}

/**
 * Check a ticket's hub signature.
 * @throws BadTicketError when the ticket names another hub or its signature does not verify
 */
export async function verifyTicket (ticket: KernelTicket, hubPeerId: string, hubKey: PublicKey): Promise<void> {
  if (ticket.hubPeerId !== hubPeerId) throw new BadTicketError(`ticket endorsed by ${ticket.hubPeerId}, not by the hub ${hubPeerId}`)
  const ok = await hubKey.verify(signingBytes(TICKET_SIGNING_DOMAIN, sha256Bytes(ticket.signedManifest)), ticket.hubSignature)
  if (!ok) throw new BadTicketError('ticket signature does not verify against the hub key')
}
