/**
 * The SQLite repository's scheduling query: which open units a peer may be leased next
 * (`candidateUnitsFor`, scheduler.ts's rules in SQL). SqliteTx (sqlite-repository.ts) extends this class.
 */
import { secureRandom } from './trust.ts'
import { SqliteProgressOps } from './sqlite-progress-ops.ts'
import type { SqlParam } from './store.ts'
import type { CandidateQuery, WorkUnitRow } from './repository.ts'

export class SqliteSchedulingOps extends SqliteProgressOps {
  async candidateUnitsFor (q: CandidateQuery): Promise<Array<WorkUnitRow & { lease_device_class: string }>> {
    if (q.limit <= 0 || (q.kernels !== 'any' && q.kernels.length === 0)) return []
    const common = `SELECT w.* FROM work_units w
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
    if (q.sequential === true) {
      // the old order (tests only): older jobs, units with a result, lower index; no addresses
      return this.s.all<WorkUnitRow>(`${filter} ORDER BY w.job_seq, w.has_result DESC, w.idx LIMIT ?`, ...params, q.limit)
        .map(w => ({ ...w, lease_device_class: classOf(w) }))
    }
    // Older jobs first, then random: each job's open units in rand_key order from a point `t`
    // drawn per request, wrapping around — two index scans (rand_key >= t, rand_key < t) that stop
    // at the first fitting units. Merged in (job, wrapped, rand_key) order, the first `take` of
    // both are the first `take` of all. Units with a replica leased from the requester's address
    // go last among those (so two replicas of a unit go to one address only when little else is there).
    const take = q.limit * 4 + 8
    // keys and the start point are 53-bit (exact as JS numbers); the start point from the CSPRNG
    const t = Math.floor((secureRandom() * 2 - 1) * 2 ** 52)
    const scan = (cond: string): Array<WorkUnitRow & { rand_key: number }> =>
      this.s.all<WorkUnitRow & { rand_key: number }>(`${filter} AND w.rand_key ${cond} ? ORDER BY w.job_seq, w.rand_key LIMIT ?`, ...params, t, take)
    const key = (w: WorkUnitRow & { rand_key: number }): [number, number, number] => [w.job_seq, w.rand_key < t ? 1 : 0, w.rand_key]
    const cmp = (a: [number, number, number], b: [number, number, number]): number => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0)
    const first = [...scan('>='), ...scan('<')].sort((a, b) => cmp(key(a), key(b))).slice(0, take)
    const addr = q.remoteAddr ?? null
    const shared = addr == null
      ? new Set<string>()
      : new Set(this.s.all<{ wu_id: string }>(`SELECT DISTINCT wu_id FROM replicas WHERE remote_addr = ? AND wu_id IN (SELECT value FROM json_each(?))`, addr, JSON.stringify(first.map(w => w.id))).map(r => r.wu_id))
    const chosen = first
      .map((w, i) => ({ w, i, last: shared.has(w.id) ? 1 : 0 }))
      .sort((a, b) => a.w.job_seq - b.w.job_seq || a.last - b.last || a.i - b.i)
      .slice(0, q.limit)
    return chosen.map(({ w }) => ({ ...w, lease_device_class: classOf(w) }))
  }
}
