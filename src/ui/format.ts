/** Display formatting for the page (presentation only). */
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
