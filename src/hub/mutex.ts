/**
 * A FIFO async mutex (one holder at a time): a SQLite connection's transactions
 * (sqlite-repository.ts), a PostgreSQL hub's (pg-repository.ts), the group commit's single writer.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>(resolve => { release = resolve })
    await prev
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
