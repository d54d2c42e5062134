/**
 * Calls to a hub: lease work units (work 2.0.0 with the page's capabilities; work 1.0.0, or 1.1.0
 * with a partner's site key, for hubs without 2.0.0) and submit results / collect receipts (result
 * 1.0.0, or 1.1.0 for large outputs). Every call takes an AbortSignal and is bounded by the
 * protocol's timeout.
 */
import {
  MAX_OUTPUT_BYTES, RESULT_SPEC, RESULT_SPEC_V1_1, WORK_SITE_SPEC, WORK_SPEC, WORK_SPEC_V2, callProtocol
} from '../protocol/index.ts'
import type {
  ByteCounter, ProtocolNode, ResultRequest, ResultResponse, SiteWorkRequest, WorkRequest, WorkRequestV2, WorkResponse
} from '../protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

export async function requestWork (node: ProtocolNode, hub: PeerId, request: WorkRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SPEC, request, signal, onBytes)
}

/**
 * Submit a result and/or collect receipts. A request too big for /sparecycles/result/1.0.0's cap
 * (e.g. a 256 KiB matmul tile) goes over /sparecycles/result/1.1.0, the same messages with larger caps.
 */
export async function exchangeResult (node: ProtocolNode, hub: PeerId, request: ResultRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<ResultResponse> {
  const large = (request.result?.payload.length ?? 0) > MAX_OUTPUT_BYTES + 4096
  return await callProtocol(node, hub, large ? RESULT_SPEC_V1_1 : RESULT_SPEC, request, signal, onBytes)
}

/** /sparecycles/work/1.1.0: lease or release replicas on behalf of a partner site's embed. */
export async function requestSiteWork (node: ProtocolNode, hub: PeerId, request: SiteWorkRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SITE_SPEC, request, signal, onBytes)
}

/** /sparecycles/work/2.0.0: lease with capabilities, give back with reasons. */
export async function requestWorkV2 (node: ProtocolNode, hub: PeerId, request: WorkRequestV2, signal?: AbortSignal, onBytes?: ByteCounter): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SPEC_V2, request, signal, onBytes)
}

/** The work/1.x request a work/2.0.0 request becomes for an older hub (reasons and capabilities dropped). */
export function legacyWorkRequest (request: WorkRequestV2): WorkRequest | SiteWorkRequest {
  const base = { maxUnits: request.maxUnits, release: request.release.map(r => r.replicaId), deviceClass: 'wasm' }
  return request.siteKey !== '' ? { ...base, siteKey: request.siteKey } : base
}

/** Whether a dial error says the remote does not speak the protocol (libp2p's UnsupportedProtocolError). */
export function isUnsupportedProtocol (err: unknown): boolean {
  return (err as Error)?.name === 'UnsupportedProtocolError'
}

/** The two exchanges the volunteer has with its hub; components take this, tests give a fake. */
export interface HubLink {
  /**
   * Lease and/or release replicas.
   * @throws ProtocolTimeoutError, MalformedMessageError, MessageTooLargeError, or a dial error
   */
  work: (request: WorkRequestV2, signal: AbortSignal) => Promise<WorkResponse>
  /**
   * Submit a result and/or collect receipts after `receiptsAfter`.
   * @throws ProtocolTimeoutError, MalformedMessageError, MessageTooLargeError, or a dial error
   */
  result: (request: ResultRequest, signal: AbortSignal) => Promise<ResultResponse>
}

/**
 * A HubLink over libp2p to `hub()` (the connected hub, or null). Work goes over work/2.0.0; when
 * the hub refuses that protocol (UnsupportedProtocolError) this link falls back to work/1.0.0
 * (1.1.0 with a site key) until `resetNegotiation()` — called on every new connection.
 * @throws Error('not connected to a hub') when hub() is null
 */
export class Libp2pHubLink implements HubLink {
  private legacyWork = false

  /** @param onBytes told the bytes of every request and response (traffic.ts) */
  constructor (private readonly node: ProtocolNode, private readonly hub: () => PeerId | null, private readonly onBytes?: ByteCounter) {}

  /** Whether the current connection fell back to work/1.x. */
  get usesLegacyWork (): boolean { return this.legacyWork }

  /** Try work/2.0.0 again (a new connection, perhaps to an upgraded hub). */
  resetNegotiation (): void { this.legacyWork = false }

  private peer (): PeerId {
    const hub = this.hub()
    if (hub == null) throw new Error('not connected to a hub')
    return hub
  }

  async work (request: WorkRequestV2, signal: AbortSignal): Promise<WorkResponse> {
    const hub = this.peer()
    if (!this.legacyWork) {
      try {
        return await requestWorkV2(this.node, hub, request, signal, this.onBytes)
      } catch (err) {
        if (!isUnsupportedProtocol(err)) throw err
        this.legacyWork = true
      }
    }
    const legacy = legacyWorkRequest(request)
    return 'siteKey' in legacy ? await requestSiteWork(this.node, hub, legacy, signal, this.onBytes) : await requestWork(this.node, hub, legacy, signal, this.onBytes)
  }

  async result (request: ResultRequest, signal: AbortSignal): Promise<ResultResponse> {
    return await exchangeResult(this.node, this.peer(), request, signal, this.onBytes)
  }
}
