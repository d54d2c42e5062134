/**
 * HubRepository on PostgreSQL, for several hub processes sharing one job set (README, "Several
 * hubs on PostgreSQL"). Each hub process opens its own PgHubRepository on the same database; pg-store.ts holds
 * the connection and schema, pg-*-ops.ts the operations, with SQLite's semantics (ordering, NULLs,
 * the ledger's append-only trigger, the unique constraints).
 *
 * Within one process, transactions are serialised by a FIFO mutex, as SQLite's are: the interface
 * promises that transactions of one repository never interleave, and HubCore's group commit and
 * in-memory caches rely on it. Concurrency comes from several processes; between them:
 * - write transactions run at READ COMMITTED, and every read a write depends on locks its row
 *   (`getWorkUnit`, `getReplica` are `SELECT … FOR NO KEY UPDATE` in a write transaction), so two results
 *   of one work unit arriving at two hubs at once are judged one after the other, the second
 *   seeing the first (the work unit row is locked before its results are read);
 * - a job's row, which every lease and result of the job changes, is locked only at the commit:
 *   the transaction's job writes (counters, the assimilated output, the settled state) are queued
 *   and made just before COMMIT, decisions on the job's counters there on its locked row
 *   (job-changes.ts); job ids in sorted order;
 * - leases: `candidateUnitsFor` locks the units it returns `FOR NO KEY UPDATE SKIP LOCKED` and re-checks
 *   them (pg-progress-ops.ts); expired replicas are swept `FOR NO KEY UPDATE SKIP LOCKED` (a replica
 *   whose result another hub is storing right now is left to it);
 * - the ledger has one appender at a time (advisory lock, pg-ledger-ops.ts), taken where the
 *   transaction's entries are appended, just before COMMIT (ledger.ts); job seq / job ids are
 *   computed under the advisory lock LOCK_JOB_SEQ;
 * - a deadlock (two hubs locking rows in different orders), a serialization failure or a unique
 *   violation from a racing insert rolls the WHOLE transaction back and runs `fn` again, at most
 *   MAX_ATTEMPTS times, after a short random wait. That is also so when the error was caught by a
 *   savepoint inside `fn` (the group commit catches a submission's error): the transaction is marked
 *   and retried at its end. So `fn` may run more than once and must not have effects outside the
 *   database that a second run breaks (HubCore's are idempotent: signatures, output files written
 *   by index; a metrics counter may count a retried transaction twice).
 * Read transactions are REPEATABLE READ READ ONLY: one consistent snapshot, no locks.
 *
 * Round trips: writes whose answer nobody reads (counter updates, upserts, the ledger's insert) are
 * sent without waiting (`PgQueries.write`, pg-ledger-ops.ts) and pipelined by the driver; the next
 * read sees them (one connection runs its statements in order), a failed one is thrown by the next
 * query, and a savepoint and the transaction wait for all of theirs before they end. Reads are
 * made once a transaction where they can be (kept-rows.ts): a group commit reads its replicas,
 * their units, the acks already stored for them and, for every replica of those units, its ledger
 * entry and partner-site lease in one step (`lockForSubmissions`, the reads after the locks
 * pipelined) and draws the ids of the results it may store from `results.id`'s sequence (so each
 * INSERT is a write sent without waiting), the units a lease locks are kept as locked, and a trust
 * record found missing is not looked for again: 10.1 awaited queries a result became 2.5 in the
 * 100-volunteer bench (2026-12-04).
 *
 * Durability: every connection sets `synchronous_commit = on` (pg-store.ts connect), whatever the
 * server's default; a transaction's promise resolves only after its COMMIT returned — flushed,
 * except a transaction run with `{ commit: 'asynchronous' }` (leases: `SET LOCAL
 * synchronous_commit = off`, see CommitMode).
 */
import { Mutex } from './mutex.ts'
import { PgTx } from './pg-tx-ops.ts'
import { StoreUnavailableError } from '../protocol/errors.ts'
import { StoreClosedError, TransactionRetryError, connect, connectionLost, migrate, parseStoreUrl, retryable, sqlState } from './pg-store.ts'
import { secureRandom } from './trust.ts'
import type { PgTarget, Sql } from './pg-store.ts'
import type { CommitMode, HubRepository, RepoReader, RepoTx, TransactionOptions } from './repository.ts'

/** Runs of one transaction at most (the first and the retries). */
export const MAX_ATTEMPTS = 12
/** Runs at most after unique violations: a racing insert is seen by the next run; one that stays is the caller's error. */
const MAX_UNIQUE_ATTEMPTS = 3

/** How many runs a transaction that failed with `err` gets in all. */
function attemptsFor (err: unknown): number {
  return sqlState(err) === '23505' ? MAX_UNIQUE_ATTEMPTS : MAX_ATTEMPTS
}

/** Thrown inside `sql.begin` to roll a transaction back for a retry (never leaves this module). */
class RetryMarker extends Error {
  static override readonly name = 'RetryMarker'
  override readonly name = 'RetryMarker'
  constructor (readonly causeErr: unknown) { super('retry') }
}

export interface PgRepositoryOptions {
  /** Connections in the pool (default 2: one transaction at a time, plus a spare for the next). */
  maxConnections?: number
  /**
   * Called when the server becomes unreachable (`up` false, `detail` the driver's error and where
   * it connects, no password) and when a transaction commits again afterwards (`up` true): once
   * each way per outage, for the operator's log. The volunteers are told only StoreUnavailableError.
   */
  onAvailability?: (up: boolean, detail: string) => void
}

/** The PostgreSQL repository. One instance per hub process; several processes may share the database. */
export class PgHubRepository implements HubRepository {
  readonly dataDir: string
  /** Where it connects (no password). */
  readonly display: string
  private readonly mutex = new Mutex()
  private closed = false
  /** Whether the last transaction found the server gone (onAvailability is told once each way). */
  private unreachable = false
  /** Transactions run again after a retryable error since open, in all and per SQLSTATE (40P01 deadlock, 40001 serialization, 23505 unique): for tests and logs. */
  retries = 0
  readonly retriesByCode: Record<string, number> = {}

  private constructor (private readonly sql: Sql, target: PgTarget, dataDir: string, private readonly opts: PgRepositoryOptions) {
    this.display = target.display
    this.dataDir = dataDir
  }

  /**
   * Connect to the database of `url` (parseStoreUrl) and bring its schema up to date.
   * @param dataDir where this hub keeps files beside the store (blobs and job outputs: share it between hubs)
   * @throws StoreUrlError for a bad URL; StoreSchemaError for a newer schema; the driver's error when
   *   the server cannot be reached or refuses the login
   */
  static async open (url: string, dataDir: string, opts: PgRepositoryOptions = {}): Promise<PgHubRepository> {
    const target = parseStoreUrl(url)
    const sql = connect(target, opts.maxConnections ?? 2)
    try {
      await migrate(sql, target.display)
    } catch (err) {
      await sql.end({ timeout: 5 })
      throw err
    }
    return new PgHubRepository(sql, target, dataDir, opts)
  }

  async transaction<T> (fn: (tx: RepoTx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    return await this.run(true, fn, opts.commit ?? 'synchronous')
  }

  async read<T> (fn: (tx: RepoReader) => Promise<T>): Promise<T> {
    return await this.run(false, fn)
  }

  private async run<T> (writable: boolean, fn: (tx: RepoTx) => Promise<T>, commit: CommitMode = 'synchronous'): Promise<T> {
    return await this.mutex.run(async () => {
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new StoreClosedError(`the hub store ${this.display} is closed`)
        try {
          const begin = writable ? 'isolation level read committed' : 'isolation level repeatable read read only'
          const result = await this.sql.begin(begin, async c => {
            const tx = new PgTx(c, writable)
            // this COMMIT not waiting for its WAL flush (the next synchronous commit's flush covers
            // it); pipelined in front of the first statement, not a round trip of its own
            if (commit === 'asynchronous') tx.setSynchronousCommit(false)
            const result = await fn(tx)
            await tx.atCommit.run()
            // every write sent answered before COMMIT: one that failed fails the transaction
            await tx.settle()
            // a retryable error swallowed by a savepoint: run the whole transaction again
            if (tx.retryCause !== undefined && attempt < attemptsFor(tx.retryCause)) throw new RetryMarker(tx.retryCause)
            // never with ledger appends (CommitBatch.synchronousCommit)
            if (commit === 'asynchronous' && tx.atCommit.requiresSynchronousCommit) {
              tx.setSynchronousCommit(true)
              await tx.settle()
            }
            return result
          }) as T
          if (this.unreachable) {
            this.unreachable = false
            this.opts.onAvailability?.(true, `the PostgreSQL store ${this.display} is reachable again`)
          }
          return result
        } catch (err) {
          const cause = err instanceof RetryMarker ? err.causeErr : err
          // the server gone: a named refusal (nothing of this transaction was committed, or its
          // COMMIT's answer was lost: a result sent again is then a duplicate with its ack)
          if (connectionLost(cause)) {
            if (!this.unreachable) this.opts.onAvailability?.(false, `the PostgreSQL store ${this.display} is unreachable: ${(cause as Error).message}`)
            this.unreachable = true
            // what reaches a volunteer names no host, socket, user or database
            throw new StoreUnavailableError('the hub\'s store is unreachable; try again later')
          }
          if (!(err instanceof RetryMarker) && !retryable(err)) throw err
          if (attempt >= attemptsFor(cause)) {
            // a unique violation that stays is the caller's (e.g. a second replica of a unit to one peer)
            if (sqlState(cause) === '23505') throw cause
            throw new TransactionRetryError(`transaction failed ${attempt} times on ${this.display}: ${(cause as Error).message}`, { cause })
          }
          this.retries++
          const code = String(sqlState(cause))
          this.retriesByCode[code] = (this.retriesByCode[code] ?? 0) + 1
          await new Promise(resolve => setTimeout(resolve, Math.floor(secureRandom() * 5 * attempt)))
        }
      }
    })
  }

  /** Wait for the transaction in flight, then close the pool. Idempotent. */
  async close (): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return
      this.closed = true
      await this.sql.end({ timeout: 5 })
    })
  }
}
