/**
 * The PostgreSQL repository's row operations (jobs, work units, replicas, results, peers, sites,
 * kernels, trust), over one transaction's connection; PgHubRepository (pg-repository.ts) makes one
 * per transaction. The ledger's operations are in pg-ledger-ops.ts, job progress and scheduling in
 * pg-progress-ops.ts, replicas, results and the group commit's reads in pg-result-ops.ts (this
 * class extends them). In a write transaction `getWorkUnit` locks its row (`FOR NO KEY UPDATE`),
 * and `expiredReplicas` locks what it returns
 * (`SKIP LOCKED`): see pg-repository.ts for why. A job's row is locked only at the commit, where
 * the transaction's job writes are made (job-changes.ts).
 */
import { PgResultOps } from './pg-result-ops.ts'
import { PG_CREDIT_UNITS_SQL } from './pg-ledger-ops.ts'
import { fromCreditUnits } from '../protocol/credit.ts'
import { LOCK_JOB_SEQ, retryable } from './pg-store.ts'
import { secureRandom } from './trust.ts'
import { BeforeCommitQueue } from './before-commit.ts'
import type { CommitBatch } from './before-commit.ts'
import { JobChanges } from './job-changes.ts'
import { PeerChanges } from './peer-changes.ts'
import { TrustChanges } from './trust-changes.ts'
import { keptKey } from './kept-rows.ts'
import type { TxSql } from './pg-store.ts'
import type {
  FreshHeld, JobCounter, JobPatch, JobRow, KernelRow, NewJob, NewWorkUnit, PeerCounter, PeerRow, PeerTotals, ReplicaRow, RepoTx,
  SiteStatsRow, TrustCounter, TrustRow, WorkUnitChange, WorkUnitCounter, WorkUnitPatch, WorkUnitRow
} from './repository.ts'
import { peerTotalsOf } from './repository-rows.ts'
import { listSitesOf, siteStatsOf, workUnitUpdate } from './shared-queries.ts'

const JOB_PATCHABLE = new Set(['state', 'output', 'wu_count', 'hold', 'hold_reason', 'probes'])
const JOB_COUNTERS = new Set(['wu_validated', 'wu_assimilated', 'wu_failed', 'replicas_issued', 'spot_checks', 'spot_failures', 'checked_ops', 'result_ops', 'checked_ms', 'wu_reopened', 'probes'])
const TRUST_COUNTERS = new Set(['valid_results', 'verified_results', 'invalid_results', 'client_errors', 'spot_checks', 'spot_failures'])
const PEER_COUNTERS = new Set(['leases', 'results', 'valid_results', 'invalid_results', 'client_errors', 'no_replies', 'cannot_runs'])

function column (name: string, allowed: Set<string>): string {
  if (!allowed.has(name)) throw new Error(`not a column that may be changed: ${name}`)
  return name
}

/** Rows per INSERT of work units. */
const WU_INSERT_CHUNK = 500

/** The operations over one transaction's connection; made per transaction. */
export class PgTx extends PgResultOps implements RepoTx {
  /** A retryable error caught inside a savepoint: the transaction must run again. */
  retryCause: unknown = undefined

  /** What runs just before COMMIT (beforeCommit). */
  readonly atCommit = new BeforeCommitQueue()

  constructor (c: TxSql, writable: boolean) { super(c, writable) }

  /**
   * This transaction's COMMIT not waiting for its WAL flush (`SET LOCAL synchronous_commit = off`,
   * CommitMode 'asynchronous'), or waiting again (`on`). Sent without waiting for its answer, in
   * front of the transaction's first statement (a write: pipelined, its failure thrown by the
   * next query or at the end).
   */
  setSynchronousCommit (on: boolean): void {
    this.write(`SET LOCAL synchronous_commit = ${on ? 'on' : 'off'}`)
  }

  beforeCommit (fn: () => Promise<void>): void {
    this.atCommit.add(fn)
  }

  queueForCommit<T> (batch: CommitBatch<T>, item: T): void {
    this.atCommit.addToBatch(batch, item)
  }

  queuedForCommit<T> (batch: CommitBatch<T>): T[] {
    return this.atCommit.queued(batch)
  }

  async savepoint<T> (fn: () => Promise<T>): Promise<T> {
    const outer = this.c
    const mark = this.atCommit.mark
    // the writes sent before it answered first: a failure of theirs is not the savepoint's
    await this.settle()
    try {
      // the driver's savepoint: its own scope, rolled back to when fn rejects or one of its queries failed
      return await outer.savepoint(async sp => {
        this.c = sp
        try {
          const out = await fn()
          // its writes answered inside it: one that failed rolls it back
          await this.settle()
          return out
        } catch (err) {
          // a write of it that failed too: its error is the savepoint's cause when retryable
          await this.settle().catch((e: unknown) => { if (retryable(e)) this.retryCause ??= e })
          throw err
        } finally {
          this.c = outer
        }
      }) as T
    } catch (err) {
      // the savepoint's writes are undone: so are their changes to kept rows, a lock taken in it, and what it left for the commit
      this.kept.clear()
      this.atCommit.rollbackTo(mark)
      this.ledgerLocked = false
      if (retryable(err)) this.retryCause ??= err
      throw err
    }
  }

  async getMeta (key: string): Promise<string | undefined> {
    return (await this.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', key))?.value
  }

  async setMeta (key: string, value: string): Promise<void> {
    await this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value)
  }

  async getJob (id: string): Promise<JobRow | undefined> {
    // not locked: the transaction's job writes wait for its commit (job-changes.ts), where the row is locked
    const row = await this.kept.get(keptKey.job(id), async () => await this.get<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id WHERE j.id = ?', id))
    return this.jobs.view(row)
  }

  /** This transaction's job writes, written just before its COMMIT (job-changes.ts). */
  private readonly jobs = new JobChanges(this.atCommit, {
    run: (sql, params) => { this.write(sql, ...params) },
    read: async id => await this.get<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id WHERE j.id = ? FOR NO KEY UPDATE OF j', id),
    column: (c, as) => column(c, as === 'add' ? JOB_COUNTERS : JOB_PATCHABLE)
  })

  changeJobAtCommit (id: string, fn: (job: JobRow) => JobPatch | undefined): void {
    this.jobs.change(id, fn)
  }

  async listJobs (): Promise<JobRow[]> {
    return await this.all<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id ORDER BY j.seq')
  }

  async maxJobSeq (): Promise<number> {
    // a write transaction computes the next job's seq from this: one at a time across hubs
    if (this.writable) await this.lock(LOCK_JOB_SEQ)
    return (await this.get<{ n: number | null }>('SELECT max(seq) AS n FROM jobs'))?.n ?? 0
  }

  async kernelsOfRunningJobs (): Promise<string[]> {
    return (await this.all<{ kernel: string }>("SELECT DISTINCT kernel FROM jobs WHERE state = 'running' AND hold IS NULL ORDER BY kernel")).map(r => r.kernel)
  }

  async insertJob (job: NewJob): Promise<void> {
    await this.run(`INSERT INTO jobs (id, seq, kernel, quorum, credit_per_ops, state, created_at_ms, wu_count, output, policy)
      VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, job.id, job.seq, job.kernel, job.quorum, job.credit_per_ops, job.state, job.created_at_ms, job.output, job.policy)
    await this.run('INSERT INTO job_specs (job_id, spec) VALUES (?, ?)', job.id, job.spec)
  }

  async patchJob (id: string, patch: JobPatch): Promise<void> {
    this.jobs.set(id, patch)
  }

  async addToJob (id: string, counter: JobCounter, by: number): Promise<void> {
    this.jobs.add(id, counter, by)
  }

  async getWorkUnit (id: string): Promise<WorkUnitRow | undefined> {
    return await this.kept.get(keptKey.workUnit(id), async () => await this.get<WorkUnitRow>(`SELECT * FROM work_units WHERE id = ?${this.forUpdate}`, id))
  }

  async insertWorkUnits (units: readonly NewWorkUnit[]): Promise<void> {
    const cols = ['id', 'job_id', 'job_seq', 'idx', 'kernel', 'input', 'est_ops', 'credit', 'memory_bytes', 'deadline_ms', 'quorum', 'target_nresults', 'wanted', 'known_output_sha256', 'rand_key']
    for (let i = 0; i < units.length; i += WU_INSERT_CHUNK) {
      const chunk = units.slice(i, i + WU_INSERT_CHUNK)
      const rows = chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')
      // a random 53-bit key per unit (never sent out), as SQLite's random() % 2^52
      await this.run(`INSERT INTO work_units (${cols.join(', ')}) VALUES ${rows}`, ...chunk.flatMap(u => [
        u.id, u.job_id, u.job_seq, u.idx, u.kernel, u.input, u.est_ops, u.credit, u.memory_bytes, u.deadline_ms, u.quorum, u.target_nresults, u.wanted,
        u.known_output_sha256 ?? null, Math.floor((secureRandom() * 2 - 1) * 2 ** 52)
      ]))
    }
  }

  async patchWorkUnit (id: string, patch: WorkUnitPatch): Promise<void> {
    await this.changeWorkUnit(id, { set: patch })
  }

  async addToWorkUnit (id: string, counter: WorkUnitCounter, by: number): Promise<void> {
    await this.changeWorkUnit(id, { add: { [counter]: by } })
  }

  async changeWorkUnit (id: string, change: WorkUnitChange): Promise<void> {
    const u = workUnitUpdate(id, change)
    if (u == null) return
    this.write(u.sql, ...u.params)
    const key = keptKey.workUnit(id)
    this.kept.set(key, u.set, change.set ?? {})
    for (const [c, by] of u.add) this.kept.add(key, c, by)
  }

  async canonicalDeviceClasses (jobId: string): Promise<Record<string, number>> {
    const rows = await this.all<{ device_class: string, n: number }>(`SELECT p.device_class, count(*) AS n FROM work_units w
      JOIN results r ON r.id = w.canonical_result_id JOIN replicas p ON p.id = r.replica_id
      WHERE w.job_id = ? GROUP BY p.device_class ORDER BY p.device_class`, jobId)
    return Object.fromEntries(rows.map(r => [r.device_class, r.n]))
  }

  async resumableLeases (peerId: string, nowMs: number, issuedBeforeMs: number, limit: number): Promise<Array<{ replica: ReplicaRow, wu: WorkUnitRow }>> {
    if (limit <= 0) return []
    const replicas = await this.all<ReplicaRow>(`SELECT * FROM replicas WHERE peer_id = ? AND state = 'in-progress' AND released = 0
      AND expires_at_ms > ? AND issued_at_ms < ? ORDER BY issued_at_ms, id LIMIT ?`, peerId, nowMs, issuedBeforeMs, limit)
    const out: Array<{ replica: ReplicaRow, wu: WorkUnitRow }> = []
    for (const replica of replicas) {
      // read without a lock: a resent lease changes nothing
      const wu = await this.get<WorkUnitRow>('SELECT * FROM work_units WHERE id = ?', replica.wu_id)
      if (wu != null) out.push({ replica, wu })
    }
    return out
  }

  async leasesHeldBy (peerId: string, nowMs: number): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress' AND expires_at_ms > ?", peerId, nowMs))?.n ?? 0
  }

  async expiredReplicas (nowMs: number): Promise<ReplicaRow[]> {
    // in a write transaction the sweep ends these: lock them, leaving any another hub holds (its result is being stored)
    return await this.all<ReplicaRow>(`SELECT * FROM replicas WHERE state = 'in-progress' AND expires_at_ms <= ? ORDER BY expires_at_ms, id${this.writable ? ' FOR NO KEY UPDATE SKIP LOCKED' : ''}`, nowMs)
  }

  async heldBy (peerId: string): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress'", peerId))?.n ?? 0
  }

  async freshHeldByJob (): Promise<FreshHeld[]> {
    return await this.all<FreshHeld>(`SELECT r.job_id AS "jobId", count(*) AS held, j.wu_count AS "wuCount" FROM replicas r
      JOIN jobs j ON j.id = r.job_id LEFT JOIN peers p ON p.peer_id = r.peer_id
      WHERE r.state = 'in-progress' AND j.state = 'running' AND coalesce(p.valid_results, 0) = 0
      GROUP BY r.job_id, j.wu_count ORDER BY r.job_id`)
  }

  async topHolders (limit: number): Promise<Array<{ peerId: string, held: number }>> {
    return await this.all<{ peerId: string, held: number }>(`SELECT peer_id AS "peerId", count(*) AS held FROM replicas
      WHERE state = 'in-progress' GROUP BY peer_id ORDER BY held DESC, peer_id LIMIT ?`, limit)
  }

  async getPeer (peerId: string): Promise<PeerRow | undefined> {
    return this.peers.view(peerId, await this.get<PeerRow>('SELECT * FROM peers WHERE peer_id = ?', peerId))
  }

  /** This transaction's peer writes, written just before its COMMIT (peer-changes.ts), sent without waiting (`write`). */
  private readonly peers = new PeerChanges(this.atCommit, {
    run: (sql, params) => { this.write(sql, ...params) },
    greatest: 'greatest',
    counter: c => column(c, PEER_COUNTERS)
  })

  async touchPeer (peerId: string, nowMs: number): Promise<void> {
    this.peers.touch(peerId, nowMs)
  }

  async addToPeer (peerId: string, counter: PeerCounter, by: number): Promise<void> {
    this.peers.add(peerId, counter, by)
  }

  async setPeerPaused (peerId: string, reasons: readonly string[], nowMs: number): Promise<void> {
    this.peers.paused(peerId, reasons, nowMs)
  }

  async peerTotals (activeSinceMs: number): Promise<PeerTotals> {
    const p = await this.get<Record<string, number | null>>(`SELECT count(*) AS peers, count(*) FILTER (WHERE last_seen_ms >= ?) AS active,
        sum(results) AS results, sum(valid_results) AS valid, sum(invalid_results) AS invalid,
        sum(client_errors) AS "clientErrors", sum(no_replies) AS "noReplies" FROM peers`, activeSinceMs) ?? {}
    // summed as exact decimals: SQLite's sum() of doubles is compensated (Kahan-Babuska-Neumaier), a plain float8 sum drifts
    const l = await this.get<{ n: number, c: number | null }>('SELECT count(*) AS n, sum(credit::numeric) AS c FROM ledger')
    return peerTotalsOf(p, l)
  }

  async insertSiteCredit (c: { seq: number, siteKey: string, peerId: string, jobId: string, replicaId: string, creditUnits: number, grantedAtMs: number }): Promise<void> {
    this.write(`INSERT INTO site_credits (seq, site_key, peer_id, job_id, replica_id, credit, credit_units, granted_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, c.seq, c.siteKey, c.peerId, c.jobId, c.replicaId, fromCreditUnits(c.creditUnits), c.creditUnits, c.grantedAtMs)
  }

  async siteStats (siteKey: string): Promise<SiteStatsRow> {
    return await siteStatsOf(this.rows, PG_CREDIT_UNITS_SQL, siteKey)
  }

  async listSites (): Promise<Array<{ siteKey: string, credit: number }>> {
    return await listSitesOf(this.rows, PG_CREDIT_UNITS_SQL)
  }

  async getKernel (id: string): Promise<KernelRow | undefined> {
    return await this.get<KernelRow>('SELECT * FROM kernels WHERE id = ?', id)
  }

  async listKernels (): Promise<KernelRow[]> {
    return await this.all<KernelRow>('SELECT * FROM kernels ORDER BY registered_at_ms, id')
  }

  async insertKernel (k: KernelRow): Promise<void> {
    await this.run('INSERT INTO kernels (id, ticket, registered_at_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', k.id, k.ticket, k.registered_at_ms)
  }

  async getTrust (peerId: string, kernel: string): Promise<TrustRow | undefined> {
    const row = await this.kept.get(keptKey.trust(peerId, kernel), async () => await this.get<TrustRow>('SELECT * FROM trust WHERE peer_id = ? AND kernel = ?', peerId, kernel), { keepAbsent: true })
    return this.trust.view(peerId, kernel, row)
  }

  async trustOf (peerId: string): Promise<TrustRow[]> {
    return this.trust.viewAll(peerId, await this.all<TrustRow>('SELECT * FROM trust WHERE peer_id = ? ORDER BY kernel', peerId))
  }

  /** This transaction's trust writes, written just before its COMMIT (trust-changes.ts), sent without waiting (`write`). */
  private readonly trust = new TrustChanges(this.atCommit, {
    run: (sql, params) => { this.write(sql, ...params) },
    greatest: 'greatest',
    counter: c => column(c, TRUST_COUNTERS)
  })

  async addToTrust (peerId: string, kernel: string, counters: Partial<Record<TrustCounter, number>>, consecutive: 'inc' | 'reset' | 'keep', nowMs: number): Promise<void> {
    this.trust.add(peerId, kernel, counters as Record<string, number>, consecutive, nowMs)
  }

  async doneUnitsWithValidResultOf (peerId: string, kernel: string): Promise<Array<WorkUnitRow & { result_id: number }>> {
    return await this.all<WorkUnitRow & { result_id: number }>(`SELECT w.*, r.id AS result_id FROM results r JOIN work_units w ON w.id = r.wu_id
      WHERE r.peer_id = ? AND r.validate_state = 'valid' AND w.kernel = ? AND w.state = 'done' ORDER BY w.job_id, w.idx`, peerId, kernel)
  }

  async failedUnitsOf (jobId: string): Promise<WorkUnitRow[]> {
    return await this.all<WorkUnitRow>("SELECT * FROM work_units WHERE job_id = ? AND state = 'failed' ORDER BY idx", jobId)
  }
}

