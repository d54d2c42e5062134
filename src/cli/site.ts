/**
 * `sparecycles site stats <key>`: a partner site's credit totals, from a hub's data directory
 * (read straight from its SQLite store; a running hub may hold it, WAL allows the reader) or from a
 * running hub's read-only endpoint (`--hub <url>` -> GET <url>/api/sites/<key>).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isSiteKey } from '../protocol/site-key.ts'
import { SiteCredits } from '../hub/sites.ts'
import { SqliteHubRepository } from '../hub/sqlite-repository.ts'
import { DB_FILE_NAME } from '../hub/store.ts'
import { FlagError } from './flags.ts'
import type { SiteStats } from '../hub/sites.ts'

export interface SiteStatsOptions {
  dataDir: string
  /** Base URL of a running hub; when set, its /api/sites/<key> is asked instead of the data dir. */
  hub?: string
}

/** @throws FlagError for a malformed key or a data dir without a hub store */
export async function siteStats (key: string, opts: SiteStatsOptions): Promise<SiteStats> {
  if (!isSiteKey(key)) throw new FlagError('<key>', 'a site key is site_ followed by 16 to 64 characters of [A-Za-z0-9_-]')
  if (opts.hub != null) {
    const url = new URL(`/api/sites/${encodeURIComponent(key)}`, opts.hub)
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
    return await response.json() as SiteStats
  }
  if (!existsSync(join(opts.dataDir, DB_FILE_NAME))) throw new FlagError('--data-dir', `no hub store (${DB_FILE_NAME}) in ${opts.dataDir}`)
  const repo = SqliteHubRepository.open(opts.dataDir)
  try {
    return await repo.read(async tx => await SiteCredits.stats(tx, key))
  } finally {
    await repo.close()
  }
}
