/**
 * Partner site keys: `site_` followed by 16 to 64 characters of [A-Za-z0-9_-]. A site key is public
 * (it is written in the partner's script tag); it only names who gets the site credit. Checked by
 * the embed loader, the embed frame and the hub (schema check of /sparecycles/work/1.1.0).
 * Imports nothing: the loader bundles this file.
 */
export const SITE_KEY_PATTERN = /^site_[A-Za-z0-9_-]{16,64}$/

/** Longest site key accepted, in characters. */
export const MAX_SITE_KEY_CHARS = 5 + 64

export function isSiteKey (value: unknown): value is string {
  return typeof value === 'string' && SITE_KEY_PATTERN.test(value)
}
