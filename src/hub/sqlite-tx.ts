/**
 * The SQLite repository's operations inside a transaction (SqliteTx), over the one connection of
 * SqliteHubRepository (sqlite-repository.ts), which opens, commits and rolls back around them.
 * Writes to jobs, peers and trust records are queued to the commit (job-changes.ts,
 * peer-changes.ts, trust-changes.ts), work-unit writes deferred and merged
 * (deferred-unit-writes.ts), rows read by id kept for the transaction (kept-rows.ts).
 */
import { fromCreditUnits } from '../protocol/credit.ts'
import { CREDIT_UNITS_SQL } from './sqlite-ledger-ops.ts'
import { SqliteSchedulingOps } from './sqlite-scheduling-ops.ts'
import { KeptRows, keptKey } from './kept-rows.ts'
import { BeforeCommitQueue } from './before-commit.ts'
import type { CommitBatch } from './before-commit.ts'
import { JobChanges } from './job-changes.ts'
import { PeerChanges } from './peer-changes.ts'
import { TrustChanges } from './trust-changes.ts'
import type {
  FreshHeld, HubCheck, JobCounter, JobPatch, JobRow, JudgedResultRow, KernelRow, NewJob,
  NewReplica, NewResult, NewWorkUnit, PeerCounter, PeerRow, PeerTotals, ReleaseReason, ReplicaOutcome, ReplicaRow, RepoTx,
  ResultRow, SiteStatsRow, TrustCounter, TrustRow, ValidateState, WorkUnitChange, WorkUnitCounter, WorkUnitPatch, WorkUnitRow
} from './repository.ts'
import { peerTotalsOf } from './repository-rows.ts'
import { listSitesOf, siteStatsOf } from './shared-queries.ts'
import { DeferredUnitWrites } from './deferred-unit-writes.ts'

const JOB_PATCHABLE = new Set(['state', 'output', 'wu_count', 'hold', 'hold_reason', 'probes'])
const JOB_COUNTERS = new Set(['wu_validated', 'wu_assimilated', 'wu_failed', 'replicas_issued', 'spot_checks', 'spot_failures', 'checked_ops', 'result_ops', 'checked_ms', 'wu_reopened', 'probes'])
const TRUST_COUNTERS = new Set(['valid_results', 'verified_results', 'invalid_results', 'client_errors', 'spot_checks', 'spot_failures'])
const PEER_COUNTERS = new Set(['leases', 'results', 'valid_results', 'invalid_results', 'client_errors', 'no_replies', 'cannot_runs'])

function column (name: string, allowed: Set<string>): string {
  if (!allowed.has(name)) throw new Error(`not a column that may be changed: ${name}`)
  return name
}

/**
 * The operations, over one connection; only valid inside a transaction of SqliteHubRepository.
 *
 * Rows read by id (`getWorkUnit`, `getJob`, `getTrust`) are kept for the rest of the transaction
 * (kept-rows.ts); every write to those tables goes through this class by id and amends them,
 * except a job's: its writes are queued and made at the commit, one UPDATE per job (job-changes.ts),
 * and `getJob` applies the queued ones to the kept row.
 */
export class SqliteTx extends SqliteSchedulingOps implements RepoTx {
  private savepoints = 0
  private readonly rows = new KeptRows()
  /** What runs just before COMMIT (beforeCommit). */
  readonly atCommit = new BeforeCommitQueue()

  /** Forget every kept row (a new transaction, a savepoint rolled back). */
  forgetRows (): void {
    this.rows.clear()
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
    const name = `sp${this.savepoints++}`
    const mark = this.atCommit.mark
    // what is deferred now is written before the savepoint: what it holds at a rollback is its own
    this.units.flush()
    this.s.db.exec(`SAVEPOINT ${name}`)
    try {
      const result = await fn()
      this.s.db.exec(`RELEASE ${name}`)
      return result
    } catch (err) {
      this.forgetRows()
      this.units.drop()
      this.atCommit.rollbackTo(mark)
      this.s.db.exec(`ROLLBACK TO ${name}`)
      this.s.db.exec(`RELEASE ${name}`)
      throw err
    } finally {
      this.savepoints--
    }
  }

  async getMeta (key: string): Promise<string | undefined> {
    return this.s.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', key)?.value
  }

  async setMeta (key: string, value: string): Promise<void> {
    this.s.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value)
  }

  async getJob (id: string): Promise<JobRow | undefined> {
    const row = await this.rows.get(keptKey.job(id), () => this.s.get<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id WHERE j.id = ?', id))
    return this.jobs.view(row)
  }

  /** This transaction's job writes, written just before its COMMIT (job-changes.ts). */
  private readonly jobs = new JobChanges(this.atCommit, {
    run: (sql, params) => { this.s.run(sql, ...params) },
    read: async id => this.s.get<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id WHERE j.id = ?', id),
    column: (c, as) => column(c, as === 'add' ? JOB_COUNTERS : JOB_PATCHABLE)
  })

  changeJobAtCommit (id: string, fn: (job: JobRow) => JobPatch | undefined): void {
    this.jobs.change(id, fn)
  }

  async listJobs (): Promise<JobRow[]> {
    return this.s.all<JobRow>('SELECT j.*, s.spec FROM jobs j JOIN job_specs s ON s.job_id = j.id ORDER BY j.seq')
  }

  async maxJobSeq (): Promise<number> {
    return this.s.get<{ n: number | null }>('SELECT max(seq) AS n FROM jobs')?.n ?? 0
  }

  async kernelsOfRunningJobs (): Promise<string[]> {
    return this.s.all<{ kernel: string }>("SELECT DISTINCT kernel FROM jobs WHERE state = 'running' AND hold IS NULL ORDER BY kernel").map(r => r.kernel)
  }

  async insertJob (job: NewJob): Promise<void> {
    this.s.run(`INSERT INTO jobs (id, seq, kernel, quorum, credit_per_ops, state, created_at_ms, wu_count, output, policy)
      VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, job.id, job.seq, job.kernel, job.quorum, job.credit_per_ops, job.state, job.created_at_ms, job.output, job.policy)
    this.s.run('INSERT INTO job_specs (job_id, spec) VALUES (?, ?)', job.id, job.spec)
  }

  async patchJob (id: string, patch: JobPatch): Promise<void> {
    this.jobs.set(id, patch)
  }

  async addToJob (id: string, counter: JobCounter, by: number): Promise<void> {
    this.jobs.add(id, counter, by)
  }

  async lockForSubmissions (): Promise<void> {
    // one writer: nothing to lock
  }

  async getWorkUnit (id: string): Promise<WorkUnitRow | undefined> {
    return await this.rows.get(keptKey.workUnit(id), () => this.s.get<WorkUnitRow>('SELECT * FROM work_units WHERE id = ?', id))
  }

  async insertWorkUnits (units: readonly NewWorkUnit[]): Promise<void> {
    const insert = this.s.stmt(`INSERT INTO work_units (id, job_id, job_seq, idx, kernel, input, est_ops, credit,
        memory_bytes, deadline_ms, quorum, target_nresults, wanted, known_output_sha256, rand_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, random() % 4503599627370496)`)
    for (const u of units) {
      insert.run(u.id, u.job_id, u.job_seq, u.idx, u.kernel, u.input, u.est_ops, u.credit, u.memory_bytes, u.deadline_ms, u.quorum, u.target_nresults, u.wanted, u.known_output_sha256 ?? null)
    }
  }

  async patchWorkUnit (id: string, patch: WorkUnitPatch): Promise<void> {
    await this.changeWorkUnit(id, { set: patch })
  }

  async addToWorkUnit (id: string, counter: WorkUnitCounter, by: number): Promise<void> {
    await this.changeWorkUnit(id, { add: { [counter]: by } })
  }

  /** A work unit's changes, deferred (deferred-unit-writes.ts): one UPDATE a unit where nothing reads `work_units` between them. */
  private readonly units = new DeferredUnitWrites(this.s)

  async changeWorkUnit (id: string, change: WorkUnitChange): Promise<void> {
    const u = this.units.add(id, change)
    if (u == null) return
    const key = keptKey.workUnit(id)
    this.rows.set(key, u.set, change.set ?? {})
    for (const [c, by] of u.add) this.rows.add(key, c, by)
  }

  /** Write the deferred work-unit changes (before COMMIT). */
  flushUnits (): void {
    this.units.flush()
  }

  /** Drop the deferred work-unit changes (a rollback). */
  dropUnits (): void {
    this.units.drop()
  }

  async canonicalDeviceClasses (jobId: string): Promise<Record<string, number>> {
    const rows = this.s.all<{ device_class: string, n: number }>(`SELECT p.device_class, count(*) AS n FROM work_units w
      JOIN results r ON r.id = w.canonical_result_id JOIN replicas p ON p.id = r.replica_id
      WHERE w.job_id = ? GROUP BY p.device_class ORDER BY p.device_class`, jobId)
    return Object.fromEntries(rows.map(r => [r.device_class, r.n]))
  }

  async getReplica (id: string): Promise<ReplicaRow | undefined> {
    return this.s.get<ReplicaRow>('SELECT * FROM replicas WHERE id = ?', id)
  }

  async resumableLeases (peerId: string, nowMs: number, issuedBeforeMs: number, limit: number): Promise<Array<{ replica: ReplicaRow, wu: WorkUnitRow }>> {
    if (limit <= 0) return []
    const replicas = this.s.all<ReplicaRow>(`SELECT * FROM replicas WHERE peer_id = ? AND state = 'in-progress' AND released = 0
      AND expires_at_ms > ? AND issued_at_ms < ? ORDER BY issued_at_ms, id LIMIT ?`, peerId, nowMs, issuedBeforeMs, limit)
    const out: Array<{ replica: ReplicaRow, wu: WorkUnitRow }> = []
    for (const replica of replicas) {
      const wu = await this.getWorkUnit(replica.wu_id)
      if (wu != null) out.push({ replica, wu })
    }
    return out
  }

  async leasesHeldBy (peerId: string, nowMs: number): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress' AND expires_at_ms > ?", peerId, nowMs)?.n ?? 0
  }

  async expiredReplicas (nowMs: number): Promise<ReplicaRow[]> {
    return this.s.all<ReplicaRow>("SELECT * FROM replicas WHERE state = 'in-progress' AND expires_at_ms <= ? ORDER BY expires_at_ms", nowMs)
  }

  async insertReplica (r: NewReplica): Promise<void> {
    this.s.run(`INSERT INTO replicas (id, wu_id, job_id, peer_id, k, device_class, state, issued_at_ms, expires_at_ms, remote_addr)
      VALUES (?, ?, ?, ?, ?, ?, 'in-progress', ?, ?, ?)`, r.id, r.wu_id, r.job_id, r.peer_id, r.k, r.device_class, r.issued_at_ms, r.expires_at_ms, r.remote_addr)
  }

  async endReplica (id: string, end: { outcome: ReplicaOutcome, released: boolean, reason: ReleaseReason | null, overAtMs: number }): Promise<void> {
    this.s.run(`UPDATE replicas SET state = 'over', outcome = ?, released = ?, release_reason = ?, over_at_ms = ? WHERE id = ?`,
      end.outcome, end.released ? 1 : 0, end.reason, end.overAtMs, id)
  }

  async getResult (id: number): Promise<ResultRow | undefined> {
    return this.s.get<ResultRow>('SELECT * FROM results WHERE id = ?', id)
  }

  async resultForReplica (replicaId: string): Promise<ResultRow | undefined> {
    return this.s.get<ResultRow>('SELECT * FROM results WHERE replica_id = ?', replicaId)
  }

  async ackFor (replicaId: string, peerId: string): Promise<{ ack: Uint8Array, ack_signature: Uint8Array | null } | undefined> {
    return this.s.get<{ ack: Uint8Array, ack_signature: Uint8Array | null }>('SELECT ack, ack_signature FROM results WHERE replica_id = ? AND peer_id = ?', replicaId, peerId)
  }

  async setAckSignature (replicaId: string, signature: Uint8Array): Promise<void> {
    this.s.run('UPDATE results SET ack_signature = ? WHERE replica_id = ? AND ack_signature IS NULL', signature, replicaId)
  }

  async heldBy (peerId: string): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress'", peerId)?.n ?? 0
  }

  async freshHeldByJob (): Promise<FreshHeld[]> {
    return this.s.all<FreshHeld>(`SELECT r.job_id AS jobId, count(*) AS held, j.wu_count AS wuCount FROM replicas r
      JOIN jobs j ON j.id = r.job_id LEFT JOIN peers p ON p.peer_id = r.peer_id
      WHERE r.state = 'in-progress' AND j.state = 'running' AND coalesce(p.valid_results, 0) = 0
      GROUP BY r.job_id, j.wu_count ORDER BY r.job_id`)
  }

  async topHolders (limit: number): Promise<Array<{ peerId: string, held: number }>> {
    return this.s.all<{ peerId: string, held: number }>(`SELECT peer_id AS peerId, count(*) AS held FROM replicas
      WHERE state = 'in-progress' GROUP BY peer_id ORDER BY held DESC, peer_id LIMIT ?`, limit)
  }

  async resultsForWorkUnit (wuId: string): Promise<JudgedResultRow[]> {
    return this.s.all<JudgedResultRow>(`SELECT r.*, p.device_class AS replica_device_class FROM results r
      JOIN replicas p ON p.id = r.replica_id WHERE r.wu_id = ? ORDER BY r.id`, wuId)
  }

  async insertResult (r: NewResult): Promise<number> {
    const row = this.s.get<{ id: number }>(`INSERT INTO results (replica_id, wu_id, job_id, peer_id, outcome, output, output_sha256,
        elapsed_ms, device_class, error_message, received_at_ms, signed, ack, ack_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    r.replica_id, r.wu_id, r.job_id, r.peer_id, r.outcome, r.output, r.output_sha256, r.elapsed_ms, r.device_class, r.error_message,
    r.received_at_ms, r.signed, r.ack, r.ack_signature)
    return (row as { id: number }).id
  }

  async setValidateState (resultId: number, state: ValidateState): Promise<void> {
    this.s.run('UPDATE results SET validate_state = ? WHERE id = ?', state, resultId)
  }

  async getPeer (peerId: string): Promise<PeerRow | undefined> {
    return this.peers.view(peerId, this.s.get<PeerRow>('SELECT * FROM peers WHERE peer_id = ?', peerId))
  }

  /** This transaction's peer writes, written just before its COMMIT (peer-changes.ts). */
  private readonly peers = new PeerChanges(this.atCommit, {
    run: (sql, params) => { this.s.run(sql, ...params) },
    greatest: 'max',
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
    const p = this.s.get<Record<string, number | null>>(`SELECT count(*) AS peers, sum(last_seen_ms >= ?) AS active,
        sum(results) AS results, sum(valid_results) AS valid, sum(invalid_results) AS invalid,
        sum(client_errors) AS clientErrors, sum(no_replies) AS noReplies FROM peers`, activeSinceMs) ?? {}
    const l = this.s.get<{ n: number, c: number | null }>('SELECT count(*) AS n, sum(credit) AS c FROM ledger')
    return peerTotalsOf(p, l)
  }

  async insertSiteLease (l: { replicaId: string, siteKey: string, peerId: string, jobId: string, leasedAtMs: number }): Promise<void> {
    this.s.run(`INSERT INTO site_leases (replica_id, site_key, peer_id, job_id, leased_at_ms) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (replica_id) DO NOTHING`, l.replicaId, l.siteKey, l.peerId, l.jobId, l.leasedAtMs)
  }

  async siteKeyOfReplica (replicaId: string): Promise<string | undefined> {
    return this.s.get<{ site_key: string }>('SELECT site_key FROM site_leases WHERE replica_id = ?', replicaId)?.site_key
  }

  async insertSiteCredit (c: { seq: number, siteKey: string, peerId: string, jobId: string, replicaId: string, creditUnits: number, grantedAtMs: number }): Promise<void> {
    this.s.run(`INSERT INTO site_credits (seq, site_key, peer_id, job_id, replica_id, credit, credit_units, granted_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, c.seq, c.siteKey, c.peerId, c.jobId, c.replicaId, fromCreditUnits(c.creditUnits), c.creditUnits, c.grantedAtMs)
  }

  async siteStats (siteKey: string): Promise<SiteStatsRow> {
    return await siteStatsOf(this.s, CREDIT_UNITS_SQL, siteKey)
  }

  async listSites (): Promise<Array<{ siteKey: string, credit: number }>> {
    return await listSitesOf(this.s, CREDIT_UNITS_SQL)
  }

  async getKernel (id: string): Promise<KernelRow | undefined> {
    return this.s.get<KernelRow>('SELECT * FROM kernels WHERE id = ?', id)
  }

  async listKernels (): Promise<KernelRow[]> {
    return this.s.all<KernelRow>('SELECT * FROM kernels ORDER BY registered_at_ms, id')
  }

  async insertKernel (k: KernelRow): Promise<void> {
    this.s.run('INSERT INTO kernels (id, ticket, registered_at_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING', k.id, k.ticket, k.registered_at_ms)
  }

  async getTrust (peerId: string, kernel: string): Promise<TrustRow | undefined> {
    const row = await this.rows.get(keptKey.trust(peerId, kernel), () => this.s.get<TrustRow>('SELECT * FROM trust WHERE peer_id = ? AND kernel = ?', peerId, kernel), { keepAbsent: true })
    return this.trust.view(peerId, kernel, row)
  }

  async trustOf (peerId: string): Promise<TrustRow[]> {
    return this.trust.viewAll(peerId, this.s.all<TrustRow>('SELECT * FROM trust WHERE peer_id = ? ORDER BY kernel', peerId))
  }

  /** This transaction's trust writes, written just before its COMMIT (trust-changes.ts). */
  private readonly trust = new TrustChanges(this.atCommit, {
    run: (sql, params) => { this.s.run(sql, ...params) },
    greatest: 'max',
    counter: c => column(c, TRUST_COUNTERS)
  })

  async addToTrust (peerId: string, kernel: string, counters: Partial<Record<TrustCounter, number>>, consecutive: 'inc' | 'reset' | 'keep', nowMs: number): Promise<void> {
    this.trust.add(peerId, kernel, counters as Record<string, number>, consecutive, nowMs)
  }

  async setHubCheck (resultId: number, check: HubCheck): Promise<void> {
    this.s.run('UPDATE results SET hub_check = ? WHERE id = ?', check, resultId)
  }

  async doneUnitsWithValidResultOf (peerId: string, kernel: string): Promise<Array<WorkUnitRow & { result_id: number }>> {
    return this.s.all<WorkUnitRow & { result_id: number }>(`SELECT w.*, r.id AS result_id FROM results r JOIN work_units w ON w.id = r.wu_id
      WHERE r.peer_id = ? AND r.validate_state = 'valid' AND w.kernel = ? AND w.state = 'done' ORDER BY w.job_id, w.idx`, peerId, kernel)
  }

  async failedUnitsOf (jobId: string): Promise<WorkUnitRow[]> {
    return this.s.all<WorkUnitRow>("SELECT * FROM work_units WHERE job_id = ? AND state = 'failed' ORDER BY idx", jobId)
  }
}
