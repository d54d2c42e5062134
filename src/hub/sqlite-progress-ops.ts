/**
 * The SQLite repository's read operations on job progress (issue 13): what `job status` shows —
 * unsent and in-progress replicas, client errors by kind, the failure probe's queue and results,
 * units validated recently, volunteers working and paused — and the one write behind the last
 * (a peer's pause report). SqliteSchedulingOps (sqlite-scheduling-ops.ts) extends this class.
 */
import { SqliteLedgerOps } from './sqlite-ledger-ops.ts'
import { errorPeersOfUnitOf, jobProgressOf, jobWorkersOf, pausedWorkersOf, probeFailuresOf, queuedProbesOf, validatedSinceOf } from './shared-queries.ts'
import type { ClientErrorKind, JobProgress, WorkUnitRow } from './repository.ts'

export class SqliteProgressOps extends SqliteLedgerOps {
  async jobProgress (jobId: string): Promise<JobProgress> { return await jobProgressOf(this.s, jobId) }

  async clientErrorKinds (jobId: string, limit: number): Promise<ClientErrorKind[]> {
    // the kind is the message's first word before ':' (volunteers send `<ErrorName>: <message>`);
    // both are the volunteers' claims, shown to the researcher as such
    return this.s.all<ClientErrorKind>(`SELECT substr(error_message, 1, instr(error_message || ':', ':') - 1) AS kind, device_class AS deviceClass,
        count(*) AS results, count(DISTINCT peer_id) AS peers, max(error_message) AS sample
      FROM results WHERE job_id = ? AND outcome = 'client-error' GROUP BY kind, device_class ORDER BY results DESC, kind LIMIT ?`, jobId, limit)
  }

  async errorPeersOfUnit (wuId: string): Promise<number> { return await errorPeersOfUnitOf(this.s, wuId) }
  async queuedProbes (limit: number): Promise<WorkUnitRow[]> { return await queuedProbesOf(this.s, limit) }
  async probeFailures (jobId: string): Promise<number> { return await probeFailuresOf(this.s, jobId) }
  async validatedSince (jobId: string, sinceMs: number): Promise<number> { return await validatedSinceOf(this.s, jobId, sinceMs) }
  async pausedWorkers (jobId: string, sinceMs: number): Promise<{ peers: number, reasons: Record<string, number> }> { return await pausedWorkersOf(this.s, jobId, sinceMs) }
  async jobWorkers (jobId: string): Promise<number> { return await jobWorkersOf(this.s, jobId) }
}
