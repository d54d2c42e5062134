/**
 * The SQLite repository's scheduling query: which open units a peer may be leased next
 * (`candidateUnitsFor`, scheduler.ts's rules in SQL). SqliteTx (sqlite-repository.ts) extends this class.
 */
import { fromStartPoint, randomStartPoint, sameAddressLast } from './lease-order.ts'
import { SqliteProgressOps } from './sqlite-progress-ops.ts'
import type { SqlParam } from './store.ts'
import type { CandidateQuery, WorkUnitRow } from './repository.ts'

export abstract class SqliteSchedulingOps extends SqliteProgressOps {
  /** A work unit by id, kept for the rest of the transaction (SqliteTx). */
  abstract getWorkUnit (id: string): Promise<WorkUnitRow | undefined>

  async candidateUnitsFor (q: CandidateQuery): Promise<Array<WorkUnitRow & { lease_device_class: string }>> {
    if (q.limit <= 0 || (q.kernels !== 'any' && q.kernels.length === 0)) return []
    const common = `SELECT w.id, w.job_seq, w.rand_key FROM work_units w
      WHERE w.state = 'open' AND w.wanted > 0 AND w.replicas_issued - w.replicas_excused < ?
        AND (? = 0 OR w.memory_bytes <= ?)
        AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.wu_id = w.id AND r.peer_id = ?)
        AND w.job_id NOT IN (SELECT value FROM json_each(?))
        AND w.kernel NOT IN (SELECT value FROM json_each(?))
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = w.job_id AND j.hold IS NOT NULL)`
    const base = [q.maxReplicas, q.maxMemoryBytes, q.maxMemoryBytes, q.peerId, JSON.stringify(q.excludeJobs ?? []), JSON.stringify(q.excludeKernels ?? [])] as const
    let filter: string
    let params: SqlParam[]
    let classOf: (w: WorkUnitRow) => string
    if (q.kernels === 'any') {
      const dc = q.anyDeviceClass ?? 'wasm'
      filter = `${common} AND (w.device_class IS NULL OR w.device_class = ?)`
      params = [...base, dc]
      classOf = () => dc
    } else {
      const classes = new Map(q.kernels.map(k => [k.kernel, k.deviceClass]))
      // a unit is runnable when some offered kernel is its kernel and its device class is unpinned
      // (NULL) or that kernel's: as keys `kernel NUL deviceClass` in one uncorrelated list, which
      // SQLite builds once per query (a correlated json_each here was parsed again for every unit)
      const runnable = q.kernels.flatMap(k => [`${k.kernel}\0`, `${k.kernel}\0${k.deviceClass}`])
      filter = `${common} AND (w.kernel || char(0) || coalesce(w.device_class, '')) IN (SELECT value FROM json_each(?))`
      params = [...base, JSON.stringify(runnable)]
      classOf = w => classes.get(w.kernel) as string
    }
    // the queries read only the walk's keys; the units taken are read whole afterwards, and kept
    // for the rest of the transaction (the lease reads them again)
    const whole = async (ids: readonly string[]): Promise<Array<WorkUnitRow & { lease_device_class: string }>> => {
      const units: Array<WorkUnitRow & { lease_device_class: string }> = []
      for (const id of ids) {
        const w = await this.getWorkUnit(id)
        if (w != null) units.push({ ...w, lease_device_class: classOf(w) })
      }
      return units
    }
    if (q.sequential === true) {
      // the old order (tests only): older jobs, units with a result, lower index; no addresses
      return await whole(this.s.all<{ id: string }>(`${filter} ORDER BY w.job_seq, w.has_result DESC, w.idx LIMIT ?`, ...params, q.limit).map(w => w.id))
    }
    // Older jobs first, then random (lease-order.ts): two index scans from a random point `t`;
    // units with a replica leased from the requester's address last among them (up to 2 x `take` keys read)
    const take = q.limit * 4 + 8
    const t = randomStartPoint()
    const scan = (cond: string): Array<{ id: string, job_seq: number, rand_key: number }> =>
      this.s.all<{ id: string, job_seq: number, rand_key: number }>(`${filter} AND w.rand_key ${cond} ? ORDER BY w.job_seq, w.rand_key LIMIT ?`, ...params, t, take)
    const first = fromStartPoint(t, scan('>='), scan('<'), take)
    const addr = q.remoteAddr ?? null
    const shared = addr == null
      ? new Set<string>()
      : new Set(this.s.all<{ wu_id: string }>(`SELECT DISTINCT wu_id FROM replicas WHERE remote_addr = ? AND wu_id IN (SELECT value FROM json_each(?))`, addr, JSON.stringify(first.map(w => w.id))).map(r => r.wu_id))
    return await whole(sameAddressLast(first, shared).slice(0, q.limit).map(w => w.id))
  }
}
