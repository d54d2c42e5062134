/** Seeded randomness for the simulation: every run with the same seed makes the same choices and keys. */

export { seededRandom } from '../seeded-random.ts'

/** `n` bytes from a seeded generator (e.g. the 32-byte seed of an Ed25519 key). */
export function seededBytes (random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256)
  return out
}

/** A stable 32-bit hash of a string (FNV-1a), for choices that must agree across colluding keys. */
export function hash32 (s: string): number {
  let h = 0x811C9DC5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}
