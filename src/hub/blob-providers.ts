/**
 * The hub's index of which connected volunteers hold which blob (issue 15, browser to browser):
 * a peer the hub is serving a blob to (from its first chunk on: the page serves a blob it is still
 * fetching once it has it), or a peer that announced it fetched one from another
 * volunteer (`/sparecycles/blob-providers/1.0.0` with `have`, accepted only for blobs the hub holds
 * itself, so nobody can fill the index with made-up CIDs). A peer leaves the index when it
 * disconnects. Answers list only peers the `dialable` predicate accepts (connected, with a relay
 * reservation on this hub), at most MAX_BLOB_PROVIDERS, least recently handed out first, so the
 * load spreads over every holder.
 *
 * Bounded: at most `maxBlobs` CIDs (the oldest forgotten first) and `maxPeersPerBlob` peers each.
 */
import { MAX_BLOB_PROVIDERS, cidToHex } from '../protocol/index.ts'

export interface BlobProviderIndexOptions {
  /** CIDs tracked at once (default 4,096). */
  maxBlobs?: number
  /** Holders kept per CID (default 64). */
  maxPeersPerBlob?: number
}

export class BlobProviderIndex {
  /** cid hex -> peer id -> when it was last handed out (0: never), in insertion order. */
  private readonly byBlob = new Map<string, Map<string, number>>()
  private readonly byPeer = new Map<string, Set<string>>()
  private readonly maxBlobs: number
  private readonly maxPeersPerBlob: number
  private tick = 0

  constructor (opts: BlobProviderIndexOptions = {}) {
    this.maxBlobs = opts.maxBlobs ?? 4096
    this.maxPeersPerBlob = opts.maxPeersPerBlob ?? 64
  }

  /** Record that `peer` holds `cid` (32 bytes). */
  record (cid: Uint8Array, peer: string): void {
    const key = cidToHex(cid)
    let holders = this.byBlob.get(key)
    if (holders == null) {
      if (this.byBlob.size >= this.maxBlobs) {
        const oldest = this.byBlob.keys().next().value
        if (oldest != null) this.forgetBlob(oldest)
      }
      holders = new Map()
      this.byBlob.set(key, holders)
    }
    if (holders.has(peer)) return
    if (holders.size >= this.maxPeersPerBlob) {
      const first = holders.keys().next().value
      if (first != null) { holders.delete(first); this.byPeer.get(first)?.delete(key) }
    }
    holders.set(peer, 0)
    let blobs = this.byPeer.get(peer)
    if (blobs == null) { blobs = new Set(); this.byPeer.set(peer, blobs) }
    blobs.add(key)
  }

  /** Forget every blob of `peer` (it disconnected). */
  forgetPeer (peer: string): void {
    for (const key of this.byPeer.get(peer) ?? []) {
      const holders = this.byBlob.get(key)
      holders?.delete(peer)
      if (holders?.size === 0) this.byBlob.delete(key)
    }
    this.byPeer.delete(peer)
  }

  /**
   * Up to MAX_BLOB_PROVIDERS holders of `cid` other than `asker` that `dialable` accepts, least
   * recently handed out first (each handed out is marked now).
   */
  providers (cid: Uint8Array, asker: string, dialable: (peer: string) => boolean): string[] {
    const holders = this.byBlob.get(cidToHex(cid))
    if (holders == null) return []
    const picked = [...holders.entries()]
      .filter(([peer]) => peer !== asker && dialable(peer))
      .sort((a, b) => a[1] - b[1])
      .slice(0, MAX_BLOB_PROVIDERS)
      .map(([peer]) => peer)
    for (const peer of picked) holders.set(peer, ++this.tick)
    return picked
  }

  /** CIDs tracked now (tests, metrics). */
  get size (): number { return this.byBlob.size }

  private forgetBlob (key: string): void {
    for (const peer of this.byBlob.get(key)?.keys() ?? []) this.byPeer.get(peer)?.delete(key)
    this.byBlob.delete(key)
  }
}
