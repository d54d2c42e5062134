/**
 * The embed frame's pure rules (issue 12, items 1 and 2):
 *
 * - the visitor's choice, remembered in the hub origin's localStorage inside the frame (browsers
 *   partition a third-party frame's storage per top-level site, so a yes given on one partner is
 *   no yes on another), with its expiry; no partner page can write it;
 * - when the frame counts as seen (IntersectionObserver v2): a Yes takes a click, and work runs,
 *   only while the frame's box is wholly on screen, unclipped, not covered, not transparent,
 *   not transformed, at least ~1 cm each side and not zoomed out below MIN_ZOOM;
 * - which colours a partner may give the prompt (enough contrast, or the defaults).
 *
 * No DOM access: frame.ts feeds these with the observer's entries and its storage.
 */
import { DEFAULT_CONSENT_HOURS, MAX_CONSENT_HOURS } from './config.ts'
import { THEME_COLOR, THEME_KEYS } from './messages.ts'
import type { Theme } from './messages.ts'

/** localStorage key of a site's choice, in the frame (the hub's origin): `sparecycles:choice:<site key>`. */
export const CHOICE_KEY_PREFIX = 'sparecycles:choice:'
export const DEFAULT_CONSENT_MS = DEFAULT_CONSENT_HOURS * 3_600_000
/** The longest a choice is remembered (ms); a record reaching further is ignored. */
export const MAX_CONSENT_MS = MAX_CONSENT_HOURS * 3_600_000

export interface Choice {
  choice: 'yes' | 'no'
  /** Unix ms */
  until: number
}

/** The remembered choice for a site key, or null (none, expired, too far ahead, malformed, or storage off). */
export function readChoice (storage: Storage | undefined, site: string, now: number): Choice | null {
  try {
    const raw = storage?.getItem(CHOICE_KEY_PREFIX + site)
    if (raw == null) return null
    const r = JSON.parse(raw) as Partial<Choice>
    if ((r.choice !== 'yes' && r.choice !== 'no') || typeof r.until !== 'number') return null
    if (!(r.until > now) || r.until > now + MAX_CONSENT_MS) return null
    return { choice: r.choice, until: r.until }
  } catch {
    return null
  }
}

/**
 * Remember a choice for `ms` (clamped to 1 ms..MAX_CONSENT_MS; not a number: DEFAULT_CONSENT_MS).
 * Returns the record, which holds for this page view even when storage fails.
 */
export function writeChoice (storage: Storage | undefined, site: string, choice: 'yes' | 'no', ms: number, now: number): Choice {
  const span = Number.isFinite(ms) ? Math.min(MAX_CONSENT_MS, Math.max(1, Math.round(ms))) : DEFAULT_CONSENT_MS
  const record: Choice = { choice, until: now + span }
  try { storage?.setItem(CHOICE_KEY_PREFIX + site, JSON.stringify(record)) } catch {}
  return record
}

export function clearChoice (storage: Storage | undefined, site: string): void {
  try { storage?.removeItem(CHOICE_KEY_PREFIX + site) } catch {}
}

/** ~1 cm at the CSS reference pixel (96 per inch: 1 cm is 37.8 px), each side of what is seen. */
export const MIN_SEEN_PX = 38
/** Share of the frame's box that must be in view, unclipped (a partner cropping the question to its Yes is not seen). */
export const MIN_SEEN_RATIO = 0.99
/**
 * Lowest devicePixelRatio at which the frame counts as seen. A host page's CSS `zoom` on the iframe
 * is invisible to IntersectionObserver (it measures CSS px) but shows in the frame's
 * devicePixelRatio; below 0.6 the prompt's 13 px text is drawn under 8 px.
 */
export const MIN_ZOOM = 0.6
/** How long the prompt must have been seen before its Yes takes a click (ms): no flashing it under the pointer. */
export const SEEN_BEFORE_YES_MS = 500
/** IntersectionObserver v2's `delay` (ms; the API's minimum with trackVisibility is 100). */
export const OBSERVER_DELAY_MS = 100

/** What an IntersectionObserver v2 entry says about the frame's box (sizes in CSS px). */
export interface Sighting {
  isVisible: boolean
  /** intersectionRatio: the share of the box in view */
  ratio: number
  /** intersectionRect's size */
  width: number
  height: number
}

export function sightingOf (e: IntersectionObserverEntry): Sighting {
  return {
    isVisible: (e as IntersectionObserverEntry & { isVisible?: boolean }).isVisible === true,
    ratio: e.intersectionRatio,
    width: e.intersectionRect.width,
    height: e.intersectionRect.height
  }
}

/**
 * Whether the visitor can see the frame: the latest entry says visible (not covered, opacity 1, no
 * filter or non-translating transform, per IntersectionObserver v2), the box is in view to
 * MIN_SEEN_RATIO, at least MIN_SEEN_PX each side (scaled down by a zoom under 1), and `zoom`
 * (devicePixelRatio) is at least MIN_ZOOM. No entry yet: not seen.
 */
export function isSeen (s: Sighting | null, zoom: number): boolean {
  if (s == null || !s.isVisible || !(s.ratio >= MIN_SEEN_RATIO) || !(zoom >= MIN_ZOOM)) return false
  return Math.min(s.width, s.height) * Math.min(1, zoom) >= MIN_SEEN_PX
}

export const DEFAULT_THEME: Theme = {
  bg: 'rgb(255, 255, 255)',
  fg: 'rgb(27, 27, 27)',
  border: 'rgb(187, 187, 187)',
  buttonBg: 'rgb(244, 244, 244)',
  buttonFg: 'rgb(27, 27, 27)',
  accent: 'rgb(31, 111, 67)'
}
/** WCAG 2 AA for body text: a pair of colours under this contrast ratio makes the theme refused. */
export const MIN_CONTRAST = 4.5

function luminance (color: string): number {
  const m = THEME_COLOR.exec(color)
  if (m == null) return Number.NaN
  const [r, g, b] = m.slice(1, 4).map(c => {
    const v = Number(c) / 255
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

/** WCAG contrast ratio of two `rgb(R, G, B)` colours (1..21; NaN when either is not one). */
export function contrast (a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (hi + 0.05) / (lo + 0.05)
}

/**
 * The theme the frame draws with: the host's colours ('' keeps the default) over DEFAULT_THEME, or
 * DEFAULT_THEME with the reason when the text on the box, the button text on a button or white on
 * the accent (the Yes button) has less than MIN_CONTRAST: a partner cannot make the question unreadable.
 */
export function resolveTheme (host: Partial<Theme>): { theme: Theme, refused: string | null } {
  const theme = { ...DEFAULT_THEME }
  for (const k of THEME_KEYS) {
    const v = host[k]
    if (v != null && v !== '') theme[k] = v
  }
  const pairs: Array<[string, string, string]> = [
    ['text on the box (--sparecycles-fg on --sparecycles-bg)', theme.fg, theme.bg],
    ['button text (--sparecycles-button-fg on --sparecycles-button-bg)', theme.buttonFg, theme.buttonBg],
    ['the Yes button (white on --sparecycles-accent)', 'rgb(255, 255, 255)', theme.accent]
  ]
  for (const [what, a, b] of pairs) {
    const c = contrast(a, b)
    if (!(c >= MIN_CONTRAST)) return { theme: { ...DEFAULT_THEME }, refused: `theme refused: ${what} has contrast ${c.toFixed(2)}, under ${MIN_CONTRAST}` }
  }
  return { theme, refused: null }
}

// ---- what the partner page is told --------------------------------------------------------------

/**
 * A total as the partner page is told it (issue 12 item 3): rounded down to two significant
 * digits (0–99 exact to the ten below: 7 → 0, 42 → 40; 30,100 → 30,000), so that the page's
 * events change rarely and cannot be matched, event by event, to grants in the public ledger.
 * Fractions are dropped first.
 */
export function coarseTotal (n: number): number {
  if (!Number.isFinite(n) || n < 10) return 0
  const whole = Math.floor(n)
  const step = 10 ** Math.max(1, Math.floor(Math.log10(whole)) - 1)
  return Math.floor(whole / step) * step
}
