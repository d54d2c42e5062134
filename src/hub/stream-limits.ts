/**
 * Stream-level limits of the hub's protocols: the hub-wide budget of buffered request bytes
 * (`maxRequestMemoryBytes`) and the mapping of stream errors to limit names (wire.ts tags the
 * errors its limits raise; `streamLimitOf`).
 */
import { streamLimitOf } from '../protocol/index.ts'
import type { ByteBudget } from '../protocol/index.ts'
import type { LimitHitListener } from './limits.ts'

/** Requests up to this size (leases, result/1.0.0 submissions, queries) may use the budget's headroom, in bytes. */
export const SMALL_REQUEST_BYTES = 64 * 1024

/**
 * A ByteBudget of `maxBytes` shared by every stream of the hub. Large requests may fill it only up
 * to `maxBytes` minus a headroom (a quarter, at most 16 MiB) that stays for small requests, so
 * strangers trickling in large requests cannot stop honest volunteers from leasing and submitting.
 */
export function requestBudget (maxBytes: number): ByteBudget & { readonly used: number } {
  let used = 0
  const headroom = Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 4))
  return {
    get used () { return used },
    reserve (bytes) {
      const limit = bytes <= SMALL_REQUEST_BYTES ? maxBytes : maxBytes - headroom
      if (used + bytes > limit) return false
      used += bytes
      return true
    },
    release (bytes) { used = Math.max(0, used - bytes) }
  }
}

/**
 * An `onStreamError` that reports the limit behind a stream error to `onLimitHit` (as
 * 'stream-deadline', 'stream-bytes', 'length-prefix', 'message-bytes' or 'request-memory') and
 * passes every error on to `next`.
 */
export function streamErrorReporter (onLimitHit: LimitHitListener, next?: (protocol: string, err: Error, remotePeer: string) => void): (protocol: string, err: Error, remotePeer: string) => void {
  return (protocol, err, remotePeer) => {
    const limit = streamLimitOf(err)
    if (limit != null) onLimitHit(limit, { protocol, peer: remotePeer, message: err.message })
    next?.(protocol, err, remotePeer)
  }
}
