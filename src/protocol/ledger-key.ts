/**
 * The deployment's ledger key and the hub's delegation to it (issue 14).
 *
 * Every receipt and ack of a deployment is signed by ONE ledger key (HubReceipt.signature over
 * `RECEIPT_SIGNING_DOMAIN || 0x00 || bodyHash`, signing.ts), whichever of its hubs granted the
 * entry. A single hub's ledger key is its own libp2p key; hubs sharing one PostgreSQL database share
 * the ledger key in their shared directory (`ledger-key.pb`). A volunteer knows a hub by its peer
 * id (checked by noise on the connection), so each hub presents the ledger key with a
 * **delegation**: its own libp2p key's signature over
 *
 * ```
 * "sparecycles-ledger-key-v1"  25 bytes, UTF-8 (LEDGER_KEY_DOMAIN)
 * 0x00                          1 byte
 * ledger public key             the libp2p protobuf encoding (Ed25519: 08 01 12 20 + 32 key bytes = 36 bytes)
 * ```
 *
 * (62 bytes signed for an Ed25519 ledger key). A page connected to hub H checks H's signature with
 * the key embedded in H's peer id, then verifies receipts with the ledger key; an auditor does the
 * same offline from a statement's `hubPeerId`, `ledgerKey` and `ledgerDelegation`
 * (statement.ts). A hub that presents no delegation (an older hub) has its own key as ledger key.
 *
 * Where the delegation travels: `/hub.json` (`ledgerKey`, `ledgerDelegation`: base64 of the
 * public key's protobuf bytes and of the signature; always present, a single hub's names its own
 * key) and the result protocols' responses (ResultResponse / ResultBatchResponse field
 * `ledgerKey`, a LedgerDelegation; only when the ledger key is not the hub's own and the
 * response carries a receipt).
 *
 * Receipts signed before ledger keys existed were signed by the key of the hub that granted
 * them; `verifyReceiptFrom` accepts those as well when they are signed by the presenting hub's own
 * key (the hub vouches for its own signature as much as for its ledger key).
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { fromBase64, isBase64, toBase64 } from './base64.ts'
import { BadLedgerDelegationError, BadReceiptError } from './errors.ts'
import { bytesEqual, signingBytes, verifyReceipt } from './signing.ts'
import type { HubReceipt, LedgerDelegation } from './pb/messages.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const LEDGER_KEY_DOMAIN = 'sparecycles-ledger-key-v1'

/** The bytes a hub signs to vouch for `ledgerPublicKey`: `LEDGER_KEY_DOMAIN || 0x00 || protobuf(ledgerPublicKey)`. */
export function ledgerDelegationBytes (ledgerPublicKey: Uint8Array): Uint8Array {
  return signingBytes(LEDGER_KEY_DOMAIN, ledgerPublicKey)
}

/** The hub's delegation to `ledgerKey`, signed with the hub's libp2p key. */
export async function signLedgerDelegation (hubKey: PrivateKey, ledgerKey: PublicKey): Promise<LedgerDelegation> {
  const publicKey = publicKeyToProtobuf(ledgerKey) as Uint8Array<ArrayBuffer>
  const signature = await hubKey.sign(ledgerDelegationBytes(publicKey))
  return { publicKey, signature: signature as Uint8Array<ArrayBuffer> }
}

/**
 * The ledger key a delegation names, once the hub's signature over it verifies.
 * @param hubPublicKey the presenting hub's own key (from its noise-authenticated peer id)
 * @throws BadLedgerDelegationError when the key does not decode or is not Ed25519, or the
 *   signature is not the hub's
 */
export async function verifyLedgerDelegation (delegation: LedgerDelegation, hubPublicKey: PublicKey): Promise<PublicKey> {
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(delegation.publicKey)
  } catch (err) {
    throw new BadLedgerDelegationError(`the ledger key does not decode: ${(err as Error).message}`)
  }
  if (key.type !== 'Ed25519') throw new BadLedgerDelegationError(`the ledger key must be Ed25519, got ${key.type}`)
  let ok = false
  try {
    ok = await hubPublicKey.verify(ledgerDelegationBytes(delegation.publicKey), delegation.signature)
  } catch {
    ok = false
  }
  if (!ok) throw new BadLedgerDelegationError(`hub ${peerIdFromPublicKey(hubPublicKey).toString()} did not sign the delegation to ledger key ${peerIdFromPublicKey(key).toString()}`)
  return key
}

/**
 * The key receipts of this hub are verified with: the delegated ledger key, or without a
 * delegation the hub's own key.
 * @throws BadLedgerDelegationError for a delegation that does not verify
 */
export async function ledgerKeyOf (hubPublicKey: PublicKey, delegation?: LedgerDelegation | null): Promise<PublicKey> {
  return delegation == null ? hubPublicKey : await verifyLedgerDelegation(delegation, hubPublicKey)
}

/** Whether two public keys are the same key. */
export function sameKey (a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && bytesEqual(a.raw, b.raw)
}

/**
 * Check a receipt presented by a hub: signed by the ledger key, or (a receipt from before ledger
 * keys) by the hub's own key.
 * @returns the key that signed it
 * @throws BadReceiptError when the hash does not match or neither key signed it
 */
export async function verifyReceiptFrom (receipt: HubReceipt, keys: { ledgerKey: PublicKey, hubKey: PublicKey }): Promise<PublicKey> {
  try {
    await verifyReceipt(receipt, keys.ledgerKey)
    return keys.ledgerKey
  } catch (err) {
    if (sameKey(keys.ledgerKey, keys.hubKey)) throw err
    try {
      await verifyReceipt(receipt, keys.hubKey)
      return keys.hubKey
    } catch {
      throw err as BadReceiptError
    }
  }
}

/** Peer id (base58btc) of a ledger key given as in LedgerKeyJson (base64 protobuf); undefined when it does not decode. */
export function ledgerPeerIdOf (ledgerKey: string): string | undefined {
  try {
    return peerIdFromPublicKey(publicKeyFromProtobuf(fromBase64(ledgerKey, 'ledgerKey'))).toString()
  } catch {
    return undefined
  }
}

/** A delegation as JSON text fields (`/hub.json`, statements): base64 of the key's protobuf bytes and of the signature. */
export interface LedgerKeyJson { ledgerKey: string, ledgerDelegation: string }

export function ledgerKeyToJson (d: LedgerDelegation): LedgerKeyJson {
  return { ledgerKey: toBase64(d.publicKey), ledgerDelegation: toBase64(d.signature) }
}

/**
 * The delegation in JSON fields, or undefined when `ledgerKey` is absent (an older hub or statement).
 * @throws BadLedgerDelegationError when a field is present but not base64, or only one of them is
 */
export function ledgerKeyFromJson (v: { ledgerKey?: unknown, ledgerDelegation?: unknown }): LedgerDelegation | undefined {
  if (v.ledgerKey == null && v.ledgerDelegation == null) return undefined
  if (!isBase64(v.ledgerKey) || !isBase64(v.ledgerDelegation)) throw new BadLedgerDelegationError('ledgerKey and ledgerDelegation must both be base64')
  return { publicKey: fromBase64(v.ledgerKey, 'ledgerKey'), signature: fromBase64(v.ledgerDelegation, 'ledgerDelegation') }
}
