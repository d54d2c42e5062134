/**
 * Replicas, results and partner-site leases on PostgreSQL, over one transaction's connection, with
 * what a group commit reads once for all its submissions (issue 14): `lockForSubmissions` locks
 * the group's replicas and their units, reads the acks already stored for them, the units' results
 * and, for every replica of those units, its committed ledger entry and partner-site lease, and
 * draws the ids of the results it may store; the transaction keeps them (kept-rows.ts), amended by its own writes
 * and dropped with a rolled-back savepoint (PgTx.savepoint). In a write transaction `getReplica`
 * locks its row (`FOR NO KEY UPDATE`): see pg-repository.ts for why. PgTx (pg-tx-ops.ts) extends it.
 */
import { PgProgressOps } from './pg-progress-ops.ts'
import { KeptRows, keptKey } from './kept-rows.ts'
import type {
  HubCheck, JudgedResultRow, LedgerRow, NewReplica, NewResult, ReleaseReason, ReplicaOutcome, ReplicaRow, ResultRow, ValidateState, WorkUnitRow
} from './repository.ts'

/** A replica's stored result as `ackFor` needs it; `ack` null: no result stored for the replica (yet). */
interface StoredAck { replica_id: string, peer_id: string | null, ack: Uint8Array | null, ack_signature: Uint8Array | null }

/** A unit's results with their replicas' device class (resultsForWorkUnit), before its WHERE. */
const UNIT_RESULTS_SQL = 'SELECT r.*, p.device_class AS replica_device_class FROM results r JOIN replicas p ON p.id = r.replica_id'

export abstract class PgResultOps extends PgProgressOps {
  /**
   * Rows read by id (kept-rows.ts): work units, replicas and the group's acks, ledger entries and
   * site leases; in a write transaction work units and replicas are locked (FOR NO KEY UPDATE), so
   * nobody else changes them before commit; a job's kept row is as read, its changes made at the
   * commit (job-changes.ts); trust records as read, their writes at the commit (trust-changes.ts).
   */
  protected readonly kept = new KeptRows()

  /** The unit of each result kept in a unit's list (keptKey.unitResults), by result id. */
  private readonly resultUnits = new Map<number, string>()

  /** Result ids drawn from the `results.id` sequence for this transaction's group (lockForSubmissions), used in order by insertResult; one a rolled-back submission took is a gap. */
  private readonly resultIds: number[] = []

  /** A unit a lease locked is kept: the lease reads it no more. */
  protected override keepLocked (row: WorkUnitRow): void {
    this.kept.keep(keptKey.workUnit(row.id), row)
  }

  async lockForSubmissions (submissions: ReadonlyArray<{ replicaId: string, peerId: string }>): Promise<void> {
    if (!this.writable || submissions.length === 0) return
    // replicas before units, each in id order: the order every transaction that waits for both takes
    // them in; only replicas leased to the peer that sent the result, and their own units (a result
    // naming someone else's replica or unit locks nothing of it)
    const pairs = JSON.stringify(submissions.map(s => [s.replicaId, s.peerId]))
    const held = await this.all<ReplicaRow>(`SELECT * FROM replicas WHERE (id, peer_id) IN (SELECT p->>0, p->>1 FROM jsonb_array_elements(?::text::jsonb) AS p)
      ORDER BY id FOR NO KEY UPDATE`, pairs)
    if (held.length === 0) return
    // read once for the whole group, not a round trip each a submission, the five sent together:
    // the units (locked), the acks of results already stored for the replicas (a result sent
    // again), for every replica of those units (the validator credits each of a unit's agreeing
    // replicas) its committed ledger entry and partner-site lease, and the group's result ids. The
    // units' locks are held when the ledger is read (no other hub credits a replica of a locked
    // unit; pg-ledger-ops.ts): one connection runs its statements in the order sent.
    const unitIds = JSON.stringify([...new Set(held.map(r => r.wu_id))])
    const [units, stored, credited, sites, ids, results] = await Promise.all([
      this.all<WorkUnitRow>('SELECT * FROM work_units WHERE id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb))) ORDER BY id FOR NO KEY UPDATE', unitIds),
      this.all<StoredAck>('SELECT replica_id, peer_id, ack, ack_signature FROM results WHERE replica_id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb)))', JSON.stringify(held.map(r => r.id))),
      this.all<LedgerRow & { of_replica: string }>(`SELECT p.id AS of_replica, l.* FROM replicas p LEFT JOIN ledger l ON l.replica_id = p.id
        WHERE p.wu_id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb)))`, unitIds),
      this.all<{ of_replica: string, site_key: string | null }>(`SELECT p.id AS of_replica, s.site_key FROM replicas p LEFT JOIN site_leases s ON s.replica_id = p.id
        WHERE p.wu_id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb)))`, unitIds),
      // the ids of the results this group may store, drawn from the column's own sequence: each
      // INSERT is then a write sent without waiting, not a round trip for its RETURNING id
      this.all<{ id: number }>("SELECT nextval(pg_get_serial_sequence('results', 'id')) AS id FROM generate_series(1, ?::int)", held.length),
      // the units' results (the validator reads them after each result, the assimilator the
      // canonical one): locked units, so no other transaction adds one before this commits
      this.all<JudgedResultRow>(`${UNIT_RESULTS_SQL} WHERE r.wu_id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb))) ORDER BY r.id`, unitIds)
    ])
    const byUnit = new Map<string, JudgedResultRow[]>(units.map(wu => [wu.id, []]))
    for (const r of results) {
      byUnit.get(r.wu_id)?.push(r)
      this.resultUnits.set(r.id, r.wu_id)
    }
    for (const [wuId, list] of byUnit) this.kept.keep(keptKey.unitResults(wuId), { list })
    this.resultIds.push(...ids.map(r => Number(r.id)))
    for (const wu of units) this.kept.keep(keptKey.workUnit(wu.id), wu)
    for (const { of_replica: id, ...entry } of credited) {
      if (entry.seq == null) this.kept.keepAbsent(keptKey.ledger(id))
      else this.kept.keep(keptKey.ledger(id), entry)
    }
    for (const { of_replica: id, site_key: siteKey } of sites) {
      if (siteKey == null) this.kept.keepAbsent(keptKey.siteLease(id))
      else this.kept.keep(keptKey.siteLease(id), { site_key: siteKey })
    }
    const acks = new Map(stored.map(a => [a.replica_id, a]))
    for (const r of held) {
      this.kept.keep(keptKey.replica(r.id), r)
      // none stored yet: kept as such (insertResult fills it in)
      this.kept.keep(keptKey.ack(r.id), acks.get(r.id) ?? { replica_id: r.id, peer_id: null, ack: null, ack_signature: null })
    }
  }

  async getReplica (id: string): Promise<ReplicaRow | undefined> {
    return await this.kept.get(keptKey.replica(id), async () => await this.get<ReplicaRow>(`SELECT * FROM replicas WHERE id = ?${this.forUpdate}`, id))
  }

  async insertReplica (r: NewReplica): Promise<void> {
    this.write(`INSERT INTO replicas (id, wu_id, job_id, peer_id, k, device_class, state, issued_at_ms, expires_at_ms, remote_addr)
      VALUES (?, ?, ?, ?, ?, ?, 'in-progress', ?, ?, ?)`, r.id, r.wu_id, r.job_id, r.peer_id, r.k, r.device_class, r.issued_at_ms, r.expires_at_ms, r.remote_addr)
  }

  async endReplica (id: string, end: { outcome: ReplicaOutcome, released: boolean, reason: ReleaseReason | null, overAtMs: number }): Promise<void> {
    this.write(`UPDATE replicas SET state = 'over', outcome = ?, released = ?, release_reason = ?, over_at_ms = ? WHERE id = ?`,
      end.outcome, end.released ? 1 : 0, end.reason, end.overAtMs, id)
    this.kept.amend(keptKey.replica(id), row => {
      Object.assign(row, { state: 'over', outcome: end.outcome, released: end.released ? 1 : 0, release_reason: end.reason, over_at_ms: end.overAtMs })
    })
  }

  async getResult (id: number): Promise<ResultRow | undefined> {
    const kept = this.keptResult(id)
    if (kept != null) {
      const { replica_device_class: _, ...row } = kept
      return row
    }
    return await this.get<ResultRow>('SELECT * FROM results WHERE id = ?', id)
  }

  /** The kept row of result `id` (its unit's results kept: lockForSubmissions), else undefined. */
  private keptResult (id: number): JudgedResultRow | undefined {
    const wuId = this.resultUnits.get(id)
    if (wuId == null) return undefined
    const row = this.keptList(wuId)?.find(r => r.id === id)
    return row == null ? undefined : { ...row }
  }

  /** The kept list of a unit's results (itself, not a copy), or undefined. */
  private keptList (wuId: string): JudgedResultRow[] | undefined {
    return this.kept.peek(keptKey.unitResults(wuId))?.list as JudgedResultRow[] | undefined
  }

  async resultForReplica (replicaId: string): Promise<ResultRow | undefined> {
    return await this.get<ResultRow>('SELECT * FROM results WHERE replica_id = ?', replicaId)
  }

  async ackFor (replicaId: string, peerId: string): Promise<{ ack: Uint8Array, ack_signature: Uint8Array | null } | undefined> {
    // replica_id is UNIQUE: its one result, kept (lockForSubmissions read it, or this), its peer checked here
    const row = await this.kept.get<StoredAck>(keptKey.ack(replicaId), async () => await this.get<StoredAck>('SELECT replica_id, peer_id, ack, ack_signature FROM results WHERE replica_id = ?', replicaId))
    if (row?.ack == null || row.peer_id !== peerId) return undefined
    return { ack: row.ack, ack_signature: row.ack_signature }
  }

  async setAckSignature (replicaId: string, signature: Uint8Array): Promise<void> {
    this.write('UPDATE results SET ack_signature = ? WHERE replica_id = ? AND ack_signature IS NULL', signature, replicaId)
    this.kept.amend(keptKey.ack(replicaId), row => { if (row.ack != null && row.ack_signature == null) row.ack_signature = signature })
    // a row older than schema 3, signed on its first duplicate: rare, so its unit's list is searched for
    for (const wuId of new Set(this.resultUnits.values())) {
      const row = this.keptList(wuId)?.find(r => r.replica_id === replicaId)
      if (row != null && row.ack_signature == null) row.ack_signature = signature
    }
  }

  async resultsForWorkUnit (wuId: string): Promise<JudgedResultRow[]> {
    const kept = this.keptList(wuId)
    if (kept != null) return kept.map(r => ({ ...r }))
    return await this.all<JudgedResultRow>(`${UNIT_RESULTS_SQL} WHERE r.wu_id = ? ORDER BY r.id`, wuId)
  }

  async insertResult (r: NewResult): Promise<number> {
    const values = [r.replica_id, r.wu_id, r.job_id, r.peer_id, r.outcome, r.output, r.output_sha256, r.elapsed_ms, r.device_class, r.error_message,
      r.received_at_ms, r.signed, r.ack, r.ack_signature]
    let id = this.resultIds.shift()
    if (id != null) {
      // an id drawn by lockForSubmissions: the row is written without waiting (a unique violation is thrown by the next query)
      this.write(`INSERT INTO results (id, replica_id, wu_id, job_id, peer_id, outcome, output, output_sha256,
        elapsed_ms, device_class, error_message, received_at_ms, signed, ack, ack_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, ...values)
    } else {
      const row = await this.get<{ id: number }>(`INSERT INTO results (replica_id, wu_id, job_id, peer_id, outcome, output, output_sha256,
          elapsed_ms, device_class, error_message, received_at_ms, signed, ack, ack_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, ...values)
      id = (row as { id: number }).id
    }
    this.kept.amend(keptKey.ack(r.replica_id), a => { Object.assign(a, { peer_id: r.peer_id, ack: r.ack, ack_signature: r.ack_signature }) })
    const list = this.keptList(r.wu_id)
    if (list != null) {
      // the row as the table now holds it (validate_state and hub_check NULL), with its replica's class
      const replica = await this.getReplica(r.replica_id)
      if (replica == null) {
        this.kept.drop(keptKey.unitResults(r.wu_id))
      } else {
        list.push({ id, ...r, validate_state: null, hub_check: null, replica_device_class: replica.device_class })
        list.sort((a, b) => a.id - b.id)
        this.resultUnits.set(id, r.wu_id)
      }
    }
    return id
  }

  async setValidateState (resultId: number, state: ValidateState): Promise<void> {
    this.write('UPDATE results SET validate_state = ? WHERE id = ?', state, resultId)
    this.amendResult(resultId, { validate_state: state })
  }

  /** Make an UPDATE of result `id` to its kept row too. */
  private amendResult (id: number, change: Partial<ResultRow>): void {
    const wuId = this.resultUnits.get(id)
    if (wuId == null) return
    const row = this.keptList(wuId)?.find(r => r.id === id)
    if (row != null) Object.assign(row, change)
  }

  async insertSiteLease (l: { replicaId: string, siteKey: string, peerId: string, jobId: string, leasedAtMs: number }): Promise<void> {
    this.write(`INSERT INTO site_leases (replica_id, site_key, peer_id, job_id, leased_at_ms) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (replica_id) DO NOTHING`, l.replicaId, l.siteKey, l.peerId, l.jobId, l.leasedAtMs)
    // a lease kept as absent has one now (one kept as present stays: DO NOTHING)
    this.kept.fillAbsent(keptKey.siteLease(l.replicaId), { site_key: l.siteKey })
  }

  async siteKeyOfReplica (replicaId: string): Promise<string | undefined> {
    return (await this.kept.get(keptKey.siteLease(replicaId), async () => await this.get<{ site_key: string }>('SELECT site_key FROM site_leases WHERE replica_id = ?', replicaId)))?.site_key
  }

  /** The replica's committed ledger entry: kept when lockForSubmissions read it with its group's (appends of this transaction wait for its commit: ledger.ts checks those itself). */
  override async ledgerByReplica (replicaId: string): Promise<LedgerRow | undefined> {
    return await this.kept.get(keptKey.ledger(replicaId), async () => await super.ledgerByReplica(replicaId))
  }

  async setHubCheck (resultId: number, check: HubCheck): Promise<void> {
    this.write('UPDATE results SET hub_check = ? WHERE id = ?', check, resultId)
    this.amendResult(resultId, { hub_check: check })
  }
}
