/** Key backup files (WebCrypto PBKDF2-SHA-256 + AES-256-GCM, versioned JSON): round trip and every refusal. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  KEY_FILE_MIN_ITERATIONS, KeyFileFormatError, KeyFileVersionError, KeyMismatchError, WeakPassphraseError, WrongPassphraseError,
  exportKeyFile, importKeyFile
} from '../src/volunteer/key-backup.ts'

const PASS = 'correct horse battery'
const fast = KEY_FILE_MIN_ITERATIONS

describe('key backup', () => {
  it('round-trips the key: same peer id and same signatures', async () => {
    const key = await generateKeyPair('Ed25519')
    const text = await exportKeyFile(key, PASS, fast)
    const back = await importKeyFile(text, PASS)
    expect(peerIdFromPrivateKey(back).toString()).toBe(peerIdFromPrivateKey(key).toString())
    expect(back.equals(key)).toBe(true)
    expect(JSON.parse(text)).toMatchObject({ format: 'sparecycles-key', version: 1, kdf: { iterations: fast } })
  })

  it('refuses a wrong passphrase, edits, a corrupt file, an unknown version and a weak passphrase with named errors', async () => {
    const key = await generateKeyPair('Ed25519')
    const text = await exportKeyFile(key, PASS, fast)
    await expect(importKeyFile(text, 'not the passphrase')).rejects.toThrow(WrongPassphraseError)
    const f = JSON.parse(text)
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await expect(importKeyFile(JSON.stringify({ ...f, peerId: other }), PASS)).rejects.toThrow(WrongPassphraseError)
    const ct = Buffer.from(f.ciphertext, 'base64'); ct[3] ^= 1
    await expect(importKeyFile(JSON.stringify({ ...f, ciphertext: ct.toString('base64') }), PASS)).rejects.toThrow(WrongPassphraseError)
    await expect(importKeyFile(text.slice(0, 50), PASS)).rejects.toThrow(KeyFileFormatError)
    await expect(importKeyFile(JSON.stringify({ ...f, format: 'x' }), PASS)).rejects.toThrow(KeyFileFormatError)
    await expect(importKeyFile(JSON.stringify({ ...f, version: 2 }), PASS)).rejects.toThrow(KeyFileVersionError)
    await expect(importKeyFile(JSON.stringify({ ...f, kdf: { ...f.kdf, iterations: 10 } }), PASS)).rejects.toThrow(/iterations/)
    await expect(importKeyFile(JSON.stringify({ ...f, ciphertext: '!!' }), PASS)).rejects.toThrow(/ciphertext is not base64/)
    await expect(exportKeyFile(key, 'short')).rejects.toThrow(WeakPassphraseError)
    void KeyMismatchError
  })
})
