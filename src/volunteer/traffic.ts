/**
 * The page's own network traffic, measured: every Spare Cycles exchange this volunteer makes
 * (work, result and receipt, blob fetches) tells the counter the bytes of its request and of its
 * response as they pass over the libp2p stream (src/protocol/wire.ts, `ByteCounter`: each message
 * plus its varint length prefix). Not included: libp2p's own framing and protocols
 * (multistream-select, Noise, yamux, identify), WebSocket/TCP/IP headers, and the HTTP fetches of
 * the page, /hub.json and the kernel's .wasm.
 */
import type { ByteCounter } from '../protocol/index.ts'

/** Totals so far, in bytes. */
export interface TrafficTotals {
  /** Bytes of the requests this page sent. */
  sentBytes: number
  /** Bytes of the responses it received. */
  receivedBytes: number
}

/** Running totals of the bytes exchanged; `record` is the ByteCounter to hand to callProtocol. */
export class TrafficCounter {
  private sent = 0
  private received = 0

  /** The ByteCounter (bound): adds `sent` and `received` bytes. */
  readonly record: ByteCounter = (sent, received) => {
    if (Number.isFinite(sent) && sent > 0) this.sent += sent
    if (Number.isFinite(received) && received > 0) this.received += received
  }

  get totals (): TrafficTotals { return { sentBytes: this.sent, receivedBytes: this.received } }
}

/** Running time below which a per-hour rate is not given (a few seconds' burst is not an hour), ms. */
export const MIN_RATE_MS = 10_000

/**
 * Bytes per hour of running: `bytes` over `runningMs` of contributing, or null while fewer than
 * `minMs` (default MIN_RATE_MS) have run.
 * @param bytes bytes exchanged (sent + received)
 * @param runningMs milliseconds the page was contributing (Start pressed, not stopped)
 */
export function bytesPerHour (bytes: number, runningMs: number, minMs = MIN_RATE_MS): number | null {
  if (!(runningMs >= minMs) || !Number.isFinite(bytes) || bytes < 0) return null
  return bytes / (runningMs / 3_600_000)
}
