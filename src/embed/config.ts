/**
 * The loader's pure parts: reading the script tag's attributes and the remembered consent.
 *
 * Consent is remembered in the partner page's own localStorage (key `sparecycles:consent:<site>`),
 * not in the hub's frame: the loader must know whether the visitor said yes without loading
 * anything from the hub (before opt-in nothing but embed.js itself is fetched from the hub), and
 * the frame's storage is partitioned per top-level site anyway. The record holds only the choice,
 * the hub origin and an expiry (at most MAX_CONSENT_HOURS ahead; a later one is ignored): nothing
 * secret. The visitor's key lives in the frame's IndexedDB, in the hub's origin.
 *
 * Imports only site-key.ts: the loader bundles this file.
 */
import { isSiteKey } from '../protocol/site-key.ts'

export const DEFAULT_CONSENT_HOURS = 24
export const MAX_CONSENT_HOURS = 168
export const MAX_EMBED_WORKERS = 4
export const CONSENT_KEY_PREFIX = 'sparecycles:consent:'

export interface EmbedConfig {
  siteKey: string
  /** Origin of the hub: where the frame is loaded from (the loader's own origin unless data-hub). */
  hubOrigin: string
  /** Worker slots the frame may run (data-workers, 1..MAX_EMBED_WORKERS, at most cores - 1). */
  workers: number
  /** How long a yes is remembered, in ms (data-consent-hours, default 24 h). */
  consentMs: number
}

export type ConfigResult = { ok: true, config: EmbedConfig } | { ok: false, reason: string }

/**
 * @param attrs the script tag's data-* attributes (dataset)
 * @param scriptSrc the script's absolute URL (its origin is the hub's unless data-hub is set)
 * @param cores navigator.hardwareConcurrency
 */
export function parseEmbedConfig (attrs: Record<string, string | undefined>, scriptSrc: string, cores: number): ConfigResult {
  const site = attrs.site
  if (site == null || site === '') return { ok: false, reason: 'the script tag has no data-site key' }
  if (!isSiteKey(site)) return { ok: false, reason: 'data-site must be site_ followed by 16 to 64 characters of A-Z a-z 0-9 _ -' }
  let hubOrigin: string
  try {
    const u = new URL(attrs.hub ?? scriptSrc)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme')
    hubOrigin = u.origin
  } catch {
    return { ok: false, reason: 'cannot tell the hub origin (data-hub or the script src)' }
  }
  const cap = Math.max(1, Math.min(MAX_EMBED_WORKERS, (cores || 2) - 1))
  let workers = 1
  if (attrs.workers != null) {
    workers = Number(attrs.workers)
    if (!Number.isInteger(workers) || workers < 1) return { ok: false, reason: 'data-workers must be a positive integer' }
    workers = Math.min(workers, cap)
  }
  let hours = DEFAULT_CONSENT_HOURS
  if (attrs.consentHours != null) {
    hours = Number(attrs.consentHours)
    if (!(hours > 0 && hours <= MAX_CONSENT_HOURS)) return { ok: false, reason: `data-consent-hours must be in (0, ${MAX_CONSENT_HOURS}]` }
  }
  return { ok: true, config: { siteKey: site, hubOrigin, workers, consentMs: Math.round(hours * 3_600_000) } }
}

export interface ConsentRecord {
  choice: 'yes' | 'no'
  hub: string
  /** Unix ms */
  until: number
}

/** The remembered choice for this site and hub, or null (none, expired, malformed, or storage off). */
export function readConsent (storage: Storage | undefined, cfg: EmbedConfig, now: number): ConsentRecord | null {
  try {
    const raw = storage?.getItem(CONSENT_KEY_PREFIX + cfg.siteKey)
    if (raw == null) return null
    const r = JSON.parse(raw) as Partial<ConsentRecord>
    if ((r.choice !== 'yes' && r.choice !== 'no') || r.hub !== cfg.hubOrigin || typeof r.until !== 'number') return null
    if (!(r.until > now) || r.until > now + MAX_CONSENT_HOURS * 3_600_000) return null
    return { choice: r.choice, hub: r.hub, until: r.until }
  } catch {
    return null
  }
}

/** Remember a choice for cfg.consentMs; returns the record (kept in memory when storage fails). */
export function writeConsent (storage: Storage | undefined, cfg: EmbedConfig, choice: 'yes' | 'no', now: number): ConsentRecord {
  const record: ConsentRecord = { choice, hub: cfg.hubOrigin, until: now + cfg.consentMs }
  try { storage?.setItem(CONSENT_KEY_PREFIX + cfg.siteKey, JSON.stringify(record)) } catch {}
  return record
}

export function clearConsent (storage: Storage | undefined, cfg: EmbedConfig): void {
  try { storage?.removeItem(CONSENT_KEY_PREFIX + cfg.siteKey) } catch {}
}
