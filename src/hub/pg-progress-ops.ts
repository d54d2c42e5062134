/**
 * The PostgreSQL repository's job-progress reads (issue 13; sqlite-progress-ops.ts's twins) and its
 * scheduling query (`candidateUnitsFor`, scheduler.ts's rules in SQL). PgTx (pg-repository.ts)
 * extends this class.
 *
 * Leasing across hubs: `candidateUnitsFor` picks units as SQLite's does (older jobs first, random
 * inside a job from a point drawn per request, units shared with the requester's address last),
 * without locks; then, in a write transaction, it locks the chosen units with
 * `FOR NO KEY UPDATE SKIP LOCKED`, re-checking that each still wants a replica and still has none of this
 * peer. A unit another hub is leasing or judging right now is skipped, never waited for; a unit
 * that changed since the pick is re-read under the lock. The caller's counter changes
 * (transitioner.lease) then run on locked rows, so no replica is leased twice and no unit gets more
 * replicas in progress than it wants. The request may get fewer units than asked (skipped ones).
 */
import { fromStartPoint, randomStartPoint, sameAddressLast } from './lease-order.ts'
import { PgLedgerOps } from './pg-ledger-ops.ts'
import { errorPeersOfUnitOf, jobProgressOf, jobWorkersOf, pausedWorkersOf, probeFailuresOf, queuedProbesOf, validatedSinceOf } from './shared-queries.ts'
import type { PgParam } from './pg-ledger-ops.ts'
import type { CandidateQuery, ClientErrorKind, JobProgress, WorkUnitRow } from './repository.ts'

type Candidate = WorkUnitRow & { rand_key: number }

/** A partial index's columns (`work_units_wanted`, `work_units_random`), in its order: [column, descending]. */
type IndexOrder = ReadonlyArray<readonly [string, boolean]>
const SEQUENTIAL_ORDER: IndexOrder = [['job_seq', false], ['has_result', true], ['idx', false]]
const RANDOM_ORDER: IndexOrder = [['job_seq', false], ['rand_key', false]]

export class PgProgressOps extends PgLedgerOps {
  /** Told of each work unit this write transaction locked (`FOR NO KEY UPDATE`) as it read it: PgResultOps keeps it (kept-rows.ts), so the lease reads it no more. */
  protected keepLocked (_row: WorkUnitRow): void {}

  /**
   * The first `take` open units that meet `cond` (on alias w), in the order of a partial index on
   * open units that want replicas, read a window at a time: the inner query walks the index and
   * stops after the window, and `cond` is judged on those rows only; the next window starts after
   * the last row's key. One query with `cond` in WHERE let the planner, misled by its anti-joins'
   * estimates (one row), scan and sort every open unit: 8–18 ms a lease at 4,000 open units
   * (EXPLAIN ANALYZE, issue 14), growing with the job.
   */
  private async windowed<T extends WorkUnitRow> (o: { cond: string, params: PgParam[], order: IndexOrder, take: number, where?: string, whereParams?: PgParam[] }): Promise<T[]> {
    const window = Math.max(64, o.take * 2)
    const orderBy = o.order.map(([c, desc]) => `${c}${desc ? ' DESC' : ''}`).join(', ')
    // rows after `key` in index order: (c1 > k1) OR (c1 = k1 AND c2 > k2) OR … (< for a descending column)
    const after = o.order.map((_, i) => `(${o.order.slice(0, i + 1).map(([c, desc], j) => `${c} ${j < i ? '=' : desc ? '<' : '>'} ?`).join(' AND ')})`).join(' OR ')
    const out: T[] = []
    let key: PgParam[] | undefined
    while (out.length < o.take) {
      const keyParams = key == null ? [] : o.order.flatMap((_, i) => key!.slice(0, i + 1))
      const rows = await this.all<T & { fits: boolean }>(`SELECT w.*, (${o.cond}) AS fits FROM (SELECT * FROM work_units WHERE state = 'open' AND wanted > 0${o.where ?? ''}${key == null ? '' : ` AND (${after})`}
        ORDER BY ${orderBy} LIMIT ?) w ORDER BY ${orderBy}`, ...o.params, ...(o.whereParams ?? []), ...keyParams, window)
      for (const { fits, ...row } of rows) if (fits && out.length < o.take) out.push(row as unknown as T)
      if (rows.length < window) break
      const last = rows[rows.length - 1] as unknown as Record<string, PgParam>
      key = o.order.map(([c]) => last[c])
    }
    return out
  }

  async jobProgress (jobId: string): Promise<JobProgress> { return await jobProgressOf(this.rows, jobId) }

  async clientErrorKinds (jobId: string, limit: number): Promise<ClientErrorKind[]> {
    // the kind is the message's text before its first ':' (volunteers send `<ErrorName>: <message>`)
    return await this.all<ClientErrorKind>(`SELECT split_part(error_message, ':', 1) AS kind, device_class AS "deviceClass",
        count(*) AS results, count(DISTINCT peer_id) AS peers, max(error_message) AS sample
      FROM results WHERE job_id = ? AND outcome = 'client-error' GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT ?`, jobId, limit)
  }

  async errorPeersOfUnit (wuId: string): Promise<number> { return await errorPeersOfUnitOf(this.rows, wuId) }
  async queuedProbes (limit: number): Promise<WorkUnitRow[]> { return await queuedProbesOf(this.rows, limit) }
  async probeFailures (jobId: string): Promise<number> { return await probeFailuresOf(this.rows, jobId) }
  async validatedSince (jobId: string, sinceMs: number): Promise<number> { return await validatedSinceOf(this.rows, jobId, sinceMs) }
  async pausedWorkers (jobId: string, sinceMs: number): Promise<{ peers: number, reasons: Record<string, number> }> { return await pausedWorkersOf(this.rows, jobId, sinceMs) }
  async jobWorkers (jobId: string): Promise<number> { return await jobWorkersOf(this.rows, jobId) }

  async candidateUnitsFor (q: CandidateQuery): Promise<Array<WorkUnitRow & { lease_device_class: string }>> {
    if (q.limit <= 0 || (q.kernels !== 'any' && q.kernels.length === 0)) return []
    // the unit conditions, on alias w; `peer` is the requester
    const common = `w.state = 'open' AND w.wanted > 0 AND w.replicas_issued - w.replicas_excused < ?::bigint
        AND (?::bigint = 0 OR w.memory_bytes <= ?::bigint)
        AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.wu_id = w.id AND r.peer_id = ?)
        AND w.job_id NOT IN (SELECT jsonb_array_elements_text(?::text::jsonb))
        AND w.kernel NOT IN (SELECT jsonb_array_elements_text(?::text::jsonb))
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = w.job_id AND j.hold IS NOT NULL)`
    const base: PgParam[] = [q.maxReplicas, q.maxMemoryBytes, q.maxMemoryBytes, q.peerId, JSON.stringify(q.excludeJobs ?? []), JSON.stringify(q.excludeKernels ?? [])]
    let cond: string
    let params: PgParam[]
    let classOf: (w: WorkUnitRow) => string
    if (q.kernels === 'any') {
      const dc = q.anyDeviceClass ?? 'wasm'
      cond = `${common} AND (w.device_class IS NULL OR w.device_class = ?)`
      params = [...base, dc]
      classOf = () => dc
    } else {
      const classes = new Map(q.kernels.map(k => [k.kernel, k.deviceClass]))
      // runnable: some offered kernel is the unit's kernel, and its device class is unpinned or that kernel's
      cond = `${common} AND EXISTS (SELECT 1 FROM jsonb_to_recordset(?::text::jsonb) AS k (kernel text, dc text)
        WHERE k.kernel = w.kernel AND (w.device_class IS NULL OR w.device_class = k.dc))`
      params = [...base, JSON.stringify(q.kernels.map(k => ({ kernel: k.kernel, dc: k.deviceClass })))]
      classOf = w => classes.get(w.kernel) as string
    }
    // jobs the peer may take nothing of (a fresh peers' cap that is full) are left out inside each
    // window's index scan: judged only in the window's conditions, a job's open units filled window
    // after window (measured on PostgreSQL: 60–64 of a window's 71 units, 6.6 windows a lease)
    const excluded = (q.excludeJobs ?? []).length > 0
    const where = excluded ? ' AND job_id NOT IN (SELECT jsonb_array_elements_text(?::text::jsonb))' : ''
    const whereParams: PgParam[] = excluded ? [JSON.stringify(q.excludeJobs)] : []
    let picked: WorkUnitRow[]
    if (q.sequential === true) {
      // the old order (tests only): older jobs, units with a result, lower index; no addresses
      picked = await this.windowed<WorkUnitRow>({ cond, params, order: SEQUENTIAL_ORDER, take: q.limit * 2 + 4, where, whereParams })
    } else {
      // the random order (lease-order.ts): two index scans from a random point `t`
      const take = q.limit * 4 + 8
      const t = randomStartPoint()
      const scan = async (op: string): Promise<Candidate[]> =>
        await this.windowed<Candidate>({ cond, params, order: RANDOM_ORDER, take, where: `${where} AND rand_key ${op} ?`, whereParams: [...whereParams, t] })
      const first = fromStartPoint(t, await scan('>='), await scan('<'), take)
      const addr = q.remoteAddr ?? null
      const shared = addr == null
        ? new Set<string>()
        : new Set((await this.all<{ wu_id: string }>('SELECT DISTINCT wu_id FROM replicas WHERE remote_addr = ? AND wu_id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb)))', addr, JSON.stringify(first.map(w => w.id)))).map(r => r.wu_id))
      picked = sameAddressLast(first, shared)
    }
    if (!this.writable) return picked.slice(0, q.limit).map(w => ({ ...w, lease_device_class: classOf(w) }))
    // lock what was picked, in pick order, only as many as needed; skip what another transaction
    // holds; re-check the conditions under the lock (a unit may have changed since the pick)
    const out: WorkUnitRow[] = []
    for (let i = 0; i < picked.length && out.length < q.limit;) {
      const chunk = picked.slice(i, i + q.limit - out.length)
      i += chunk.length
      const locked = new Map((await this.all<WorkUnitRow>(`SELECT w.* FROM work_units w WHERE w.id = ANY (ARRAY(SELECT jsonb_array_elements_text(?::text::jsonb))) AND ${cond}
        ORDER BY w.id FOR NO KEY UPDATE OF w SKIP LOCKED`, JSON.stringify(chunk.map(w => w.id)), ...params)).map(w => [w.id, w]))
      for (const w of chunk) {
        const row = locked.get(w.id)
        if (row != null) { this.keepLocked(row); out.push(row) }
      }
    }
    return out.map(w => ({ ...w, lease_device_class: classOf(w) }))
  }
}
