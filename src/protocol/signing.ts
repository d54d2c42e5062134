/**
 * Signing envelopes: what a volunteer signs for a result and what a hub signs for a receipt.
 *
 * Signed bytes are `domain (UTF-8) || 0x00 || body`, in the style of libp2p's signed envelope
 * (domain separation keeps a signature for one purpose from being replayed for another). Bodies
 * are protons encodings, which write fields in field-number order and so are deterministic; the
 * verifier checks the exact bytes that were signed and never re-encodes.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { processProof } from '@openzeppelin/merkle-tree/dist/core.js'
import { fromString } from 'uint8arrays'
import { BadReceiptError, BadSignatureError, MalformedMessageError } from './errors.ts'
import { CreditEntry, HubReceipt, ResultAck, ResultPayload, SignedResult } from './pb/messages.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const RESULT_SIGNING_DOMAIN = 'sparecycles-result-v1'
export const RECEIPT_SIGNING_DOMAIN = 'sparecycles-receipt-v1'
/** Receipts signed once a batch (result/3.0.0 acks: result-batch.ts signReceiptBatch). */
export const RECEIPT_BATCH_SIGNING_DOMAIN = 'sparecycles-receipt-batch-v1'

const encoder = new TextEncoder()

/** `domain || 0x00 || body`: the exact bytes that get signed. */
export function signingBytes (domain: string, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(domain)
  const out = new Uint8Array(prefix.length + 1 + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length + 1)
  return out
}

/** sha-256 of `bytes` (32 bytes). */
export function sha256Bytes (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** Sign a result payload with the volunteer's key. */
export async function signResult (payload: ResultPayload, key: PrivateKey): Promise<SignedResult> {
  const body = ResultPayload.encode(payload)
  const signature = await key.sign(signingBytes(RESULT_SIGNING_DOMAIN, body))
  return { payload: body, publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>, signature: signature as Uint8Array<ArrayBuffer> }
}

export interface VerifiedResult {
  payload: ResultPayload
  /** Peer id (base58btc string) derived from the signer's public key. */
  signerPeerId: string
}

/** Checks one signature (e.g. the hub's Ed25519Verifier, which keeps key objects); default the key's own `verify`. */
export type SignatureCheck = (publicKey: PublicKey, data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>

/**
 * A result signer's key from its libp2p protobuf encoding (`08 01 12 20` + 32 bytes for Ed25519).
 * @throws MalformedMessageError when it does not decode or is not Ed25519
 */
export function signerKeyOf (publicKeyBytes: Uint8Array): PublicKey {
  let publicKey: PublicKey
  try {
    publicKey = publicKeyFromProtobuf(publicKeyBytes)
  } catch (err) {
    throw new MalformedMessageError(`bad signer public key: ${(err as Error).message}`)
  }
  if (publicKey.type !== 'Ed25519') throw new MalformedMessageError(`signer key must be Ed25519, got ${publicKey.type}`)
  return publicKey
}

/**
 * Check a signed result's signature and decode its payload.
 * @param check how the signature is checked (default `publicKey.verify`)
 * @throws MalformedMessageError when the key or payload cannot be decoded
 * @throws BadSignatureError when the signature does not verify
 */
export async function verifySignedResult (signed: SignedResult, check?: SignatureCheck): Promise<VerifiedResult> {
  const publicKey = signerKeyOf(signed.publicKey)
  if (signed.signature.length !== 64) throw new BadSignatureError(`an Ed25519 signature is 64 bytes, got ${signed.signature.length}`)
  const data = signingBytes(RESULT_SIGNING_DOMAIN, signed.payload)
  const ok = await (check != null ? check(publicKey, data, signed.signature) : publicKey.verify(data, signed.signature))
  if (!ok) throw new BadSignatureError('result signature does not verify')
  return { payload: decodeResultPayload(signed.payload), signerPeerId: peerIdFromPublicKey(publicKey).toString() }
}

/**
 * Decode an encoded ResultPayload (its signature checked elsewhere).
 * @throws MalformedMessageError when it does not decode
 */
export function decodeResultPayload (bytes: Uint8Array): ResultPayload {
  try {
    return ResultPayload.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(`bad result payload: ${(err as Error).message}`)
  }
}

/**
 * Wrap an encoded body (ResultAck or CreditEntry) in a receipt signed by the deployment's ledger
 * key (ledger-key.ts; a single hub's own key): `signature` = Ed25519 over
 * `RECEIPT_SIGNING_DOMAIN ("sparecycles-receipt-v1") || 0x00 || sha-256(body)` (55 bytes).
 */
export async function signReceipt (body: Uint8Array<ArrayBuffer>, ledgerKey: PrivateKey): Promise<HubReceipt> {
  const bodyHash = sha256Bytes(body)
  const signature = await ledgerKey.sign(signingBytes(RECEIPT_SIGNING_DOMAIN, bodyHash))
  return { body, bodyHash: bodyHash as Uint8Array<ArrayBuffer>, signature: signature as Uint8Array<ArrayBuffer>, proof: [] }
}

/**
 * Check a hub receipt against one public key: the ledger key the hub presents (ledger-key.ts,
 * `verifyReceiptFrom` also takes the hub's own key), or the hub's own key where it presents none.
 * A receipt with a `proof` is one of a batch signed once (result-batch.ts signReceiptBatch): its
 * signature is over `RECEIPT_BATCH_SIGNING_DOMAIN || 0x00 || root`, the root that `bodyHash` and
 * the proof give (OpenZeppelin's processProof).
 * @throws BadReceiptError when the hash or the signature does not match
 */
export async function verifyReceipt (receipt: HubReceipt, ledgerPublicKey: PublicKey): Promise<void> {
  if (!bytesEqual(sha256Bytes(receipt.body), receipt.bodyHash)) throw new BadReceiptError('receipt body hash mismatch')
  if (receipt.signature.length !== 64) throw new BadReceiptError(`an Ed25519 signature is 64 bytes, got ${receipt.signature.length}`)
  let signed: Uint8Array
  if (receipt.proof.length === 0) {
    signed = signingBytes(RECEIPT_SIGNING_DOMAIN, receipt.bodyHash)
  } else {
    // one of a batch's receipts (result/3.0.0 acks): the signature is the root's, which the proof gives
    if (receipt.proof.some(node => node.length !== 32)) throw new BadReceiptError('a Merkle proof node is 32 bytes')
    const root = fromString(processProof(receipt.bodyHash, receipt.proof).slice(2), 'base16')
    signed = signingBytes(RECEIPT_BATCH_SIGNING_DOMAIN, root)
  }
  const ok = await ledgerPublicKey.verify(signed, receipt.signature)
  if (!ok) throw new BadReceiptError('receipt signature does not verify')
}

/** Decode the CreditEntry inside a verified receipt. */
export function decodeCreditEntry (receipt: HubReceipt): CreditEntry {
  return CreditEntry.decode(receipt.body)
}

/** Decode the ResultAck inside a verified receipt. */
export function decodeResultAck (receipt: HubReceipt): ResultAck {
  return ResultAck.decode(receipt.body)
}

/** The hash that chains ledger entries: sha-256 of the encoded CreditEntry. */
export function creditEntryHash (entry: CreditEntry): Uint8Array {
  return sha256Bytes(CreditEntry.encode(entry))
}

/** prevHash of the first ledger entry. */
export const GENESIS_HASH = new Uint8Array(32)
