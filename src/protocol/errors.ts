/**
 * Error classes of the wire protocols: one class per failure kind. The class name is what travels
 * in a response's `error` field and what a stream reset names.
 */

/** Base class: every protocol error has a stable `name` that is sent to the remote peer. */
export class ProtocolError extends Error {
  static override readonly name: ErrorName = 'ProtocolError'
  override readonly name: ErrorName = 'ProtocolError'
  constructor (message: string) {
    super(message)
  }
}

/** A message could not be decoded or failed its schema check. */
export class MalformedMessageError extends ProtocolError {
  static override readonly name: ErrorName = 'MalformedMessageError'
  override readonly name: ErrorName = 'MalformedMessageError'
}
/** A message was larger than the protocol's cap. */
export class MessageTooLargeError extends ProtocolError {
  static override readonly name: ErrorName = 'MessageTooLargeError'
  override readonly name: ErrorName = 'MessageTooLargeError'
}
/** The result's signer is not the noise-authenticated remote peer of the connection. */
export class SignerMismatchError extends ProtocolError {
  static override readonly name: ErrorName = 'SignerMismatchError'
  override readonly name: ErrorName = 'SignerMismatchError'
}
/** The result's signature does not verify against the signer's public key. */
export class BadSignatureError extends ProtocolError {
  static override readonly name: ErrorName = 'BadSignatureError'
  override readonly name: ErrorName = 'BadSignatureError'
}
/** The result names a replica that is not leased to the submitting peer (or does not exist). */
export class ReplicaNotLeasedError extends ProtocolError {
  static override readonly name: ErrorName = 'ReplicaNotLeasedError'
  override readonly name: ErrorName = 'ReplicaNotLeasedError'
}
/** The replica's lease ran out before the result arrived. */
export class LeaseExpiredError extends ProtocolError {
  static override readonly name: ErrorName = 'LeaseExpiredError'
  override readonly name: ErrorName = 'LeaseExpiredError'
}
/** The output's digest does not match its bytes, or the output does not fit the kernel. */
export class BadOutputError extends ProtocolError {
  static override readonly name: ErrorName = 'BadOutputError'
  override readonly name: ErrorName = 'BadOutputError'
  /**
   * True when the output could not come from any honest run (a count outside proven bounds): the
   * hub then treats the submission as proof of cheating. False for shape errors an outdated page can make.
   */
  readonly proof: boolean

  constructor (message: string, opts: { proof?: boolean } = {}) {
    super(message)
    this.proof = opts.proof ?? false
  }
}
/** A hub receipt failed verification (bad hash, signature or chain). */
export class BadReceiptError extends ProtocolError {
  static override readonly name: ErrorName = 'BadReceiptError'
  override readonly name: ErrorName = 'BadReceiptError'
}
/**
 * A hub's ledger-key delegation (protocol/ledger-key.ts) does not verify against the hub's own key:
 * the ledger key it presents is not one the hub vouches for, so no receipt is checked against it.
 */
export class BadLedgerDelegationError extends ProtocolError {
  static override readonly name: ErrorName = 'BadLedgerDelegationError'
  override readonly name: ErrorName = 'BadLedgerDelegationError'
}
/** The remote peer did not answer within the protocol's timeout. */
export class ProtocolTimeoutError extends ProtocolError {
  static override readonly name: ErrorName = 'ProtocolTimeoutError'
  override readonly name: ErrorName = 'ProtocolTimeoutError'
}
/** The peer sent more requests than its rate allows (hub per-peer limits, src/hub/peer-limits.ts); try again later. */
export class RateLimitedError extends ProtocolError {
  static override readonly name: ErrorName = 'RateLimitedError'
  override readonly name: ErrorName = 'RateLimitedError'
}
/**
 * The hub cannot reach its store (a PostgreSQL server gone or restarting): it leases nothing and
 * acknowledges nothing until the store is back; try again later. Nothing unacknowledged was kept.
 */
export class StoreUnavailableError extends ProtocolError {
  static override readonly name: ErrorName = 'StoreUnavailableError'
  override readonly name: ErrorName = 'StoreUnavailableError'
}
/** The hub is at one of its resource limits (memory for buffered requests); try again later. */
export class ResourceLimitError extends ProtocolError {
  static override readonly name: ErrorName = 'ResourceLimitError'
  override readonly name: ErrorName = 'ResourceLimitError'
}
/** The hub answered with a named error. */
export class RemoteError extends ProtocolError {
  static override readonly name: ErrorName = 'RemoteError'
  override readonly name: ErrorName = 'RemoteError'
  constructor (readonly remoteName: string, message: string) {
    super(`${remoteName}: ${message}`)
  }
}

/**
 * Every error name that travels: in a response's `error` field or a stream reset (wire), from a
 * worker to the page (worker), or to a user as a refusal (local). Each class sets this literal as
 * both `static name` and `this.name`, so the names survive minification of the shipped page
 * (`new.target.name` would become the bundler's short class name). `test/errors.names.test.ts`
 * checks every class against this list; `test/e2e.error-names.test.ts` checks the built page.
 */
export const WIRE_ERROR_NAMES = [
  'ProtocolError', 'MalformedMessageError', 'MessageTooLargeError', 'SignerMismatchError',
  'BadSignatureError', 'ReplicaNotLeasedError', 'LeaseExpiredError', 'BadOutputError', 'TileShapeError',
  'BadReceiptError', 'ProtocolTimeoutError', 'ResourceLimitError', 'RemoteError', 'BlobNotFoundError', 'BlobHashMismatchError', 'BlobServeLimitError',
  'ResearcherNotAllowedError', 'ResearcherMismatchError', 'UnknownJobError', 'BadJobError', 'BadTicketError',
  'ManifestError', 'ManifestSignatureError', 'InternalError', 'RateLimitedError', 'KernelWgslError', 'StoreUnavailableError',
  'MalformedPayoutAddressError', 'PayoutBindingSignatureError', 'PayoutBindingReplayError', 'PayoutBindingRefusedError'
] as const
export type WireErrorName = typeof WIRE_ERROR_NAMES[number]
/** Names a kernel host (worker) reports to the page. */
export const WORKER_ERROR_NAMES = [
  'KernelHashMismatchError', 'KernelImportError', 'KernelMemoryError', 'KernelAbiError', 'KernelRunError',
  'KernelOutputTooLargeError', 'ShaderKernelError', 'GpuDeviceLostError', 'KernelLoadError',
  'KernelUnsupportedError', 'RunAbortedError', 'WorkerCrashedError', 'DeadlineExceededError', 'RunnerError',
  'RunPreemptedError'
] as const
export type WorkerErrorName = typeof WORKER_ERROR_NAMES[number]
/** Names of refusals shown to a user (page, CLI, hub operator). */
export const LOCAL_ERROR_NAMES = [
  'MatrixFormatError', 'ShareOutOfRangeError', 'KeyFileFormatError', 'KeyFileVersionError',
  'WrongPassphraseError', 'KeyMismatchError', 'WeakPassphraseError', 'ImportBlockedError',
  'StatementFormatError', 'ResearchersFileError', 'SitesFileError', 'ResearcherKeyError', 'FlagError', 'HubUnreachableError',
  'KernelDirError', 'InputsError', 'RingerError', 'NoGpuAdapterError', 'UnknownKernelError',
  'StoreUrlError', 'StoreSchemaError', 'TransactionRetryError', 'StoreClosedError',
  'BadLedgerDelegationError', 'PayoutChainError', 'PayoutEpochError', 'NotInPayoutTreeError', 'ContractRevertError',
  'LocalEvmJournalError', 'LocalEvmMethodError', 'BadHubUrlError'
] as const
export type LocalErrorName = typeof LOCAL_ERROR_NAMES[number]
export type ErrorName = WireErrorName | WorkerErrorName | LocalErrorName
/** Every name in ErrorName. */
export const ERROR_NAMES: readonly ErrorName[] = [...WIRE_ERROR_NAMES, ...WORKER_ERROR_NAMES, ...LOCAL_ERROR_NAMES]

/** Kernel refusals: a kernel that fails one of these never runs here, so its lease is given up at once. */
export const KERNEL_REFUSAL_NAMES: ReadonlySet<ErrorName> = new Set<ErrorName>([
  'BadTicketError', 'ManifestError', 'ManifestSignatureError', 'BlobHashMismatchError', 'KernelHashMismatchError',
  'KernelImportError', 'KernelMemoryError', 'KernelAbiError'
])
