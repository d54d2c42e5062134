/**
 * Staging of blob uploads (`/sparecycles/blob-put/1.0.0`, src/protocol/upload.ts): each
 * unfinished upload of an allowed researcher is a file `<dataDir>/staging/<researcher>-<cid hex>.part`
 * that grows chunk by chunk (in order; the sha-256 is computed as the chunks arrive). After the last
 * chunk the hash is checked against the CID: a match is moved into the content-addressed BlobStore
 * (rename, same filesystem), a mismatch is deleted (BlobHashMismatchError).
 *
 * Bounds: a researcher's unfinished uploads together declare at most `maxStagedBytesPerResearcher`
 * bytes and number at most MAX_STAGED_UPLOADS_PER_RESEARCHER ('staged-bytes'); each is deleted
 * `stagedUploadTimeoutMs` after its first chunk ('staged-upload-deadline'). The staging directory is
 * emptied when the hub starts. All work is synchronous, so chunks of one upload never interleave.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BlobHashMismatchError, MalformedMessageError, ResourceLimitError, bytesEqual, cidToHex } from '../protocol/index.ts'
import type { BlobPutRequest, BlobPutResponse } from '../protocol/index.ts'
import type { BlobStore } from './blob-store.ts'
import type { HubLimits, LimitHitListener } from './limits.ts'
import type { Hash } from 'node:crypto'

/** Most unfinished uploads one researcher may have at once. */
export const MAX_STAGED_UPLOADS_PER_RESEARCHER = 16

interface Upload {
  researcher: string
  cid: Uint8Array
  totalBytes: number
  received: number
  hash: Hash
  file: string
  deadlineMs: number
}

export interface BlobStagingOptions {
  /** The staging directory (on the blob store's filesystem); emptied here. */
  dir: string
  blobs: BlobStore
  limits: Pick<HubLimits, 'maxStagedBytesPerResearcher' | 'stagedUploadTimeoutMs'>
  onLimitHit?: LimitHitListener
  /** Clock, in ms (default Date.now). */
  now?: () => number
}

export class BlobStaging {
  private readonly uploads = new Map<string, Upload>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly now: () => number

  constructor (private readonly opts: BlobStagingOptions) {
    this.now = opts.now ?? Date.now
    rmSync(opts.dir, { recursive: true, force: true })
    mkdirSync(opts.dir, { recursive: true })
    this.timer = setInterval(() => { this.sweep() }, Math.min(60_000, opts.limits.stagedUploadTimeoutMs))
    this.timer.unref()
  }

  /** Bytes declared by `researcher`'s unfinished uploads. */
  stagedBytes (researcher: string): number {
    let sum = 0
    for (const up of this.uploads.values()) if (up.researcher === researcher) sum += up.totalBytes
    return sum
  }

  /** Unfinished uploads in all. */
  get size (): number { return this.uploads.size }

  /**
   * Take one chunk from an allowed researcher (schema-checked already). A chunk at offset 0 (re)starts
   * the upload; any other must continue it at exactly the bytes received so far.
   * @throws ResourceLimitError over the researcher's staging quota (reported as 'staged-bytes'),
   *   MalformedMessageError for a chunk out of order or of no upload in progress (expired),
   *   BlobHashMismatchError when the finished blob does not hash to its cid (nothing is kept)
   */
  put (researcher: string, req: BlobPutRequest): BlobPutResponse {
    this.sweep()
    const hex = cidToHex(req.cid)
    const key = `${researcher}/${hex}`
    if (this.opts.blobs.has(req.cid)) {
      this.drop(key)
      return { error: '', message: '', received: this.opts.blobs.size(req.cid) ?? 0, complete: true }
    }
    let up = this.uploads.get(key)
    if (req.offset === 0) {
      this.drop(key)
      up = this.start(researcher, req, key)
    }
    if (up == null) throw new MalformedMessageError(`no upload of ${hex} in progress (never started, or expired): start again at offset 0`)
    if (req.totalBytes !== up.totalBytes) throw new MalformedMessageError(`totalBytes ${req.totalBytes} differs from the upload's ${up.totalBytes}`)
    if (req.offset !== up.received) throw new MalformedMessageError(`chunk at offset ${req.offset}; the hub holds ${up.received} bytes of ${hex}`)
    if (req.data.length === 0) throw new MalformedMessageError('an empty chunk')
    writeFileSync(up.file, req.data, { flag: 'a' })
    up.hash.update(req.data)
    up.received += req.data.length
    if (up.received < up.totalBytes) return { error: '', message: '', received: up.received, complete: false }
    this.uploads.delete(key)
    if (!bytesEqual(up.hash.digest(), req.cid)) {
      rmSync(up.file, { force: true })
      throw new BlobHashMismatchError(`the ${up.totalBytes} bytes uploaded do not hash to ${hex}; nothing was kept`)
    }
    this.opts.blobs.adopt(up.file, req.cid)
    return { error: '', message: '', received: up.received, complete: true }
  }

  private start (researcher: string, req: BlobPutRequest, key: string): Upload {
    const max = this.opts.limits.maxStagedBytesPerResearcher
    const staged = this.stagedBytes(researcher)
    const count = [...this.uploads.values()].filter(u => u.researcher === researcher).length
    if (staged + req.totalBytes > max || count >= MAX_STAGED_UPLOADS_PER_RESEARCHER) {
      const message = `an upload of ${req.totalBytes} bytes would take ${count + 1} unfinished uploads of ${staged + req.totalBytes} bytes past the staging quota of ${max} bytes / ${MAX_STAGED_UPLOADS_PER_RESEARCHER} uploads`
      this.opts.onLimitHit?.('staged-bytes', { peer: researcher, message })
      throw new ResourceLimitError(`staged-bytes: ${message}`)
    }
    const file = join(this.opts.dir, `${researcher}-${cidToHex(req.cid)}.part`)
    writeFileSync(file, new Uint8Array(0))
    const up: Upload = { researcher, cid: req.cid, totalBytes: req.totalBytes, received: 0, hash: createHash('sha256'), file, deadlineMs: this.now() + this.opts.limits.stagedUploadTimeoutMs }
    this.uploads.set(key, up)
    return up
  }

  private drop (key: string): void {
    const up = this.uploads.get(key)
    if (up == null) return
    this.uploads.delete(key)
    rmSync(up.file, { force: true })
  }

  /** Delete the unfinished uploads past their deadline. */
  sweep (): void {
    const now = this.now()
    for (const [key, up] of this.uploads) {
      if (up.deadlineMs > now) continue
      this.drop(key)
      this.opts.onLimitHit?.('staged-upload-deadline', { peer: up.researcher, message: `upload of ${cidToHex(up.cid)} unfinished after ${this.opts.limits.stagedUploadTimeoutMs} ms (${up.received} of ${up.totalBytes} bytes)` })
    }
  }

  /** Stop the sweep timer and delete every unfinished upload. */
  stop (): void {
    clearInterval(this.timer)
    for (const key of [...this.uploads.keys()]) this.drop(key)
  }
}
