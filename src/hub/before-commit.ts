/**
 * Work a repository transaction finishes just before its COMMIT (RepoTx.beforeCommit): the ledger
 * starts an entry's signature in libuv's thread pool when it appends the entry, and stores the
 * signature here, so a batch's signatures are made side by side instead of one after another on
 * the hub's thread (issue 14). A function registered inside a savepoint that rolls back is dropped
 * with the savepoint's writes (`mark` / `rollbackTo`), so it never writes over a row that was undone.
 */
export class BeforeCommitQueue {
  private fns: Array<() => Promise<void>> = []

  /** Queue `fn`; it runs in `run`, after those queued before it. */
  add (fn: () => Promise<void>): void {
    this.fns.push(fn)
  }

  /** How many are queued: the mark a savepoint rolls back to. */
  get mark (): number {
    return this.fns.length
  }

  /** Drop what was queued after `mark` (a savepoint rolled back). */
  rollbackTo (mark: number): void {
    if (mark < this.fns.length) this.fns.length = mark
  }

  /** Drop everything (a transaction begins or rolls back). */
  clear (): void {
    this.fns = []
  }

  /**
   * Run the queued functions one after another, in order (one queued meanwhile runs too), and
   * empty the queue.
   * @throws whatever a function throws (the rest are dropped; the caller rolls the transaction back)
   */
  async run (): Promise<void> {
    try {
      for (let i = 0; i < this.fns.length; i++) await this.fns[i]()
    } finally {
      this.fns = []
    }
  }
}
