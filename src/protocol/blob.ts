/**
 * `/sparecycles/blob/1.0.0`: fetch content-addressed bytes from a hub (matmul input blocks today,
 * kernels later). Generic: a blob is any byte string up to MAX_BLOB_BYTES, named by its sha-256
 * (the CID, 32 raw bytes on the wire, 64 lowercase hex characters in logs and file names).
 *
 * One BlobRequest (cid, offset, maxBytes) -> one BlobResponse carrying at most BLOB_CHUNK_BYTES
 * starting at `offset`, plus the blob's total size; a client asks chunk after chunk, one stream
 * each, and checks the sha-256 of the assembled bytes before using them (BlobHashMismatchError).
 * An unknown CID is answered with `error = "BlobNotFoundError"`.
 */
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { MalformedMessageError, ProtocolError } from './errors.ts'
import type { ProtocolLimits } from './ids.ts'
import type { BlobRequest, BlobResponse } from './pb/messages.ts'
import type { ErrorName } from './errors.ts'

export const BLOB_PROTOCOL = '/sparecycles/blob/1.0.0'
/** Most bytes in one BlobResponse. */
export const BLOB_CHUNK_BYTES = 1024 * 1024
/** Largest blob served or fetched (a 4096 x 8192 f32 block is 128 MiB). */
export const MAX_BLOB_BYTES = 256 * 1024 * 1024

export const BLOB_LIMITS: ProtocolLimits = {
  maxRequestBytes: 1024,
  maxResponseBytes: BLOB_CHUNK_BYTES + 1024,
  maxInboundStreams: 8,
  timeoutMs: 30_000
}

/** The hub has no blob with this CID. */
export class BlobNotFoundError extends ProtocolError {
  static override readonly name: ErrorName = 'BlobNotFoundError'
  override readonly name: ErrorName = 'BlobNotFoundError'
}
/** The fetched bytes do not hash to the CID asked for (or their size changed between chunks). */
export class BlobHashMismatchError extends ProtocolError {
  static override readonly name: ErrorName = 'BlobHashMismatchError'
  override readonly name: ErrorName = 'BlobHashMismatchError'
}

const HEX = /^[0-9a-f]{64}$/

/** A CID as 64 lowercase hex characters. @throws RangeError for a wrong length */
export function cidToHex (cid: Uint8Array): string {
  if (cid.length !== 32) throw new RangeError(`a blob id is 32 bytes, got ${cid.length}`)
  let s = ''
  for (const b of cid) s += b.toString(16).padStart(2, '0')
  return s
}

/** Parse 64 hex characters. @throws RangeError */
export function cidFromHex (hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new RangeError(`a blob id is 64 lowercase hex characters, got "${hex.slice(0, 80)}"`)
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Multicodec of raw bytes (a CIDv1's content type) and of the sha2-256 multihash. */
const RAW_CODEC = 0x55
const SHA2_256 = 0x12

/**
 * The blob id as a real multiformats CID: version 1, codec `raw`, multihash sha2-256 of the
 * whole blob, base32 (`bafkrei…`). It names the same bytes to any IPFS tool that hashes them as
 * one raw block (what `ipfs block put` and Helia's raw codec do); for blobs above a single block's
 * size, IPFS tools chunk files into a DAG whose root CID differs, but this CID still identifies
 * the whole byte string by its sha-256.
 * @throws RangeError for an id that is not 32 bytes
 */
export function blobCidV1 (cid: Uint8Array): string {
  if (cid.length !== 32) throw new RangeError(`a blob id is 32 bytes, got ${cid.length}`)
  return CID.createV1(RAW_CODEC, createDigest(SHA2_256, cid)).toString()
}

/**
 * The 32-byte blob id of a CIDv1 `raw` + sha2-256 string (the inverse of blobCidV1).
 * @throws RangeError for another CID version, codec or hash, or a string that is no CID
 */
export function blobIdFromCidV1 (text: string): Uint8Array {
  let cid: CID
  try { cid = CID.parse(text) } catch { throw new RangeError(`not a CID: "${text.slice(0, 80)}"`) }
  if (cid.version !== 1 || cid.code !== RAW_CODEC || cid.multihash.code !== SHA2_256) throw new RangeError(`not a CIDv1 raw sha2-256: ${text.slice(0, 80)}`)
  return cid.multihash.digest
}

/** @throws MalformedMessageError */
export function checkBlobRequest (msg: BlobRequest): BlobRequest {
  if (msg.cid.length !== 32) throw new MalformedMessageError('cid must be a 32-byte sha-256 digest')
  if (!Number.isSafeInteger(msg.offset) || msg.offset < 0 || msg.offset > MAX_BLOB_BYTES) throw new MalformedMessageError('offset out of range')
  if (msg.maxBytes === 0) throw new MalformedMessageError('maxBytes must be positive')
  return msg
}

/** @throws MalformedMessageError */
export function checkBlobResponse (msg: BlobResponse): BlobResponse {
  if (msg.error !== '') return msg
  if (!Number.isSafeInteger(msg.totalBytes) || msg.totalBytes > MAX_BLOB_BYTES) throw new MalformedMessageError('totalBytes out of range')
  if (msg.data.length > BLOB_CHUNK_BYTES) throw new MalformedMessageError('chunk larger than BLOB_CHUNK_BYTES')
  if (msg.offset + msg.data.length > msg.totalBytes) throw new MalformedMessageError('chunk runs past the end of the blob')
  return msg
}
