/**
 * The SQLite repository's read operations on job progress (issue 13): what `job status` shows —
 * unsent and in-progress replicas, client errors by kind, the failure probe's queue and results,
 * units validated recently, volunteers working and paused — and the one write behind the last
 * (a peer's pause report). SqliteSchedulingOps (sqlite-scheduling-ops.ts) extends this class.
 */
import { SqliteLedgerOps } from './sqlite-ledger-ops.ts'
import type { ClientErrorKind, JobProgress, WorkUnitRow } from './repository.ts'

export class SqliteProgressOps extends SqliteLedgerOps {
  async jobProgress (jobId: string): Promise<JobProgress> {
    const n = (sql: string): number => this.s.get<{ n: number | null }>(sql, jobId)?.n ?? 0
    return {
      unsent: n("SELECT sum(wanted) AS n FROM work_units WHERE job_id = ? AND state = 'open' AND wanted > 0"),
      inProgress: n("SELECT count(*) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'"),
      volunteers: n("SELECT count(DISTINCT peer_id) AS n FROM results WHERE job_id = ? AND validate_state = 'valid'"),
      invalidResults: n("SELECT count(*) AS n FROM results WHERE job_id = ? AND validate_state = 'invalid'"),
      reportedMs: n("SELECT sum(elapsed_ms) AS n FROM results WHERE job_id = ? AND outcome = 'success'")
    }
  }

  async clientErrorKinds (jobId: string, limit: number): Promise<ClientErrorKind[]> {
    // the kind is the message's first word before ':' (volunteers send `<ErrorName>: <message>`);
    // both are the volunteers' claims, shown to the researcher as such
    return this.s.all<ClientErrorKind>(`SELECT substr(error_message, 1, instr(error_message || ':', ':') - 1) AS kind, device_class AS deviceClass,
        count(*) AS results, count(DISTINCT peer_id) AS peers, max(error_message) AS sample
      FROM results WHERE job_id = ? AND outcome = 'client-error' GROUP BY kind, device_class ORDER BY results DESC, kind LIMIT ?`, jobId, limit)
  }

  async errorPeersOfUnit (wuId: string): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM results WHERE wu_id = ? AND outcome = 'client-error'", wuId)?.n ?? 0
  }

  async queuedProbes (limit: number): Promise<WorkUnitRow[]> {
    return this.s.all<WorkUnitRow>("SELECT * FROM work_units WHERE probe = 'queued' ORDER BY job_seq, idx LIMIT ?", limit)
  }

  async probeFailures (jobId: string): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND probe = 'failed'", jobId)?.n ?? 0
  }

  async validatedSince (jobId: string, sinceMs: number): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND state = 'done' AND done_at_ms >= ?", jobId, sinceMs)?.n ?? 0
  }

  async pausedWorkers (jobId: string, sinceMs: number): Promise<{ peers: number, reasons: Record<string, number> }> {
    const rows = this.s.all<{ paused: string }>(`SELECT p.paused FROM peers p WHERE p.paused != '' AND p.paused_at_ms >= ?
      AND EXISTS (SELECT 1 FROM replicas r WHERE r.job_id = ? AND r.peer_id = p.peer_id AND r.state = 'in-progress')`, sinceMs, jobId)
    const reasons: Record<string, number> = {}
    for (const r of rows) for (const reason of r.paused.split(',')) reasons[reason] = (reasons[reason] ?? 0) + 1
    return { peers: rows.length, reasons }
  }

  async setPeerPaused (peerId: string, reasons: readonly string[], nowMs: number): Promise<void> {
    this.s.run('UPDATE peers SET paused = ?, paused_at_ms = ? WHERE peer_id = ?', [...reasons].sort().join(','), nowMs, peerId)
  }

  async jobWorkers (jobId: string): Promise<number> {
    return this.s.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'", jobId)?.n ?? 0
  }
}
