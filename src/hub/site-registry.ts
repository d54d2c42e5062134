/**
 * Registered partner sites (issue 12): a JSON file `{ "sites": { "site_…": ["https://partner.example", …] } }`
 * binding each site key to the origins its owner registered. Default `<dataDir>/sites.json`; a
 * missing file registers nothing. Work leased with a site key earns that site credit only when the
 * key is registered and the lease names one of its origins — the embed frame reports the page it
 * is framed by as the browser tells it (`location.ancestorOrigins`), which the partner page cannot
 * change. Another site's key, or a registered key on a foreign origin, earns the site nothing (the
 * volunteer is credited as always). Re-read when the file changes, so an operator can register a
 * site while the hub runs (`sparecycles site register`).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { isSiteKey } from '../protocol/site-key.ts'
import type { ErrorName } from '../protocol/index.ts'

/** The sites file is malformed. */
export class SitesFileError extends Error {
  static override readonly name: ErrorName = 'SitesFileError'
  override readonly name: ErrorName = 'SitesFileError'
  constructor (message: string) { super(message) }
}

/** Site key -> the origins it is registered for. */
export type SiteOrigins = Record<string, string[]>

/** True for a serialised web origin (`scheme://host[:port]`, nothing after it). */
export function isOrigin (s: string): boolean {
  if (s.length === 0 || s.length > 256) return false
  try {
    const u = new URL(s)
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s
  } catch {
    return false
  }
}

/** @throws SitesFileError */
export function loadSites (path: string): SiteOrigins {
  if (!existsSync(path)) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new SitesFileError(`${path} is not JSON: ${(err as Error).message}`)
  }
  const sites = (parsed as { sites?: unknown })?.sites
  if (sites == null || typeof sites !== 'object' || Array.isArray(sites)) throw new SitesFileError(`${path} needs a "sites" object of site key -> origins`)
  const out: SiteOrigins = {}
  for (const [key, origins] of Object.entries(sites)) {
    if (!isSiteKey(key)) throw new SitesFileError(`${path}: ${JSON.stringify(key)} is not a site key`)
    if (!Array.isArray(origins) || !origins.every(o => typeof o === 'string' && isOrigin(o))) throw new SitesFileError(`${path}: ${key} needs an array of origins such as "https://partner.example"`)
    out[key] = origins as string[]
  }
  return out
}

/**
 * Add `origin` to `key`'s registered origins in the file (created when missing).
 * @throws SitesFileError for a malformed file, key or origin
 */
export function registerSite (path: string, key: string, origin: string): SiteOrigins {
  if (!isSiteKey(key)) throw new SitesFileError(`${JSON.stringify(key)} is not a site key (site_ followed by 16 to 64 characters of [A-Za-z0-9_-])`)
  if (!isOrigin(origin)) throw new SitesFileError(`${JSON.stringify(origin)} is not an origin such as https://partner.example (scheme, host and port only)`)
  const sites = loadSites(path)
  sites[key] = [...new Set([...(sites[key] ?? []), origin])]
  writeFileSync(path, JSON.stringify({ sites }, null, 2) + '\n')
  return sites
}

/** The registry a hub reads: the file, re-read when its modification time changes. */
export class SiteRegistry {
  private cached: { mtimeMs: number, sites: SiteOrigins } | undefined

  constructor (private readonly path: string | undefined) {}

  /** True when `key` is registered for `origin`. A malformed file registers nothing (and says so once per change). */
  allows (key: string, origin: string): boolean {
    if (this.path == null || origin === '') return false
    return this.sites()[key]?.includes(origin) ?? false
  }

  private sites (): SiteOrigins {
    if (this.path == null || !existsSync(this.path)) return {}
    const mtimeMs = statSync(this.path).mtimeMs
    if (this.cached?.mtimeMs !== mtimeMs) {
      let sites: SiteOrigins = {}
      try { sites = loadSites(this.path) } catch (err) { console.error(`sites registry ignored: ${(err as Error).message}`) }
      this.cached = { mtimeMs, sites }
    }
    return this.cached.sites
  }
}
