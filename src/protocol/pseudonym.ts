/**
 * Ledger pseudonyms (issue 12): the public credit chain (`/api/ledger`, receipts) names a
 * volunteer by a pseudonym, not its peer id, so that nobody who watches a partner page's credit
 * events and the public ledger can learn the visitor's peer id.
 *
 *   salt      = HMAC-SHA-256(hub's pseudonym key, peer id)[0..16)        (per hub, per peer; 16 bytes)
 *   pseudonym = "p1:" + hex(SHA-256("sparecycles-ledger-pseudonym-v1" ‖ 0x00 ‖ salt ‖ peer id))[0..32)
 *
 * The hub derives its pseudonym key from its own private key (so a data dir needs nothing new) and
 * gives each volunteer its salt over the volunteer's own authenticated connection (ResultResponse
 * .ledgerSalt); a volunteer shows it only in its statement, where anyone can recompute the
 * pseudonym from the peer id and the salt. Without the salt a pseudonym cannot be tied to a peer
 * id (a 128-bit salt per peer; guessing peer ids does not help). CreditEntry version 3 carries a
 * pseudonym in `peerId`; entries before it carry the peer id itself (the chain is append-only).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { fromString } from 'uint8arrays/from-string'
import { toHex } from './signing.ts'

/** CreditEntry version whose `peerId` is a pseudonym (its amount is `creditUnits`, as version 2). */
export const PSEUDONYMOUS_ENTRY_VERSION = 3
export const PSEUDONYM_PREFIX = 'p1:'
export const LEDGER_SALT_BYTES = 16
const DOMAIN = new TextEncoder().encode('sparecycles-ledger-pseudonym-v1\0')
const KEY_DOMAIN = new TextEncoder().encode('sparecycles-ledger-pseudonym-key-v1\0')

/** The hub's pseudonym key (32 bytes), derived from its private key's bytes. */
export function pseudonymKeyOf (hubPrivateKeyBytes: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([...KEY_DOMAIN, ...hubPrivateKeyBytes]))
}

/** A peer's salt on this hub (16 bytes). */
export function ledgerSaltFor (pseudonymKey: Uint8Array, peerId: string): Uint8Array {
  return hmac(sha256, pseudonymKey, new TextEncoder().encode(peerId)).slice(0, LEDGER_SALT_BYTES)
}

/** The pseudonym the ledger names `peerId` by, given its salt. */
export function ledgerPseudonym (peerId: string, salt: Uint8Array): string {
  const digest = sha256(new Uint8Array([...DOMAIN, ...salt, ...new TextEncoder().encode(peerId)]))
  return PSEUDONYM_PREFIX + toHex(digest).slice(0, 32)
}

/** A salt from its hex form (statements, the volunteer's store), undefined when it is not 16 bytes of hex. */
export function saltFromHex (hex: unknown): Uint8Array | undefined {
  if (typeof hex !== 'string' || !/^[0-9a-f]{32}$/.test(hex)) return undefined
  return fromString(hex, 'base16')
}

/**
 * True when an entry of `version` naming `entryPeerId` credits `peerId` (a pseudonymous entry: only
 * with the right salt).
 */
export function entryNames (entryPeerId: string, version: number, peerId: string, salt: Uint8Array | undefined): boolean {
  if (version < PSEUDONYMOUS_ENTRY_VERSION) return entryPeerId === peerId
  return salt != null && salt.length === LEDGER_SALT_BYTES && entryPeerId === ledgerPseudonym(peerId, salt)
}
