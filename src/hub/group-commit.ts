/**
 * Group commit (issue 14): items queued for at most `maxDelayMs` or until `maxItems` are waiting,
 * then handed to `commit` together — one transaction for the lot — and each caller answered with
 * its own outcome only after that commit. One group at a time (the store's single writer).
 */
import { Mutex } from './mutex.ts'
import { outsideRequests } from './log.ts'

export interface GroupCommitOptions<I, O> {
  /** Longest an item waits for its group, ms (0: at once). */
  maxDelayMs: number
  /** Most items in one group. */
  maxItems: number
  /** Commit one group; returns each item's outcome, or the Error it is rejected with, in order. @throws to reject the whole group */
  commit: (items: I[]) => Promise<Array<O | Error>>
  /** Told of every group committed (or rejected as a whole): its size in items and the commit's duration in seconds. */
  onGroup?: (size: number, seconds: number) => void
}

export class GroupCommit<I, O> {
  private readonly queued: Array<{ item: I, resolve: (o: O) => void, reject: (e: Error) => void }> = []
  private readonly writer = new Mutex()
  private timer: ReturnType<typeof setTimeout> | undefined

  /** @throws RangeError for a negative or non-finite maxDelayMs or a maxItems below 1 */
  constructor (private readonly opts: GroupCommitOptions<I, O>) {
    if (!(opts.maxDelayMs >= 0 && Number.isFinite(opts.maxDelayMs))) throw new RangeError(`groupCommit.maxDelayMs must be a finite number >= 0, got ${opts.maxDelayMs}`)
    if (!Number.isInteger(opts.maxItems) || opts.maxItems < 1) throw new RangeError(`maxItems (groupCommit.maxResults) must be a positive integer, got ${opts.maxItems}`)
  }

  /** Items waiting for their group now (the one being committed not included). */
  get queueLength (): number {
    return this.queued.length
  }

  /** Queue an item; resolves with its outcome once its group committed. @throws what `commit` gave or threw for it */
  async add (item: I): Promise<O> {
    return await new Promise<O>((resolve, reject) => {
      this.queued.push({ item, resolve, reject })
      this.flushSoon(this.queued.length >= this.opts.maxItems ? 0 : this.opts.maxDelayMs)
    })
  }

  /** Commit everything queued now, then run `fn` as the writer (e.g. closing the store). */
  async drain<T> (fn: () => Promise<T>): Promise<T> {
    if (this.timer != null) { clearTimeout(this.timer); this.timer = undefined }
    while (this.queued.length > 0) await this.flush()
    return await this.writer.run(fn)
  }

  /** Flush in `delayMs` (sooner when a flush is already due sooner). */
  private flushSoon (delayMs: number): void {
    if (this.timer != null) {
      if (delayMs > 0) return
      clearTimeout(this.timer)
    }
    // a group serves many requests: its commit runs in none's log context (log.ts), not the first one's
    this.timer = outsideRequests(() => setTimeout(() => { this.timer = undefined; void this.flush() }, delayMs))
  }

  private async flush (): Promise<void> {
    await this.writer.run(async () => {
      const group = this.queued.splice(0, this.opts.maxItems)
      if (group.length === 0) return
      const startedMs = performance.now()
      try {
        const out = await this.opts.commit(group.map(g => g.item))
        this.opts.onGroup?.(group.length, (performance.now() - startedMs) / 1000)
        out.forEach((r, i) => { if (r instanceof Error) group[i].reject(r); else group[i].resolve(r) })
      } catch (err) {
        this.opts.onGroup?.(group.length, (performance.now() - startedMs) / 1000)
        for (const g of group) g.reject(err as Error)
      }
    })
    if (this.queued.length > 0) this.flushSoon(this.queued.length >= this.opts.maxItems ? 0 : this.opts.maxDelayMs)
  }
}
