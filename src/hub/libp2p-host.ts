/**
 * The hub's libp2p node: WebSockets (browser <-> hub), noise, yamux, identify, ping, and the two
 * Spare Cycles protocols served from a HubCore.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import {
  RESULT_LIMITS, RESULT_PROTOCOL, ResultRequest, ResultResponse, WORK_LIMITS, WORK_PROTOCOL, WorkRequest,
  WorkResponse, checkResultRequest, checkWorkRequest, serveRequestResponse, MAX_CREDITS_PER_RESPONSE
} from '../protocol/index.ts'
import { SiteWorkRequest, WORK_SITE_PROTOCOL, checkSiteWorkRequest } from '../protocol/index.ts'
import {
  BLOB_LIMITS, BLOB_PROTOCOL, BlobRequest, BlobResponse, MAX_LARGE_OUTPUT_BYTES, RESULT_LIMITS_V1_1, RESULT_PROTOCOL_V1_1,
  checkBlobRequest
} from '../protocol/index.ts'
import type { HubCore } from './hub-core.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

export interface HubHostOptions {
  privateKey: PrivateKey
  core: HubCore
  /** Listen address, e.g. `/ip4/127.0.0.1/tcp/0/ws`. */
  listen: string[]
  /** Called for every stream that ended in an error (malformed, oversized, timed out). */
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
}

/** Start the hub's libp2p node and register the work and result protocols. */
export async function startHubHost (opts: HubHostOptions): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    // Many volunteer tabs may share one address (a NAT, or one machine in tests): libp2p's default
    // of 5 inbound connections per second per host would refuse them.
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  const { core } = opts

  await node.handle(WORK_PROTOCOL, serveRequestResponse<WorkRequest, WorkResponse>({
    requestCodec: WorkRequest,
    responseCodec: WorkResponse,
    checkRequest: checkWorkRequest,
    limits: WORK_LIMITS,
    handle: async (req, connection) => core.lease(connection.remotePeer.toString(), req),
    onStreamError: (err, connection) => opts.onStreamError?.(WORK_PROTOCOL, err, connection.remotePeer.toString())
  }), { maxInboundStreams: WORK_LIMITS.maxInboundStreams })

  // /sparecycles/work/1.1.0: the same exchange from a partner site's embed, with its site key.
  await node.handle(WORK_SITE_PROTOCOL, serveRequestResponse<SiteWorkRequest, WorkResponse>({
    requestCodec: SiteWorkRequest,
    responseCodec: WorkResponse,
    checkRequest: checkSiteWorkRequest,
    limits: WORK_LIMITS,
    handle: async (req, connection) => core.lease(connection.remotePeer.toString(), req, { siteKey: req.siteKey }),
    onStreamError: (err, connection) => opts.onStreamError?.(WORK_SITE_PROTOCOL, err, connection.remotePeer.toString())
  }), { maxInboundStreams: WORK_LIMITS.maxInboundStreams })

  await node.handle(RESULT_PROTOCOL, serveRequestResponse<ResultRequest, ResultResponse>({
    requestCodec: ResultRequest,
    responseCodec: ResultResponse,
    checkRequest: checkResultRequest,
    limits: RESULT_LIMITS,
    handle: async (req, connection) => {
      const peerId = connection.remotePeer.toString()
      const response: ResultResponse = req.result != null
        ? await core.submit(peerId, req.result)
        : { status: 'none', error: '', message: '', credits: [], creditsUpTo: 0 }
      const { credits, upTo } = await core.creditsFor(peerId, req.receiptsAfter, MAX_CREDITS_PER_RESPONSE)
      return { ...response, credits, creditsUpTo: upTo }
    },
    onStreamError: (err, connection) => opts.onStreamError?.(RESULT_PROTOCOL, err, connection.remotePeer.toString())
  }), { maxInboundStreams: RESULT_LIMITS.maxInboundStreams })

  // /sparecycles/result/1.1.0: the same exchange with larger caps (matmul tiles are up to 1 MiB).
  await node.handle(RESULT_PROTOCOL_V1_1, serveRequestResponse<ResultRequest, ResultResponse>({
    requestCodec: ResultRequest,
    responseCodec: ResultResponse,
    checkRequest: checkResultRequest,
    limits: RESULT_LIMITS_V1_1,
    handle: async (req, connection) => {
      const peerId = connection.remotePeer.toString()
      const response: ResultResponse = req.result != null
        ? await core.submit(peerId, req.result, { maxOutputBytes: MAX_LARGE_OUTPUT_BYTES })
        : { status: 'none', error: '', message: '', credits: [], creditsUpTo: 0 }
      const { credits, upTo } = await core.creditsFor(peerId, req.receiptsAfter, MAX_CREDITS_PER_RESPONSE)
      return { ...response, credits, creditsUpTo: upTo }
    },
    onStreamError: (err, connection) => opts.onStreamError?.(RESULT_PROTOCOL_V1_1, err, connection.remotePeer.toString())
  }), { maxInboundStreams: RESULT_LIMITS_V1_1.maxInboundStreams })

  // /sparecycles/blob/1.0.0: content-addressed input blocks (and, later, kernels), in chunks.
  await node.handle(BLOB_PROTOCOL, serveRequestResponse<BlobRequest, BlobResponse>({
    requestCodec: BlobRequest,
    responseCodec: BlobResponse,
    checkRequest: checkBlobRequest,
    limits: BLOB_LIMITS,
    handle: async (req) => core.blobs.serve(req),
    onStreamError: (err, connection) => opts.onStreamError?.(BLOB_PROTOCOL, err, connection.remotePeer.toString())
  }), { maxInboundStreams: BLOB_LIMITS.maxInboundStreams })

  return node
}
