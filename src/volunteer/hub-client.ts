/**
 * Calls to a hub: lease work units (work 1.0.0, or 1.1.0 with a partner's site key) and submit
 * results / collect receipts (result 1.0.0, or 1.1.0 for large outputs). Every call takes an
 * AbortSignal and is bounded by the protocol's timeout.
 */
import { MAX_OUTPUT_BYTES, RESULT_SPEC, RESULT_SPEC_V1_1, WORK_SITE_SPEC, WORK_SPEC, callProtocol } from '../protocol/index.ts'
import type { ResultRequest, ResultResponse, SiteWorkRequest, WorkRequest, WorkResponse } from '../protocol/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export async function requestWork (node: Libp2p, hub: PeerId, request: WorkRequest, signal?: AbortSignal): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SPEC, request, signal)
}

/**
 * Submit a result and/or collect receipts. A request too big for /sparecycles/result/1.0.0's cap
 * (e.g. a 256 KiB matmul tile) goes over /sparecycles/result/1.1.0, the same messages with larger caps.
 */
export async function exchangeResult (node: Libp2p, hub: PeerId, request: ResultRequest, signal?: AbortSignal): Promise<ResultResponse> {
  const large = (request.result?.payload.length ?? 0) > MAX_OUTPUT_BYTES + 4096
  return await callProtocol(node, hub, large ? RESULT_SPEC_V1_1 : RESULT_SPEC, request, signal)
}

/** /sparecycles/work/1.1.0: lease or release replicas on behalf of a partner site's embed. */
export async function requestSiteWork (node: Libp2p, hub: PeerId, request: SiteWorkRequest, signal?: AbortSignal): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SITE_SPEC, request, signal)
}
