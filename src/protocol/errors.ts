/**
 * Error classes of the wire protocols: one class per failure kind. The class name is what travels
 * in a response's `error` field and what a stream reset names.
 */

/** Base class: every protocol error has a stable `name` that is sent to the remote peer. */
export class ProtocolError extends Error {
  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** A message could not be decoded or failed its schema check. */
export class MalformedMessageError extends ProtocolError {}
/** A message was larger than the protocol's cap. */
export class MessageTooLargeError extends ProtocolError {}
/** The result's signer is not the noise-authenticated remote peer of the connection. */
export class SignerMismatchError extends ProtocolError {}
/** The result's signature does not verify against the signer's public key. */
export class BadSignatureError extends ProtocolError {}
/** The result names a replica that is not leased to the submitting peer (or does not exist). */
export class ReplicaNotLeasedError extends ProtocolError {}
/** The replica's lease ran out before the result arrived. */
export class LeaseExpiredError extends ProtocolError {}
/** The output's digest does not match its bytes, or the output does not fit the kernel. */
export class BadOutputError extends ProtocolError {}
/** A hub receipt failed verification (bad hash, signature or chain). */
export class BadReceiptError extends ProtocolError {}
/** The remote peer did not answer within the protocol's timeout. */
export class ProtocolTimeoutError extends ProtocolError {}
/** The hub answered with a named error. */
export class RemoteError extends ProtocolError {
  constructor (readonly remoteName: string, message: string) {
    super(`${remoteName}: ${message}`)
  }
}

/** Names the hub may send back in `error`. */
export type ProtocolErrorName =
  | 'MalformedMessageError'
  | 'MessageTooLargeError'
  | 'SignerMismatchError'
  | 'BadSignatureError'
  | 'ReplicaNotLeasedError'
  | 'LeaseExpiredError'
  | 'BadOutputError'
