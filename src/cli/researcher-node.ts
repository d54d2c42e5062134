/**
 * The researcher CLI's libp2p node: WebSockets, noise, yamux, identify, with the researcher's key
 * as its identity, so the hub authenticates the researcher through the noise handshake. Posts upload
 * the kernel and the packed inputs as chunked blobs (blob-put/1.0.0), then post over job/2.0.0.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { BLOB_PUT_CHUNK_BYTES, BLOB_PUT_SPEC, JOB_SPEC, JOB_SPEC_V2, RemoteError, callProtocol, sha256Bytes } from '../protocol/index.ts'
import type { JobInfo, JobRequest, PostJobV2, ProtocolNode } from '../protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { ErrorName } from '../protocol/index.ts'

/** The hub could not be reached at the given multiaddr. */
export class HubUnreachableError extends Error {
  static override readonly name: ErrorName = 'HubUnreachableError'
  override readonly name: ErrorName = 'HubUnreachableError'
  constructor (message: string) { super(message) }
}

export interface HubSession {
  node: Libp2p
  hub: PeerId
  /** Send one job request; a refusal is thrown as RemoteError naming the hub's error class. */
  request: (req: JobRequest, signal?: AbortSignal) => Promise<JobInfo>
  /** Upload a blob over blob-put/1.0.0 (uploadBlob); @returns its CID */
  upload: (bytes: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>
  /** Post over job/2.0.0 a job whose kernel and inputs were uploaded; a refusal is thrown as RemoteError. */
  post: (post: PostJobV2, signal?: AbortSignal) => Promise<JobInfo>
  close: () => Promise<void>
}

/**
 * Upload `bytes` to `hub` over `/sparecycles/blob-put/1.0.0`, BLOB_PUT_CHUNK_BYTES a stream, in
 * order; stops early when the hub already has the blob.
 * @returns the blob's CID (sha-256, 32 bytes)
 * @throws RemoteError naming the hub's refusal (ResearcherNotAllowedError, ResourceLimitError,
 *   BlobHashMismatchError, MalformedMessageError), protocol errors
 */
export async function uploadBlob (node: ProtocolNode, hub: PeerId, bytes: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
  const cid = sha256Bytes(bytes)
  let offset = 0
  do {
    const data = bytes.subarray(offset, offset + BLOB_PUT_CHUNK_BYTES) as Uint8Array<ArrayBuffer>
    const res = await callProtocol(node, hub, BLOB_PUT_SPEC, { cid: cid as Uint8Array<ArrayBuffer>, totalBytes: bytes.length, offset, data }, signal)
    if (res.error !== '') throw new RemoteError(res.error, res.message)
    if (res.complete) return cid
    if (res.received !== offset + data.length) throw new RemoteError('MalformedMessageError', `the hub holds ${res.received} bytes, expected ${offset + data.length}`)
    offset = res.received
  } while (offset < bytes.length)
  throw new RemoteError('MalformedMessageError', 'the hub took every chunk but did not report the blob complete')
}

/** @throws HubUnreachableError */
export async function connectToHub (hubAddr: string, key: PrivateKey, timeoutMs = 10_000): Promise<HubSession> {
  let ma
  try {
    ma = multiaddr(hubAddr)
  } catch {
    throw new HubUnreachableError(`--hub: not a multiaddr: '${hubAddr}'`)
  }
  const node = await createLibp2p({
    privateKey: key,
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  let hub: PeerId
  try {
    hub = (await node.dial(ma, { signal: AbortSignal.timeout(timeoutMs) })).remotePeer
  } catch (err) {
    await node.stop()
    // the WebSocket transport may reject with a bare ErrorEvent that carries no message
    const e = err as Partial<Error> & { errors?: Error[] }
    const reason = (typeof e.message === 'string' && e.message !== '') ? e.message : (e.errors?.map(x => x.message).filter(Boolean).join('; ') || 'connection failed (nothing listening, or not a Spare Cycles hub)')
    throw new HubUnreachableError(`--hub: unreachable at ${hubAddr}: ${reason}`)
  }
  return {
    node,
    hub,
    async request (req, signal) {
      const res = await callProtocol(node, hub, JOB_SPEC, req, signal)
      if (res.error !== '') throw new RemoteError(res.error, res.message)
      if (res.job == null) throw new RemoteError('MalformedMessageError', 'the hub answered without a job')
      return res.job
    },
    upload: async (bytes, signal) => await uploadBlob(node, hub, bytes, signal),
    async post (post, signal) {
      const res = await callProtocol(node, hub, JOB_SPEC_V2, post, signal)
      if (res.error !== '') throw new RemoteError(res.error, res.message)
      if (res.job == null) throw new RemoteError('MalformedMessageError', 'the hub answered without a job')
      return res.job
    },
    close: async () => { await node.stop() }
  }
}
