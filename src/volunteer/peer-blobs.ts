/**
 * Browser to browser (issue 15): content-addressed blobs (matmul input blocks, researcher kernels)
 * fetched from other volunteers first and from the hub last, and served to other volunteers.
 *
 * Fetch: ask the hub who holds the CID (`/sparecycles/blob-providers/1.0.0`), dial each listed
 * volunteer over WebRTC through the hub's circuit relay (`<hub>/p2p-circuit/webrtc/p2p/<peer>`),
 * fetch the blob over `/sparecycles/blob/1.0.0` on that direct connection and check its sha-256
 * (blob-fetch.ts). A peer that sends bytes not hashing to the CID, or malformed messages, is never
 * asked again and its connection is closed; any other failure (gone, busy, not found, too slow)
 * moves on to the next peer, and after `maxProviderTries` peers to the hub; a peer that could not be
 * dialled (no network in common) is skipped for `unreachableForMs`. A blob fetched from a
 * peer is announced to the hub (`have`), so the next volunteer can fetch it from this one.
 *
 * Serve: only blobs this page holds, verified (`lookup`; one it is fetching itself is served
 * once fetched and checked, within `lookup`'s bound), over direct connections only
 * (libp2p does not run the handler on relayed, limited connections), at most
 * `serveBytesPerMinutePerPeer` to one peer and `serveBytesPerMinute` to all; a request over either
 * is answered BlobServeLimitError. Counts bytes served and fetched, for the dashboard.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import {
  BLOB_CHUNK_BYTES, BLOB_PROVIDERS_SPEC, BLOB_SPEC, BlobHashMismatchError, MalformedMessageError, MessageTooLargeError, callProtocol,
  cidToHex, handleProtocol, varintLength
} from '../protocol/index.ts'
import { fetchBlob } from './blob-fetch.ts'
import type { ByteCounter, ProtocolNode } from '../protocol/index.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/** What the dashboard shows of blob sharing (bytes are blob bytes, protocol framing not counted). */
export interface PeerBlobStats {
  /** Blob bytes fetched from the hub. */
  fromHubBytes: number
  /** Blob bytes fetched from other volunteers (hash-checked). */
  fromPeersBytes: number
  /** Blob bytes this page served to other volunteers. */
  servedBytes: number
  /** Blobs fetched from the hub / from peers. */
  fromHubBlobs: number
  fromPeersBlobs: number
  /** Peers that sent bytes not matching a hash (never asked again). */
  badPeers: number
  /** Volunteers (not the hub) connected directly now. */
  peersConnected: number
  /** Whether this page holds a relay reservation on its hub (other volunteers can dial it). */
  relayed: boolean
}

export interface PeerBlobsOptions {
  node: Libp2p
  /** The hub now: its peer and the multiaddr this page dialled (ending /p2p/<hub peer id>). */
  hub: () => { peer: PeerId, multiaddr: string } | null
  /** A blob this page holds (verified), or undefined; may wait for a fetch of it under way (bounded). */
  lookup: (cidHex: string) => Promise<Uint8Array | undefined>
  /** Told the bytes of every request and response (traffic.ts). */
  onBytes?: ByteCounter
  /** Serving budget to one peer, in bytes a minute (default 64 MiB). */
  serveBytesPerMinutePerPeer?: number
  /** Serving budget to all peers together, in bytes a minute (default 256 MiB). */
  serveBytesPerMinute?: number
  /** Time to dial one peer (WebRTC through the relay), in ms (default 5,000). */
  dialTimeoutMs?: number
  /** A peer that could not be dialled is not tried again for this long, in ms (default 600,000). */
  unreachableForMs?: number
  /** Peers tried for one blob before the hub (default 3). */
  maxProviderTries?: number
  /** false: fetch from the hub only (this page cannot form WebRTC connections, or was told not to). Default true. */
  peerToPeer?: boolean
}

/** A ProtocolNode whose dials all go to one connection (the direct WebRTC one, never a relayed one). */
function onConnection (node: Libp2p, conn: Connection): ProtocolNode {
  return {
    dialProtocol: async (_peer, protocol, options) => await conn.newStream(protocol, options),
    handle: async (protocol, handler, options) => { await node.handle(protocol, handler, options) }
  }
}

export class PeerBlobs {
  /** Peers that sent bytes not matching a hash (or malformed messages): never asked again. */
  readonly badPeers = new Set<string>()
  /** Peers whose dial failed (no common network, NAT): peer id -> until when they are skipped (Unix ms). */
  private readonly unreachable = new Map<string, number>()
  private readonly stats = { fromHubBytes: 0, fromPeersBytes: 0, servedBytes: 0, fromHubBlobs: 0, fromPeersBlobs: 0 }
  private readonly perPeer: RateLimiter
  private readonly total: RateLimiter

  constructor (private readonly opts: PeerBlobsOptions) {
    this.perPeer = new RateLimiter({ points: opts.serveBytesPerMinutePerPeer ?? 64 * 1024 * 1024, duration: 60 })
    this.total = new RateLimiter({ points: opts.serveBytesPerMinute ?? 256 * 1024 * 1024, duration: 60 })
  }

  /** Counters for the dashboard. */
  snapshot (): PeerBlobStats {
    const hub = this.opts.hub()
    const peers = this.opts.node.getConnections().filter(c => c.limits == null && (hub == null || !c.remotePeer.equals(hub.peer)))
    const relayed = this.opts.node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))
    return { ...this.stats, badPeers: this.badPeers.size, peersConnected: new Set(peers.map(c => c.remotePeer.toString())).size, relayed }
  }

  /**
   * The blob `cid`, from other volunteers first (the hub's provider list), the hub last.
   * @param via the hub to ask (the one whose lease needs the blob; default: the page's own hub, opts.hub)
   * @throws RemoteError (e.g. BlobNotFoundError from the hub), BlobHashMismatchError (the hub's
   *   bytes do not match), protocol errors, or an AbortError
   */
  async fetch (cid: Uint8Array, signal?: AbortSignal, via?: { peer: PeerId, multiaddr: string } | null): Promise<Uint8Array> {
    const hub = via === undefined ? this.opts.hub() : via
    if (hub == null) throw new Error('not connected to the hub')
    const providers = this.opts.peerToPeer === false ? [] : await this.providers(hub.peer, cid, signal)
    for (const provider of providers.slice(0, this.opts.maxProviderTries ?? 3)) {
      signal?.throwIfAborted()
      const bytes = await this.fetchFromPeer(hub, provider, cid, signal)
      if (bytes == null) continue
      this.stats.fromPeersBytes += bytes.length
      this.stats.fromPeersBlobs++
      void callProtocol(this.opts.node, hub.peer, BLOB_PROVIDERS_SPEC, { cid: cid as Uint8Array<ArrayBuffer>, have: true }, AbortSignal.timeout(5_000), this.opts.onBytes).catch(() => {})
      return bytes
    }
    const bytes = await fetchBlob(this.opts.node, hub.peer, cid, signal, this.opts.onBytes)
    this.stats.fromHubBytes += bytes.length
    this.stats.fromHubBlobs++
    return bytes
  }

  /** The hub's list of holders, bad peers left out; none when the hub does not answer. */
  private async providers (hub: PeerId, cid: Uint8Array, signal?: AbortSignal): Promise<string[]> {
    try {
      const res = await callProtocol(this.opts.node, hub, BLOB_PROVIDERS_SPEC, { cid: cid as Uint8Array<ArrayBuffer>, have: false }, signal, this.opts.onBytes)
      const now = Date.now()
      return res.peers.filter(p => !this.badPeers.has(p) && (this.unreachable.get(p) ?? 0) <= now && p !== this.opts.node.peerId.toString())
    } catch {
      signal?.throwIfAborted()
      return []
    }
  }

  /** The blob from one volunteer, or null when it could not give it (a liar is marked bad). */
  private async fetchFromPeer (hub: { peer: PeerId, multiaddr: string }, provider: string, cid: Uint8Array, signal?: AbortSignal): Promise<Uint8Array | null> {
    let conn: Connection | undefined
    try {
      const peer = peerIdFromString(provider)
      conn = this.opts.node.getConnections(peer).find(c => c.limits == null && c.status === 'open')
      if (conn == null) {
        const addr = multiaddr(`${hub.multiaddr}/p2p-circuit/webrtc/p2p/${provider}`)
        const dialSignal = AbortSignal.any([AbortSignal.timeout(this.opts.dialTimeoutMs ?? 5_000), ...(signal != null ? [signal] : [])])
        try {
          conn = await this.opts.node.dial(addr, { signal: dialSignal })
        } catch (err) {
          this.unreachable.set(provider, Date.now() + (this.opts.unreachableForMs ?? 600_000))
          throw err
        }
        if (conn.limits != null) return null
      }
      return await fetchBlob(onConnection(this.opts.node, conn), peer, cid, signal, this.opts.onBytes)
    } catch (err) {
      signal?.throwIfAborted()
      if (err instanceof BlobHashMismatchError || err instanceof MalformedMessageError || err instanceof MessageTooLargeError) {
        this.badPeers.add(provider)
        await conn?.close().catch(() => {})
      }
      return null
    }
  }

  /** Serve held blobs to other volunteers over /sparecycles/blob/1.0.0 (direct connections only). */
  async serve (): Promise<void> {
    await handleProtocol(this.opts.node, BLOB_SPEC, async (req, connection) => {
      const hex = cidToHex(req.cid)
      const bytes = await this.opts.lookup(hex)
      if (bytes == null || req.offset > bytes.length) return { error: 'BlobNotFoundError', message: `no blob ${hex}`, offset: req.offset, totalBytes: 0, data: new Uint8Array(0) }
      const end = Math.min(bytes.length, req.offset + Math.min(req.maxBytes, BLOB_CHUNK_BYTES))
      const size = Math.max(1, end - req.offset)
      try {
        this.perPeer.consume(connection.remotePeer.toString(), size)
        this.total.consume('all', size)
      } catch {
        return { error: 'BlobServeLimitError', message: 'serving budget spent, ask another peer', offset: req.offset, totalBytes: 0, data: new Uint8Array(0) }
      }
      this.stats.servedBytes += end - req.offset
      return { error: '', message: '', offset: req.offset, totalBytes: bytes.length, data: bytes.slice(req.offset, end) as Uint8Array<ArrayBuffer> }
    }, undefined, {
      onRequestBytes: (_protocol, bytes) => { this.opts.onBytes?.(0, bytes + varintLength(bytes)) },
      onResponseBytes: bytes => { this.opts.onBytes?.(bytes, 0) }
    })
  }
}
