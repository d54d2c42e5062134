/**
 * Schema checks at the protocol boundary: every decoded message from the network passes through
 * one of these before any other code sees it. Protobuf decoding checks wire types; these check
 * ranges, lengths and string unions.
 */
import { MalformedMessageError } from './errors.ts'
import {
  LEGACY_DEVICE_CLASSES, MAX_CREDITS_PER_RESPONSE, MAX_ERROR_MESSAGE_CHARS, MAX_ID_CHARS, MAX_LEASES_PER_REQUEST,
  MAX_OUTPUT_BYTES, MAX_RELEASES_PER_REQUEST, MAX_SMALL_PAYLOAD_BYTES, MAX_RESULTS_PER_BATCH, RESULT_OUTCOMES
} from './ids.ts'
import type { LegacyDeviceClass, ResultOutcome } from './ids.ts'
import { isDeviceClass } from './capabilities.ts'
import type { ResultBatchRequest, ResultBatchResponse, ResultPayload, ResultRequest, ResultResponse, SignedResult, SignedResultBatchRequest, SubmitOutcome, WorkRequest, WorkResponse } from './pb/messages.ts'
import type { SiteWorkRequest } from './pb/messages.ts'
import { isSiteKey } from './site-key.ts'

function fail (what: string): never {
  throw new MalformedMessageError(what)
}

function checkId (value: string, field: string, allowEmpty = false): void {
  if (value.length === 0 && !allowEmpty) fail(`${field} is empty`)
  if (value.length > MAX_ID_CHARS) fail(`${field} is longer than ${MAX_ID_CHARS} characters`)
  if (!/^[\w./:@-]*$/.test(value)) fail(`${field} has characters outside [A-Za-z0-9_./:@-]`)
}

export function isLegacyDeviceClass (value: string): value is LegacyDeviceClass {
  return (LEGACY_DEVICE_CLASSES as readonly string[]).includes(value)
}

export function isResultOutcome (value: string): value is ResultOutcome {
  return (RESULT_OUTCOMES as readonly string[]).includes(value)
}

/** @throws MalformedMessageError */
export function checkWorkRequest (msg: WorkRequest): WorkRequest {
  if (msg.maxUnits > MAX_LEASES_PER_REQUEST) fail(`maxUnits must be at most ${MAX_LEASES_PER_REQUEST}`)
  if (msg.release.length > MAX_RELEASES_PER_REQUEST) fail(`release lists more than ${MAX_RELEASES_PER_REQUEST} replicas`)
  msg.release.forEach((id, i) => { checkId(id, `release[${i}]`) })
  if (!isLegacyDeviceClass(msg.deviceClass)) fail(`deviceClass must be one of ${LEGACY_DEVICE_CLASSES.join(', ')}`)
  return msg
}

/** @throws MalformedMessageError */
export function checkWorkResponse (msg: WorkResponse): WorkResponse {
  if (msg.leases.length > MAX_LEASES_PER_REQUEST) fail('too many leases')
  for (const lease of msg.leases) {
    checkId(lease.replicaId, 'replicaId')
    checkId(lease.wuId, 'wuId')
    checkId(lease.jobId, 'jobId')
    checkId(lease.kernel, 'kernel')
    if (!(lease.estOps > 0) || !Number.isFinite(lease.estOps)) fail('estOps must be a positive number')
    if (!(lease.credit >= 0) || !Number.isFinite(lease.credit)) fail('credit must be a non-negative number')
    if (lease.deadlineMs <= 0) fail('deadlineMs must be positive')
  }
  return msg
}

/**
 * A result's payload: ids, outcome, device class, the output within the protocol's cap (and none
 * at all for a client error: its output is not stored), a 32-byte digest, a bounded message.
 * @param maxOutputBytes the output cap of the protocol the result came over (MAX_OUTPUT_BYTES for
 *   result/1.0.0, MAX_LARGE_OUTPUT_BYTES for result/1.1.0)
 * @throws MalformedMessageError
 */
export function checkResultPayload (msg: ResultPayload, maxOutputBytes = MAX_OUTPUT_BYTES): ResultPayload {
  checkId(msg.replicaId, 'replicaId')
  checkId(msg.wuId, 'wuId')
  if (!isResultOutcome(msg.outcome)) fail(`outcome must be one of ${RESULT_OUTCOMES.join(', ')}`)
  if (!isDeviceClass(msg.deviceClass)) fail('deviceClass must be wasm, webgpu or webgpu:<vendor>/<architecture>')
  if (msg.output.length > maxOutputBytes) fail(`output is larger than ${maxOutputBytes} bytes`)
  if (msg.outcome === 'client-error' && msg.output.length > 0) fail(`a client-error result carries no output, got ${msg.output.length} bytes`)
  if (msg.outputSha256.length !== 32) fail('outputSha256 must be 32 bytes')
  if (msg.errorMessage.length > MAX_ERROR_MESSAGE_CHARS) fail('errorMessage is too long')
  return msg
}

/** @throws MalformedMessageError */
export function checkResultRequest (msg: ResultRequest): ResultRequest {
  if (msg.result != null) {
    if (msg.result.publicKey.length === 0 || msg.result.publicKey.length > 128) fail('publicKey has a bad length')
    if (msg.result.signature.length !== 64) fail('signature must be 64 bytes (Ed25519)')
  }
  if (!Number.isSafeInteger(msg.receiptsAfter) || msg.receiptsAfter < 0) fail('receiptsAfter out of range')
  return msg
}

/** A signed result's envelope: key and signature lengths (the signature itself is checked by the hub). @throws MalformedMessageError */
function checkSignedEnvelope (result: SignedResult, where: string): void {
  if (result.publicKey.length === 0 || result.publicKey.length > 128) fail(`${where}publicKey has a bad length`)
  if (result.signature.length !== 64) fail(`${where}signature must be 64 bytes (Ed25519)`)
  if (result.payload.length > MAX_SMALL_PAYLOAD_BYTES) fail(`${where}payload is larger than result/2.0.0 carries (output at most ${MAX_OUTPUT_BYTES} bytes; larger ones go over result/1.1.0)`)
}

/** result/2.0.0: 0 to MAX_RESULTS_PER_BATCH envelopes (none: a receipts poll), receiptsAfter in range. @throws MalformedMessageError */
export function checkResultBatchRequest (msg: ResultBatchRequest): ResultBatchRequest {
  if (msg.results.length > MAX_RESULTS_PER_BATCH) fail(`at most ${MAX_RESULTS_PER_BATCH} results in one batch, got ${msg.results.length}`)
  msg.results.forEach((r, i) => { checkSignedEnvelope(r, `results[${i}].`) })
  if (!Number.isSafeInteger(msg.receiptsAfter) || msg.receiptsAfter < 0) fail('receiptsAfter out of range')
  return msg
}

/**
 * result/3.0.0: 1 to MAX_RESULTS_PER_BATCH payloads of at most MAX_SMALL_PAYLOAD_BYTES, a public
 * key, a 64-byte signature, receiptsAfter in range (the signature is checked by the hub,
 * result-batch.ts). @throws MalformedMessageError
 */
export function checkSignedResultBatchRequest (msg: SignedResultBatchRequest): SignedResultBatchRequest {
  if (msg.payloads.length === 0 || msg.payloads.length > MAX_RESULTS_PER_BATCH) fail(`1 to ${MAX_RESULTS_PER_BATCH} payloads in one signed batch, got ${msg.payloads.length}`)
  msg.payloads.forEach((p, i) => { if (p.length > MAX_SMALL_PAYLOAD_BYTES) fail(`payloads[${i}] is larger than result/3.0.0 carries (output at most ${MAX_OUTPUT_BYTES} bytes; larger ones go over result/1.1.0)`) })
  if (msg.publicKey.length === 0 || msg.publicKey.length > 128) fail('publicKey has a bad length')
  if (msg.signature.length !== 64) fail('signature must be 64 bytes (Ed25519)')
  if (!Number.isSafeInteger(msg.receiptsAfter) || msg.receiptsAfter < 0) fail('receiptsAfter out of range')
  return msg
}

/** A result/1.x answer's outcome as a result/2.0.0 batch carries it (status, error, message, ack). */
export function outcomeOf (res: Pick<ResultResponse, 'status' | 'error' | 'message' | 'ack'>): SubmitOutcome {
  return { status: res.status, error: res.error, message: res.message, ack: res.ack }
}

/** @throws MalformedMessageError */
export function checkResultBatchResponse (msg: ResultBatchResponse): ResultBatchResponse {
  if (msg.outcomes.length > MAX_RESULTS_PER_BATCH) fail('too many outcomes')
  for (const o of msg.outcomes) if (!['accepted', 'duplicate', 'rejected'].includes(o.status)) fail(`unknown status ${o.status}`)
  if (msg.credits.length > MAX_CREDITS_PER_RESPONSE) fail('too many credit receipts')
  return msg
}

/** @throws MalformedMessageError */
export function checkResultResponse (msg: ResultResponse): ResultResponse {
  if (!['accepted', 'duplicate', 'rejected', 'none'].includes(msg.status)) fail(`unknown status ${msg.status}`)
  if (msg.credits.length > MAX_CREDITS_PER_RESPONSE) fail('too many credit receipts')
  return msg
}

/** /sparecycles/work/1.1.0: a WorkRequest plus a well-formed partner site key. @throws MalformedMessageError */
export function checkSiteWorkRequest (msg: SiteWorkRequest): SiteWorkRequest {
  checkWorkRequest(msg)
  if (!isSiteKey(msg.siteKey)) fail('siteKey must be site_ followed by 16 to 64 characters of [A-Za-z0-9_-]')
  return msg
}
