/**
 * The repository operations whose SQL both stores accept as it is (SQLite's and PostgreSQL's, with
 * `?` placeholders: pg-ledger-ops.ts numbers them), written once: partner-site stats (only the
 * expression that sums credit in base units differs, since rows older than schema 6 hold a double
 * `credit`: CREDIT_UNITS_SQL, PG_CREDIT_UNITS_SQL) and job progress (issue 13: what `job status`
 * shows). sqlite-*-ops.ts and pg-*-ops.ts delegate to these.
 */
import { fromCreditUnits } from '../protocol/credit.ts'
import type { JobProgress, SiteStatsRow, WorkUnitChange, WorkUnitRow } from './repository-rows.ts'
import type { PayoutEpochRow } from './repository.ts'
import { PAYOUT_BINDING_REPLICA_PREFIX } from './ledger.ts'

type SqlValue = string | number | null

/** A store's statements: SQLite's (synchronous) or a PostgreSQL transaction's (a Promise). `run` returns the rows changed. */
export interface SqlRowReader {
  get: <T>(sql: string, ...params: SqlValue[]) => T | undefined | Promise<T | undefined>
  all: <T>(sql: string, ...params: SqlValue[]) => T[] | Promise<T[]>
  run: (sql: string, ...params: SqlValue[]) => number | Promise<number>
}

/** Unsent and in-progress replicas, volunteers with a valid result, invalid results and reported compute time (ms) of a job. */
export async function jobProgressOf (q: SqlRowReader, jobId: string): Promise<JobProgress> {
  const n = async (sql: string): Promise<number> => (await q.get<{ n: number | null }>(sql, jobId))?.n ?? 0
  return {
    unsent: await n("SELECT sum(wanted) AS n FROM work_units WHERE job_id = ? AND state = 'open' AND wanted > 0"),
    inProgress: await n("SELECT count(*) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'"),
    volunteers: await n("SELECT count(DISTINCT peer_id) AS n FROM results WHERE job_id = ? AND validate_state = 'valid'"),
    invalidResults: await n("SELECT count(*) AS n FROM results WHERE job_id = ? AND validate_state = 'invalid'"),
    reportedMs: await n("SELECT sum(elapsed_ms) AS n FROM results WHERE job_id = ? AND outcome = 'success'")
  }
}

/** Peers that reported a client error for the unit. */
export async function errorPeersOfUnitOf (q: SqlRowReader, wuId: string): Promise<number> {
  return (await q.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM results WHERE wu_id = ? AND outcome = 'client-error'", wuId))?.n ?? 0
}

/** Units waiting for the failure probe, oldest job first, at most `limit`. */
export async function queuedProbesOf (q: SqlRowReader, limit: number): Promise<WorkUnitRow[]> {
  return await q.all<WorkUnitRow>("SELECT * FROM work_units WHERE probe = 'queued' ORDER BY job_seq, idx LIMIT ?", limit)
}

/** Units of the job that failed on the hub's own run too. */
export async function probeFailuresOf (q: SqlRowReader, jobId: string): Promise<number> {
  return (await q.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND probe = 'failed'", jobId))?.n ?? 0
}

/** Units of the job that got their canonical result at or after `sinceMs` (Unix ms). */
export async function validatedSinceOf (q: SqlRowReader, jobId: string, sinceMs: number): Promise<number> {
  return (await q.get<{ n: number }>("SELECT count(*) AS n FROM work_units WHERE job_id = ? AND state = 'done' AND done_at_ms >= ?", jobId, sinceMs))?.n ?? 0
}

/** Peers holding a replica of the job whose latest report (at or after `sinceMs`) says paused, and how many give each reason. */
export async function pausedWorkersOf (q: SqlRowReader, jobId: string, sinceMs: number): Promise<{ peers: number, reasons: Record<string, number> }> {
  const rows = await q.all<{ paused: string }>(`SELECT p.paused FROM peers p WHERE p.paused != '' AND p.paused_at_ms >= ?
    AND EXISTS (SELECT 1 FROM replicas r WHERE r.job_id = ? AND r.peer_id = p.peer_id AND r.state = 'in-progress')`, sinceMs, jobId)
  const reasons: Record<string, number> = {}
  for (const r of rows) for (const reason of r.paused.split(',')) reasons[reason] = (reasons[reason] ?? 0) + 1
  return { peers: rows.length, reasons }
}

/** Peers holding an in-progress replica of the job. */
export async function jobWorkersOf (q: SqlRowReader, jobId: string): Promise<number> {
  return (await q.get<{ n: number }>("SELECT count(DISTINCT peer_id) AS n FROM replicas WHERE job_id = ? AND state = 'in-progress'", jobId))?.n ?? 0
}

/** Credit (in credits, summed in base units), results, volunteers and leases of one site key. */
export async function siteStatsOf (q: SqlRowReader, creditUnitsSql: string, siteKey: string): Promise<SiteStatsRow> {
  const c = await q.get<{ units: number | null, results: number, volunteers: number, last: number | null }>(
    `SELECT sum(${creditUnitsSql}) AS units, count(*) FILTER (WHERE credit > 0) - count(*) FILTER (WHERE credit < 0) AS results,
     count(DISTINCT peer_id) AS volunteers, max(granted_at_ms) AS last FROM site_credits WHERE site_key = ?`, siteKey)
  const l = await q.get<{ leases: number, visitors: number, first: number | null }>(
    'SELECT count(*) AS leases, count(DISTINCT peer_id) AS visitors, min(leased_at_ms) AS first FROM site_leases WHERE site_key = ?', siteKey)
  const byJob = await q.all<{ job_id: string, u: number }>(
    `SELECT job_id, sum(${creditUnitsSql}) AS u FROM site_credits WHERE site_key = ? GROUP BY job_id ORDER BY job_id`, siteKey)
  return {
    credit: fromCreditUnits(c?.units ?? 0),
    results: c?.results ?? 0,
    volunteers: c?.volunteers ?? 0,
    lastCreditAtMs: c?.last ?? null,
    leases: l?.leases ?? 0,
    visitors: l?.visitors ?? 0,
    firstLeaseAtMs: l?.first ?? null,
    creditByJob: Object.fromEntries(byJob.map(r => [r.job_id, fromCreditUnits(r.u)]))
  }
}

/** Every site key that leased, most credit first (none last, as SQLite sorts NULL lowest), then by key. */
export async function listSitesOf (q: SqlRowReader, creditUnitsSql: string): Promise<Array<{ siteKey: string, credit: number }>> {
  return (await q.all<{ site_key: string, c: number | null }>(
    `SELECT site_key, c FROM (SELECT s.site_key, (SELECT sum(${creditUnitsSql}) FROM site_credits c WHERE c.site_key = s.site_key) AS c
     FROM (SELECT DISTINCT site_key FROM site_leases) s) t ORDER BY c IS NULL, c DESC, site_key`)).map(r => ({ siteKey: r.site_key, credit: fromCreditUnits(r.c ?? 0) }))
}

/** Payout epochs (issue 16), oldest first. */
export async function payoutEpochsOf (q: SqlRowReader): Promise<PayoutEpochRow[]> {
  return await q.all<PayoutEpochRow>('SELECT * FROM payout_epochs ORDER BY epoch')
}

/** Write an epoch's intent, or its later state (posted, confirmed: status, tx hash, block, times). */
export async function putPayoutEpochOf (q: SqlRowReader, r: PayoutEpochRow): Promise<void> {
  await q.run(`INSERT INTO payout_epochs (epoch, ledger_seq, chain_head, root, total_token_units, total_credit_units, leaves, chain_id, distributor, status, tx_hash, block_number, created_at_ms, posted_at_ms, confirmed_at_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (epoch) DO UPDATE SET status = excluded.status, tx_hash = excluded.tx_hash, block_number = excluded.block_number,
      posted_at_ms = excluded.posted_at_ms, confirmed_at_ms = excluded.confirmed_at_ms`,
  r.epoch, r.ledger_seq, r.chain_head, r.root, r.total_token_units, r.total_credit_units, r.leaves, r.chain_id, r.distributor, r.status, r.tx_hash, r.block_number,
  r.created_at_ms, r.posted_at_ms, r.confirmed_at_ms)
}

/**
 * What a new payout binding of `peerId` is checked against (payout-api.ts), by two index lookups on
 * (peer_id, seq) instead of reading the peer's whole history: the encoded entry of its latest
 * binding (replica id PAYOUT_BINDING_REPLICA_PREFIX + seq), and whether it was ever granted credit (a grant:
 * positive credit, not a reversal).
 */
export async function payoutBindingStateOf (q: SqlRowReader, peerId: string): Promise<{ lastBinding: Uint8Array | undefined, granted: boolean }> {
  const last = await q.get<{ entry: Uint8Array }>("SELECT entry FROM ledger WHERE peer_id = ? AND replica_id LIKE ? ORDER BY seq DESC LIMIT 1", peerId, `${PAYOUT_BINDING_REPLICA_PREFIX}%`)
  const grant = await q.get<{ one: number }>('SELECT 1 AS one FROM ledger WHERE peer_id = ? AND reverses = 0 AND credit > 0 LIMIT 1', peerId)
  return { lastBinding: last?.entry, granted: grant != null }
}

const WU_PATCHABLE = new Set(['state', 'wanted', 'max_group', 'has_result', 'device_class', 'canonical_result_id', 'assimilated', 'quorum', 'target_nresults', 'error_peers', 'known_output_sha256', 'probe', 'probe_message', 'done_at_ms'])
const WU_COUNTERS = new Set(['in_progress', 'replicas_issued', 'replicas_excused', 'error_peers'])

/** One UPDATE of a work unit: its SQL (`?` placeholders), parameters, and the columns set and counters added. */
export interface WorkUnitUpdate {
  sql: string
  params: SqlValue[]
  set: string[]
  add: Array<[string, number]>
}

/**
 * The one statement that makes `change` to work unit `id` (RepoTx.changeWorkUnit), the same text
 * for both stores; undefined when it changes nothing (no column, every counter by 0).
 * @throws Error for a column that may not be set, or a counter that is not one (a column name is never taken from input unchecked)
 */
export function workUnitUpdate (id: string, change: WorkUnitChange): WorkUnitUpdate | undefined {
  const values = (change.set ?? {}) as Record<string, SqlValue>
  const set = Object.keys(values)
  for (const k of set) if (!WU_PATCHABLE.has(k)) throw new Error(`not a column that may be changed: ${k}`)
  const add = Object.entries(change.add ?? {}).filter((e): e is [string, number] => e[1] != null && e[1] !== 0)
  for (const [k] of add) if (!WU_COUNTERS.has(k) || set.includes(k)) throw new Error(`not a counter that may be changed: ${k}`)
  if (set.length === 0 && add.length === 0) return undefined
  const terms = [...set.map(k => `${k} = ?`), ...add.map(([k]) => `${k} = ${k} + ?`)]
  return { sql: `UPDATE work_units SET ${terms.join(', ')} WHERE id = ?`, params: [...set.map(k => values[k]), ...add.map(([, by]) => by), id], set, add }
}
