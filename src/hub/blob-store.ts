/**
 * Content-addressed blob store of a hub: `<dataDir>/blobs/<sha-256 hex>`, written once (temp file
 * + rename, so a crash never leaves a partial blob under its final name), served over
 * `/sparecycles/blob/1.0.0` (src/protocol/blob.ts) and read back by validators. Generic: matmul
 * input blocks today, kernels later. A small in-memory LRU keeps the most recently read blobs.
 */
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BLOB_CHUNK_BYTES, MAX_BLOB_BYTES, cidFromHex, cidToHex } from '../protocol/blob.ts'
import type { BlobRequest, BlobResponse } from '../protocol/pb/messages.ts'

export class BlobStore {
  readonly dir: string
  private readonly cache = new Map<string, Uint8Array>()
  private cacheBytes = 0

  /** @param cacheBytes bytes of blobs kept in memory (default 128 MiB) */
  constructor (dir: string, private readonly maxCacheBytes = 128 * 1024 * 1024) {
    this.dir = dir
    mkdirSync(dir, { recursive: true })
  }

  private pathOf (hex: string): string {
    return join(this.dir, hex)
  }

  /**
   * Store bytes (no-op when already present).
   * @returns the CID: sha-256 of the bytes (32 bytes)
   * @throws RangeError for a blob larger than MAX_BLOB_BYTES
   */
  put (bytes: Uint8Array): Uint8Array {
    if (bytes.length > MAX_BLOB_BYTES) throw new RangeError(`blob of ${bytes.length} bytes is larger than ${MAX_BLOB_BYTES}`)
    const hex = createHash('sha256').update(bytes).digest('hex')
    const path = this.pathOf(hex)
    if (!existsSync(path)) {
      const tmp = `${path}.${process.pid}.tmp`
      writeFileSync(tmp, bytes)
      renameSync(tmp, path)
    }
    return cidFromHex(hex)
  }

  /**
   * Move a file already hash-checked against `cid` (a finished upload, on the same filesystem) into
   * the store under its CID (rename: never a partial blob under its final name); a blob already
   * present is kept and the file deleted.
   */
  adopt (file: string, cid: Uint8Array): void {
    const path = this.pathOf(cidToHex(cid))
    if (existsSync(path)) rmSync(file, { force: true })
    else renameSync(file, path)
  }

  has (cid: Uint8Array): boolean {
    return existsSync(this.pathOf(cidToHex(cid)))
  }

  /** Size in bytes, or undefined when absent. */
  size (cid: Uint8Array): number | undefined {
    const path = this.pathOf(cidToHex(cid))
    return existsSync(path) ? statSync(path).size : undefined
  }

  /** The whole blob (from the LRU when possible), or undefined when absent. */
  get (cid: Uint8Array): Uint8Array | undefined {
    const hex = cidToHex(cid)
    const hit = this.cache.get(hex)
    if (hit != null) {
      this.cache.delete(hex)
      this.cache.set(hex, hit)
      return hit
    }
    const path = this.pathOf(hex)
    if (!existsSync(path)) return undefined
    const bytes = new Uint8Array(readFileSync(path))
    if (bytes.length <= this.maxCacheBytes / 4) {
      this.cache.set(hex, bytes)
      this.cacheBytes += bytes.length
      for (const [key, value] of this.cache) {
        if (this.cacheBytes <= this.maxCacheBytes) break
        this.cache.delete(key)
        this.cacheBytes -= value.length
      }
    }
    return bytes
  }

  /** Read `length` bytes at `offset` (fewer at the end), or undefined when absent. */
  read (cid: Uint8Array, offset: number, length: number): { totalBytes: number, data: Uint8Array } | undefined {
    const hex = cidToHex(cid)
    const cached = this.cache.get(hex)
    if (cached != null) return { totalBytes: cached.length, data: cached.subarray(Math.min(offset, cached.length), Math.min(cached.length, offset + length)) }
    const path = this.pathOf(hex)
    if (!existsSync(path)) return undefined
    const fd = openSync(path, 'r')
    try {
      const totalBytes = statSync(path).size
      const n = Math.max(0, Math.min(length, totalBytes - offset))
      const data = new Uint8Array(n)
      let done = 0
      while (done < n) {
        const got = readSync(fd, data, done, n - done, offset + done)
        if (got === 0) break
        done += got
      }
      return { totalBytes, data: data.subarray(0, done) }
    } finally {
      closeSync(fd)
    }
  }

  /** Answer one BlobRequest (already schema-checked). */
  serve (req: BlobRequest): BlobResponse {
    const got = this.read(req.cid, req.offset, Math.min(req.maxBytes, BLOB_CHUNK_BYTES))
    if (got == null) return { totalBytes: 0, offset: req.offset, data: new Uint8Array(0), error: 'BlobNotFoundError', message: `no blob ${cidToHex(req.cid)}` }
    if (req.offset > got.totalBytes) return { totalBytes: got.totalBytes, offset: req.offset, data: new Uint8Array(0), error: 'MalformedMessageError', message: `offset ${req.offset} is past the end (${got.totalBytes} bytes)` }
    return { totalBytes: got.totalBytes, offset: req.offset, data: got.data as Uint8Array<ArrayBuffer>, error: '', message: '' }
  }
}

/** Blob store of the hub with this data directory (`<dataDir>/blobs`), one per directory. */
const blobStores = new Map<string, BlobStore>()
export function blobStoreIn (dataDir: string): BlobStore {
  const dir = join(dataDir, 'blobs')
  let bs = blobStores.get(dir)
  if (bs == null) { bs = new BlobStore(dir); blobStores.set(dir, bs) }
  return bs
}
