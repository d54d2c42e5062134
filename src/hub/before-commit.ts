/**
 * Work a repository transaction finishes just before its COMMIT (RepoTx.beforeCommit,
 * RepoTx.atCommit). The ledger queues its appends here (ledger.ts): the chain's entries of a whole
 * group are numbered, signed side by side in libuv's thread pool and inserted in one step at the
 * end, so on PostgreSQL the ledger's one-appender lock is held for that step only, not from the
 * group's first grant to its commit (issue 14). A function or item queued inside a savepoint that
 * rolls back is dropped with the savepoint's writes (`mark` / `rollbackTo`).
 */

/** Items handed to `flush` together at the commit (the queue keeps their order). */
export interface CommitBatch<T> {
  /** Write `items` (at least one, in the order queued); @throws to fail the transaction */
  flush: (items: T[]) => Promise<void>
  /**
   * true: a transaction that flushed items of this batch commits synchronously even when it was
   * run with `{ commit: 'asynchronous' }` (CommitMode): the ledger's appends, whose signed
   * receipts a peer may hold, are never in a commit that a power loss could take back.
   */
  synchronousCommit?: boolean
}

type Entry = { fn: () => Promise<void> } | { batch: CommitBatch<unknown>, item: unknown }

export class BeforeCommitQueue {
  private entries: Entry[] = []
  /** Each batch's items still queued, in order (the same items as in `entries`): `queued` reads one batch without scanning the others. */
  private readonly byBatch = new Map<CommitBatch<unknown>, unknown[]>()
  private flushedSynchronous = false

  /** true when `run` flushed items of a batch marked `synchronousCommit` (until `clear`). */
  get requiresSynchronousCommit (): boolean {
    return this.flushedSynchronous
  }

  /** Queue `fn`; it runs in `run`, after what was queued before it. */
  add (fn: () => Promise<void>): void {
    this.entries.push({ fn })
  }

  /** Queue `item` for `batch`: `run` flushes a batch's items together, where its first one stands. */
  addToBatch<T> (batch: CommitBatch<T>, item: T): void {
    const b = batch as CommitBatch<unknown>
    this.entries.push({ batch: b, item })
    const items = this.byBatch.get(b)
    if (items == null) this.byBatch.set(b, [item])
    else items.push(item)
  }

  /** The items queued for `batch`, in order (a copy). */
  queued<T> (batch: CommitBatch<T>): T[] {
    return (this.byBatch.get(batch as CommitBatch<unknown>)?.slice() ?? []) as T[]
  }

  /** How many are queued: the mark a savepoint rolls back to. */
  get mark (): number {
    return this.entries.length
  }

  /** Drop what was queued after `mark` (a savepoint rolled back). */
  rollbackTo (mark: number): void {
    // the entries dropped are the last of their batches' items: taken off the end, newest first
    for (let i = this.entries.length - 1; i >= mark; i--) {
      const e = this.entries[i]
      if (!('batch' in e)) continue
      const items = this.byBatch.get(e.batch) as unknown[]
      items.pop()
      if (items.length === 0) this.byBatch.delete(e.batch)
    }
    if (mark < this.entries.length) this.entries.length = mark
  }

  /** Drop everything (a transaction begins or rolls back). */
  clear (): void {
    this.entries = []
    this.byBatch.clear()
    this.flushedSynchronous = false
  }

  /**
   * Run the queued functions one after another, in order, each batch's items flushed together at
   * the place of its first (what is queued meanwhile runs too), and empty the queue.
   * @throws whatever a function or flush throws (the rest are dropped; the caller rolls the transaction back)
   */
  async run (): Promise<void> {
    try {
      for (let i = 0; i < this.entries.length; i++) {
        const e = this.entries[i]
        if ('fn' in e) { await e.fn(); continue }
        const items: unknown[] = []
        // this batch's items from here on, taken out of the queue (later ones after the flush start a new one)
        this.entries = this.entries.filter((x, j) => {
          if (j < i || !('batch' in x) || x.batch !== e.batch) return true
          items.push(x.item)
          return false
        })
        i--
        // every item of the batch taken: those queued during its flush start a new list
        this.byBatch.delete(e.batch)
        if (e.batch.synchronousCommit === true) this.flushedSynchronous = true
        await e.batch.flush(items)
      }
    } finally {
      this.entries = []
      this.byBatch.clear()
    }
  }
}
