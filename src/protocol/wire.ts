/**
 * One request, one response, length-prefixed, over a libp2p stream — the shape of every Spare
 * Cycles protocol. Caps and timeouts come from the protocol's ProtocolLimits; anything malformed or
 * oversized resets the stream with a named error and never throws out of the handler, so the peer
 * keeps serving others.
 */
import { lpStream } from '@libp2p/utils'
import { MalformedMessageError, MessageTooLargeError, ProtocolError, ProtocolTimeoutError, ResourceLimitError } from './errors.ts'
import type { ProtocolLimits } from './ids.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * How often a volunteer's libp2p node pings each peer it is connected to, ms (libp2p's connection
 * monitor; its default is 10 s). Every ping is a stream of its own at the hub: at 10 s, 1,000
 * connected volunteers cost the hub 100 stream opens a second that carry no work (issue 14). The
 * hub pings each connection once a minute itself (limits.pingIntervalMs) and finds a dead one; a
 * volunteer finds one at its next request.
 */
export const VOLUNTEER_PING_INTERVAL_MS = 60_000

export interface MessageCodec<T> {
  encode: (value: T) => Uint8Array
  decode: (bytes: Uint8Array) => T
}

/** Combine the caller's signal with the protocol timeout. */
export function withTimeout (timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal == null ? timeout : AbortSignal.any([signal, timeout])
}

/**
 * Names of the stream limits, as carried by the errors they raise (`streamLimitOf`); the hub
 * reports them under the same names (src/hub/limits.ts).
 */
export type StreamLimitName = 'stream-deadline' | 'stream-bytes' | 'length-prefix' | 'message-bytes' | 'request-memory'

/** The stream limit that raised `err`, if one did. */
export function streamLimitOf (err: unknown): StreamLimitName | undefined {
  return (err as { limit?: StreamLimitName } | undefined)?.limit
}

function limited<E extends Error> (err: E, limit: StreamLimitName): E {
  return Object.assign(err, { limit })
}

/** Bytes of the unsigned varint that encodes `n` (the longest length prefix a message of n bytes needs). */
export function varintLength (n: number): number {
  let len = 1
  while (n >= 128) { n = Math.floor(n / 128); len++ }
  return len
}

/**
 * Memory shared by all streams of a node: a request's declared length is reserved before its body
 * is read and released when the exchange ends (go-libp2p's resource manager does the same).
 */
export interface ByteBudget {
  /** Reserve `bytes`; false (nothing reserved) when the budget cannot hold them. */
  reserve: (bytes: number) => boolean
  release: (bytes: number) => void
}

/**
 * A length-prefix decoder for messages of at most `maxBytes`: an unfinished varint longer than the
 * longest prefix `maxBytes` needs is refused at once (lpStream's own check runs only once a varint
 * decodes, so endless 0xff bytes would be read forever), a declared length above `maxBytes` too.
 * `admit` sees the declared length before the body is read.
 * @throws MessageTooLargeError (limit 'length-prefix' or 'message-bytes'), RangeError for "read another byte"
 */
function boundedLengthDecoder (maxBytes: number, admit?: (length: number) => void): (data: Uint8ArrayList) => number {
  const maxLengthLength = varintLength(maxBytes)
  return (data) => {
    let value = 0
    for (let i = 0; i < data.byteLength; i++) {
      if (i >= maxLengthLength) throw limited(new MessageTooLargeError(`length prefix longer than ${maxLengthLength} bytes`), 'length-prefix')
      const byte = data.get(i)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if ((byte & 0x80) === 0) {
        if (value > maxBytes) throw limited(new MessageTooLargeError(`message of ${value} bytes above the cap of ${maxBytes}`), 'message-bytes')
        admit?.(value)
        return value
      }
    }
    if (data.byteLength >= maxLengthLength) throw limited(new MessageTooLargeError(`length prefix longer than ${maxLengthLength} bytes`), 'length-prefix')
    throw new RangeError('unfinished varint')
  }
}

/**
 * A length-prefixed view of `stream` for messages of at most `maxBytes`: its read buffer holds one
 * capped message and its prefix, no more and no less (libp2p's default of 4 MiB would refuse a
 * larger capped message and let a smaller protocol buffer 4 MiB).
 */
function cappedLpStream (stream: Stream, maxBytes: number, admit?: (length: number) => void): ReturnType<typeof lpStream<Stream>> {
  return lpStream(stream, {
    maxDataLength: maxBytes,
    maxLengthLength: varintLength(maxBytes),
    maxBufferSize: maxBytes + varintLength(maxBytes),
    lengthDecoder: boundedLengthDecoder(maxBytes, admit)
  })
}

/**
 * A hard deadline on `stream`: when `signal` fires the stream is aborted with a
 * ProtocolTimeoutError (limit 'stream-deadline'), however many bytes are still arriving. Returns
 * the function that disarms it.
 */
function armDeadline (stream: Stream, signal: AbortSignal, timeoutMs: number): () => void {
  const onAbort = (): void => { stream.abort(limited(new ProtocolTimeoutError(`no complete exchange within ${timeoutMs} ms`), 'stream-deadline')) }
  signal.addEventListener('abort', onAbort, { once: true })
  return () => { signal.removeEventListener('abort', onAbort) }
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
  if (signal.aborted) return limited(new ProtocolTimeoutError(`timed out or aborted: ${e?.message ?? String(err)}`), 'stream-deadline')
  if (e?.name === 'StreamBufferError') return limited(new MessageTooLargeError(e.message), 'stream-bytes')
  if (e?.name === 'InvalidDataLengthError') return limited(new MessageTooLargeError(e.message), 'message-bytes')
  if (e?.name === 'InvalidDataLengthLengthError') return limited(new MessageTooLargeError(e.message), 'length-prefix')
  if (e?.name === 'InvalidMessageLengthError') return new MalformedMessageError(e.message)
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
  /** Told the bytes of each message as it passes: the request once written, the response once read (length prefix included). */
  onBytes?: ByteCounter
}

/**
 * Told the bytes one exchange put on its stream, in bytes: `sent` for the request, `received` for
 * the response, each its protocol message plus its varint length prefix (the stream's payload;
 * libp2p's own framing, multistream-select, encryption and transport bytes are not included).
 */
export type ByteCounter = (sent: number, received: number) => void

/**
 * Client side: write one request on an opened stream and read one response.
 * @throws MessageTooLargeError, MalformedMessageError, ProtocolTimeoutError, or the stream's error
 */
export async function requestResponse<Req, Res> (opts: RequestOptions<Req, Res>): Promise<Res> {
  const signal = withTimeout(opts.limits.timeoutMs, opts.signal)
  const disarm = armDeadline(opts.stream, signal, opts.limits.timeoutMs)
  const lp = cappedLpStream(opts.stream, opts.limits.maxResponseBytes)
  try {
    const body = opts.requestCodec.encode(opts.request)
    await lp.write(body, { signal })
    opts.onBytes?.(body.length + varintLength(body.length), 0)
    let bytes: Uint8Array
    try {
      bytes = (await lp.read({ signal })).subarray()
    } catch (err) {
      throw readError(err, signal)
    }
    opts.onBytes?.(0, bytes.length + varintLength(bytes.length))
    const res = decodeOrThrow(opts.responseCodec, bytes, opts.checkResponse)
    await opts.stream.close({ signal }).catch(() => {})
    return res
  } catch (err) {
    opts.stream.abort(err as Error)
    throw err
  } finally {
    disarm()
  }
}

export interface ServeOptions<Req, Res> {
  requestCodec: MessageCodec<Req>
  responseCodec: MessageCodec<Res>
  checkRequest: (req: Req) => Req
  limits: ProtocolLimits
  /** Produce the response; a thrown ProtocolError is turned into a stream reset naming it. */
  handle: (req: Req, connection: Connection, signal: AbortSignal) => Promise<Res>
  /** Called with every stream that ended in an error (for logs and counters); `streamLimitOf(err)` names a limit. */
  onStreamError?: (err: Error, connection: Connection) => void
  /**
   * The cap for this connection's request, in bytes, decided before anything is read (e.g. small for
   * peers that may only query); at most `limits.maxRequestBytes`. Default: `limits.maxRequestBytes`.
   */
  maxRequestBytesFor?: (connection: Connection) => number | Promise<number>
  /** Memory shared by all streams: each request's declared length is reserved before its body is read. */
  budget?: ByteBudget
  /** Called with the size of every request read in full, in bytes (for a bytes-in counter). */
  onRequestBytes?: (bytes: number) => void
  /** Called with the bytes of every response written, its length prefix included (for a bytes-out counter). */
  onResponseBytes?: (bytes: number) => void
}

/**
 * Server side: a libp2p stream handler that reads one request, answers it and closes. A malformed
 * or oversized request (or a handler error) resets the stream with the named error; nothing is
 * thrown to libp2p. Limits: the request's cap bounds the length prefix and the read buffer; the
 * protocol's timeout is a hard deadline for the whole exchange (arriving bytes do not extend it).
 */
export function serveRequestResponse<Req, Res> (opts: ServeOptions<Req, Res>): (stream: Stream, connection: Connection) => Promise<void> {
  return async (stream, connection) => {
    const signal = withTimeout(opts.limits.timeoutMs)
    const disarm = armDeadline(stream, signal, opts.limits.timeoutMs)
    let reserved = 0
    try {
      const cap = Math.min(opts.limits.maxRequestBytes, await opts.maxRequestBytesFor?.(connection) ?? Infinity)
      const lp = cappedLpStream(stream, cap, (length) => {
        if (opts.budget == null) return
        if (!opts.budget.reserve(length)) throw limited(new ResourceLimitError(`the hub is buffering too many requests to take ${length} more bytes`), 'request-memory')
        reserved = length
      })
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal })).subarray()
      } catch (err) {
        throw readError(err, signal)
      }
      opts.onRequestBytes?.(bytes.length)
      const req = decodeOrThrow(opts.requestCodec, bytes, opts.checkRequest)
      const res = await opts.handle(req, connection, signal)
      const body = opts.responseCodec.encode(res)
      await lp.write(body, { signal })
      opts.onResponseBytes?.(body.length + varintLength(body.length))
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      opts.onStreamError?.(e, connection)
      stream.abort(e)
    } finally {
      disarm()
      if (reserved > 0) opts.budget?.release(reserved)
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
 * checked response; `onBytes` is told the bytes of each message (see ByteCounter).
 * @throws MessageTooLargeError, MalformedMessageError, ProtocolTimeoutError, or a dial error
 */
export async function callProtocol<Req, Res> (node: ProtocolNode, peer: PeerId, spec: ProtocolSpec<Req, Res>, request: Req, signal?: AbortSignal, onBytes?: ByteCounter): Promise<Res> {
  const stream = await node.dialProtocol(peer, spec.id, { signal })
  return await requestResponse({ stream, request, requestCodec: spec.requestCodec, responseCodec: spec.responseCodec, checkResponse: spec.checkResponse, limits: spec.limits, signal, onBytes })
}

/** Hub-side options of `handleProtocol` beyond the spec (see ServeOptions). */
export type HandleOptions = Pick<ServeOptions<unknown, unknown>, 'maxRequestBytesFor' | 'budget'> & {
  /** Called with the protocol id and size of every request read in full, in bytes. */
  onRequestBytes?: (protocol: string, bytes: number) => void
  /** Called with the bytes of every response written (length prefix included), as a ByteCounter's `sent`. */
  onResponseBytes?: (bytes: number) => void
}

/**
 * Server side: register `handle` for `spec.id` with the protocol's inbound-stream cap; streams that
 * end in an error are reported to `onStreamError` with the protocol id and the remote peer.
 */
export async function handleProtocol<Req, Res> (
  node: ProtocolNode,
  spec: ProtocolSpec<Req, Res>,
  handle: (req: Req, connection: Connection, signal: AbortSignal) => Promise<Res>,
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void,
  options: HandleOptions = {}
): Promise<void> {
  const { onRequestBytes, ...serveOptions } = options
  await node.handle(spec.id, serveRequestResponse<Req, Res>({
    ...serveOptions,
    onRequestBytes: onRequestBytes == null ? undefined : bytes => { onRequestBytes(spec.id, bytes) },
    requestCodec: spec.requestCodec,
    responseCodec: spec.responseCodec,
    checkRequest: spec.checkRequest,
    limits: spec.limits,
    handle,
    onStreamError: (err, connection) => onStreamError?.(spec.id, err, connection.remotePeer.toString())
  }), { maxInboundStreams: spec.limits.maxInboundStreams })
}
