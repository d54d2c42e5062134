/**
 * Fetch content-addressed blobs from a peer (hub or volunteer) over `/sparecycles/blob/1.0.0` (src/protocol/blob.ts):
 * chunk by chunk, one stream each, checking the size stays the same and the sha-256 of the whole
 * matches the CID before anything uses the bytes. BlobCache keeps recent blobs in memory (tiles
 * of one row share their A block) and merges concurrent fetches of one CID.
 */
import {
  BLOB_CHUNK_BYTES, BLOB_SPEC, BlobHashMismatchError, MAX_BLOB_BYTES, RemoteError, bytesEqual, callProtocol, cidToHex, sha256Bytes
} from '../protocol/index.ts'
import type { ByteCounter, ProtocolNode } from '../protocol/index.ts'
import type { PeerId } from '@libp2p/interface'

/**
 * Fetch one blob; `onBytes` is told the bytes of every chunk's request and response (traffic.ts).
 * @throws RemoteError (e.g. BlobNotFoundError), BlobHashMismatchError, protocol errors
 */
export async function fetchBlob (node: ProtocolNode, hub: PeerId, cid: Uint8Array, signal?: AbortSignal, onBytes?: ByteCounter): Promise<Uint8Array> {
  let out: Uint8Array | undefined
  let total = -1
  let offset = 0
  do {
    const res = await callProtocol(node, hub, BLOB_SPEC, { cid: cid as Uint8Array<ArrayBuffer>, offset, maxBytes: BLOB_CHUNK_BYTES }, signal, onBytes)
    if (res.error !== '') throw new RemoteError(res.error, res.message)
    if (total < 0) {
      total = res.totalBytes
      if (total > MAX_BLOB_BYTES) throw new BlobHashMismatchError(`blob ${cidToHex(cid)} claims ${total} bytes`)
      out = new Uint8Array(total)
    } else if (res.totalBytes !== total) {
      throw new BlobHashMismatchError(`blob ${cidToHex(cid)} changed size while fetching`)
    }
    if (res.offset !== offset || (res.data.length === 0 && offset < total)) throw new BlobHashMismatchError(`blob ${cidToHex(cid)}: bad chunk at ${offset}`)
    out!.set(res.data, offset)
    offset += res.data.length
  } while (offset < total)
  const bytes = out ?? new Uint8Array(0)
  if (!bytesEqual(sha256Bytes(bytes), cid)) throw new BlobHashMismatchError(`blob ${cidToHex(cid)}: sha-256 of the bytes received does not match`)
  return bytes
}

/** An LRU of blobs by CID, bounded in bytes. */
export class BlobCache {
  private readonly entries = new Map<string, Promise<Uint8Array>>()
  private readonly sizes = new Map<string, number>()
  private readonly settled = new Map<string, Uint8Array>()
  private bytes = 0

  constructor (private readonly maxBytes = 64 * 1024 * 1024) {}

  /** The fetch of `cidHex` under way now (not yet held), else undefined. */
  inFlight (cidHex: string): Promise<Uint8Array> | undefined {
    return this.sizes.has(cidHex) ? undefined : this.entries.get(cidHex)
  }

  /** The blob when it is held (fetched in full and hash-checked), else undefined; an LRU touch. */
  peek (cidHex: string): Uint8Array | undefined {
    if (!this.sizes.has(cidHex)) return undefined
    const hit = this.entries.get(cidHex)
    const settled = this.settled.get(cidHex)
    if (hit == null || settled == null) return undefined
    this.entries.delete(cidHex)
    this.entries.set(cidHex, hit)
    return settled
  }

  /** The cached blob, or the result of `load` (kept when it succeeds). */
  async get (cid: Uint8Array, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const key = cidToHex(cid)
    const hit = this.entries.get(key)
    if (hit != null) {
      this.entries.delete(key)
      this.entries.set(key, hit)
      return hit
    }
    const p = load()
    this.entries.set(key, p)
    try {
      const bytes = await p
      this.sizes.set(key, bytes.length)
      this.settled.set(key, bytes)
      this.bytes += bytes.length
      for (const k of this.entries.keys()) {
        if (this.bytes <= this.maxBytes || k === key) break
        this.entries.delete(k)
        this.bytes -= this.sizes.get(k) ?? 0
        this.sizes.delete(k)
        this.settled.delete(k)
      }
      return bytes
    } catch (err) {
      this.entries.delete(key)
      throw err
    }
  }
}
