/**
 * HubCore's read-only queries (job status, ledger, peers, sites), split from hub-core.ts; every
 * one runs in one repository read transaction.
 */
import { jobStatusOf } from './job-status.ts'
import { SiteCredits } from './sites.ts'
import type { JobStatus } from './job-status.ts'
import type { ChainCheck, Ledger } from './ledger.ts'
import type { HubRepository, PeerTotals } from './repository.ts'
import type { SiteStats } from './sites.ts'

export type HubPeerStats = PeerTotals

/** Peers seen within this window count as active (ms). */
const ACTIVE_PEER_WINDOW_MS = 10 * 60_000

export abstract class HubQueries {
  abstract readonly repo: HubRepository
  abstract readonly ledger: Ledger
  /** Clock, Unix ms. */
  abstract readonly now: () => number

  /** Progress of one job, or undefined for an unknown id. */
  async jobStatus (jobId: string): Promise<JobStatus | undefined> {
    return await this.repo.read(async tx => {
      const job = await tx.getJob(jobId)
      return job == null ? undefined : await jobStatusOf(tx, job, this.now())
    })
  }

  /** All jobs, oldest first. */
  async listJobs (): Promise<JobStatus[]> {
    return await this.repo.read(async tx => {
      const out: JobStatus[] = []
      for (const job of await tx.listJobs()) out.push(await jobStatusOf(tx, job, this.now()))
      return out
    })
  }

  /** Canonical results of a job per device class (the class each replica was leased for). */
  async canonicalDeviceClasses (jobId: string): Promise<Record<string, number>> {
    return await this.repo.read(async tx => await tx.canonicalDeviceClasses(jobId))
  }

  /** Total credit granted to a peer. */
  async ledgerBalance (peerId: string): Promise<number> {
    return await this.repo.read(async tx => await tx.balance(peerId))
  }

  /** Credit per peer, over all jobs or one. */
  async ledgerBalances (jobId?: string): Promise<Record<string, number>> {
    return await this.repo.read(async tx => await tx.balances(jobId))
  }

  /** Re-walk the ledger's hash chain. */
  async verifyLedger (): Promise<ChainCheck> {
    return await this.repo.read(async tx => await this.ledger.verifyChain(tx))
  }

  /** Ledger entries [from, from + limit) (encoded CreditEntry bytes) and the highest seq. */
  async ledgerEntries (from: number, limit: number): Promise<{ head: number, entries: Array<{ seq: number, entry: Uint8Array }> }> {
    return await this.repo.read(async tx => {
      const rows = await tx.ledgerRows(from, limit)
      return { head: await tx.ledgerSize(), entries: rows.map(r => ({ seq: r.seq, entry: r.entry })) }
    })
  }

  /** Counts for a status page. */
  async hubPeerStats (): Promise<HubPeerStats> {
    return await this.repo.read(async tx => await tx.peerTotals(this.now() - ACTIVE_PEER_WINDOW_MS))
  }

  /** Totals of one partner site. @throws RangeError for a malformed site key */
  async siteStats (siteKey: string): Promise<SiteStats> {
    return await this.repo.read(async tx => await SiteCredits.stats(tx, siteKey))
  }

  /** Every site key seen, with its credit, highest first. */
  async siteList (): Promise<Array<{ siteKey: string, credit: number }>> {
    return await this.repo.read(async tx => await SiteCredits.list(tx))
  }

}
