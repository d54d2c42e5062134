/**
 * Per-peer caps that keep one key (or many fresh keys) from taking a hub off the air:
 *
 * - `replicas-held`: in-progress replicas one peer may hold at once, `maxReplicasHeld(peer)`
 *   (default 32 = 2 × MAX_LEASES_PER_REQUEST: a page with 16 worker slots and a lease stored for
 *   each). A request over it is answered with what fits (maybe nothing) and retryAfterMs.
 * - `fresh-share`: in-progress replicas of ONE job held by all fresh peers together (a fresh
 *   peer has no valid result yet, on this hub) are at most `max(freshMinHeld,
 *   ceil(freshShare × job's work units))` (defaults 32 and 0.25), so that 50 new keys cannot
 *   hold the job: the rest stays for peers that have returned a valid result. A fresh peer that
 *   holds nothing at all may still take one replica beyond it, so an honest newcomer always
 *   gets a first unit (a Sybil gains one replica per key, bounded by the transport's
 *   per-address connection limits).
 * - `failure-budget`: a peer's failures (no-replies — expired or given back except `cannot-run` —,
 *   client errors and invalid results) may exceed `failureBudget` + 4 × its valid results by
 *   nothing: past that it gets no more work. This is the failure budget per peer that replaces
 *   the old per-unit replica limit (a unit now fails only on established peers' client errors,
 *   transitioner.ts), so fresh keys that lease and release everything burn their own budget, never
 *   a job. A peer banned for a kernel (trust.ts) gets none of that kernel's units (`banned`).
 * - `work-rate`, `result-rate`, `receipts-rate`: token buckets per peer on work requests (any
 *   version), result submissions and receipt fetches (defaults 10/s with a burst of 20; 20/s,
 *   burst 40; 10/s, burst 20). Over the rate: a work request is answered with no leases and
 *   `retryAfterMs` (the time until a token), nothing else done (its give-backs included); a
 *   submission is refused with RateLimitedError as a stream reset, never as `rejected`, so the
 *   page keeps the result in its outbox and sends it again; a receipt fetch returns an empty
 *   page (`creditsUpTo` = the request's `receiptsAfter`).
 *
 * Rate buckets run on a monotonic clock (performance.now), not the hub's business clock.
 */
import { MAX_LEASES_PER_REQUEST } from '../protocol/ids.ts'

/** Names of the limits, as in `sparecycles_limit_hits_total{limit="..."}`. */
export type PeerLimitName = 'replicas-held' | 'fresh-share' | 'failure-budget' | 'banned' | 'work-rate' | 'result-rate' | 'receipts-rate'

/** A token bucket's settings: `perSecond` tokens added per second, at most `burst` kept. */
export interface RateSettings { perSecond: number, burst: number }

export interface PeerLimits {
  /** In-progress replicas one peer may hold at once (default 32). */
  maxReplicasHeld: number
  /** Failures a peer may have beyond 4 × its valid results before it gets no more work (default 64). */
  failureBudget: number
  /** Fraction (0, 1] of a job's work units that fresh peers together may hold in progress (default 0.25). */
  freshShare: number
  /** The fresh peers' cap per job is never below this many replicas (default 32). */
  freshMinHeld: number
  /** Work requests (work/1.x and 2.0.0) per peer (default 10/s, burst 20). */
  workRate: RateSettings
  /** Result submissions per peer (default 20/s, burst 40). */
  resultRate: RateSettings
  /** Receipt fetches (every result-protocol request) per peer (default 10/s, burst 20). */
  receiptsRate: RateSettings
}

export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  maxReplicasHeld: 2 * MAX_LEASES_PER_REQUEST,
  failureBudget: 4 * MAX_LEASES_PER_REQUEST,
  freshShare: 0.25,
  freshMinHeld: 2 * MAX_LEASES_PER_REQUEST,
  workRate: { perSecond: 10, burst: 20 },
  resultRate: { perSecond: 20, burst: 40 },
  receiptsRate: { perSecond: 10, burst: 20 }
})

/** Settings with some fields overridden. */
export type PeerLimitOptions = Partial<PeerLimits>

function checkRate (name: string, r: RateSettings): RateSettings {
  if (!(Number.isFinite(r.perSecond) && r.perSecond > 0)) throw new RangeError(`${name}.perSecond must be a positive number, got ${r.perSecond}`)
  if (!(Number.isSafeInteger(r.burst) && r.burst >= 1)) throw new RangeError(`${name}.burst must be a positive integer, got ${r.burst}`)
  return { perSecond: r.perSecond, burst: r.burst }
}

/** Defaults with `opts` applied. @throws RangeError naming the bad field */
export function resolvePeerLimits (opts: PeerLimitOptions = {}): PeerLimits {
  const l = { ...DEFAULT_PEER_LIMITS, ...opts }
  if (!(Number.isSafeInteger(l.maxReplicasHeld) && l.maxReplicasHeld >= 1)) throw new RangeError(`maxReplicasHeld must be a positive integer, got ${l.maxReplicasHeld}`)
  if (!(Number.isSafeInteger(l.failureBudget) && l.failureBudget >= 0)) throw new RangeError(`failureBudget must be a non-negative integer, got ${l.failureBudget}`)
  if (!(l.freshShare > 0 && l.freshShare <= 1)) throw new RangeError(`freshShare must be in (0, 1], got ${l.freshShare}`)
  if (!(Number.isSafeInteger(l.freshMinHeld) && l.freshMinHeld >= 0)) throw new RangeError(`freshMinHeld must be a non-negative integer, got ${l.freshMinHeld}`)
  return {
    ...l,
    workRate: checkRate('workRate', l.workRate),
    resultRate: checkRate('resultRate', l.resultRate),
    receiptsRate: checkRate('receiptsRate', l.receiptsRate)
  }
}

/** What the hub knows of a peer's record (from its `peers` row; zeros for a peer never seen). */
export interface PeerTrust {
  validResults: number
  invalidResults: number
  /** No-replies (not `cannot-run`) + client errors + invalid results (default 0). */
  failures?: number
}

/** True when the peer's failures are past its budget (`failure-budget`): no more work. */
export function overFailureBudget (peer: PeerTrust, limits: Pick<PeerLimits, 'failureBudget'>): boolean {
  return (peer.failures ?? 0) > limits.failureBudget + 4 * peer.validResults
}

/** A peer with no valid result on this hub yet. */
export function isFresh (peer: PeerTrust): boolean {
  return peer.validResults === 0
}

/**
 * In-progress replicas `peer` may hold at once. One constant today (`limits.maxReplicasHeld`);
 * the place where trust (checked results, spot checks) will scale it.
 */
export function maxReplicasHeld (_peer: PeerTrust, limits: Pick<PeerLimits, 'maxReplicasHeld'>): number {
  return limits.maxReplicasHeld
}

/** In-progress replicas of one job that all fresh peers together may hold. */
export function freshHeldCap (wuCount: number, limits: Pick<PeerLimits, 'freshShare' | 'freshMinHeld'>): number {
  return Math.max(limits.freshMinHeld, Math.ceil(limits.freshShare * wuCount))
}

/**
 * A token bucket: starts full (`burst` tokens), gains `perSecond` tokens a second up to `burst`;
 * each admitted event takes one.
 */
export class TokenBucket {
  private tokens: number
  private at: number

  /** @param clock monotonic ms (default performance.now) */
  constructor (private readonly settings: RateSettings, private readonly clock: () => number = () => performance.now()) {
    this.tokens = settings.burst
    this.at = clock()
  }

  /**
   * Take `n` tokens (default 1): admitted while at least one token is there, and then the bucket
   * may go into debt (a batch of `n` results larger than `burst` is admitted once; what follows
   * waits until the debt is repaid, so the long-run rate stays `perSecond`).
   * @returns 0 when admitted, else the ms until a token is there (≥ 1)
   */
  take (n = 1): number {
    this.refill()
    if (this.tokens >= 1) {
      this.tokens -= n
      return 0
    }
    return Math.max(1, Math.ceil((1 - this.tokens) * 1000 / this.settings.perSecond))
  }

  /** True when the bucket is full again (it can be forgotten: a new one is the same). */
  get full (): boolean {
    this.refill()
    return this.tokens >= this.settings.burst
  }

  private refill (): void {
    const now = this.clock()
    const dt = Math.max(0, now - this.at)
    this.at = now
    this.tokens = Math.min(this.settings.burst, this.tokens + dt * this.settings.perSecond / 1000)
  }
}

/** Token buckets per peer for one kind of request; at most `maxPeers` kept (least recently used dropped). */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor (private readonly settings: RateSettings, private readonly clock?: () => number, private readonly maxPeers = 10_000) {}

  /** Take `n` tokens (default 1) for `peerId` (TokenBucket.take). @returns 0 when admitted, else the ms until one is there */
  take (peerId: string, n = 1): number {
    let b = this.buckets.get(peerId)
    if (b == null) {
      b = new TokenBucket(this.settings, this.clock)
      if (this.buckets.size >= this.maxPeers) this.evict()
    } else {
      this.buckets.delete(peerId)
    }
    this.buckets.set(peerId, b)
    return b.take(n)
  }

  /** Peers with a bucket kept. */
  get size (): number {
    return this.buckets.size
  }

  private evict (): void {
    for (const [id, b] of this.buckets) if (b.full) this.buckets.delete(id)
    // still full of busy peers: drop the least recently used (a dropped peer starts full, as a new key would)
    while (this.buckets.size >= this.maxPeers) this.buckets.delete(this.buckets.keys().next().value as string)
  }
}

/** A hub's three per-peer rate limits (`work-rate`, `result-rate`, `receipts-rate`). */
export class PeerRates {
  readonly work: PeerRateLimiter
  readonly result: PeerRateLimiter
  readonly receipts: PeerRateLimiter

  /** @param clock monotonic ms (default performance.now) */
  constructor (limits: PeerLimits, clock?: () => number) {
    this.work = new PeerRateLimiter(limits.workRate, clock)
    this.result = new PeerRateLimiter(limits.resultRate, clock)
    this.receipts = new PeerRateLimiter(limits.receiptsRate, clock)
  }
}
