/**
 * primes-sieve — exact prime counting on an interval [lo, hi) with 0 <= lo < hi <= 2^53.
 *
 * Algorithm
 * ---------
 * Segmented sieve of Eratosthenes on a modulo-30 wheel, in the form described by Kim Walisch for
 * primesieve (https://github.com/kimwalisch/primesieve/blob/master/doc/ALGORITHMS.md and
 * "Segmented sieve of Eratosthenes", https://github.com/kimwalisch/primesieve/wiki/Segmented-sieve-of-Eratosthenes),
 * itself after Bays & Hudson, "The segmented sieve of Eratosthenes and primes in arithmetic
 * progressions to 10^12", BIT 17 (1977).
 *
 *  - Sieve layout: one byte holds the 8 numbers 30*i + {1,7,11,13,17,19,23,29} (bit k <-> residue
 *    R[k]); a set bit means "composite (or outside the range)". Multiples of 2, 3 and 5 are never
 *    stored; 2, 3 and 5 themselves are counted separately.
 *  - Segments of SEG_BYTES = 512 KiB (15,728,640 numbers), half this machine's 1 MiB L2; measured
 *    at [1e12, 1e12 + 2e9): 128 KiB 2.5, 256 KiB 3.2, 512 KiB 3.6, 1 MiB 3.6 G numbers/s. Each
 *    segment is pre-sieved: a memory.copy of a pattern for 7, 11, 13, 17 (period 17017 bytes), then
 *    SIMD ORs of 9 patterns for the pairs 19*23, 29*31, ..., 89*97. Then it is sieved by the primes
 *    101 <= p <= sqrt(hi - 1) and counted with 64-bit popcnt of the inverted bytes.
 *  - Small sieving primes (p < SMALL_LIMIT = 2^18) keep 8 byte offsets, one per wheel residue of the
 *    multiplier: the multiples p*(30t + R[j]) lie every p bytes with a constant bit mask, so each
 *    prime is sieved by one loop doing 8 stride-p byte ORs per turn (no division, no shifts).
 *    (Sieving them in L1-sized pieces of the segment was measured slower here.)
 *  - Medium primes (SMALL_LIMIT <= p < BIG_LIMIT = 2^21) keep one byte offset plus the wheel index of
 *    the current multiplier and step multiple to multiple with a 64-entry table (byte increment =
 *    (p div 30) * gap + correction, bit mask), as primesieve's EratMedium does.
 *  - Big primes (p >= BIG_LIMIT, fewer than ~1 hit per segment) live in a ring of NB buckets, one
 *    per coming segment (primesieve's EratBig, after Tomás Oliveira e Silva's cache-friendly bucket
 *    sieve): a segment only touches the primes that hit it, then files each under the segment of
 *    its next multiple.
 *  - Offsets are carried from one segment to the next (relative to the segment start), so no
 *    64-bit division happens after a prime is first activated. Primes are activated in order,
 *    when p*p first falls below the end of the current segment; only the first activation in a
 *    work unit (p*p below the unit's start) costs one 64-bit division.
 *  - The base primes 101 <= p <= sqrt(hi - 1) are computed by the kernel (odd-only bit sieve) and
 *    cached across work units: a later unit whose sqrt(hi - 1) is not larger reuses them.
 *
 * ABI (all numbers are f64 so that every integer below 2^53 is exact; no imports except
 * env.abort, which this code never calls)
 * ---
 *   init(lo: f64, hi: f64): i32   start a work unit counting primes p with lo <= p < hi.
 *                                 Returns 0, or
 *                                  -1 bad range: not integers, lo < 0, hi > 2^53 or lo >= hi,
 *                                  -2 out of memory (base primes do not fit maximumMemory).
 *   step(maxSegments: i32): i32   sieve up to maxSegments more segments (SEG_BYTES*30 numbers
 *                                 each); returns 1 once the unit is finished (also if there is
 *                                 no unit), else 0.
 *   count(): f64                  primes counted so far in [lo, hi) (final once step returned 1).
 *   done(): f64                   numbers of [lo, hi) covered so far, 0 .. hi - lo.
 *   segmentNumbers(): f64         numbers sieved by one segment (SEG_BYTES * 30), for hosts that
 *                                 size their slices.
 *   setBlockBytes(bytes: i32): i32  after init: also count each block of `bytes` bytes (a power
 *                                 of two, 64 .. SEG_BYTES; blocks counted from byte floor(lo / 30),
 *                                 so they never straddle a segment). Returns 0, or -1 (bad size).
 *   blockCounts(): i32            blocks of the last segment sieved (call step(1) to see each one).
 *   blockCount(j: i32): f64       primes in block j of the last segment sieved (-1 for a bad j).
 *                                 The host's checkpoints (src/protocol/primes.ts) are built from these.
 *
 * Memory layout (byte addresses, all from __heap_base, 64-byte aligned)
 * -------------
 *   TAB        5 x 64-byte tables: WMASK, WGAP, WCORR, SADD, NEXTIDX
 *   PAT        pre-sieve pattern for 7, 11, 13, 17, stored twice (2 x 17017 bytes)
 *   PAIRTAB    9 x (u32 address, u32 period) of the pair patterns, then the patterns (+32 bytes each)
 *   SEG        the segment, SEG_BYTES + 64 bytes of slack (16-byte SIMD and 8-byte popcnt tails)
 *   SMALLREC   one 40-byte record per small sieving prime: 8 x u32 offsets, u32 p, u32 ri*8
 *   BUCKETS    NB x u32: address of each bucket's newest block (0 = empty)
 *   BLKC       (SEG_BYTES / 64) x u32: per-block counts of the last segment (setBlockBytes)
 *   DYN        u32 base primes (101 <= p <= cachedLimit); then WREC, 8-byte records of the medium
 *              primes (u32 offset, u32 packed (p div 30) << 6 | ri << 3 | wi); then POOL, 8 KiB
 *              bucket blocks (u32 next block, u32 count, 1023 x (u32 offset, u32 packed)).
 *              While base primes are generated, the bit sieve is at DYN and the primes are
 *              written after it, then moved down.
 *   The memory grows on demand (memory.grow); near 2^53 sqrt is ~9.5e7 and the ~5.4 M base primes
 *   take ~22 MiB plus ~44 MiB of bucket blocks, so maximumMemory is 128 MiB (asconfig.json).
 */

// ---- tunables -----------------------------------------------------------------------------
/** Segment size in bytes (each byte = 30 numbers). */
const SEG_SHIFT: u32 = 19;
const SEG_BYTES: u32 = 1 << SEG_SHIFT;
/** Primes below this use the 8-phase small-prime loops. */
const SMALL_LIMIT: u32 = 262144;
/** Primes >= BIG_LIMIT go to the bucket sieve (fewer than ~8 * SEG_BYTES / p hits a segment). */
const BIG_LIMIT: u32 = 4 * SEG_BYTES;
/** Buckets in the ring: more than the segments a prime <= 2^26.5 can jump ((p / 30) * 6 / SEG_BYTES < 37). */
const NB: u32 = 64;
/** Entries per bucket block; a block is 8 + 8 * EPB = 8192 bytes (u32 next, u32 count, entries). */
const EPB: u32 = 1023;
const BLOCK_BYTES: u32 = 8192;
/** Upper bound for the count of primes below SMALL_LIMIT (pi(65536) = 6542). */
const MAX_SMALL: u32 = 23100;

// ---- constants ----------------------------------------------------------------------------
const P_PAT: u32 = 17017; // 7*11*13*17
const FIRST_SIEVING_PRIME: u32 = 101;
const TWO53: f64 = 9007199254740992.0;

// ---- memory layout ------------------------------------------------------------------------
const TAB: usize = (__heap_base + 63) & ~63;
const WMASK: usize = TAB;
const WGAP: usize = TAB + 64;
const WCORR: usize = TAB + 128;
const SADD: usize = TAB + 192;
const NEXTIDX: usize = TAB + 256;
const PAT: usize = (TAB + 320 + 63) & ~63;
/** Pairs of primes pre-sieved by OR-ing periodic patterns (period p1*p2 bytes). */
const NPAIR: u32 = 9;
const PAIRS_BYTES: usize = 437 + 899 + 1517 + 2021 + 3127 + 4087 + 5183 + 6557 + 8633 + NPAIR * 64;
const PAIRTAB: usize = (PAT + 2 * P_PAT + 63) & ~63; // NPAIR x (u32 address, u32 period)
const PAIRPAT: usize = PAIRTAB + NPAIR * 8;
const SEG: usize = (PAIRPAT + PAIRS_BYTES + 63) & ~63;
const SMALLREC: usize = (SEG + SEG_BYTES + 64 + 63) & ~63;
const BUCKETS: usize = (SMALLREC + MAX_SMALL * 40 + 63) & ~63; // NB x u32 head block address
/** Smallest block of setBlockBytes, in bytes (a multiple of the 8-byte popcnt word). */
const MIN_BLOCK_BYTES: u32 = 64;
const BLKC: usize = (BUCKETS + NB * 4 + 63) & ~63; // (SEG_BYTES / MIN_BLOCK_BYTES) x u32 block counts
const DYN: usize = (BLKC + (SEG_BYTES / MIN_BLOCK_BYTES) * 4 + 63) & ~63;

// ---- state --------------------------------------------------------------------------------
let tablesReady = false;
let cachedLimit: u32 = 0; // base primes cached for p <= cachedLimit
let nPrimes: u32 = 0; // number of cached base primes (all >= 19)
let nSmallCached: u32 = 0; // how many of them are < SMALL_LIMIT
let nMediumCached: u32 = 0; // how many are < BIG_LIMIT
let WREC: usize = DYN; // wheel records start (one per prime < BIG_LIMIT)
let POOL: usize = DYN; // bucket blocks start
let poolNext: usize = 0; // bump allocator
let freeList: usize = 0; // freed blocks (linked by their first u32)
let segIndex: u32 = 0; // segments sieved in this unit
let nMedium: u32 = 0;

let LO: u64 = 0;
let HI: u64 = 0;
let endByte: u64 = 0; // exclusive
let segStart: u64 = 0; // byte index of the next segment
let firstByte: u64 = 0;
let nUse: u32 = 0; // primes used for this unit
let nSmall: u32 = 0; // small primes used for this unit
let nActive: u32 = 0;
let total: u64 = 0;
let running = false;
let blockBytes: u32 = 0; // 0: no block counts; else a power of two, MIN_BLOCK_BYTES .. SEG_BYTES
let nBlocks: u32 = 0; // block counts held at BLKC (of the last segment sieved)

@inline function residue(k: u32): u32 {
  // R = [1,7,11,13,17,19,23,29] packed 5 bits each would do; a switch is clearer.
  switch (k) {
    case 0: return 1;
    case 1: return 7;
    case 2: return 11;
    case 3: return 13;
    case 4: return 17;
    case 5: return 19;
    case 6: return 23;
    default: return 29;
  }
}

function residueIndex(v: u32): u32 {
  for (let k: u32 = 0; k < 8; k++) if (residue(k) == v) return k;
  return 255;
}

function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >>> 16);
  return memory.grow(pages) >= 0;
}

function setupTables(): void {
  for (let ri: u32 = 0; ri < 8; ri++) {
    const r = residue(ri);
    for (let wi: u32 = 0; wi < 8; wi++) {
      const w = residue(wi);
      const gap: u32 = wi == 7 ? 2 : residue(wi + 1) - w;
      const idx = ri * 8 + wi;
      store<u8>(WMASK + idx, <u8>(<u32>1 << residueIndex((r * w) % 30)));
      store<u8>(WGAP + idx, <u8>gap);
      store<u8>(WCORR + idx, <u8>((r * (w + gap)) / 30 - (r * w) / 30));
      store<u8>(SADD + idx, <u8>((r * w) / 30));
    }
  }
  for (let v: u32 = 0; v < 30; v++) {
    let k: u32 = 0;
    while (residue(k) < v) k++;
    store<u8>(NEXTIDX + v, <u8>k);
  }
  // pre-sieve pattern for 7, 11, 13, 17
  for (let i: u32 = 0; i < P_PAT; i++) {
    let b: u32 = 0;
    for (let k: u32 = 0; k < 8; k++) {
      const n = 30 * i + residue(k);
      if (n % 7 == 0 || n % 11 == 0 || n % 13 == 0 || n % 17 == 0) b |= 1 << k;
    }
    store<u8>(PAT + i, <u8>b);
    store<u8>(PAT + P_PAT + i, <u8>b);
  }
  // pair patterns for 19*23, 29*31, ..., 89*97; each stored with 32 bytes of continuation
  let addr = PAIRPAT;
  for (let k: u32 = 0; k < NPAIR; k++) {
    const p1 = presievePrime(2 * k);
    const p2 = presievePrime(2 * k + 1);
    const P = p1 * p2;
    for (let i: u32 = 0; i < P + 32; i++) {
      let b: u32 = 0;
      for (let j: u32 = 0; j < 8; j++) {
        const n = 30 * i + residue(j);
        if (n % p1 == 0 || n % p2 == 0) b |= <u32>1 << j;
      }
      store<u8>(addr + i, <u8>b);
    }
    store<u32>(PAIRTAB + k * 8, <u32>addr);
    store<u32>(PAIRTAB + k * 8, P, 4);
    addr = (addr + P + 32 + 15) & ~15;
  }
  tablesReady = true;
}

/** The primes 19 .. 97 pre-sieved in pairs. */
function presievePrime(k: u32): u32 {
  switch (k) {
    case 0: return 19; case 1: return 23; case 2: return 29; case 3: return 31;
    case 4: return 37; case 5: return 41; case 6: return 43; case 7: return 47;
    case 8: return 53; case 9: return 59; case 10: return 61; case 11: return 67;
    case 12: return 71; case 13: return 73; case 14: return 79; case 15: return 83;
    case 16: return 89; default: return 97;
  }
}

/** ORs three pair patterns (table entries k, k+1, k+2) into the segment. */
function orPatterns3(L: u32, k: u32): void {
  const a1 = <usize>load<u32>(PAIRTAB + k * 8);
  const P1 = load<u32>(PAIRTAB + k * 8, 4);
  const a2 = <usize>load<u32>(PAIRTAB + k * 8, 8);
  const P2 = load<u32>(PAIRTAB + k * 8, 12);
  const a3 = <usize>load<u32>(PAIRTAB + k * 8, 16);
  const P3 = load<u32>(PAIRTAB + k * 8, 20);
  let o1 = <u32>(segStart % <u64>P1);
  let o2 = <u32>(segStart % <u64>P2);
  let o3 = <u32>(segStart % <u64>P3);
  for (let i: u32 = 0; i < L; i += 16) {
    const a = SEG + <usize>i;
    let v = v128.load(a);
    v = v128.or(v, v128.load(a1 + <usize>o1));
    v = v128.or(v, v128.load(a2 + <usize>o2));
    v = v128.or(v, v128.load(a3 + <usize>o3));
    v128.store(a, v);
    o1 += 16;
    o1 = o1 >= P1 ? o1 - P1 : o1;
    o2 += 16;
    o2 = o2 >= P2 ? o2 - P2 : o2;
    o3 += 16;
    o3 = o3 >= P3 ? o3 - P3 : o3;
  }
}

function isqrt(n: u64): u64 {
  let s = <u64>Math.sqrt(<f64>n);
  while (s * s > n) s--;
  while ((s + 1) * (s + 1) <= n) s++;
  return s;
}

/** Computes the primes 19 <= p <= limit into DYN. Returns false when out of memory. */
function generateBasePrimes(limit: u32): bool {
  // odd-only bit sieve: bit i <-> 2i+1, i < nbits
  const nbits: u32 = (limit - 1) / 2 + 1;
  const sbytes: usize = ((<usize>nbits + 63) >>> 6) << 3;
  // Rosser–Schoenfeld: pi(x) < 1.25506 x / ln x for x > 1
  const bound: usize = <usize>(1.25506 * <f64>limit / Math.log(<f64>limit)) + 16;
  if (!ensureMemory(DYN + sbytes + 4 * bound + 64)) return false;
  memory.fill(DYN, 0, sbytes);
  for (let i: u32 = 1; ; i++) {
    const p: u64 = 2 * <u64>i + 1;
    if (p * p > <u64>limit) break;
    if ((load<u8>(DYN + (i >>> 3)) & (1 << (i & 7))) != 0) continue;
    const pp = <u32>p;
    for (let j: u32 = <u32>((p * p) >>> 1); j < nbits; j += pp) {
      const a = DYN + (j >>> 3);
      store<u8>(a, load<u8>(a) | <u8>(<u32>1 << (j & 7)));
    }
  }
  const out: usize = DYN + sbytes;
  let n: u32 = 0;
  let ns: u32 = 0;
  let nm: u32 = 0;
  for (let w: usize = 0; w < sbytes; w += 8) {
    let bits = ~load<u64>(DYN + w);
    while (bits != 0) {
      const t = <u32>ctz(bits);
      bits &= bits - 1;
      const i: u64 = (<u64>w << 3) + t;
      if (i >= <u64>nbits) break;
      const p = <u32>(2 * i + 1);
      if (p < FIRST_SIEVING_PRIME) continue;
      store<u32>(out + (<usize>n << 2), p);
      n++;
      if (p < SMALL_LIMIT) ns++;
      if (p < BIG_LIMIT) nm++;
    }
  }
  memory.copy(DYN, out, <usize>n << 2);
  WREC = (DYN + (<usize>n << 2) + 63) & ~63;
  POOL = (WREC + (<usize>nm << 3) + 63) & ~63;
  if (!ensureMemory(POOL + 64)) {
    cachedLimit = 0;
    nPrimes = 0;
    nSmallCached = 0;
    return false;
  }
  cachedLimit = limit;
  nPrimes = n;
  nSmallCached = ns;
  nMediumCached = nm;
  return true;
}

/** Number of cached primes <= x. */
function primesUpTo(x: u32): u32 {
  let a: u32 = 0;
  let b: u32 = nPrimes;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (load<u32>(DYN + (<usize>m << 2)) <= x) a = m + 1;
    else b = m;
  }
  return a;
}

export function init(lo: f64, hi: f64): i32 {
  running = false;
  blockBytes = 0;
  nBlocks = 0;
  if (!(lo >= 0) || !(hi <= TWO53) || !(lo < hi) || Math.floor(lo) != lo || Math.floor(hi) != hi) return -1;
  if (!tablesReady) {
    if (!ensureMemory(DYN + 64)) return -2;
    setupTables();
  }
  LO = <u64>lo;
  HI = <u64>hi;
  total = 0;
  if (LO <= 2 && HI > 2) total++;
  if (LO <= 3 && HI > 3) total++;
  if (LO <= 5 && HI > 5) total++;
  firstByte = LO / 30;
  endByte = (HI - 1) / 30 + 1;
  segStart = firstByte;
  const limit = <u32>isqrt(HI - 1);
  if (limit > cachedLimit && limit >= FIRST_SIEVING_PRIME) {
    // round the limit up a little so that neighbouring units reuse the cache
    let want: u64 = <u64>limit + (<u64>limit >>> 6) + 64;
    if (want > 94906267) want = 94906267; // floor(sqrt(2^53)) = 94906265
    if (!generateBasePrimes(<u32>want)) return -2;
  }
  nUse = limit >= FIRST_SIEVING_PRIME ? primesUpTo(limit) : 0;
  nSmall = nUse < nSmallCached ? nUse : nSmallCached;
  nMedium = nUse < nMediumCached ? nUse : nMediumCached;
  // bucket pool: every big prime sits in exactly one bucket, plus one partial block per bucket
  const blocks = (nUse - nMedium + EPB - 1) / EPB + NB + 2;
  if (!ensureMemory(POOL + <usize>blocks * BLOCK_BYTES + 64)) return -2;
  poolNext = POOL;
  freeList = 0;
  memory.fill(BUCKETS, 0, NB * 4);
  segIndex = 0;
  nActive = 0;
  running = true;
  return 0;
}

/** Activates prime index i for the segment starting at byte segStart. */
@inline function activate(i: u32, p: u32): void {
  const S: u64 = segStart * 30;
  const p64 = <u64>p;
  let mmin: u64 = p64;
  if (p64 * p64 < S) mmin = (S + p64 - 1) / p64;
  const q: u32 = p / 30;
  const ri: u32 = residueIndex(p % 30);
  if (i < nSmall) {
    const rec = SMALLREC + <usize>i * 40;
    for (let j: u32 = 0; j < 8; j++) {
      const w = <u64>residue(j);
      const t: u64 = mmin > w ? (mmin - w + 29) / 30 : 0;
      const byte: u64 = p64 * t + <u64>q * w + <u64>load<u8>(SADD + ri * 8 + j);
      store<u32>(rec + (j << 2), <u32>(byte - segStart));
    }
    store<u32>(rec, p, 32);
    store<u32>(rec, ri * 8, 36);
  } else {
    const a: u64 = mmin / 30;
    const wi: u32 = load<u8>(NEXTIDX + <u32>(mmin % 30));
    const w = <u64>residue(wi);
    const byte: u64 = p64 * a + <u64>q * w + <u64>load<u8>(SADD + ri * 8 + wi);
    const off = <u32>(byte - segStart);
    const x = (q << 6) | (ri << 3) | wi;
    if (i < nMedium) {
      const rec = WREC + (<usize>i << 3);
      store<u32>(rec, off);
      store<u32>(rec, x, 4);
    } else {
      bucketPush((segIndex + (off >>> SEG_SHIFT)) & (NB - 1), off & (SEG_BYTES - 1), x);
    }
  }
}

/** Appends (offset, packed) to bucket b. */
@inline function bucketPush(b: u32, off: u32, x: u32): void {
  const slot = BUCKETS + (<usize>b << 2);
  let blk = <usize>load<u32>(slot);
  let n: u32 = blk != 0 ? load<u32>(blk, 4) : EPB;
  if (n == EPB) {
    let nb = freeList;
    if (nb != 0) freeList = <usize>load<u32>(nb);
    else {
      nb = poolNext;
      poolNext += BLOCK_BYTES;
    }
    store<u32>(nb, <u32>blk);
    blk = nb;
    n = 0;
    store<u32>(slot, <u32>blk);
  }
  const e = blk + 8 + (<usize>n << 3);
  store<u32>(e, off);
  store<u32>(e, x, 4);
  store<u32>(blk, n + 1, 4);
}

/** Sieves the current segment with the big primes of its bucket, moving each to its next bucket. */
function sieveBuckets(L: u32): void {
  const cur = segIndex & (NB - 1);
  const slot = BUCKETS + (<usize>cur << 2);
  let blk = <usize>load<u32>(slot);
  store<u32>(slot, 0);
  while (blk != 0) {
    const n = load<u32>(blk, 4);
    const end = blk + 8 + (<usize>n << 3);
    for (let e = blk + 8; e < end; e += 8) {
      let o = load<u32>(e);
      let x = load<u32>(e, 4);
      const q = x >>> 6;
      do {
        const idx = x & 63;
        if (o < L) mark(SEG + o, load<u8>(WMASK + idx));
        o += q * <u32>load<u8>(WGAP + idx) + <u32>load<u8>(WCORR + idx);
        x = (x & ~7) | ((x + 1) & 7);
      } while (o < SEG_BYTES);
      bucketPush((cur + (o >>> SEG_SHIFT)) & (NB - 1), o & (SEG_BYTES - 1), x);
    }
    const next = <usize>load<u32>(blk);
    store<u32>(blk, <u32>freeList);
    freeList = blk;
    blk = next;
  }
}

@inline function mark(a: usize, m: u32): void {
  store<u8>(a, load<u8>(a) | m);
}

/** Marks b, b + p, ... below e; returns the first multiple's byte >= e. */
@inline function tail(b: u32, p: u32, m: u32, e: u32): u32 {
  while (b < e) {
    mark(SEG + b, m);
    b += p;
  }
  return b;
}

/**
 * Sieves small primes [from, to) up to segment byte e (exclusive); the stored offsets become
 * (next multiple's byte) - sub, i.e. sub = 0 keeps them relative to this segment, sub = L makes
 * them relative to the next one.
 */
function sieveSmall(from: u32, to: u32, e: u32, sub: u32): void {
  for (let i: u32 = from; i < to; i++) {
    const rec = SMALLREC + <usize>i * 40;
    const p = load<u32>(rec, 32);
    const mt = WMASK + <usize>load<u32>(rec, 36);
    let o0 = load<u32>(rec, 0);
    let o1 = load<u32>(rec, 4);
    let o2 = load<u32>(rec, 8);
    let o3 = load<u32>(rec, 12);
    let o4 = load<u32>(rec, 16);
    let o5 = load<u32>(rec, 20);
    let o6 = load<u32>(rec, 24);
    let o7 = load<u32>(rec, 28);
    const m0: u32 = load<u8>(mt, 0);
    const m1: u32 = load<u8>(mt, 1);
    const m2: u32 = load<u8>(mt, 2);
    const m3: u32 = load<u8>(mt, 3);
    const m4: u32 = load<u8>(mt, 4);
    const m5: u32 = load<u8>(mt, 5);
    const m6: u32 = load<u8>(mt, 6);
    const m7: u32 = load<u8>(mt, 7);
    let mx = max(max(max(o0, o1), max(o2, o3)), max(max(o4, o5), max(o6, o7)));
    let k: u32 = 0;
    if (mx < e) {
      const lim = e - mx;
      do {
        const base = SEG + <usize>k;
        mark(base + o0, m0);
        mark(base + o1, m1);
        mark(base + o2, m2);
        mark(base + o3, m3);
        mark(base + o4, m4);
        mark(base + o5, m5);
        mark(base + o6, m6);
        mark(base + o7, m7);
        k += p;
      } while (k < lim);
    }
    store<u32>(rec, tail(o0 + k, p, m0, e) - sub, 0);
    store<u32>(rec, tail(o1 + k, p, m1, e) - sub, 4);
    store<u32>(rec, tail(o2 + k, p, m2, e) - sub, 8);
    store<u32>(rec, tail(o3 + k, p, m3, e) - sub, 12);
    store<u32>(rec, tail(o4 + k, p, m4, e) - sub, 16);
    store<u32>(rec, tail(o5 + k, p, m5, e) - sub, 20);
    store<u32>(rec, tail(o6 + k, p, m6, e) - sub, 24);
    store<u32>(rec, tail(o7 + k, p, m7, e) - sub, 28);
  }
}

function sieveWheel(L: u32, from: u32, to: u32): void {
  for (let i = from; i < to; i++) {
    const rec = WREC + (<usize>i << 3);
    let o = load<u32>(rec);
    if (o >= L) {
      store<u32>(rec, o - L);
      continue;
    }
    let x = load<u32>(rec, 4);
    const q = x >>> 6;
    do {
      const idx = x & 63;
      mark(SEG + o, load<u8>(WMASK + idx));
      o += q * <u32>load<u8>(WGAP + idx) + <u32>load<u8>(WCORR + idx);
      x = (x & ~7) | ((x + 1) & 7);
    } while (o < L);
    store<u32>(rec, o - L);
    store<u32>(rec, x, 4);
  }
}

export function step(maxSegments: i32): i32 {
  if (!running) return 1;
  for (let s: i32 = 0; s < maxSegments; s++) {
    if (segStart >= endByte) {
      running = false;
      return 1;
    }
    const left = endByte - segStart;
    const L: u32 = left < <u64>SEG_BYTES ? <u32>left : SEG_BYTES;
    const segEndNum: u64 = (segStart + L) * 30;
    // activate primes whose square falls below the end of this segment
    while (nActive < nUse) {
      const p = load<u32>(DYN + (<usize>nActive << 2));
      if (<u64>p * <u64>p >= segEndNum) break;
      activate(nActive, p);
      nActive++;
    }
    // pre-sieve copy
    {
      const off = <usize>(segStart % <u64>P_PAT);
      let dst = SEG;
      let rem = <usize>L;
      while (rem > 0) {
        const n = rem < <usize>P_PAT ? rem : <usize>P_PAT;
        memory.copy(dst, PAT + off, n);
        dst += n;
        rem -= n;
      }
    }
    orPatterns3(L, 0);
    orPatterns3(L, 3);
    orPatterns3(L, 6);
    if (segStart < 4) {
      // 1 is not prime; the pre-sieved primes 7 .. 97 are
      if (segStart == 0) store<u8>(SEG, (load<u8>(SEG) | 1) & ~0x1e);
      for (let k: u32 = 0; k < 2 * NPAIR; k++) {
        const p = <u64>presievePrime(k);
        const b = p / 30;
        if (b >= segStart && b < segStart + L) {
          const a = SEG + <usize>(b - segStart);
          store<u8>(a, load<u8>(a) & ~(<u32>1 << residueIndex(<u32>(p % 30))));
        }
      }
    }
    sieveSmall(0, nActive < nSmall ? nActive : nSmall, L, L);
    if (nActive > nSmall) sieveWheel(L, nSmall, nActive < nMedium ? nActive : nMedium);
    if (nActive > nMedium) sieveBuckets(L);
    // range ends
    if (segStart == firstByte) {
      const base = firstByte * 30;
      let b: u32 = load<u8>(SEG);
      for (let k: u32 = 0; k < 8; k++) if (base + <u64>residue(k) < LO) b |= 1 << k;
      store<u8>(SEG, b);
    }
    if (segStart + L == endByte) {
      const base = (endByte - 1) * 30;
      const a = SEG + L - 1;
      let b: u32 = load<u8>(a);
      for (let k: u32 = 0; k < 8; k++) if (base + <u64>residue(k) >= HI) b |= 1 << k;
      store<u8>(a, b);
    }
    const L8 = (L + 7) & ~7;
    for (let i = L; i < L8; i++) store<u8>(SEG + i, 0xff);
    let c: u64 = 0;
    if (blockBytes == 0) {
      for (let i: u32 = 0; i < L8; i += 8) c += popcnt(~load<u64>(SEG + i));
    } else {
      // per-block counts: blocks start at segment offsets j * blockBytes (blockBytes divides
      // SEG_BYTES and segments start at firstByte + k * SEG_BYTES, so blocks are unit-aligned)
      let nb: u32 = 0;
      for (let j0: u32 = 0; j0 < L8; j0 += blockBytes) {
        const j1 = j0 + blockBytes < L8 ? j0 + blockBytes : L8;
        let cb: u64 = 0;
        for (let i: u32 = j0; i < j1; i += 8) cb += popcnt(~load<u64>(SEG + i));
        store<u32>(BLKC + (<usize>nb << 2), <u32>cb);
        nb++;
        c += cb;
      }
      nBlocks = nb;
    }
    total += c;
    segStart += L;
    segIndex++;
  }
  if (segStart >= endByte) {
    running = false;
    return 1;
  }
  return 0;
}

export function count(): f64 {
  return <f64>total;
}

export function done(): f64 {
  if (HI == 0) return 0;
  let e: u64 = segStart * 30;
  if (e < LO) e = LO;
  if (e > HI) e = HI;
  return <f64>(e - LO);
}

/**
 * Record per-block counts from now on: blocks of `bytes` bytes (30 numbers each) counted from the
 * unit's first byte floor(lo / 30); call after init, before the first step. `bytes` must be a
 * power of two from 64 to SEG_BYTES. Returns 0, or -1 for a bad size (nothing changes then).
 */
export function setBlockBytes(bytes: i32): i32 {
  const b = <u32>bytes;
  if (bytes < <i32>MIN_BLOCK_BYTES || b > SEG_BYTES || (b & (b - 1)) != 0) return -1;
  blockBytes = b;
  return 0;
}

/** Blocks of the last segment sieved (0 before the first step or without setBlockBytes). */
export function blockCounts(): i32 {
  return <i32>nBlocks;
}

/** Primes counted in block j (0 .. blockCounts() - 1) of the last segment sieved; -1 for a bad j. */
export function blockCount(j: i32): f64 {
  if (j < 0 || <u32>j >= nBlocks) return -1;
  return <f64>load<u32>(BLKC + (<usize>j << 2));
}

export function segmentNumbers(): f64 {
  return <f64>SEG_BYTES * 30;
}
