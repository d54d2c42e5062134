/**
 * Calls to a hub over the two Spare Cycles protocols: lease work units and submit results /
 * collect receipts. Every call takes an AbortSignal and is bounded by the protocol's timeout.
 */
import {
  RESULT_LIMITS, RESULT_PROTOCOL, ResultRequest, ResultResponse, WORK_LIMITS, WORK_PROTOCOL, WorkRequest,
  WorkResponse, checkResultResponse, checkWorkResponse, requestResponse
} from '../protocol/index.ts'
import { SiteWorkRequest, WORK_SITE_PROTOCOL } from '../protocol/index.ts'
import { MAX_OUTPUT_BYTES, RESULT_LIMITS_V1_1, RESULT_PROTOCOL_V1_1 } from '../protocol/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export async function requestWork (node: Libp2p, hub: PeerId, request: WorkRequest, signal?: AbortSignal): Promise<WorkResponse> {
  const stream = await node.dialProtocol(hub, WORK_PROTOCOL, { signal })
  return requestResponse({
    stream,
    request,
    requestCodec: WorkRequest,
    responseCodec: WorkResponse,
    checkResponse: checkWorkResponse,
    limits: WORK_LIMITS,
    signal
  })
}

/**
 * Submit a result and/or collect receipts. A request too big for /sparecycles/result/1.0.0's cap
 * (e.g. a 256 KiB matmul tile) goes over /sparecycles/result/1.1.0, the same messages with larger caps.
 */
export async function exchangeResult (node: Libp2p, hub: PeerId, request: ResultRequest, signal?: AbortSignal): Promise<ResultResponse> {
  const large = (request.result?.payload.length ?? 0) > MAX_OUTPUT_BYTES + 4096
  const stream = await node.dialProtocol(hub, large ? RESULT_PROTOCOL_V1_1 : RESULT_PROTOCOL, { signal })
  return requestResponse({
    stream,
    request,
    requestCodec: ResultRequest,
    responseCodec: ResultResponse,
    checkResponse: checkResultResponse,
    limits: large ? RESULT_LIMITS_V1_1 : RESULT_LIMITS,
    signal
  })
}

/** /sparecycles/work/1.1.0: lease or release replicas on behalf of a partner site's embed. */
export async function requestSiteWork (node: Libp2p, hub: PeerId, request: SiteWorkRequest, signal?: AbortSignal): Promise<WorkResponse> {
  const stream = await node.dialProtocol(hub, WORK_SITE_PROTOCOL, { signal })
  return requestResponse({
    stream,
    request,
    requestCodec: SiteWorkRequest,
    responseCodec: WorkResponse,
    checkResponse: checkWorkResponse,
    limits: WORK_LIMITS,
    signal
  })
}
