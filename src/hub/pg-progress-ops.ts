/**
 * The PostgreSQL repository's job-progress reads (issue 13; sqlite-progress-ops.ts's twins) and its
 * scheduling query (`candidateUnitsFor`, scheduler.ts's rules in SQL). PgTx (pg-repository.ts)
 * extends this class.
 *
 * Leasing across hubs: `candidateUnitsFor` picks units as SQLite's does (older jobs first, random
 * inside a job from a point drawn per request, units shared with the requester's address last),
 * without locks; then, in a write transaction, it locks the chosen units with
 * `FOR UPDATE SKIP LOCKED`, re-checking that each still wants a replica and still has none of this
 * peer. A unit another hub is leasing or judging right now is skipped, never waited for; a unit
 * that changed since the pick is re-read under the lock. The caller's counter changes
 * (transitioner.lease) then run on locked rows, so no replica is leased twice and no unit gets more
 * replicas in progress than it wants. The request may get fewer units than asked (skipped ones).
 */
import { secureRandom } from './trust.ts'
import { PgLedgerOps } from './pg-ledger-ops.ts'
import type { PgParam } from './pg-ledger-ops.ts'
import type { CandidateQuery, ClientErrorKind, JobProgress, WorkUnitRow } from './repository.ts'

type Candidate = WorkUnitRow & { rand_key: number }

export class PgProgressOps extends PgLedgerOps {
  async jobProgress (jobId: string): Promise<JobProgress> {
    const n = async (sql: string): Promise<number> => (await this.get<{ n: number | null }>(sql, jobId))?.n ?? 0
    return {
      unsent: await n("SELECT sum(wanted) AS n FROM work_units WHERE job_id = ? AND state = 'open' AND wanted > 0"),
      inProgress: await n("SELECT count(*) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'"),
      volunteers: await n("SELECT count(DISTINCT peer_id) AS n FROM results WHERE job_id = ? AND validate_state = 'valid'"),
      invalidResults: await n("SELECT count(*) AS n FROM results WHERE job_id = ? AND validate_state = 'invalid'"),
      reportedMs: await n("SELECT sum(elapsed_ms) AS n FROM results WHERE job_id = ? AND outcome = 'success'")
    }
  }

  async clientErrorKinds (jobId: string, limit: number): Promise<ClientErrorKind[]> {
    // the kind is the message's text before its first ':' (volunteers send `<ErrorName>: <message>`)
    return await this.all<ClientErrorKind>(`SELECT split_part(error_message, ':', 1) AS kind, device_class AS "deviceClass",
        count(*) AS results, count(DISTINCT peer_id) AS peers, max(error_message) AS sample
      FROM results WHERE job_id = ? AND outcome = 'client-error' GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT ?`, jobId, limit)
  }

  async errorPeersOfUnit (wuId: string): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM results WHERE wu_id = ? AND outcome = 'client-error'", wuId))?.n ?? 0
  }

  async queuedProbes (limit: number): Promise<WorkUnitRow[]> {
    return await this.all<WorkUnitRow>("SELECT * FROM work_units WHERE probe = 'queued' ORDER BY job_seq, idx LIMIT ?", limit)
  }

  async probeFailures (jobId: string): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND probe = 'failed'", jobId))?.n ?? 0
  }

  async validatedSince (jobId: string, sinceMs: number): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND state = 'done' AND done_at_ms >= ?", jobId, sinceMs))?.n ?? 0
  }

  async pausedWorkers (jobId: string, sinceMs: number): Promise<{ peers: number, reasons: Record<string, number> }> {
    const rows = await this.all<{ paused: string }>(`SELECT p.paused FROM peers p WHERE p.paused != '' AND p.paused_at_ms >= ?
      AND EXISTS (SELECT 1 FROM replicas r WHERE r.job_id = ? AND r.peer_id = p.peer_id AND r.state = 'in-progress')`, sinceMs, jobId)
    const reasons: Record<string, number> = {}
    for (const r of rows) for (const reason of r.paused.split(',')) reasons[reason] = (reasons[reason] ?? 0) + 1
    return { peers: rows.length, reasons }
  }

  async setPeerPaused (peerId: string, reasons: readonly string[], nowMs: number): Promise<void> {
    await this.run('UPDATE peers SET paused = ?, paused_at_ms = ? WHERE peer_id = ?', [...reasons].sort().join(','), nowMs, peerId)
  }

  async jobWorkers (jobId: string): Promise<number> {
    return (await this.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'", jobId))?.n ?? 0
  }

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
    let picked: WorkUnitRow[]
    if (q.sequential === true) {
      // the old order (tests only): older jobs, units with a result, lower index; no addresses
      picked = await this.all<WorkUnitRow>(`SELECT w.* FROM work_units w WHERE ${cond} ORDER BY w.job_seq, w.has_result DESC, w.idx LIMIT ?`, ...params, q.limit * 2 + 4)
    } else {
      // as sqlite-scheduling-ops.ts: two index scans from a random point `t`, merged in (job, wrapped, rand_key) order
      const take = q.limit * 4 + 8
      const t = Math.floor((secureRandom() * 2 - 1) * 2 ** 52)
      const scan = async (op: string): Promise<Candidate[]> =>
        await this.all<Candidate>(`SELECT w.* FROM work_units w WHERE ${cond} AND w.rand_key ${op} ? ORDER BY w.job_seq, w.rand_key LIMIT ?`, ...params, t, take)
      const key = (w: Candidate): [number, number, number] => [w.job_seq, w.rand_key < t ? 1 : 0, w.rand_key]
      const cmp = (a: [number, number, number], b: [number, number, number]): number => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)
      const first = [...await scan('>='), ...await scan('<')].sort((a, b) => cmp(key(a), key(b))).slice(0, take)
      const addr = q.remoteAddr ?? null
      const shared = addr == null
        ? new Set<string>()
        : new Set((await this.all<{ wu_id: string }>('SELECT DISTINCT wu_id FROM replicas WHERE remote_addr = ? AND wu_id IN (SELECT jsonb_array_elements_text(?::text::jsonb))', addr, JSON.stringify(first.map(w => w.id)))).map(r => r.wu_id))
      picked = first
        .map((w, i) => ({ w, i, last: shared.has(w.id) ? 1 : 0 }))
        .sort((a, b) => a.w.job_seq - b.w.job_seq || a.last - b.last || a.i - b.i)
        .map(({ w }) => w)
    }
    if (!this.writable) return picked.slice(0, q.limit).map(w => ({ ...w, lease_device_class: classOf(w) }))
    // lock what was picked, in pick order, only as many as needed; skip what another transaction
    // holds; re-check the conditions under the lock (a unit may have changed since the pick)
    const out: WorkUnitRow[] = []
    for (let i = 0; i < picked.length && out.length < q.limit;) {
      const chunk = picked.slice(i, i + q.limit - out.length)
      i += chunk.length
      const locked = new Map((await this.all<WorkUnitRow>(`SELECT w.* FROM work_units w WHERE w.id IN (SELECT jsonb_array_elements_text(?::text::jsonb)) AND ${cond}
        ORDER BY w.id FOR UPDATE OF w SKIP LOCKED`, JSON.stringify(chunk.map(w => w.id)), ...params)).map(w => [w.id, w]))
      for (const w of chunk) {
        const row = locked.get(w.id)
        if (row != null) out.push(row)
      }
    }
    return out.map(w => ({ ...w, lease_device_class: classOf(w) }))
  }
}
