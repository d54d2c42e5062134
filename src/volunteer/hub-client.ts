/**
 * Calls to a hub over the two Spare Cycles protocols: lease work units and submit results /
 * collect receipts. Every call takes an AbortSignal and is bounded by the protocol's timeout.
 */
import {
  RESULT_LIMITS, RESULT_PROTOCOL, ResultRequest, ResultResponse, WORK_LIMITS, WORK_PROTOCOL, WorkRequest,
  WorkResponse, checkResultResponse, checkWorkResponse, requestResponse
} from '../protocol/index.ts'
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

export async function exchangeResult (node: Libp2p, hub: PeerId, request: ResultRequest, signal?: AbortSignal): Promise<ResultResponse> {
  const stream = await node.dialProtocol(hub, RESULT_PROTOCOL, { signal })
  return requestResponse({
    stream,
    request,
    requestCodec: ResultRequest,
    responseCodec: ResultResponse,
    checkResponse: checkResultResponse,
    limits: RESULT_LIMITS,
    signal
  })
}
