/**
 * Hub URLs: the base URL of a hub's HTTP side (its page and `/hub.json`), as a visitor adds one on
 * the page and as a hub recommends others in `/hub.json`'s `recommendedHubs`. One check for both,
 * since both come from outside (a visitor's typing, another hub's JSON).
 */
import type { ErrorName } from './errors.ts'

/** Most hubs one volunteer works for besides its page's own (and most a hub may recommend). */
export const MAX_HUBS = 8

/** Longest hub URL accepted, in characters. */
export const MAX_HUB_URL_CHARS = 200

/** A hub URL that is not an http(s) URL of a host, or carries what a base URL must not. */
export class BadHubUrlError extends Error {
  static override readonly name: ErrorName = 'BadHubUrlError'
  override readonly name: ErrorName = 'BadHubUrlError'
}

/**
 * The hub's base URL in one spelling: `http(s)://host[:port]/` plus the path up to its last `/`
 * (a page URL such as `https://hub.example/index.html` becomes `https://hub.example/`).
 * @throws BadHubUrlError when it is not an http(s) URL, is over MAX_HUB_URL_CHARS, or has
 *   a user name, password, query or fragment
 */
export function normalizeHubUrl (text: unknown): string {
  if (typeof text !== 'string') throw new BadHubUrlError('a hub URL must be a string')
  const trimmed = text.trim()
  if (trimmed.length === 0) throw new BadHubUrlError('the hub URL is empty')
  if (trimmed.length > MAX_HUB_URL_CHARS) throw new BadHubUrlError(`a hub URL has at most ${MAX_HUB_URL_CHARS} characters`)
  let url: URL
  try { url = new URL(trimmed) } catch { throw new BadHubUrlError(`not a URL: ${trimmed.slice(0, 80)}`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadHubUrlError(`a hub URL is http: or https:, not ${url.protocol}`)
  if (url.username !== '' || url.password !== '') throw new BadHubUrlError('a hub URL carries no user name or password')
  if (url.search !== '' || url.hash !== '') throw new BadHubUrlError('a hub URL has no query or fragment')
  return `${url.origin}${url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1)}`
}

/** Whether `text` is a hub URL in normalizeHubUrl's spelling. */
export function isHubUrl (text: unknown): text is string {
  try { return normalizeHubUrl(text) === text } catch { return false }
}

/** The `/hub.json` of a hub URL. @throws BadHubUrlError as normalizeHubUrl */
export function hubInfoUrlOf (hubUrl: string): string {
  return new URL('hub.json', normalizeHubUrl(hubUrl)).toString()
}

/**
 * A hub's `recommendedHubs` list, checked: each a hub URL (normalised), duplicates dropped.
 * @throws BadHubUrlError when it is not an array, has more than MAX_HUBS entries, or one is not a hub URL
 */
export function checkHubUrls (list: unknown): string[] {
  if (!Array.isArray(list)) throw new BadHubUrlError('recommendedHubs must be an array of URLs')
  if (list.length > MAX_HUBS) throw new BadHubUrlError(`at most ${MAX_HUBS} recommended hubs, got ${list.length}`)
  return [...new Set(list.map(normalizeHubUrl))]
}
