/**
 * Posting big jobs in small pieces (issue 11: each protocol's declared cap is what can be read).
 *
 * `/sparecycles/blob-put/1.0.0`: an allowed researcher uploads a blob (a kernel, a job's packed
 * inputs) as chunks. One BlobPutRequest {cid, totalBytes, offset, data} -> one BlobPutResponse
 * {received, complete} per stream; `offset` is the number of bytes the hub already holds (chunks in
 * order, each at most BLOB_PUT_CHUNK_BYTES), `cid` the sha-256 of the whole blob. After the last
 * chunk the hub checks the hash and moves the blob into its content-addressed store
 * (BlobHashMismatchError otherwise, and nothing is kept). A blob the hub already has is answered
 * `complete` at its first chunk.
 *
 * `/sparecycles/job/2.0.0`: one PostJobV2 {signedManifest, kernelCid, inputsCid, quorum,
 * creditPerUnit} -> one JobResponse; the kernel and the inputs must have been uploaded first
 * (BlobNotFoundError). Queries stay on `/sparecycles/job/1.0.0`.
 *
 * Inputs blob layout (little-endian): u32 count, then `count` times { u32 length, `length` bytes };
 * at most MAX_POSTED_UNITS units of at most MAX_POSTED_INPUT_BYTES each, MAX_INPUTS_BLOB_BYTES in all.
 */
import { MalformedMessageError } from './errors.ts'
import { MAX_POSTED_INPUT_BYTES, MAX_POSTED_UNITS } from './job-protocol.ts'
import type { ProtocolLimits } from './ids.ts'
import type { BlobPutRequest, BlobPutResponse, PostJobV2 } from './pb/upload.ts'

export const BLOB_PUT_PROTOCOL = '/sparecycles/blob-put/1.0.0'
export const JOB_PROTOCOL_V2 = '/sparecycles/job/2.0.0'
/** Most data bytes in one BlobPutRequest. */
export const BLOB_PUT_CHUNK_BYTES = 1024 * 1024
/** Largest blob one upload may declare, in bytes (a kernel or a job's packed inputs). */
export const MAX_UPLOAD_BLOB_BYTES = 64 * 1024 * 1024
/** Largest packed inputs blob a post may name, in bytes. */
export const MAX_INPUTS_BLOB_BYTES = 32 * 1024 * 1024

export const BLOB_PUT_LIMITS: ProtocolLimits = {
  maxRequestBytes: BLOB_PUT_CHUNK_BYTES + 1024,
  maxResponseBytes: 4096,
  maxInboundStreams: 4,
  timeoutMs: 30_000
}

/** job/2.0.0: a signed manifest and two CIDs. */
export const JOB_V2_LIMITS: ProtocolLimits = {
  maxRequestBytes: 64 * 1024,
  maxResponseBytes: 64 * 1024,
  maxInboundStreams: 4,
  timeoutMs: 60_000
}

/** @throws MalformedMessageError */
export function checkBlobPutRequest (msg: BlobPutRequest): BlobPutRequest {
  if (msg.cid.length !== 32) throw new MalformedMessageError('cid must be a 32-byte sha-256 digest')
  if (!Number.isSafeInteger(msg.totalBytes) || msg.totalBytes < 1 || msg.totalBytes > MAX_UPLOAD_BLOB_BYTES) throw new MalformedMessageError(`totalBytes must be 1 to ${MAX_UPLOAD_BLOB_BYTES}`)
  if (msg.data.length > BLOB_PUT_CHUNK_BYTES) throw new MalformedMessageError(`a chunk carries at most ${BLOB_PUT_CHUNK_BYTES} bytes`)
  if (!Number.isSafeInteger(msg.offset) || msg.offset < 0 || msg.offset + msg.data.length > msg.totalBytes) throw new MalformedMessageError('chunk runs past the end of the blob')
  return msg
}

/** @throws MalformedMessageError */
export function checkBlobPutResponse (msg: BlobPutResponse): BlobPutResponse {
  if (!Number.isSafeInteger(msg.received) || msg.received < 0 || msg.received > MAX_UPLOAD_BLOB_BYTES) throw new MalformedMessageError('received out of range')
  return msg
}

/** @throws MalformedMessageError */
export function checkPostJobV2 (msg: PostJobV2): PostJobV2 {
  if (msg.kernelCid.length !== 32 || msg.inputsCid.length !== 32) throw new MalformedMessageError('kernelCid and inputsCid must be 32-byte sha-256 digests')
  if (msg.signedManifest.length === 0) throw new MalformedMessageError('no signed manifest')
  if (msg.policy.length > 32) throw new MalformedMessageError('policy must be at most 32 characters')
  return msg
}

/**
 * Pack one input per work unit into the inputs blob layout (u32 LE count, then u32 LE length +
 * bytes per unit).
 * @throws RangeError for more than MAX_POSTED_UNITS inputs or an input above MAX_POSTED_INPUT_BYTES
 */
export function packInputs (inputs: Uint8Array[]): Uint8Array {
  if (inputs.length > MAX_POSTED_UNITS) throw new RangeError(`more than ${MAX_POSTED_UNITS} inputs`)
  let total = 4
  for (const input of inputs) {
    if (input.length > MAX_POSTED_INPUT_BYTES) throw new RangeError(`an input of ${input.length} bytes is more than ${MAX_POSTED_INPUT_BYTES}`)
    total += 4 + input.length
  }
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  view.setUint32(0, inputs.length, true)
  let at = 4
  for (const input of inputs) {
    view.setUint32(at, input.length, true)
    out.set(input, at + 4)
    at += 4 + input.length
  }
  return out
}

/**
 * Unpack an inputs blob (views into `bytes`, not copies).
 * @throws MalformedMessageError for a blob that does not follow the layout exactly, more than
 *   MAX_POSTED_UNITS units, a unit above MAX_POSTED_INPUT_BYTES, or more than MAX_INPUTS_BLOB_BYTES
 */
export function unpackInputs (bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < 4 || bytes.length > MAX_INPUTS_BLOB_BYTES) throw new MalformedMessageError(`an inputs blob is 4 to ${MAX_INPUTS_BLOB_BYTES} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(0, true)
  if (count > MAX_POSTED_UNITS) throw new MalformedMessageError(`more than ${MAX_POSTED_UNITS} inputs`)
  const inputs: Uint8Array[] = []
  let at = 4
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) throw new MalformedMessageError(`inputs blob ends inside unit ${i}'s length`)
    const length = view.getUint32(at, true)
    if (length > MAX_POSTED_INPUT_BYTES) throw new MalformedMessageError(`input ${i} is ${length} bytes, more than ${MAX_POSTED_INPUT_BYTES}`)
    if (at + 4 + length > bytes.length) throw new MalformedMessageError(`inputs blob ends inside unit ${i}`)
    inputs.push(bytes.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  if (at !== bytes.length) throw new MalformedMessageError(`${bytes.length - at} bytes after the last input`)
  return inputs
}
