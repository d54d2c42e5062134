/**
 * The loader's pure part: reading the script tag's attributes.
 *
 * The loader remembers nothing: the visitor's yes (or no) lives in the hub's embed frame, in the
 * hub origin's storage (frame-rules.ts), where no partner page can write it. A record a page writes
 * into its own localStorage (the version 1 loader's `sparecycles:consent:<site>`) means nothing.
 *
 * Imports only site-key.ts: the loader bundles this file.
 */
import { isSiteKey } from '../protocol/site-key.ts'

export const DEFAULT_CONSENT_HOURS = 24
export const MAX_CONSENT_HOURS = 168
export const MAX_EMBED_WORKERS = 4

/** Worker slots the frame runs for its `workers` parameter: an integer 1..MAX_EMBED_WORKERS (anything else: 1). */
export function embedWorkerSlots (workers: string | null): number {
  return Math.max(1, Math.min(MAX_EMBED_WORKERS, Math.floor(Number(workers)) || 1))
}

export interface EmbedConfig {
  siteKey: string
  /** Origin of the hub: where the frame is loaded from (the loader's own origin unless data-hub). */
  hubOrigin: string
  /** Worker slots the frame may run (data-workers, 1..MAX_EMBED_WORKERS, at most cores - 1). */
  workers: number
  /** How long the frame remembers a yes, in ms (data-consent-hours, default 24 h, at most MAX_CONSENT_HOURS). */
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
