/**
 * Results signed once a batch (protocol/result-batch.ts): the root over the payloads, one
 * signature, and each result kept with its Merkle proof checking alone. Sizes 1 (the root is the
 * leaf), 3 (an odd tree) and MAX_RESULTS_PER_BATCH; a payload changed after signing, a proof moved
 * to another result, a key that is not the signer's, and what the hub keeps of a result/1.x result
 * all come out as they must, by error class.
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  BadReceiptError, BadSignatureError, BatchSignedResult, MAX_RESULTS_PER_BATCH, MalformedMessageError, RESULT_BATCH_SIGNING_DOMAIN, ResultPayload, SignedResult,
  checkSignedResultBatchRequest, resultLeaf, sha256Bytes, signReceipt, signReceiptBatch, signResult, signResultBatch, signingBytes, verifyReceipt, verifyBatchSignedResult, verifySignedResult,
  verifySignedResultBatch, verifyStoredResult
} from '../src/protocol/index.ts'

function payload (i: number): Uint8Array<ArrayBuffer> {
  const output = new TextEncoder().encode(`count ${i * 7919}`)
  return ResultPayload.encode({
    replicaId: `r${i}`, wuId: `wu${i}`, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: i, deviceClass: 'wasm', errorMessage: ''
  })
}

describe('a result batch signed once', () => {
  for (const n of [1, 3, MAX_RESULTS_PER_BATCH]) {
    it(`${n} payload(s): one signature over the root, each kept result checks alone`, async () => {
      const key = await generateKeyPair('Ed25519')
      const payloads = Array.from({ length: n }, (_, i) => payload(i))
      const req = checkSignedResultBatchRequest(await signResultBatch(payloads, key, 5))
      expect(req.receiptsAfter).toBe(5)
      const verified = await verifySignedResultBatch(req)
      expect(verified.signerPeerId).toBe(peerIdFromPrivateKey(key).toString())
      expect(verified.members.length).toBe(n)
      for (const [i, m] of verified.members.entries()) {
        const kept = BatchSignedResult.decode(m.evidence())
        // a leaf's depth: floor or ceil of log2 n
        expect(kept.proof.length).toBeGreaterThanOrEqual(Math.floor(Math.log2(n)))
        expect(kept.proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)))
        const back = await verifyStoredResult(m.evidence())
        expect(back.signerPeerId).toBe(verified.signerPeerId)
        expect(back.payload.replicaId).toBe(`r${i}`)
        expect(new TextDecoder().decode(back.payload.output)).toBe(`count ${i * 7919}`)
      }
    })
  }

  it('the root of one payload is its leaf, signed under the batch domain', async () => {
    const key = await generateKeyPair('Ed25519')
    const p = payload(1)
    const req = await signResultBatch([p], key)
    expect(await key.publicKey.verify(signingBytes(RESULT_BATCH_SIGNING_DOMAIN, resultLeaf(p)), req.signature)).toBe(true)
  })

  it('refuses a batch with a payload changed after signing, or another key', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const payloads = [payload(1), payload(2), payload(3)]
    const req = await signResultBatch(payloads, key)
    const changed = { ...req, payloads: [payload(1), payload(4), payload(3)] }
    await expect(verifySignedResultBatch(changed)).rejects.toBeInstanceOf(BadSignatureError)
    const otherKey = { ...req, publicKey: publicKeyToProtobuf(other.publicKey) }
    await expect(verifySignedResultBatch(otherKey)).rejects.toBeInstanceOf(BadSignatureError)
    await expect(verifySignedResultBatch({ ...req, payloads: [] })).rejects.toBeInstanceOf(MalformedMessageError)
    await expect(verifySignedResultBatch({ ...req, publicKey: new Uint8Array([1, 2, 3]) })).rejects.toBeInstanceOf(MalformedMessageError)
    expect(() => checkSignedResultBatchRequest({ ...req, payloads: [] })).toThrow(MalformedMessageError)
    expect(() => checkSignedResultBatchRequest({ ...req, payloads: Array.from({ length: MAX_RESULTS_PER_BATCH + 1 }, () => payloads[0]) })).toThrow(MalformedMessageError)
    expect(() => checkSignedResultBatchRequest({ ...req, signature: req.signature.subarray(0, 63) })).toThrow(MalformedMessageError)
  })

  it('a kept result with its payload changed, or another result\'s proof, does not verify', async () => {
    const key = await generateKeyPair('Ed25519')
    const verified = await verifySignedResultBatch(await signResultBatch([payload(1), payload(2), payload(3), payload(4)], key))
    const a = BatchSignedResult.decode(verified.members[0].evidence())
    const c = BatchSignedResult.decode(verified.members[2].evidence())
    await expect(verifyBatchSignedResult({ ...a, payload: payload(9) })).rejects.toBeInstanceOf(BadSignatureError)
    await expect(verifyBatchSignedResult({ ...a, proof: c.proof })).rejects.toBeInstanceOf(BadSignatureError)
    await expect(verifyBatchSignedResult({ ...a, proof: [new Uint8Array(31)] })).rejects.toBeInstanceOf(MalformedMessageError)
    // a kept batch result is never a SignedResult: it has no signature of its own
    await expect(verifySignedResult(SignedResult.decode(verified.members[0].evidence()))).rejects.toBeInstanceOf(BadSignatureError)
  })

  it('receipts signed once a batch: one signature, each with its proof, each checking alone', async () => {
    const ledgerKey = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    for (const n of [1, 3, 8]) {
      const bodies = Array.from({ length: n }, (_, i) => payload(i + 10))
      const receipts = await signReceiptBatch(bodies, ledgerKey)
      expect(receipts).toHaveLength(n)
      for (const [i, r] of receipts.entries()) {
        expect(r.body).toEqual(bodies[i])
        expect(r.signature).toEqual(receipts[0].signature)
        await verifyReceipt(r, ledgerKey.publicKey)
        await expect(verifyReceipt(r, other.publicKey)).rejects.toBeInstanceOf(BadReceiptError)
        // without its proof it is no single receipt (a batch of one is one, with no proof)
        expect(r.proof.length > 0).toBe(n > 1)
        if (n > 1) await expect(verifyReceipt({ ...r, proof: [] }, ledgerKey.publicKey)).rejects.toBeInstanceOf(BadReceiptError)
        const changed = payload(99)
        await expect(verifyReceipt({ ...r, body: changed, bodyHash: sha256Bytes(changed) as Uint8Array<ArrayBuffer> }, ledgerKey.publicKey)).rejects.toBeInstanceOf(BadReceiptError)
      }
    }
    expect(await signReceiptBatch([], ledgerKey)).toEqual([])
    // a single receipt still checks as one
    await verifyReceipt(await signReceipt(payload(1), ledgerKey), ledgerKey.publicKey)
  })

  it('what a hub keeps of a result/1.x result (a SignedResult) checks as one', async () => {
    const key = await generateKeyPair('Ed25519')
    const signed = await signResult(ResultPayload.decode(payload(7)), key)
    const back = await verifyStoredResult(SignedResult.encode(signed))
    expect(back.payload.replicaId).toBe('r7')
    await expect(verifyStoredResult(SignedResult.encode({ ...signed, payload: payload(8) }))).rejects.toBeInstanceOf(BadSignatureError)
  })
})
