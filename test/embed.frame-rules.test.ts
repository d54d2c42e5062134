/**
 * The embed frame's pure rules (src/embed/frame-rules.ts): the choice it remembers in the hub
 * origin's storage (expiry, cap, per site key), when its box counts as seen (IntersectionObserver v2
 * entries, size, zoom), and which partner themes it takes (contrast). The browser side of the same
 * rules, against the partner page's own attacks: e2e.embed-consent.test.ts.
 */
import { describe, expect, it } from 'vitest'
import {
  CHOICE_KEY_PREFIX, DEFAULT_THEME, MAX_CONSENT_MS, MIN_SEEN_PX, MIN_ZOOM, clearChoice, contrast, isSeen, readChoice, resolveTheme, writeChoice
} from '../src/embed/frame-rules.ts'
import type { Sighting } from '../src/embed/frame-rules.ts'

const SITE = 'site_test_partner_0001'
const HOUR = 3_600_000

function memoryStorage (): { storage: Storage, map: Map<string, string> } {
  const map = new Map<string, string>()
  const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => { map.set(k, v) }, removeItem: (k: string) => { map.delete(k) } } as unknown as Storage
  return { storage, map }
}

describe('the remembered choice', () => {
  it('holds for the asked time, per site key, capped at the maximum; a forged or far record is ignored; cleared in one call', () => {
    const { storage, map } = memoryStorage()
    const t0 = 1_000_000
    expect(readChoice(storage, SITE, t0)).toBeNull()
    expect(writeChoice(storage, SITE, 'yes', 24 * HOUR, t0)).toEqual({ choice: 'yes', until: t0 + 24 * HOUR })
    expect(readChoice(storage, SITE, t0 + 23 * HOUR)?.choice).toBe('yes')
    expect(readChoice(storage, SITE, t0 + 24 * HOUR)).toBeNull()
    expect(readChoice(storage, 'site_another_partner_01', t0)).toBeNull()
    // a longer span than the cap is cut to it; a record reaching beyond the cap is no record
    expect(writeChoice(storage, SITE, 'yes', 1e12, t0).until).toBe(t0 + MAX_CONSENT_MS)
    map.set(CHOICE_KEY_PREFIX + SITE, JSON.stringify({ choice: 'yes', until: t0 + MAX_CONSENT_MS + 1 }))
    expect(readChoice(storage, SITE, t0)).toBeNull()
    for (const raw of ['yes', '{"choice":"YES","until":9e15}', '{"choice":"yes"}', '{"choice":"yes","until":"2000000"}', 'null']) {
      map.set(CHOICE_KEY_PREFIX + SITE, raw)
      expect(readChoice(storage, SITE, t0)).toBeNull()
    }
    writeChoice(storage, SITE, 'no', 24 * HOUR, t0)
    expect(readChoice(storage, SITE, t0)?.choice).toBe('no')
    clearChoice(storage, SITE)
    expect(readChoice(storage, SITE, t0)).toBeNull()
    // no storage (refused to a third-party frame): nothing remembered, nothing thrown
    expect(readChoice(undefined, SITE, t0)).toBeNull()
    expect(writeChoice(undefined, SITE, 'yes', HOUR, t0).until).toBe(t0 + HOUR)
  })
})

describe('seen', () => {
  const full: Sighting = { isVisible: true, ratio: 1, width: 320, height: 180 }
  it('only a visible, wholly shown box of at least ~1 cm each side, not zoomed out, is seen', () => {
    expect(isSeen(full, 1)).toBe(true)
    expect(isSeen(full, 2)).toBe(true)
    expect(isSeen(null, 1)).toBe(false)
    // covered, transparent, filtered or transformed (isVisible false), off-screen, cropped
    expect(isSeen({ ...full, isVisible: false }, 1)).toBe(false)
    expect(isSeen({ ...full, ratio: 0, width: 0, height: 0 }, 1)).toBe(false)
    expect(isSeen({ ...full, ratio: 0.5, width: 160 }, 1)).toBe(false)
    expect(isSeen({ ...full, ratio: Number.NaN }, 1)).toBe(false)
    // a 1x1 box, and one just under the minimum
    expect(isSeen({ ...full, width: 1, height: 1 }, 1)).toBe(false)
    expect(isSeen({ ...full, width: MIN_SEEN_PX - 1 }, 1)).toBe(false)
    expect(isSeen({ ...full, width: MIN_SEEN_PX, height: MIN_SEEN_PX }, 1)).toBe(true)
    // a page's CSS zoom on the iframe shows only as the frame's devicePixelRatio
    expect(isSeen(full, MIN_ZOOM - 0.01)).toBe(false)
    expect(isSeen({ ...full, width: MIN_SEEN_PX, height: MIN_SEEN_PX }, 0.8)).toBe(false)
  })
})

describe('theme', () => {
  it('takes readable colours, keeps defaults for the rest, and refuses a theme of poor contrast whole', () => {
    expect(contrast('rgb(255, 255, 255)', 'rgb(0, 0, 0)')).toBeCloseTo(21, 5)
    expect(contrast('rgb(10, 10, 10)', 'rgb(10, 10, 10)')).toBe(1)
    expect(resolveTheme({})).toEqual({ theme: DEFAULT_THEME, refused: null })
    const dark = { bg: 'rgb(17, 17, 17)', fg: 'rgb(240, 240, 240)', buttonBg: '', buttonFg: '', border: '', accent: '' }
    expect(resolveTheme(dark)).toEqual({ theme: { ...DEFAULT_THEME, bg: 'rgb(17, 17, 17)', fg: 'rgb(240, 240, 240)' }, refused: null })
    // invisible text (fg on bg), an unreadable Yes (white on a pale accent)
    for (const bad of [{ fg: 'rgb(250, 250, 250)' }, { accent: 'rgb(200, 255, 200)' }, { buttonBg: 'rgb(27, 27, 27)' }]) {
      const r = resolveTheme(bad)
      expect(r.theme).toEqual(DEFAULT_THEME)
      expect(r.refused).toMatch(/^theme refused: .* has contrast \d+\.\d\d, under 4\.5$/)
    }
  })
})
