/**
 * Trust: which results the hub believes with about one replica per work unit (issue 10).
 *
 * Identities are free, so agreement between two keys proves nothing by itself. A peer earns trust
 * per kernel only through results checked against something it cannot influence: the hub's own
 * spot check of the output (`KernelDef.spotCheck`, recomputing a random sample), a certificate
 * (Freivalds), or agreement with a peer that was already trusted. This is BOINC's adaptive
 * replication (Anderson, "BOINC: a platform for volunteer computing", J. Grid Computing 2020, §5.4;
 * boinc/sched/sched_version.cpp `consecutive_valid`, `host_app_version` per (host, app version)),
 * with the hub's checks where BOINC relies on a second host:
 *
 * - the record (`trust` table, one row per (peer, kernel)): `consecutive_valid` (CV: valid results
 *   in a row backed by such evidence; an invalid result resets it), valid / verified / invalid
 *   results, client errors, spot checks run and failed;
 * - a new peer is untrusted; it is trusted for a kernel once CV >= `threshold` (default 10) and it
 *   never failed a spot check;
 * - policy `adaptive`, a kernel WITH a spot check ({@link planCheck}): an untrusted peer's result is
 *   spot-checked and replicated; a trusted one's is each with probability 1/CV. `ok: false` is
 *   proof of cheating. Two results that disagree are arbitrated by the hub (`KernelDef.arbitrate`:
 *   re-sieving one block where they differ), which proves at least one of them wrong: the
 *   refereed game of Canetti, Riva and Rothblum ("Practical delegation of computation using
 *   multiple servers", CCS 2011), one round deep because the output carries its checkpoints;
 * - policy `adaptive`, a kernel WITHOUT one: a trusted peer's result is accepted alone with
 *   probability 1 - 1/CV (BOINC), else — and always for an untrusted peer — the unit's min_quorum
 *   is raised to 2 and a replica is issued ("a suspicious result forces a replica");
 * - ringers (Golle & Mironov, "Uncheatable distributed computations", CT-RSA 2001), for any
 *   policy: a unit whose output SHA-256 the researcher gave the hub (`known_output_sha256`) has
 *   every result checked against it by the validator, like a spot check (a pass adds to CV, a
 *   failure is proof), and is otherwise replicated exactly as its neighbours, so it cannot be told apart;
 * - policy `replicate`: BOINC's plain quorum replication; the hub checks nothing itself;
 * - penalties: an invalid result makes its peer untrusted for the kernel (CV = 0); a failed spot
 *   check or a lost arbitration is proof: every grant the peer holds is reversed (ledger.ts), it
 *   is banned for the kernel, and every done unit whose canonical group holds its result is
 *   reopened (validator.ts `prove`); repeated invalid results (>= `banInvalid` and more than half
 *   its valid ones) ban it too.
 *   A banned peer gets no more work of that kernel.
 */
import type { PeerRow, TrustRow } from './repository.ts'

export interface TrustSettings {
  /** CV at which a peer becomes trusted for a kernel (default 10, BOINC's usual threshold). */
  threshold: number
  /** Invalid results (with more than half as many as valid) that ban a peer for a kernel (default 3). */
  banInvalid: number
}

export const DEFAULT_TRUST: Readonly<TrustSettings> = Object.freeze({ threshold: 10, banInvalid: 3 })

/** Settings with some fields overridden. @throws RangeError naming the bad field */
export function resolveTrust (opts: Partial<TrustSettings> = {}): TrustSettings {
  const t = { ...DEFAULT_TRUST, ...opts }
  if (!(Number.isSafeInteger(t.threshold) && t.threshold >= 1)) throw new RangeError(`trust threshold must be a positive integer, got ${t.threshold}`)
  if (!(Number.isSafeInteger(t.banInvalid) && t.banInvalid >= 1)) throw new RangeError(`banInvalid must be a positive integer, got ${t.banInvalid}`)
  return t
}

/** True when the peer is trusted for the record's kernel. */
export function isTrusted (rec: TrustRow | undefined, settings: TrustSettings = DEFAULT_TRUST): boolean {
  return rec != null && rec.spot_failures === 0 && rec.consecutive_valid >= settings.threshold
}

/** True when the peer gets no more work of the record's kernel: proven cheating, or repeated invalid results. */
export function isBanned (rec: TrustRow | undefined, settings: TrustSettings = DEFAULT_TRUST): boolean {
  if (rec == null) return false
  return rec.spot_failures > 0 || (rec.invalid_results >= settings.banInvalid && rec.invalid_results * 2 > rec.valid_results)
}

/**
 * Probability that a result of this peer is replicated (policy `adaptive`, kernels without a spot check):
 * 1 for an untrusted peer, 1/CV for a trusted one (BOINC's adaptive replication).
 */
export function replicationProbability (rec: TrustRow | undefined, settings: TrustSettings = DEFAULT_TRUST): number {
  return isTrusted(rec, settings) ? 1 / (rec as TrustRow).consecutive_valid : 1
}

/**
 * What the hub does with a new successful result of an open work unit: spot-check it itself,
 * require an agreeing replica from another peer, both, or neither (a trusted peer's result
 * accepted alone).
 */
export interface CheckPlan {
  spotCheck: boolean
  replicate: boolean
}

/**
 * Decide the hub's check of a new successful result on an open unit.
 *
 * - `adaptive`, kernel WITH a spot check: an untrusted peer's result is spot-checked (a whole-unit
 *   fake fails it for certain) AND replicated (a fake in one block of n passes a k-block check
 *   with probability 1 − k/n; a replica computed by someone else disagrees there, and the hub's
 *   arbitration of that block proves who lied). A trusted peer's result is spot-checked with
 *   probability 1/CV and, independently, replicated with probability 1/CV (BOINC's rate), so in
 *   steady state the hub checks and replicates about 1 result in CV;
 * - `adaptive`, kernel WITHOUT one: a trusted peer's result is accepted alone with probability
 *   1 − 1/CV, else (and always for an untrusted peer) replicated;
 * - `replicate`: BOINC's plain quorum; the hub checks nothing itself.
 * @param random uniform [0, 1) draws the peer cannot predict (tests pass a seeded one)
 */
export function planCheck (policy: 'replicate' | 'adaptive', hasSpotCheck: boolean, rec: TrustRow | undefined, random: () => number, settings: TrustSettings = DEFAULT_TRUST): CheckPlan {
  if (policy !== 'adaptive') return { spotCheck: false, replicate: false }
  const trusted = isTrusted(rec, settings)
  const p = replicationProbability(rec, settings)
  if (!hasSpotCheck) return { spotCheck: false, replicate: !trusted || random() < p }
  if (!trusted) return { spotCheck: true, replicate: true }
  return { spotCheck: random() < p, replicate: random() < p }
}

/**
 * A peer whose client errors count against a work unit: it has a valid result on this hub and is
 * not banned for the kernel. Fresh keys' errors and give-backs never fail a unit.
 */
export function isEstablished (peer: PeerRow | undefined, rec: TrustRow | undefined, settings: TrustSettings = DEFAULT_TRUST): boolean {
  return peer != null && peer.valid_results > 0 && !isBanned(rec, settings)
}

/** Uniform [0, 1) from the platform's CSPRNG (what the hub uses outside tests). */
export function secureRandom (): number {
  const a = new Uint32Array(2)
  crypto.getRandomValues(a)
  return (a[0] * 2 ** 21 + (a[1] >>> 11)) / 2 ** 53
}

/** A seeded generator (mulberry32) for tests and simulations: uniform [0, 1). */
export function seededRandom (seed: number): () => number {
  let t = seed >>> 0
  return () => {
    t = (t + 0x6D2B79F5) >>> 0
    let x = Math.imul(t ^ (t >>> 15), 1 | t)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
