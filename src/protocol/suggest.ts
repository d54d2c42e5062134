/**
 * "Did you mean …?" for names a user typed: the closest of the known names by edit distance.
 */

/** Levenshtein distance between `a` and `b` (insertions, deletions, substitutions, each 1). */
export function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}

/**
 * The known name closest to `word` (case-insensitive), if it is within a third of the word's
 * length (at least 2) edits; undefined when none is that close.
 */
export function closestName (word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const name of known) {
    const d = editDistance(word.toLowerCase(), name.toLowerCase())
    if (d < bestDistance) { best = name; bestDistance = d }
  }
  return best
}

/** ` — did you mean X?` for the closest known name, or '' when none is close. */
export function didYouMean (word: string, known: Iterable<string>): string {
  const name = closestName(word, known)
  return name == null ? '' : ` — did you mean ${name}?`
}
