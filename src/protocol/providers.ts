/**
 * `/sparecycles/blob-providers/1.0.0`: which volunteers hold a blob. Browsers fetch kernels and
 * matmul input blocks from each other (WebRTC, dialled through the hub's circuit relay v2, then
 * `/sparecycles/blob/1.0.0` on the direct connection, hash-checked), the hub last. The hub keeps an
 * index of who holds what: a peer it served a blob to in full, and a peer that says it fetched one
 * from another peer (`have`, only for blobs the hub itself holds). The answer lists only peers
 * connected to the hub with a relay reservation (dialable as `<hub>/p2p-circuit/webrtc/p2p/<peer>`).
 *
 * A listed peer may have dropped the blob or may lie: the asker checks every byte against the CID
 * and never asks a peer again once it sent bytes that do not hash to it (BlobHashMismatchError).
 */
import { MalformedMessageError, ProtocolError } from './errors.ts'
import type { ErrorName } from './errors.ts'
import type { ProtocolLimits } from './ids.ts'
import type { BlobProvidersRequest, BlobProvidersResponse } from './pb/messages.ts'

export const BLOB_PROVIDERS_PROTOCOL = '/sparecycles/blob-providers/1.0.0'
/** Most peers listed in one answer. */
export const MAX_BLOB_PROVIDERS = 8
/** Longest peer id string accepted (an Ed25519 peer id is 52 characters). */
export const MAX_PEER_ID_CHARS = 128

export const BLOB_PROVIDERS_LIMITS: ProtocolLimits = {
  maxRequestBytes: 128,
  maxResponseBytes: 2048,
  maxInboundStreams: 4,
  timeoutMs: 5_000
}

/**
 * A volunteer refused to serve a blob because the asking peer (or all peers together) spent this
 * page's serving budget (bytes a minute); ask another peer or the hub.
 */
export class BlobServeLimitError extends ProtocolError {
  static override readonly name: ErrorName = 'BlobServeLimitError'
  override readonly name: ErrorName = 'BlobServeLimitError'
}

/** Most STUN servers a hub names in `/hub.json` (`iceServers`). */
export const MAX_ICE_SERVERS = 4
const STUN_URL = /^stuns?:[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/

/**
 * The STUN servers a hub names for its volunteers' WebRTC (`/hub.json` `iceServers`: `stun:` or
 * `stuns:` URLs of a host and an optional port, at most MAX_ICE_SERVERS). Without any, a page uses
 * host candidates only. TURN (which needs credentials) is not offered.
 * @throws RangeError for anything else: not an array, too many, or an entry that is no STUN URL
 */
export function checkIceServers (list: unknown): string[] {
  if (!Array.isArray(list)) throw new RangeError('iceServers must be an array of stun: URLs')
  if (list.length > MAX_ICE_SERVERS) throw new RangeError(`at most ${MAX_ICE_SERVERS} ICE servers, got ${list.length}`)
  for (const url of list) {
    if (typeof url !== 'string' || !STUN_URL.test(url)) throw new RangeError(`not a STUN URL (stun:host[:port]): ${String(url).slice(0, 80)}`)
  }
  return list as string[]
}

/** @throws MalformedMessageError */
export function checkBlobProvidersRequest (msg: BlobProvidersRequest): BlobProvidersRequest {
  if (msg.cid.length !== 32) throw new MalformedMessageError('cid must be a 32-byte sha-256 digest')
  return msg
}

/** @throws MalformedMessageError */
export function checkBlobProvidersResponse (msg: BlobProvidersResponse): BlobProvidersResponse {
  if (msg.peers.length > MAX_BLOB_PROVIDERS) throw new MalformedMessageError(`more than ${MAX_BLOB_PROVIDERS} providers`)
  for (const p of msg.peers) {
    if (p.length === 0 || p.length > MAX_PEER_ID_CHARS || !/^[1-9A-HJ-NP-Za-km-z]+$/.test(p)) throw new MalformedMessageError('provider is not a base58btc peer id')
  }
  return msg
}
