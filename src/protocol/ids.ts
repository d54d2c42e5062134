/**
 * Protocol ids, size caps and timeouts of the Spare Cycles wire protocols.
 *
 * A change of wire format is a new protocol id (`/sparecycles/<name>/<semver>`), never an edit.
 * Each protocol declares its maximum message size, maximum inbound streams per connection and a
 * timeout for one request/response exchange.
 */

/** Lease replicas of work units: one WorkRequest -> one WorkResponse per stream. */
export const WORK_PROTOCOL = '/sparecycles/work/1.0.0'
/** Submit signed results and collect hub receipts: one ResultRequest -> one ResultResponse. */
export const RESULT_PROTOCOL = '/sparecycles/result/1.0.0'
/**
 * Lease replicas for a partner site's embed: one SiteWorkRequest (WorkRequest + siteKey) -> one
 * WorkResponse. Same limits as WORK_PROTOCOL (WORK_LIMITS); 1.0.0 stays served alongside it.
 */
export const WORK_SITE_PROTOCOL = '/sparecycles/work/1.1.0'

export interface ProtocolLimits {
  /** Largest length-prefixed request body accepted, in bytes. */
  maxRequestBytes: number
  /** Largest length-prefixed response body accepted, in bytes. */
  maxResponseBytes: number
  /** Concurrent inbound streams of this protocol per connection. */
  maxInboundStreams: number
  /** Whole request/response exchange, in milliseconds. */
  timeoutMs: number
}

export const WORK_LIMITS: ProtocolLimits = {
  maxRequestBytes: 16 * 1024,
  maxResponseBytes: 256 * 1024,
  maxInboundStreams: 4,
  timeoutMs: 10_000
}

/**
 * work/2.0.0: the same, with room in a request for its longest lists: MAX_RELEASES_PER_REQUEST
 * give-backs and MAX_HOLDING_PER_REQUEST held replica ids, each up to MAX_ID_CHARS (~70 KB).
 */
export const WORK_LIMITS_V2: ProtocolLimits = { ...WORK_LIMITS, maxRequestBytes: 96 * 1024 }

export const RESULT_LIMITS: ProtocolLimits = {
  maxRequestBytes: 64 * 1024,
  maxResponseBytes: 512 * 1024,
  maxInboundStreams: 8,
  timeoutMs: 15_000
}

/** Most replicas one WorkRequest may ask for. */
export const MAX_LEASES_PER_REQUEST = 16
/** Most replica ids one WorkRequest may release. */
export const MAX_RELEASES_PER_REQUEST = 256
/** Most replica ids a work/2.0.0 request lists as held by the page (`holding`). */
export const MAX_HOLDING_PER_REQUEST = 256
/** Most credit receipts returned in one ResultResponse. */
export const MAX_CREDITS_PER_RESPONSE = 200
/** Largest kernel output carried in one result, in bytes. */
export const MAX_OUTPUT_BYTES = 32 * 1024
/**
 * Largest signed payload (a ResultPayload with an output of MAX_OUTPUT_BYTES and room for its other
 * fields) that result/1.0.0 and a result/2.0.0 batch carry, in bytes; larger ones go over result/1.1.0.
 */
export const MAX_SMALL_PAYLOAD_BYTES = MAX_OUTPUT_BYTES + 4096
/** Longest id string (replica, work unit, job, kernel) accepted, in characters. */
export const MAX_ID_CHARS = 128
/** Longest free-text error message accepted in a result, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 1024

/**
 * Device classes a WorkRequest of work/1.0.0 or 1.1.0 may declare. Results carry a full DeviceClass
 * (capabilities.ts: `wasm` or `webgpu:<vendor>/<architecture>`).
 */
export type LegacyDeviceClass = 'wasm' | 'webgpu'
export const LEGACY_DEVICE_CLASSES: readonly LegacyDeviceClass[] = ['wasm', 'webgpu']

/** Outcome of running one replica, as reported by the volunteer. */
export type ResultOutcome = 'success' | 'client-error'
export const RESULT_OUTCOMES: readonly ResultOutcome[] = ['success', 'client-error']

/** Status of a ResultResponse. */
export type SubmitStatus = 'accepted' | 'duplicate' | 'rejected' | 'none'

/**
 * `/sparecycles/result/1.1.0`: the same ResultRequest/ResultResponse messages as 1.0.0 with larger
 * caps, for kernels whose output exceeds MAX_OUTPUT_BYTES (a 256 x 256 f32 matmul tile is
 * 256 KiB). Hubs serve both versions; a volunteer uses 1.1.0 only for a request too big for 1.0.0.
 */
export const RESULT_PROTOCOL_V1_1 = '/sparecycles/result/1.1.0'
/** Largest kernel output carried in one result over result/1.1.0: a 512 x 512 f32 tile + header. */
export const MAX_LARGE_OUTPUT_BYTES = 1024 * 1024 + 64
export const RESULT_LIMITS_V1_1: ProtocolLimits = {
  maxRequestBytes: MAX_LARGE_OUTPUT_BYTES + 16 * 1024,
  maxResponseBytes: 512 * 1024,
  maxInboundStreams: 4,
  timeoutMs: 30_000
}

/**
 * `/sparecycles/result/2.0.0` (issue 14): one ResultBatchRequest (up to MAX_RESULTS_PER_BATCH
 * signed results, each output at most MAX_OUTPUT_BYTES) -> one ResultBatchResponse (an outcome per
 * result, in order, and the peer's credit receipts). Hubs serve it beside result/1.x; a volunteer
 * uses it for whatever its outbox holds, result/1.1.0 for an output too big for it, and result/1.0.0
 * with a hub that does not speak 2.0.0.
 */
export const RESULT_PROTOCOL_V2 = '/sparecycles/result/2.0.0'
/** Most results in one ResultBatchRequest. */
export const MAX_RESULTS_PER_BATCH = 64
/** Largest ResultBatchRequest, in bytes (the volunteer splits its outbox to fit). */
export const MAX_RESULT_BATCH_BYTES = 1024 * 1024
export const RESULT_LIMITS_V2: ProtocolLimits = {
  maxRequestBytes: MAX_RESULT_BATCH_BYTES,
  maxResponseBytes: 1024 * 1024,
  maxInboundStreams: 4,
  timeoutMs: 30_000
}

/**
 * `/sparecycles/result/3.0.0` (issue 14): one SignedResultBatchRequest (1 to MAX_RESULTS_PER_BATCH
 * encoded payloads, each at most MAX_SMALL_PAYLOAD_BYTES, signed once over their Merkle root:
 * result-batch.ts) -> one ResultBatchResponse, as result/2.0.0. Hubs serve it beside 2.0.0 and
 * 1.x; a volunteer uses it first and falls back to 2.0.0 with a hub that does not speak it.
 */
export const RESULT_PROTOCOL_V3 = '/sparecycles/result/3.0.0'
export const RESULT_LIMITS_V3: ProtocolLimits = RESULT_LIMITS_V2
