/** Display formatting for the page (presentation only). */
/** Numbers sieved per second, e.g. "3.64 G numbers/s". */
export function formatRate (perSecond: number): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)} G numbers/s`
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M numbers/s`
  return `${Math.round(perSecond)} numbers/s`
}

export function formatCredit (credit: number): string {
  return credit.toLocaleString('en-US', { maximumFractionDigits: 3 })
}

/** 0.3 -> "30%". */
export function formatPercent (fraction: number): string {
  return `${Math.round(fraction * 100)}%`
}

/** Work units per minute, e.g. "12 units/min". */
export function formatUnitsPerMinute (perMinute: number): string {
  return `${Math.round(perMinute)} unit${Math.round(perMinute) === 1 ? '' : 's'}/min`
}

/** Bytes in SI units: 950 -> "950 B", 12_300 -> "12.3 kB", 4.56e6 -> "4.56 MB". */
export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(Number.isFinite(bytes) ? bytes : 0))} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = -1
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++ }
  return `${v >= 100 ? Math.round(v) : v.toPrecision(3)} ${units[i]}`
}

/** A low-high range with its unit, e.g. "1.3–5.4 W" (one figure when both round alike). */
export function formatRange (r: { low: number, high: number }, unit: string): string {
  const f = (x: number): string => x >= 10 ? String(Math.round(x)) : x.toFixed(1)
  return f(r.low) === f(r.high) ? `${f(r.low)} ${unit}` : `${f(r.low)}–${f(r.high)} ${unit}`
}

/**
 * A long id shown short: its first `head` and last `tail` characters, the middle kept for copying
 * and screen readers but not drawn (the page hides it visually), e.g. "12D3Koo…x7Qa".
 * Ids no longer than head + tail + 1 come back whole in `head`.
 */
export function splitId (id: string, head = 7, tail = 4): { head: string, middle: string, tail: string } {
  if (id.length <= head + tail + 1) return { head: id, middle: '', tail: '' }
  return { head: id.slice(0, head), middle: id.slice(head, id.length - tail), tail: id.slice(id.length - tail) }
}
