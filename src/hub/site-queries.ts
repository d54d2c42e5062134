/**
 * The partner-site read queries, one SQL text for both stores (SQLite and PostgreSQL accept the
 * same statements here; only the expression that sums credit in base units differs, since rows
 * older than schema 9 hold a double `credit`: CREDIT_UNITS_SQL, PG_CREDIT_UNITS_SQL).
 */
import { fromCreditUnits } from '../protocol/credit.ts'
import type { SiteStatsRow } from './repository-rows.ts'

/** A store's row reader: SQLite's statements (synchronous) or a PostgreSQL transaction's (a Promise). */
export interface SqlRowReader {
  get: <T>(sql: string, ...params: string[]) => T | undefined | Promise<T | undefined>
  all: <T>(sql: string, ...params: string[]) => T[] | Promise<T[]>
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
