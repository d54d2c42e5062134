/**
 * Identity backup: the volunteer's Ed25519 libp2p key in a passphrase-protected JSON file, so that
 * credit follows the person to another browser. WebCrypto only (browser and Node ≥ 22).
 *
 * File format, version 1 (`application/json`, UTF-8):
 *
 * ```json
 * { "format": "sparecycles-key", "version": 1, "peerId": "12D3KooW…",
 *   "kdf": { "name": "PBKDF2", "hash": "SHA-256", "iterations": 600000, "salt": "<base64, 16 bytes>" },
 *   "cipher": { "name": "AES-GCM", "iv": "<base64, 12 bytes>" },
 *   "ciphertext": "<base64: AES-256-GCM of the libp2p protobuf private key, with the 16-byte tag>",
 *   "createdAt": "<ISO 8601>" }
 * ```
 *
 * The AES key is PBKDF2-HMAC-SHA-256(passphrase as UTF-8, salt, iterations) → 256 bits
 * (600,000 iterations: OWASP's 2023 figure for PBKDF2-SHA-256; ~0.3-1 s in a browser). The GCM
 * additional data is `sparecycles-key-v1\0<peerId>`, so a file whose peer id was edited fails to
 * decrypt. After decryption the key's peer id must equal `peerId`.
 */
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { fromBase64 as protocolFromBase64, isBase64, toBase64 as protocolToBase64 } from '../protocol/base64.ts'
import type { ErrorName } from '../protocol/index.ts'

export const KEY_FILE_FORMAT = 'sparecycles-key'
export const KEY_FILE_VERSION = 1
export const KEY_FILE_ITERATIONS = 600_000
/** Iterations accepted on import (a file with fewer is refused as weak or corrupt). */
export const KEY_FILE_MIN_ITERATIONS = 100_000
export const KEY_FILE_MAX_ITERATIONS = 10_000_000
export const MIN_PASSPHRASE_LENGTH = 8

export interface KeyFileV1 {
  format: typeof KEY_FILE_FORMAT
  version: 1
  peerId: string
  kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: number, salt: string }
  cipher: { name: 'AES-GCM', iv: string }
  ciphertext: string
  createdAt: string
}

/** The file is not a Spare Cycles key file, or a field is missing or malformed. */
export class KeyFileFormatError extends Error {
  static override readonly name: ErrorName = 'KeyFileFormatError'
  override readonly name: ErrorName = 'KeyFileFormatError'
  constructor (message: string) { super(message) }
}
/** The file's version is not one this code reads. */
export class KeyFileVersionError extends Error {
  static override readonly name: ErrorName = 'KeyFileVersionError'
  override readonly name: ErrorName = 'KeyFileVersionError'
  constructor (version: unknown) { super(`key file version ${String(version)} is not supported (this page reads version ${KEY_FILE_VERSION})`) }
}
/** Decryption failed: the passphrase is wrong, or the file was altered. */
export class WrongPassphraseError extends Error {
  static override readonly name: ErrorName = 'WrongPassphraseError'
  override readonly name: ErrorName = 'WrongPassphraseError'
  constructor () { super('wrong passphrase, or the key file was altered: it does not decrypt') }
}
/** The decrypted key does not belong to the peer id the file names. */
export class KeyMismatchError extends Error {
  static override readonly name: ErrorName = 'KeyMismatchError'
  override readonly name: ErrorName = 'KeyMismatchError'
  constructor (message: string) { super(message) }
}
/** The passphrase chosen for an export is too short. */
export class WeakPassphraseError extends Error {
  static override readonly name: ErrorName = 'WeakPassphraseError'
  override readonly name: ErrorName = 'WeakPassphraseError'
  constructor () { super(`the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`) }
}

const encoder = new TextEncoder()

/** Bytes -> base64 text (the protocol's helper, kept here for key files). */
export const toBase64 = protocolToBase64

/** @throws KeyFileFormatError (named after `what`) when `text` is not base64 */
export function fromBase64 (text: string, what = 'base64 field'): Uint8Array<ArrayBuffer> {
  if (!isBase64(text)) throw new KeyFileFormatError(`${what} is not base64`)
  return protocolFromBase64(text, what)
}

function aad (peerId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`sparecycles-key-v1\0${peerId}`)
}

async function deriveKey (passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey'])
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

/**
 * Encrypt a key into a version-1 key file (JSON text).
 * @param iterations PBKDF2 iterations (default {@link KEY_FILE_ITERATIONS}; tests may lower it to the minimum)
 * @throws WeakPassphraseError for a passphrase shorter than {@link MIN_PASSPHRASE_LENGTH}
 */
export async function exportKeyFile (key: PrivateKey, passphrase: string, iterations = KEY_FILE_ITERATIONS): Promise<string> {
  if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE_LENGTH) throw new WeakPassphraseError()
  const peerId = peerIdFromPrivateKey(key).toString()
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const aesKey = await deriveKey(passphrase, salt, iterations)
  const plain = privateKeyToProtobuf(key) as Uint8Array<ArrayBuffer>
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(peerId) }, aesKey, plain))
  const file: KeyFileV1 = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    peerId,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt: toBase64(salt) },
    cipher: { name: 'AES-GCM', iv: toBase64(iv) },
    ciphertext: toBase64(ciphertext),
    createdAt: new Date().toISOString()
  }
  return JSON.stringify(file, null, 2)
}

/**
 * Parse and schema-check a key file without decrypting it.
 * @throws KeyFileFormatError, KeyFileVersionError
 */
export function parseKeyFile (text: string): KeyFileV1 {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new KeyFileFormatError('the key file is not JSON')
  }
  const f = raw as Partial<KeyFileV1> | null
  if (f == null || typeof f !== 'object' || f.format !== KEY_FILE_FORMAT) throw new KeyFileFormatError('not a Spare Cycles key file (format must be "sparecycles-key")')
  if (f.version !== KEY_FILE_VERSION) throw new KeyFileVersionError(f.version)
  if (typeof f.peerId !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(f.peerId)) throw new KeyFileFormatError('peerId is missing or malformed')
  const kdf = f.kdf
  if (kdf == null || kdf.name !== 'PBKDF2' || kdf.hash !== 'SHA-256') throw new KeyFileFormatError('kdf must be PBKDF2 with SHA-256')
  if (!Number.isInteger(kdf.iterations) || kdf.iterations < KEY_FILE_MIN_ITERATIONS || kdf.iterations > KEY_FILE_MAX_ITERATIONS) {
    throw new KeyFileFormatError(`kdf.iterations must be an integer between ${KEY_FILE_MIN_ITERATIONS} and ${KEY_FILE_MAX_ITERATIONS}`)
  }
  if (fromBase64(kdf.salt, 'kdf.salt').length < 16) throw new KeyFileFormatError('kdf.salt must be at least 16 bytes')
  if (f.cipher == null || f.cipher.name !== 'AES-GCM' || fromBase64(f.cipher.iv, 'cipher.iv').length !== 12) throw new KeyFileFormatError('cipher must be AES-GCM with a 12-byte iv')
  const ct = fromBase64(f.ciphertext ?? '', 'ciphertext')
  if (ct.length < 17 || ct.length > 4096) throw new KeyFileFormatError('ciphertext has an impossible length')
  return f as KeyFileV1
}

/**
 * Decrypt a key file.
 * @returns the private key (its peer id equals the file's `peerId`)
 * @throws KeyFileFormatError, KeyFileVersionError for a file that is not a valid version-1 key file
 * @throws WrongPassphraseError when it does not decrypt (wrong passphrase or altered file)
 * @throws KeyMismatchError when the decrypted key is not the file's peer id, or not Ed25519
 */
export async function importKeyFile (text: string, passphrase: string): Promise<PrivateKey> {
  const file = parseKeyFile(text)
  const aesKey = await deriveKey(String(passphrase), fromBase64(file.kdf.salt), file.kdf.iterations)
  let plain: Uint8Array
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64(file.cipher.iv), additionalData: aad(file.peerId) }, aesKey, fromBase64(file.ciphertext)))
  } catch {
    throw new WrongPassphraseError()
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(plain)
  } catch (err) {
    throw new KeyMismatchError(`the decrypted bytes are not a libp2p private key: ${(err as Error).message}`)
  }
  if (key.type !== 'Ed25519') throw new KeyMismatchError(`the key must be Ed25519, got ${key.type}`)
  const peerId = peerIdFromPrivateKey(key).toString()
  if (peerId !== file.peerId) throw new KeyMismatchError(`the key belongs to ${peerId}, not ${file.peerId}`)
  return key
}

/** A key import was refused because results signed by the current key are not delivered yet. */
export class ImportBlockedError extends Error {
  static override readonly name: ErrorName = 'ImportBlockedError'
  override readonly name: ErrorName = 'ImportBlockedError'
  constructor (pending: number) {
    super(`${pending} result(s) signed by the current key are not delivered yet; wait until "Results pending" reaches 0 (the hub must be reachable), then import`)
  }
}
