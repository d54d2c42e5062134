/** The hub's cached Ed25519 keys (ed25519-keys.ts) sign and verify exactly as @libp2p/crypto does. */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { Ed25519Verifier, cachedSigningKey } from '../src/hub/ed25519-keys.ts'
import { signReceipt, signResult, verifyReceipt, verifySignedResult } from '../src/protocol/signing.ts'
import { BadSignatureError } from '../src/protocol/errors.ts'

describe('cached Ed25519 keys', () => {
  it('signatures are byte-identical to @libp2p/crypto\'s (Ed25519 is deterministic)', async () => {
    for (let i = 0; i < 8; i++) {
      const key = await generateKeyPair('Ed25519')
      const cached = cachedSigningKey(key)
      expect(cached.publicKey.equals(key.publicKey)).toBe(true)
      expect(cached.raw).toEqual(key.raw)
      for (const size of [0, 1, 32, 1000]) {
        const msg = new Uint8Array(randomBytes(size))
        expect(await cached.sign(msg)).toEqual(new Uint8Array(await key.sign(msg)))
      }
      const body = new Uint8Array(randomBytes(40)) as Uint8Array<ArrayBuffer>
      const receipt = await signReceipt(body, cached)
      const reference = await signReceipt(body, key)
      expect(new Uint8Array(receipt.signature)).toEqual(new Uint8Array(reference.signature))
      expect(receipt.bodyHash).toEqual(reference.bodyHash)
      await verifyReceipt(receipt, key.publicKey)
    }
  })

  it('the verifier agrees with @libp2p/crypto on good, tampered and foreign signatures', async () => {
    const verifier = new Ed25519Verifier()
    const check = verifier.verify.bind(verifier)
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const signed = await signResult({
      replicaId: 'r1', wuId: 'w1', outcome: 'success', output: new Uint8Array(8), outputSha256: new Uint8Array(32), elapsedMs: 1, deviceClass: 'wasm', errorMessage: ''
    }, key)
    expect((await verifySignedResult(signed, check)).signerPeerId).toBe((await verifySignedResult(signed)).signerPeerId)
    const tampered = { ...signed, signature: signed.signature.slice() }
    tampered.signature[5] ^= 1
    await expect(verifySignedResult(tampered, check)).rejects.toThrow(BadSignatureError)
    await expect(verifySignedResult(tampered)).rejects.toThrow(BadSignatureError)
    const msg = new Uint8Array([1, 2, 3])
    const sig = await key.sign(msg)
    expect(await check(key.publicKey, msg, sig)).toBe(true)
    expect(await check(other.publicKey, msg, sig)).toBe(false)
    expect(await check(key.publicKey, msg, sig.subarray(0, 63))).toBe(false)
    expect(verifier.size).toBe(2)
  })

  it('keeps at most `capacity` public keys, least recently used dropped first', async () => {
    const verifier = new Ed25519Verifier(2)
    const keys = await Promise.all([0, 1, 2].map(async () => await generateKeyPair('Ed25519')))
    const msg = new Uint8Array([7])
    for (const k of keys) expect(await verifier.verify(k.publicKey, msg, await k.sign(msg))).toBe(true)
    expect(verifier.size).toBe(2)
    // a dropped key is imported again and still verifies
    expect(await verifier.verify(keys[0].publicKey, msg, await keys[0].sign(msg))).toBe(true)
    expect(() => new Ed25519Verifier(0)).toThrow(RangeError)
  })
})
