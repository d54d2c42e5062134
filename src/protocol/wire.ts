/**
 * One request, one response, length-prefixed, over a libp2p stream — the shape of every Spare
 * Cycles protocol. Caps and timeouts come from the protocol's ProtocolLimits; anything malformed or
 * oversized resets the stream with a named error and never throws out of the handler, so the peer
 * keeps serving others.
 */
import { lpStream } from '@libp2p/utils'
import { MalformedMessageError, MessageTooLargeError, ProtocolError, ProtocolTimeoutError } from './errors.ts'
import type { ProtocolLimits } from './ids.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

export interface MessageCodec<T> {
  encode: (value: T) => Uint8Array
  decode: (bytes: Uint8Array) => T
}

/** Combine the caller's signal with the protocol timeout. */
export function withTimeout (timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal == null ? timeout : AbortSignal.any([signal, timeout])
}

function decodeOrThrow<T> (codec: MessageCodec<T>, bytes: Uint8Array, check: (v: T) => T): T {
  let value: T
  try {
    value = codec.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(`undecodable message: ${(err as Error).message}`)
  }
  return check(value)
}

/** Map errors from reading a length-prefixed message to protocol errors. */
function readError (err: unknown, signal: AbortSignal): Error {
  const e = err as Error
  if (e instanceof ProtocolError) return e
  if (e?.name === 'InvalidDataLengthError' || e?.name === 'InvalidDataLengthLengthError') return new MessageTooLargeError(e.message)
  if (e?.name === 'InvalidMessageLengthError') return new MalformedMessageError(e.message)
  if (signal.aborted) return new ProtocolTimeoutError(`timed out or aborted: ${e?.message ?? String(err)}`)
  return e
}

export interface RequestOptions<Req, Res> {
  stream: Stream
  request: Req
  requestCodec: MessageCodec<Req>
  responseCodec: MessageCodec<Res>
  checkResponse: (res: Res) => Res
  limits: ProtocolLimits
  signal?: AbortSignal
}

/**
 * Client side: write one request on an opened stream and read one response.
 * @throws MessageTooLargeError, MalformedMessageError, ProtocolTimeoutError, or the stream's error
 */
export async function requestResponse<Req, Res> (opts: RequestOptions<Req, Res>): Promise<Res> {
  const signal = withTimeout(opts.limits.timeoutMs, opts.signal)
  const lp = lpStream(opts.stream, { maxDataLength: opts.limits.maxResponseBytes })
  try {
    await lp.write(opts.requestCodec.encode(opts.request), { signal })
    let bytes: Uint8Array
    try {
      bytes = (await lp.read({ signal })).subarray()
    } catch (err) {
      throw readError(err, signal)
    }
    const res = decodeOrThrow(opts.responseCodec, bytes, opts.checkResponse)
    await opts.stream.close({ signal }).catch(() => {})
    return res
  } catch (err) {
    opts.stream.abort(err as Error)
    throw err
  }
}

export interface ServeOptions<Req, Res> {
  requestCodec: MessageCodec<Req>
  responseCodec: MessageCodec<Res>
  checkRequest: (req: Req) => Req
  limits: ProtocolLimits
  /** Produce the response; a thrown ProtocolError is turned into a stream reset naming it. */
  handle: (req: Req, connection: Connection, signal: AbortSignal) => Promise<Res>
  /** Called with every stream that ended in an error (for logs and counters). */
  onStreamError?: (err: Error, connection: Connection) => void
}

/**
 * Server side: a libp2p stream handler that reads one request, answers it and closes. A malformed
 * or oversized request (or a handler error) resets the stream with the named error; nothing is
 * thrown to libp2p.
 */
export function serveRequestResponse<Req, Res> (opts: ServeOptions<Req, Res>): (stream: Stream, connection: Connection) => Promise<void> {
  return async (stream, connection) => {
    const signal = withTimeout(opts.limits.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: opts.limits.maxRequestBytes })
    try {
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal })).subarray()
      } catch (err) {
        throw readError(err, signal)
      }
      const req = decodeOrThrow(opts.requestCodec, bytes, opts.checkRequest)
      const res = await opts.handle(req, connection, signal)
      await lp.write(opts.responseCodec.encode(res), { signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      opts.onStreamError?.(e, connection)
      stream.abort(e)
    }
  }
}

/** Everything about one protocol id that both ends need: codecs, schema checks and limits. */
export interface ProtocolSpec<Req, Res> {
  id: string
  requestCodec: MessageCodec<Req>
  responseCodec: MessageCodec<Res>
  checkRequest: (req: Req) => Req
  checkResponse: (res: Res) => Res
  limits: ProtocolLimits
}

/** The part of a libp2p node these helpers use (a full Libp2p satisfies it). */
export interface ProtocolNode {
  dialProtocol: (peer: PeerId, protocols: string, options?: { signal?: AbortSignal }) => Promise<Stream>
  handle: (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: { maxInboundStreams?: number }) => Promise<void>
}

/**
 * Client side of one exchange: open a stream to `peer` on `spec.id`, send `request`, read the
 * checked response.
 * @throws MessageTooLargeError, MalformedMessageError, ProtocolTimeoutError, or a dial error
 */
export async function callProtocol<Req, Res> (node: ProtocolNode, peer: PeerId, spec: ProtocolSpec<Req, Res>, request: Req, signal?: AbortSignal): Promise<Res> {
  const stream = await node.dialProtocol(peer, spec.id, { signal })
  return await requestResponse({ stream, request, requestCodec: spec.requestCodec, responseCodec: spec.responseCodec, checkResponse: spec.checkResponse, limits: spec.limits, signal })
}

/**
 * Server side: register `handle` for `spec.id` with the protocol's inbound-stream cap; streams that
 * end in an error are reported to `onStreamError` with the protocol id and the remote peer.
 */
export async function handleProtocol<Req, Res> (
  node: ProtocolNode,
  spec: ProtocolSpec<Req, Res>,
  handle: (req: Req, connection: Connection, signal: AbortSignal) => Promise<Res>,
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
): Promise<void> {
  await node.handle(spec.id, serveRequestResponse<Req, Res>({
    requestCodec: spec.requestCodec,
    responseCodec: spec.responseCodec,
    checkRequest: spec.checkRequest,
    limits: spec.limits,
    handle,
    onStreamError: (err, connection) => onStreamError?.(spec.id, err, connection.remotePeer.toString())
  }), { maxInboundStreams: spec.limits.maxInboundStreams })
}
