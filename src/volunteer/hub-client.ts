/**
 * Calls to a hub: lease work units (work 2.0.0 with the page's capabilities; work 1.0.0, or 1.1.0
 * with a partner's site key, for hubs without 2.0.0) and submit results / collect receipts (result
 * 3.0.0 batches signed once, 2.0.0 batches, 1.0.0, or 1.1.0 for large outputs). Every call takes an
 * AbortSignal and is bounded by the protocol's timeout.
 */
import {
  MAX_SMALL_PAYLOAD_BYTES, MalformedMessageError, outcomeOf, RESULT_SPEC, RESULT_SPEC_V1_1, RESULT_SPEC_V2, RESULT_SPEC_V3, WORK_SITE_SPEC, WORK_SPEC, WORK_SPEC_V2, callProtocol, signResultBatch
} from '../protocol/index.ts'
import type {
  ByteCounter, ProtocolNode, ResultBatchRequest, ResultBatchResponse, ResultRequest, ResultResponse, SiteWorkRequest, WorkRequest, WorkRequestV2, WorkResponse
} from '../protocol/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export async function requestWork (node: ProtocolNode, hub: PeerId, request: WorkRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<WorkResponse> {
  return await callProtocol(node, hub, WORK_SPEC, request, signal, onBytes)
}

/**
 * Submit a result and/or collect receipts. A request too big for /sparecycles/result/1.0.0's cap
 * (e.g. a 256 KiB matmul tile) goes over /sparecycles/result/1.1.0, the same messages with larger caps.
 */
export async function exchangeResult (node: ProtocolNode, hub: PeerId, request: ResultRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<ResultResponse> {
  const large = (request.result?.payload.length ?? 0) > MAX_SMALL_PAYLOAD_BYTES
  return await callProtocol(node, hub, large ? RESULT_SPEC_V1_1 : RESULT_SPEC, request, signal, onBytes)
}

/**
 * /sparecycles/result/2.0.0: many results in one request, one outcome each (in order).
 * @throws MalformedMessageError when the hub answers with a different number of outcomes
 */
export async function exchangeResults (node: ProtocolNode, hub: PeerId, request: ResultBatchRequest, signal?: AbortSignal, onBytes?: ByteCounter): Promise<ResultBatchResponse> {
  const response = await callProtocol(node, hub, RESULT_SPEC_V2, request, signal, onBytes)
  if (response.outcomes.length !== request.results.length) throw new MalformedMessageError(`${response.outcomes.length} outcomes for ${request.results.length} results`)
  return response
}

/**
 * /sparecycles/result/3.0.0: the payloads of `request.results` signed once, over their Merkle root
 * (protocol/result-batch.ts), by `key` (the volunteer's: the results' own signer), one outcome each.
 * @throws MalformedMessageError when the hub answers with a different number of outcomes
 */
export async function exchangeSignedBatch (node: ProtocolNode, hub: PeerId, request: ResultBatchRequest, key: PrivateKey, signal?: AbortSignal, onBytes?: ByteCounter): Promise<ResultBatchResponse> {
  const signed = await signResultBatch(request.results.map(r => r.payload), key, request.receiptsAfter)
  const response = await callProtocol(node, hub, RESULT_SPEC_V3, signed, signal, onBytes)
  if (response.outcomes.length !== request.results.length) throw new MalformedMessageError(`${response.outcomes.length} outcomes for ${request.results.length} results`)
  return response
}

/**
 * A batch sent one result at a time over result/1.x (a hub without result/2.0.0, or a fake link):
 * the same answer a batch would get. Receipts are asked for after the newest one each answer gave.
 * @throws what `result` throws, at the first failure (results before it were stored: sent again, they are duplicates)
 */
export async function resultsOneByOne (result: HubLink['result'], request: ResultBatchRequest, signal: AbortSignal): Promise<ResultBatchResponse> {
  const out: ResultBatchResponse = { outcomes: [], credits: [], creditsUpTo: request.receiptsAfter, ledgerSalt: new Uint8Array(0) }
  for (const signed of request.results) {
    const res = await result({ result: signed, receiptsAfter: out.creditsUpTo }, signal)
    out.outcomes.push(outcomeOf(res))
    out.credits.push(...res.credits)
    out.creditsUpTo = Math.max(out.creditsUpTo, res.creditsUpTo)
    if (res.ledgerSalt.length > 0) out.ledgerSalt = res.ledgerSalt
    if (res.ledgerKey != null) out.ledgerKey = res.ledgerKey
  }
  return out
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
  /**
   * Submit several results (each output at most MAX_OUTPUT_BYTES, at most MAX_RESULTS_PER_BATCH,
   * MAX_RESULT_BATCH_BYTES in all) and collect receipts: one outcome per result, in order.
   * @throws ProtocolTimeoutError, MalformedMessageError, MessageTooLargeError, or a dial error
   */
  results: (request: ResultBatchRequest, signal: AbortSignal) => Promise<ResultBatchResponse>
}

/**
 * A HubLink over libp2p to `hub()` (the connected hub, or null). Work goes over work/2.0.0; when
 * the hub refuses that protocol (UnsupportedProtocolError) this link falls back to work/1.0.0
 * (1.1.0 with a site key) until `resetNegotiation()` — called on every new connection. Batches of
 * results go over result/3.0.0 (signed once more, as a batch, with `key`), over result/2.0.0 to a
 * hub without it or when no key is given, and one by one over result/1.0.0 to a hub without 2.0.0,
 * likewise.
 * @throws Error('not connected to a hub') when hub() is null
 */
export class Libp2pHubLink implements HubLink {
  private legacyWork = false
  private legacyResults = false
  private legacySignedBatch = false

  /**
   * @param onBytes told the bytes of every request and response (traffic.ts)
   * @param key the volunteer's key, which signs batches for result/3.0.0 (none: result/2.0.0 at most)
   */
  constructor (private readonly node: ProtocolNode, private readonly hub: () => PeerId | null, private readonly onBytes?: ByteCounter, private readonly key?: PrivateKey) {}

  /** Whether the current connection fell back to work/1.x. */
  get usesLegacyWork (): boolean { return this.legacyWork }

  /** Try work/2.0.0 again (a new connection, perhaps to an upgraded hub). */
  resetNegotiation (): void { this.legacyWork = false; this.legacyResults = false; this.legacySignedBatch = false }

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

  async results (request: ResultBatchRequest, signal: AbortSignal): Promise<ResultBatchResponse> {
    if (this.key != null && !this.legacySignedBatch && request.results.length > 0) {
      try {
        return await exchangeSignedBatch(this.node, this.peer(), request, this.key, signal, this.onBytes)
      } catch (err) {
        if (!isUnsupportedProtocol(err)) throw err
        this.legacySignedBatch = true
      }
    }
    if (!this.legacyResults) {
      try {
        return await exchangeResults(this.node, this.peer(), request, signal, this.onBytes)
      } catch (err) {
        if (!isUnsupportedProtocol(err)) throw err
        this.legacyResults = true
      }
    }
    return await resultsOneByOne(async (req, sig) => await this.result(req, sig), request, signal)
  }
}
