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
 * The two tables (`site_leases`, `site_credits`) are part of the store's schema (store.ts); this
 * module reads and writes them through the repository, in the caller's transaction.
 */
import { isSiteKey } from '../protocol/site-key.ts'
import { creditUnitsOf } from '../protocol/credit.ts'
import { REVERSAL_SUFFIX } from './ledger.ts'
import type { RepoReader, RepoTx } from './repository.ts'
import type { CreditEntry, Lease } from '../protocol/pb/messages.ts'

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

function checkSiteKey (siteKey: string): void {
  if (!isSiteKey(siteKey)) throw new RangeError(`malformed site key ${JSON.stringify(siteKey)}: expected site_ followed by 16 to 64 characters of [A-Za-z0-9_-]`)
}

/** Site attribution; stateless apart from the repository it is handed. */
export const SiteCredits = {
  /**
   * Remember the site key of replicas just leased to `peerId` (inside the lease transaction).
   * @throws RangeError for a malformed site key
   */
  async recordLeases (tx: RepoTx, siteKey: string, peerId: string, leases: readonly Lease[], nowMs: number): Promise<void> {
    checkSiteKey(siteKey)
    for (const l of leases) await tx.insertSiteLease({ replicaId: l.replicaId, siteKey, peerId, jobId: l.jobId, leasedAtMs: nowMs })
  },

  /**
   * Ledger hook: attribute a new credit entry to the site its replica was leased through, if any.
   * A reversal (a proven cheater's grant taken back) is attributed like the grant it reverses, so
   * the site's credit loses what its visitor lost.
   */
  async onGrant (tx: RepoTx, entry: CreditEntry, peerId: string): Promise<void> {
    const replicaId = entry.reverses > 0 && entry.replicaId.endsWith(REVERSAL_SUFFIX) ? entry.replicaId.slice(0, -REVERSAL_SUFFIX.length) : entry.replicaId
    const siteKey = await tx.siteKeyOfReplica(replicaId)
    if (siteKey == null) return
    await tx.insertSiteCredit({ seq: entry.seq, siteKey, peerId, jobId: entry.jobId, replicaId: entry.replicaId, creditUnits: creditUnitsOf(entry), grantedAtMs: entry.grantedAtMs })
  },

  /**
   * Totals of one site (zeros for a well-formed key never seen).
   * @throws RangeError for a malformed site key
   */
  async stats (reader: RepoReader, siteKey: string): Promise<SiteStats> {
    checkSiteKey(siteKey)
    const r = await reader.siteStats(siteKey)
    return {
      siteKey,
      credit: r.credit,
      results: r.results,
      volunteers: r.volunteers,
      leases: r.leases,
      visitors: r.visitors,
      creditByJob: r.creditByJob,
      firstLeaseAtMs: r.firstLeaseAtMs,
      lastCreditAtMs: r.lastCreditAtMs
    }
  },

  /** Every site key seen, with its credit, highest first. */
  async list (reader: RepoReader): Promise<Array<{ siteKey: string, credit: number }>> {
    return await reader.listSites()
  }
}
