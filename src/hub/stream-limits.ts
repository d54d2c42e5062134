/**
 * Stream-level limits of the hub's protocols: the hub-wide budget of buffered request bytes
 * (`maxRequestMemoryBytes`) and the mapping of stream errors to limit names (wire.ts tags the
 * errors its limits raise; `streamLimitOf`).
 */
import { streamLimitOf } from '../protocol/index.ts'
import type { ByteBudget } from '../protocol/index.ts'
import type { LimitHitListener } from './limits.ts'

/** A ByteBudget of `maxBytes` shared by every stream of the hub. */
export function requestBudget (maxBytes: number): ByteBudget & { readonly used: number } {
  let used = 0
  return {
    get used () { return used },
    reserve (bytes) {
      if (used + bytes > maxBytes) return false
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
