/**
 * Results signed once a batch (result/3.0.0, issue 14): the volunteer signs the Merkle root over
 * its batch's payloads, the hub checks one Ed25519 signature for the whole batch (instead of one a
 * result: ~180 µs each with node:crypto on the 2-core machine of README), and keeps for each
 * result a BatchSignedResult — its payload, the signer's key, the batch signature and the leaf's
 * Merkle proof — which checks alone, later (`verifyStoredResult`).
 *
 * Construction: leaf i = sha-256(RESULT_LEAF_DOMAIN || 0x00 || payloads[i]) (32 bytes); the tree is
 * OpenZeppelin's (@openzeppelin/merkle-tree `makeMerkleTree`: leaves in the order given, each node
 * keccak-256 of its two children sorted, so a proof needs no left/right flags and checks with
 * OpenZeppelin's MerkleProof.verify on an EVM too); the signed bytes are
 * `RESULT_BATCH_SIGNING_DOMAIN || 0x00 || root` (signing.ts `signingBytes`). The leaf domain keeps a
 * leaf from being any other hash of this project; a leaf is never taken for an inner node, since
 * producing a payload whose leaf equals a node would need a sha-256 preimage.
 */
import { getProof, makeMerkleTree, processProof } from '@openzeppelin/merkle-tree/dist/core.js'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { BadSignatureError, MalformedMessageError } from './errors.ts'
import { BatchSignedResult, SignedResult } from './pb/messages.ts'
import { RECEIPT_BATCH_SIGNING_DOMAIN, decodeResultPayload, sha256Bytes, signReceipt, signerKeyOf, signingBytes, verifySignedResult } from './signing.ts'
import type { HubReceipt, SignedResultBatchRequest } from './pb/messages.ts'
import type { SignatureCheck, VerifiedResult } from './signing.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const RESULT_LEAF_DOMAIN = 'sparecycles-result-leaf-v1'
export const RESULT_BATCH_SIGNING_DOMAIN = 'sparecycles-result-batch-v1'

/** The Merkle leaf of one encoded ResultPayload: sha-256(RESULT_LEAF_DOMAIN || 0x00 || payload), 32 bytes. */
export function resultLeaf (payload: Uint8Array): Uint8Array {
  return sha256Bytes(signingBytes(RESULT_LEAF_DOMAIN, payload))
}

const bytesOfHex = (hex: string): Uint8Array<ArrayBuffer> => fromString(hex.slice(2), 'base16') as Uint8Array<ArrayBuffer>
const hexOf = (bytes: Uint8Array): string => `0x${toString(bytes, 'base16')}`

/**
 * The tree over `payloads` in OpenZeppelin's array layout: `tree[0]` is the root, leaf i is
 * `tree[tree.length - 1 - i]`; nodes as 0x-prefixed hex.
 * @throws MalformedMessageError for no payloads
 */
function treeOf (payloads: readonly Uint8Array[]): string[] {
  if (payloads.length === 0) throw new MalformedMessageError('a signed batch holds at least one payload')
  return makeMerkleTree(payloads.map(resultLeaf))
}

/**
 * Sign encoded ResultPayloads once, over their Merkle root, with the volunteer's key.
 * @param payloads encoded ResultPayloads (ResultPayload.encode), at least one
 * @param receiptsAfter the request's `receiptsAfter` (credit receipts wanted after this seq)
 * @throws MalformedMessageError for no payloads
 */
export async function signResultBatch (payloads: readonly Uint8Array[], key: PrivateKey, receiptsAfter = 0): Promise<SignedResultBatchRequest> {
  const root = bytesOfHex(treeOf(payloads)[0])
  const signature = await key.sign(signingBytes(RESULT_BATCH_SIGNING_DOMAIN, root))
  return {
    payloads: payloads.map(p => p as Uint8Array<ArrayBuffer>),
    publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
    signature: signature as Uint8Array<ArrayBuffer>,
    receiptsAfter
  }
}

/**
 * Receipts for several bodies (encoded ResultAcks) signed ONCE by the ledger key: leaf i = the
 * body's sha-256 (its `bodyHash`), the tree as a signed batch's (OpenZeppelin's), the signature
 * over `RECEIPT_BATCH_SIGNING_DOMAIN || 0x00 || root`; each receipt carries its leaf's proof and
 * checks alone (signing.ts verifyReceipt). A batch of one body is a plain receipt (`signReceipt`:
 * with no proof to tell it apart, a receipt without one is signed under RECEIPT_SIGNING_DOMAIN).
 * @returns one receipt a body, in order; none for no bodies
 */
export async function signReceiptBatch (bodies: readonly Uint8Array[], ledgerKey: PrivateKey): Promise<HubReceipt[]> {
  if (bodies.length === 0) return []
  // one alone has no proof: a receipt without one is signed as a single receipt (signing.ts)
  if (bodies.length === 1) return [await signReceipt(bodies[0] as Uint8Array<ArrayBuffer>, ledgerKey)]
  const hashes = bodies.map(b => sha256Bytes(b) as Uint8Array<ArrayBuffer>)
  const tree = makeMerkleTree(hashes)
  const signature = await ledgerKey.sign(signingBytes(RECEIPT_BATCH_SIGNING_DOMAIN, bytesOfHex(tree[0]))) as Uint8Array<ArrayBuffer>
  return bodies.map((body, i) => ({
    body: body as Uint8Array<ArrayBuffer>, bodyHash: hashes[i], signature, proof: getProof(tree, tree.length - 1 - i).map(bytesOfHex)
  }))
}

/** One result of a verified batch: its encoded payload (not yet decoded) and what the hub keeps of it. */
export interface BatchMember {
  /** The encoded ResultPayload as it came (its signature is the batch's, already checked). */
  payload: Uint8Array
  /** The encoded BatchSignedResult of this result (its Merkle proof is made on the first call). */
  evidence: () => Uint8Array
  /** The same object for every member of one batch (its acks are signed together). */
  batch: object
}

export interface VerifiedResultBatch {
  /** Peer id (base58btc string) of the signer's public key. */
  signerPeerId: string
  /** One per payload, in order. */
  members: BatchMember[]
}

async function checkRoot (publicKey: PublicKey, root: Uint8Array, signature: Uint8Array, check?: SignatureCheck): Promise<void> {
  if (signature.length !== 64) throw new BadSignatureError(`an Ed25519 signature is 64 bytes, got ${signature.length}`)
  const data = signingBytes(RESULT_BATCH_SIGNING_DOMAIN, root)
  const ok = await (check != null ? check(publicKey, data, signature) : publicKey.verify(data, signature))
  if (!ok) throw new BadSignatureError('result batch signature does not verify')
}

/**
 * Check a signed batch: its root rebuilt from the payloads, one signature checked. The payloads are
 * not decoded here (a malformed one is refused alone, by whoever decodes it).
 * @param check how the signature is checked (default `publicKey.verify`)
 * @throws MalformedMessageError when the key does not decode or there are no payloads
 * @throws BadSignatureError when the signature is not the key's over the payloads' root (one
 *   payload changed after signing is enough)
 */
export async function verifySignedResultBatch (req: { payloads: readonly Uint8Array[], publicKey: Uint8Array, signature: Uint8Array }, check?: SignatureCheck): Promise<VerifiedResultBatch> {
  const publicKey = signerKeyOf(req.publicKey)
  const tree = treeOf(req.payloads)
  await checkRoot(publicKey, bytesOfHex(tree[0]), req.signature, check)
  const batch = {}
  const members = req.payloads.map((payload, i): BatchMember => ({
    payload,
    batch,
    evidence: () => BatchSignedResult.encode({
      payload: payload as Uint8Array<ArrayBuffer>,
      publicKey: req.publicKey as Uint8Array<ArrayBuffer>,
      batchSignature: req.signature as Uint8Array<ArrayBuffer>,
      proof: getProof(tree, tree.length - 1 - i).map(bytesOfHex)
    })
  }))
  return { signerPeerId: peerIdFromPublicKey(publicKey).toString(), members }
}

/**
 * Check one result kept from a signed batch, alone: its leaf and proof give the root, the batch
 * signature must be the key's over that root.
 * @throws MalformedMessageError when the key, a proof node (32 bytes each) or the payload does not decode
 * @throws BadSignatureError when the signature does not verify over the root the proof gives
 */
export async function verifyBatchSignedResult (kept: BatchSignedResult, check?: SignatureCheck): Promise<VerifiedResult> {
  const publicKey = signerKeyOf(kept.publicKey)
  if (kept.proof.some(node => node.length !== 32)) throw new MalformedMessageError('a Merkle proof node is 32 bytes')
  const root = bytesOfHex(processProof(resultLeaf(kept.payload), kept.proof.map(hexOf)))
  await checkRoot(publicKey, root, kept.batchSignature, check)
  return { payload: decodeResultPayload(kept.payload), signerPeerId: peerIdFromPublicKey(publicKey).toString() }
}

/**
 * Check what a hub keeps of a result (its `signed` column): a BatchSignedResult (result/3.0.0,
 * told by its non-empty `batchSignature`, field 4) or a SignedResult (result/1.x and 2.0.0).
 * @throws MalformedMessageError when the bytes or what they hold do not decode
 * @throws BadSignatureError when the signature does not verify
 */
export async function verifyStoredResult (bytes: Uint8Array, check?: SignatureCheck): Promise<VerifiedResult> {
  let kept: BatchSignedResult
  try {
    kept = BatchSignedResult.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(`bad stored result: ${(err as Error).message}`)
  }
  if (kept.batchSignature.length > 0) return await verifyBatchSignedResult(kept, check)
  let signed: SignedResult
  try {
    signed = SignedResult.decode(bytes)
  } catch (err) {
    throw new MalformedMessageError(`bad stored result: ${(err as Error).message}`)
  }
  return await verifySignedResult(signed, check)
}
