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
