/**
 * Resolves a lease's researcher kernel (`k1:<ticket sha-256>`) into checked bytes and limits,
 * verifying hub -> researcher -> kernel before anything runs:
 * 1. the KernelTicket blob hashes to its id and carries the leasing hub's signature;
 * 2. the manifest inside is signed by the researcher key it names;
 * 3. the kernel blob hashes to the manifest's kernel id (the worker checks imports and memory).
 *
 * Blobs come over `/sparecycles/blob/1.0.0` from other volunteers first, the hub last (peer-blobs.ts
 * on the page; without it, from the connected peers); a peer that sends bytes not matching the
 * hash is never asked again. Verified blobs are cached in IndexedDB by their sha-256, from where
 * peer-blobs.ts serves them to other volunteers.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import {
  BlobHashMismatchError, KERNEL_REF_PREFIX, KernelTicket, SignedManifest, cidFromHex, cidToHex, verifySignedManifest, verifyTicket
} from '../protocol/index.ts'
import type { ByteCounter, KernelManifest } from '../protocol/index.ts'
import { fetchBlob } from './blob-fetch.ts'
import type { VolunteerDb } from './db.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface ResolvedKernel {
  manifest: KernelManifest
  researcherId: string
  bytes: Uint8Array
}

/**
 * Fetch a blob from the first of `peers` that has it, skipping `badPeers`; a peer whose bytes do
 * not match the hash is added to `badPeers` and the next one is asked.
 * @throws the last peer's error when none could provide it
 */
export async function fetchBlobFromPeers (node: Libp2p, peers: PeerId[], cid: Uint8Array, badPeers: Set<string>, signal?: AbortSignal, onBytes?: ByteCounter): Promise<Uint8Array> {
  const candidates = [...new Map(peers.map(p => [p.toString(), p])).values()].filter(p => !badPeers.has(p.toString()))
  let lastError: Error | undefined
  for (const peer of candidates) {
    try {
      return await fetchBlob(node, peer, cid, signal, onBytes)
    } catch (err) {
      if (err instanceof BlobHashMismatchError) badPeers.add(peer.toString())
      lastError = err as Error
    }
  }
  throw lastError ?? new Error(`no peer to fetch blob ${cidToHex(cid)} from`)
}

export class KernelResolver {
  /** Peers that sent bytes not matching a hash: never asked again. */
  readonly badPeers = new Set<string>()

  /**
   * @param onBytes told the bytes of every blob request and response (traffic.ts)
   * @param fetchPeerFirst when given, how blobs missing from IndexedDB are fetched (peer-blobs.ts:
   *   volunteers the hub names first, over WebRTC, the hub last); else from the connected peers, hub last
   */
  constructor (private readonly node: Libp2p, private readonly db: VolunteerDb, private readonly onBytes?: ByteCounter,
    private readonly fetchPeerFirst?: (cid: Uint8Array, hub: PeerId, signal?: AbortSignal) => Promise<Uint8Array>) {}

  /** A blob from the cache, or from peers (hub last), checked against its hash. */
  async blob (cidHex: string, hub: PeerId, signal?: AbortSignal): Promise<Uint8Array> {
    const cached = await this.db.get('blobs', cidHex)
    if (cached != null) return cached.bytes
    const others = this.node.getConnections().map(c => c.remotePeer).filter(p => !p.equals(hub))
    const bytes = this.fetchPeerFirst != null
      ? await this.fetchPeerFirst(cidFromHex(cidHex), hub, signal)
      : await fetchBlobFromPeers(this.node, [...others, hub], cidFromHex(cidHex), this.badPeers, signal, this.onBytes)
    await this.db.put('blobs', { cid: cidHex, bytes, storedAtMs: Date.now() })
    return bytes
  }

  /**
   * @throws BadTicketError, ManifestError, ManifestSignatureError, BlobHashMismatchError, RemoteError
   */
  async resolve (kernelRef: string, hubPeerId: string, signal?: AbortSignal): Promise<ResolvedKernel> {
    if (!kernelRef.startsWith(KERNEL_REF_PREFIX)) throw new Error(`not a researcher kernel: ${kernelRef}`)
    const hub = peerIdFromString(hubPeerId)
    if (hub.publicKey == null) throw new Error('hub peer id carries no public key')
    const ticket = KernelTicket.decode(await this.blob(kernelRef.slice(KERNEL_REF_PREFIX.length), hub, signal))
    await verifyTicket(ticket, hubPeerId, hub.publicKey)
    const { manifest, researcherId } = await verifySignedManifest(SignedManifest.decode(ticket.signedManifest))
    const bytes = await this.blob(manifest.kernelId, hub, signal)
    return { manifest, researcherId, bytes }
  }
}
