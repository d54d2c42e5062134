/**
 * HubRepository on SQLite (store.ts holds the connection and schema). `node:sqlite` is
 * synchronous, so an async transaction is `BEGIN IMMEDIATE`, the awaited function, `COMMIT`, and a
 * FIFO mutex keeps transactions of this repository from interleaving on the one connection.
 * Commits are `synchronous = FULL` (store.ts), except a transaction run with `{ commit:
 * 'asynchronous' }`: it runs under `synchronous = NORMAL` (WAL frames written at COMMIT, no fsync;
 * see CommitMode), and the connection is FULL again after it. One that queued ledger appends is
 * rolled back and run again synchronously (a repository may run a transaction's function twice:
 * PgHubRepository retries too).
 *
 * Several repositories on one file (two processes) are serialised by SQLite's own locking (busy
 * timeout 5 s). Two repositories on one file in ONE process must not run transactions at the same
 * time: SQLite's busy wait blocks the thread that holds the other transaction.
 */
import { SqliteStore } from './store.ts'
import { Mutex } from './mutex.ts'
import { SqliteTx } from './sqlite-tx.ts'
import type { CommitMode, HubRepository, RepoReader, RepoTx, TransactionOptions } from './repository.ts'

/** Thrown inside SqliteHubRepository.attempt only: roll back, run the transaction again synchronously. */
class RerunSynchronously extends Error {}

/** The SQLite repository. One instance per data directory and process. */
export class SqliteHubRepository implements HubRepository {
  readonly dataDir: string
  private readonly mutex = new Mutex()
  private readonly tx: SqliteTx

  private constructor (private readonly store: SqliteStore) {
    this.dataDir = store.dataDir
    this.tx = new SqliteTx(store)
  }

  /**
   * Open (or create) `<dataDir>/hub.sqlite`, migrating its schema.
   * @throws Error when the file has a newer schema version or a migration fails
   */
  static open (dataDir: string): SqliteHubRepository {
    return new SqliteHubRepository(SqliteStore.open(dataDir))
  }

  /** Path of the database file. */
  get path (): string {
    return this.store.path
  }

  async transaction<T> (fn: (tx: RepoTx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return await this.run('BEGIN IMMEDIATE', fn, opts.commit ?? 'synchronous')
  }

  async read<T> (fn: (tx: RepoReader) => Promise<T>): Promise<T> {
    return await this.run('BEGIN', fn)
  }

  private async run<T> (begin: string, fn: (tx: RepoTx) => Promise<T>, commit: CommitMode = 'synchronous'): Promise<T> {
    return await this.mutex.run(async () => {
      const first = await this.attempt(begin, fn, commit)
      if (first.done) return first.result
      // ledger appends in an asynchronous transaction: rolled back, run again to commit synchronously
      const again = await this.attempt(begin, fn, 'synchronous')
      return (again as { result: T }).result
    })
  }

  /**
   * One run of `fn` in a transaction. `synchronous` is a connection setting SQLite refuses to
   * change inside a transaction, so an asynchronous one sets NORMAL before BEGIN and FULL after
   * its end; if it queued ledger appends (BeforeCommitQueue.requiresSynchronousCommit) it is
   * rolled back instead of committed (`done: false`).
   */
  private async attempt<T> (begin: string, fn: (tx: RepoTx) => Promise<T>, commit: CommitMode): Promise<{ done: true, result: T } | { done: false }> {
    if (!this.store.isOpen) throw new Error(`the hub store ${this.store.path} is closed`)
    // WAL with NORMAL: this commit's frames are written, not fsynced; the next FULL commit's fsync covers them
    if (commit === 'asynchronous') this.store.db.exec('PRAGMA synchronous = NORMAL')
    try {
      this.store.db.exec(begin)
      this.tx.forgetRows()
      this.tx.dropUnits()
      this.tx.atCommit.clear()
      let result: T
      try {
        result = await fn(this.tx)
        await this.tx.atCommit.run()
        this.tx.flushUnits()
        if (commit === 'asynchronous' && this.tx.atCommit.requiresSynchronousCommit) throw new RerunSynchronously()
      } catch (err) {
        this.tx.forgetRows()
        this.tx.dropUnits()
        this.tx.atCommit.clear()
        if (this.store.db.isTransaction) this.store.db.exec('ROLLBACK')
        if (err instanceof RerunSynchronously) return { done: false }
        throw err
      }
      this.tx.forgetRows()
      this.store.db.exec('COMMIT')
      return { done: true, result }
    } finally {
      if (commit === 'asynchronous') this.store.db.exec('PRAGMA synchronous = FULL')
    }
  }

  async close (): Promise<void> {
    await this.mutex.run(async () => { this.store.close() })
  }
}
