/**
 * Ed25519 on the hub's hot path with key objects made once (issue 14). @libp2p/crypto's Node
 * implementation re-imports the key from JWK on every `sign` and `verify` (measured: sign 238 µs
 * instead of 81 µs, verify 340 µs instead of 235 µs); here node:crypto KeyObjects are created once
 * from the raw key (PKCS#8 / SPKI DER: a fixed prefix and the 32 key bytes) and reused. Ed25519 is
 * deterministic, so the signatures are byte for byte the ones @libp2p/crypto makes
 * (test/hub.ed25519-keys.test.ts asserts it). Node only: the volunteer page keeps @libp2p/crypto.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** DER of a PKCS#8 Ed25519 private key before its 32-byte seed (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
/** DER of an SPKI Ed25519 public key before its 32 bytes (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

const bytesOf = (m: Uint8Array | { subarray: () => Uint8Array }): Uint8Array => m instanceof Uint8Array ? m : m.subarray()

/**
 * `key` with a `sign` that uses a node:crypto KeyObject imported once and runs in libuv's thread
 * pool (node:crypto's `sign` with a callback), off the event loop, so that the signatures a batch
 * needs are made side by side while the hub's thread goes on (issue 14); it resolves to the 64-byte
 * signature. Every other property is inherited from `key` (its prototype). A key of another type
 * is returned as it is.
 * @throws Error when the Ed25519 key's raw bytes are not a valid 32-byte seed (+ public key); the
 *   returned `sign` rejects only when node:crypto fails
 */
export function cachedSigningKey (key: PrivateKey): PrivateKey {
  if (key.type !== 'Ed25519') return key
  const keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  const fastSign = async (message: Uint8Array | { subarray: () => Uint8Array }): Promise<Uint8Array> => await new Promise<Uint8Array>((resolve, reject) => {
    sign(null, bytesOf(message), keyObject, (err, signature) => { if (err != null) reject(err); else resolve(new Uint8Array(signature)) })
  })
  // an object inheriting everything else from `key`, with `sign` its own (writable) property
  return Object.assign(Object.create(key) as PrivateKey, { sign: fastSign })
}

/**
 * An Ed25519 verifier keeping the KeyObjects of the last `capacity` public keys seen (least
 * recently used dropped first): one per volunteer at most.
 */
export class Ed25519Verifier {
  private readonly keys = new Map<string, KeyObject>()

  /** @param capacity public keys kept (default 16,384: a hub's active volunteers) */
  constructor (private readonly capacity = 16_384) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
  }

  /**
   * Whether `signature` is `publicKey`'s Ed25519 signature of `data`. The check runs in libuv's
   * thread pool (node:crypto's `verify` with a callback), off the event loop, so a batch's
   * signatures are checked side by side (issue 14). A key of another type goes to its own `verify`.
   * @throws Error (rejects) only when node:crypto fails, never for a wrong signature
   */
  async verify (publicKey: PublicKey, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (publicKey.type !== 'Ed25519') return publicKey.verify(data, signature)
    if (signature.length !== 64) return false
    const id = Buffer.from(publicKey.raw).toString('base64')
    let keyObject = this.keys.get(id)
    if (keyObject == null) {
      keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey.raw]), format: 'der', type: 'spki' })
      if (this.keys.size >= this.capacity) this.keys.delete(this.keys.keys().next().value as string)
    } else {
      this.keys.delete(id)
    }
    this.keys.set(id, keyObject)
    const key = keyObject
    return await new Promise<boolean>((resolve, reject) => {
      verify(null, data, key, signature, (err, ok) => { if (err != null) reject(err); else resolve(ok) })
    })
  }

  /** Public keys kept now. */
  get size (): number {
    return this.keys.size
  }
}
