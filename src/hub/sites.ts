/**
 * Partner-site credit attribution.
 *
 * A volunteer contributing through a partner's embed leases work over /sparecycles/work/1.1.0,
 * which carries the partner's site key. The hub records the site key of every replica leased that
 * way (`site_leases`), and when the ledger grants credit for such a replica the same amount is
 * attributed to the site (`site_credits`, one row per ledger entry, in the ledger's transaction).
 * The volunteer's own credit is unchanged: the ledger entry (hash-chained, hub-signed) stays the
 * visitor's; the site attribution is an index beside it that names the ledger seq it follows from,
 * so every site total can be re-derived from the ledger.
 *
 * This module owns its two tables and creates them itself (`CREATE TABLE IF NOT EXISTS`), so it
 * needs no migration of the hub's schema version.
 */
import { isSiteKey } from '../protocol/site-key.ts'
import type { HubStore } from './store.ts'
import type { CreditEntry, Lease } from '../protocol/pb/messages.ts'

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS site_leases (
    replica_id   TEXT PRIMARY KEY,
    site_key     TEXT NOT NULL,
    peer_id      TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    leased_at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS site_leases_site ON site_leases (site_key);
  CREATE TABLE IF NOT EXISTS site_credits (
    seq           INTEGER PRIMARY KEY,
    site_key      TEXT NOT NULL,
    peer_id       TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    replica_id    TEXT NOT NULL UNIQUE,
    credit        REAL NOT NULL,
    granted_at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS site_credits_site ON site_credits (site_key);
  CREATE TRIGGER IF NOT EXISTS site_credits_no_update BEFORE UPDATE ON site_credits
    BEGIN SELECT RAISE(ABORT, 'site_credits is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS site_credits_no_delete BEFORE DELETE ON site_credits
    BEGIN SELECT RAISE(ABORT, 'site_credits is append-only'); END;
`

/** Per-site totals, as `/api/sites/:key` and `sparecycles site stats <key>` show them. */
export interface SiteStats {
  siteKey: string
  /** Credit attributed to the site (sum over its validated, credited results). */
  credit: number
  /** Credited results done through the site's embed. */
  results: number
  /** Distinct volunteers (peer ids) with credited results through the site. */
  volunteers: number
  /** Replicas leased through the site's embed (any outcome). */
  leases: number
  /** Distinct volunteers that leased work through the site. */
  visitors: number
  /** Credit per job id. */
  creditByJob: Record<string, number>
  /** Unix ms of the first lease through the site, or null. */
  firstLeaseAtMs: number | null
  /** Unix ms of the last credit attributed to the site, or null. */
  lastCreditAtMs: number | null
}

export class SiteCredits {
  constructor (private readonly store: HubStore) {
    store.db.exec(SCHEMA)
  }

  /**
   * Remember the site key of replicas just leased to `peerId` (inside the lease transaction).
   * @throws RangeError for a malformed site key
   */
  recordLeases (siteKey: string, peerId: string, leases: readonly Lease[], nowMs: number): void {
    if (!isSiteKey(siteKey)) throw new RangeError(`malformed site key ${JSON.stringify(siteKey)}`)
    for (const l of leases) {
      this.store.run(`INSERT INTO site_leases (replica_id, site_key, peer_id, job_id, leased_at_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (replica_id) DO NOTHING`, l.replicaId, siteKey, peerId, l.jobId, nowMs)
    }
  }

  /** Ledger hook: attribute a new credit entry to the site its replica was leased through, if any. */
  onGrant (entry: CreditEntry): void {
    this.store.assertInTransaction('SiteCredits.onGrant')
    const lease = this.store.get<{ site_key: string }>('SELECT site_key FROM site_leases WHERE replica_id = ?', entry.replicaId)
    if (lease == null) return
    this.store.run(`INSERT INTO site_credits (seq, site_key, peer_id, job_id, replica_id, credit, granted_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, entry.seq, lease.site_key, entry.peerId, entry.jobId,
    entry.replicaId, entry.credit, entry.grantedAtMs)
  }

  /**
   * Totals of one site (zeros for a well-formed key never seen).
   * @throws RangeError for a malformed site key
   */
  stats (siteKey: string): SiteStats {
    if (!isSiteKey(siteKey)) throw new RangeError(`malformed site key ${JSON.stringify(siteKey)}: expected site_ followed by 16 to 64 characters of [A-Za-z0-9_-]`)
    const c = this.store.get<{ credit: number | null, results: number, volunteers: number, last: number | null }>(
      `SELECT sum(credit) AS credit, count(*) AS results, count(DISTINCT peer_id) AS volunteers, max(granted_at_ms) AS last
       FROM site_credits WHERE site_key = ?`, siteKey)
    const l = this.store.get<{ leases: number, visitors: number, first: number | null }>(
      'SELECT count(*) AS leases, count(DISTINCT peer_id) AS visitors, min(leased_at_ms) AS first FROM site_leases WHERE site_key = ?', siteKey)
    const creditByJob: Record<string, number> = {}
    for (const r of this.store.all<{ job_id: string, c: number }>(
      'SELECT job_id, sum(credit) AS c FROM site_credits WHERE site_key = ? GROUP BY job_id ORDER BY job_id', siteKey)) {
      creditByJob[r.job_id] = r.c
    }
    return {
      siteKey,
      credit: c?.credit ?? 0,
      results: c?.results ?? 0,
      volunteers: c?.volunteers ?? 0,
      leases: l?.leases ?? 0,
      visitors: l?.visitors ?? 0,
      creditByJob,
      firstLeaseAtMs: l?.first ?? null,
      lastCreditAtMs: c?.last ?? null
    }
  }

  /** Every site key seen, with its credit, highest first. */
  list (): Array<{ siteKey: string, credit: number }> {
    return this.store.all<{ site_key: string, c: number | null }>(
      `SELECT s.site_key, (SELECT sum(credit) FROM site_credits c WHERE c.site_key = s.site_key) AS c
       FROM (SELECT DISTINCT site_key FROM site_leases) s ORDER BY c DESC, s.site_key`).map(r => ({ siteKey: r.site_key, credit: r.c ?? 0 }))
  }
}
