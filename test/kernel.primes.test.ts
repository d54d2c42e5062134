/**
 * The prime-counting WASM kernel (kernels/primes-sieve.ts) through its host wrapper
 * (workers/primes-kernel.ts), in Node.
 *
 * Oracles, none of them this kernel:
 *  - the published tables in ../shared/reference/known-answers.md (π(10^k), OEIS A006880; interval
 *    counts [10^i, 10^i + 10^8] from primesieve's test suite), parsed from that file, which must be
 *    there (CI clones ../shared beside the checkout); the same values are embedded below (KNOWN_*)
 *    and must equal the file's;
 *  - trial division, a plain JS sieve of Eratosthenes and a deterministic BigInt Miller–Rabin,
 *    all written in this file;
 *  - `primecount` (Debian package) when installed.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  KernelImportError,
  KernelRunError,
  PRIMES_KERNEL_ALLOWED_IMPORTS,
  decodePrimesInput,
  decodePrimesOutput,
  encodePrimesInput,
  encodePrimesOutput,
  instantiatePrimesKernel
} from '../workers/primes-kernel.ts'
import { seededRandom } from './seeded-random.ts'
import type { PrimesKernel } from '../workers/primes-kernel.ts'

const REPO_ROOT = new URL('..', import.meta.url).pathname
const WASM_PATH = join(REPO_ROOT, 'build', 'kernels', 'primes-sieve.wasm')
const KNOWN_ANSWERS_PATH = join(REPO_ROOT, '..', 'shared', 'reference', 'known-answers.md')
const TWO53 = 2 ** 53

/** π(10^k), k = 1..9 — known-answers.md, "Prime counting π(x)" (OEIS A006880). */
const KNOWN_PI: ReadonlyArray<[number, number]> = [
  [10, 4], [1e2, 25], [1e3, 168], [1e4, 1229], [1e5, 9592], [1e6, 78498], [1e7, 664579],
  [1e8, 5761455], [1e9, 50847534]
]
/** Primes in [10^i, 10^i + 10^8], i = 13..15 — known-answers.md, "Primes in intervals" (primesieve count_primes2). */
const KNOWN_INTERVALS: ReadonlyArray<[number, number]> = [[13, 3342093], [14, 3102679], [15, 2893937]]

/** Parse the two prime tables of known-answers.md. */
function parseKnownAnswers (text: string): { pi: Map<number, number>, intervals: Map<number, number> } {
  const section = (title: string): string => {
    const start = text.indexOf(title)
    if (start < 0) throw new Error(`known-answers.md lacks "${title}"`)
    const next = text.indexOf('\n## ', start + title.length)
    return text.slice(start, next < 0 ? undefined : next)
  }
  const pi = new Map<number, number>()
  for (const m of section('## Prime counting').matchAll(/^\|\s*10(?:\^(\d+))?\s*\|\s*([\d,]+)\s*\|\s*$/gm)) {
    pi.set(m[1] != null ? 10 ** Number(m[1]) : 10, Number(m[2].replace(/,/g, '')))
  }
  const intervals = new Map<number, number>()
  for (const m of section('## Primes in intervals').matchAll(/^\|\s*(\d+)\s*\|\s*([\d,]+)\s*\|\s*$/gm)) {
    intervals.set(Number(m[1]), Number(m[2].replace(/,/g, '')))
  }
  return { pi, intervals }
}

/**
 * Reference tables parsed from known-answers.md. A missing file is a failure, not a pass: the
 * tables then come back empty, so the first test fails and every known-answer lookup with it.
 */
function referenceTables (): { pi: Map<number, number>, intervals: Map<number, number> } {
  if (!existsSync(KNOWN_ANSWERS_PATH)) return { pi: new Map(), intervals: new Map() }
  return parseKnownAnswers(readFileSync(KNOWN_ANSWERS_PATH, 'utf8'))
}

// ---- independent oracles -------------------------------------------------------------------

function isPrimeTrial (n: number): boolean {
  if (n < 2) return false
  if (n % 2 === 0) return n === 2
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false
  return true
}

let basePrimes: Int32Array = new Int32Array(0)
/** Plain (non-wheel, byte-per-number) sieve of [lo, hi); hi - lo small, hi <= ~10^13. */
function countBySieve (lo: number, hi: number): number {
  const root = Math.floor(Math.sqrt(hi)) + 1
  if (basePrimes.length === 0 || basePrimes[basePrimes.length - 1] < root) {
    const lim = Math.max(root, 1 << 20)
    const comp = new Uint8Array(lim + 1)
    const out: number[] = []
    for (let i = 2; i <= lim; i++) {
      if (comp[i] !== 0) continue
      out.push(i)
      for (let j = i * i; j <= lim; j += i) comp[j] = 1
    }
    basePrimes = Int32Array.from(out)
  }
  const isP = new Uint8Array(hi - lo).fill(1)
  for (let n = lo; n < Math.min(hi, 2); n++) isP[n - lo] = 0
  for (const p of basePrimes) {
    if (p * p >= hi) break
    let m = Math.max(p * p, Math.ceil(lo / p) * p)
    for (; m < hi; m += p) isP[m - lo] = 0
  }
  let c = 0
  for (const v of isP) c += v
  return c
}

function modPow (b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n
  b %= m
  while (e > 0n) {
    if ((e & 1n) === 1n) r = r * b % m
    b = b * b % m
    e >>= 1n
  }
  return r
}

/** Deterministic Miller–Rabin for n < 2^64 (bases of Jim Sinclair). */
function isPrimeMR (n: bigint): boolean {
  if (n < 2n) return false
  for (const p of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n]) {
    if (n % p === 0n) return n === p
  }
  let d = n - 1n
  let s = 0
  while ((d & 1n) === 0n) { d >>= 1n; s++ }
  outer: for (const a0 of [2n, 325n, 9375n, 28178n, 450775n, 9780504n, 1795265022n]) {
    const a = a0 % n
    if (a === 0n) continue
    let x = modPow(a, d, n)
    if (x === 1n || x === n - 1n) continue
    for (let i = 1; i < s; i++) {
      x = x * x % n
      if (x === n - 1n) continue outer
    }
    return false
  }
  return true
}

/** Seeded PRNG (mulberry32). */
const rng = seededRandom

// ---- tiny hand-written wasm modules for the import whitelist ----------------------------------

function uleb (n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}
const str = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]

/** A module with one function type () -> f64 and the given imports (func / memory / global). */
function moduleImporting (imports: Array<{ module: string, name: string, kind: 'func' | 'memory' | 'global' }>): Uint8Array<ArrayBuffer> {
  const types = section(1, vec([[0x60, 0x00, 0x01, 0x7c]]))
  const imps = section(2, vec(imports.map(i => [
    ...str(i.module), ...str(i.name),
    ...(i.kind === 'func' ? [0x00, 0x00] : i.kind === 'memory' ? [0x02, 0x00, 0x01] : [0x03, 0x7f, 0x00])
  ])))
  return new Uint8Array([...HEADER, ...types, ...imps])
}

/**
 * A fake primes kernel whose step() calls env.abort with an AssemblyScript string "boom"
 * (u32 byte length at 28, UTF-16LE at 32) and line 7, column 3.
 */
function abortingKernel (): Uint8Array<ArrayBuffer> {
  const types = section(1, vec([
    [0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00], // 0: abort(i32, i32, i32, i32)
    [0x60, 0x02, 0x7c, 0x7c, 0x01, 0x7f], // 1: init(f64, f64) -> i32
    [0x60, 0x01, 0x7f, 0x01, 0x7f], // 2: step(i32) -> i32
    [0x60, 0x00, 0x01, 0x7c] // 3: () -> f64
  ]))
  const imports = section(2, vec([[...str('env'), ...str('abort'), 0x00, 0x00]]))
  const funcs = section(3, vec([[0x01], [0x02], [0x03], [0x03]]))
  const memory = section(5, vec([[0x00, 0x01]]))
  const exports = section(7, vec([
    [...str('memory'), 0x02, 0x00], [...str('init'), 0x00, 0x01], [...str('step'), 0x00, 0x02],
    [...str('count'), 0x00, 0x03], [...str('done'), 0x00, 0x04]
  ]))
  const body = (code: number[]): number[] => [...uleb(code.length + 1), 0x00, ...code]
  const f64zero = [0x44, 0, 0, 0, 0, 0, 0, 0, 0]
  const code = section(10, vec([
    body([0x41, 0x00, 0x0b]),
    body([0x41, 0x20, 0x41, 0x00, 0x41, 0x07, 0x41, 0x03, 0x10, 0x00, 0x41, 0x01, 0x0b]),
    body([...f64zero, 0x0b]),
    body([...f64zero, 0x0b])
  ]))
  const text = [...'boom'].flatMap(c => [c.charCodeAt(0), 0])
  const data = section(11, vec([[0x00, 0x41, 28, 0x0b, ...uleb(4 + text.length), text.length, 0, 0, 0, ...text]]))
  return new Uint8Array([...HEADER, ...types, ...imports, ...funcs, ...memory, ...exports, ...code, ...data])
}

// ---- tests -------------------------------------------------------------------------------------

let wasmBytes: Uint8Array<ArrayBuffer>
let kernel: PrimesKernel

beforeAll(async () => {
  if (!existsSync(WASM_PATH)) {
    execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'asc'),
      ['kernels/primes-sieve.ts', '--config', 'kernels/asconfig.json', '--target', 'release'], { cwd: REPO_ROOT, stdio: 'inherit' })
  }
  wasmBytes = new Uint8Array(readFileSync(WASM_PATH))
  kernel = await instantiatePrimesKernel(wasmBytes)
})

describe('primes-sieve kernel: known answers', () => {
  const tables = referenceTables()

  it('embedded tables match known-answers.md', () => {
    expect(existsSync(KNOWN_ANSWERS_PATH), `${KNOWN_ANSWERS_PATH} (../shared/reference) must be present`).toBe(true)
    for (const [x, pi] of KNOWN_PI) expect(tables.pi.get(x)).toBe(pi)
    for (const [i, c] of KNOWN_INTERVALS) expect(tables.intervals.get(i)).toBe(c)
  })

  it('π(10^k), k = 1..9: primes in [0, 10^k + 1)', async () => {
    for (let k = 1; k <= 9; k++) {
      const x = 10 ** k
      const expected = tables.pi.get(x)
      expect(expected, `π(10^${k}) in the table`).toBeTypeOf('number')
      expect(await kernel.countRange(0, x + 1), `π(10^${k})`).toBe(expected)
    }
  })

  it('primes in [10^i, 10^i + 10^8] for i = 13, 14, 15', async () => {
    for (const i of [13, 14, 15]) {
      const expected = tables.intervals.get(i)
      expect(expected).toBeTypeOf('number')
      expect(await kernel.countRange(10 ** i, 10 ** i + 1e8 + 1), `[10^${i}, 10^${i} + 10^8]`).toBe(expected)
    }
  })
})

describe('primes-sieve kernel: independent oracles', () => {
  it('edge ranges', () => {
    expect(kernel.countRangeSync(0, 1)).toBe(0)
    expect(kernel.countRangeSync(0, 2)).toBe(0)
    expect(kernel.countRangeSync(0, 3)).toBe(1)
    expect(kernel.countRangeSync(2, 3)).toBe(1)
    expect(kernel.countRangeSync(1, 2)).toBe(0)
    expect(kernel.countRangeSync(TWO53 - 1, TWO53)).toBe(0) // 2^53 - 1 = 6361 · 69431 · 20394401
  })

  it('every range [a, b) with 0 <= a < b <= 240 against trial division', () => {
    const prefix = [0]
    for (let n = 0; n < 240; n++) prefix.push(prefix[n] + (isPrimeTrial(n) ? 1 : 0))
    for (let a = 0; a < 240; a++) {
      for (let b = a + 1; b <= 240; b++) {
        const got = kernel.countRangeSync(a, b)
        if (got !== prefix[b] - prefix[a]) expect(got, `[${a}, ${b})`).toBe(prefix[b] - prefix[a])
      }
    }
  })

  it('ranges around multiples of 30 and primes below 10^4 against trial division', () => {
    for (let c = 30; c < 10_000; c += 30 * 7) {
      for (const [a, b] of [[c - 1, c + 1], [c, c + 31], [c + 1, c + 30], [c - 13, c + 17]]) {
        let expected = 0
        for (let n = a; n < b; n++) if (isPrimeTrial(n)) expected++
        expect(kernel.countRangeSync(a, b), `[${a}, ${b})`).toBe(expected)
      }
    }
  })

  it('200 seeded random ranges (length < 10^5, start < 10^12) against a plain JS sieve', () => {
    const rand = rng(20240611)
    for (let t = 0; t < 200; t++) {
      const lo = Math.floor(rand() * 1e12)
      const hi = lo + 1 + Math.floor(rand() * 1e5)
      expect(kernel.countRangeSync(lo, hi), `[${lo}, ${hi})`).toBe(countBySieve(lo, hi))
    }
  })

  it('ranges across segment boundaries add up', () => {
    const rand = rng(7)
    const seg = kernel.segmentNumbers
    expect(seg).toBeGreaterThan(1000)
    for (const a of [0, 1e12 + 17, 1e15 - 3]) {
      const c = a + Math.floor(3.5 * seg)
      const whole = kernel.countRangeSync(a, c)
      for (let t = 0; t < 3; t++) {
        const b = a + 1 + Math.floor(rand() * (c - a - 1))
        expect(kernel.countRangeSync(a, b) + kernel.countRangeSync(b, c), `split at ${b}`).toBe(whole)
      }
      // segment-aligned splits too
      expect(kernel.countRangeSync(a, a + seg) + kernel.countRangeSync(a + seg, c)).toBe(whole)
    }
  })

  it('[2^53 - 10^5, 2^53) against a deterministic BigInt Miller–Rabin', () => {
    const lo = TWO53 - 1e5
    let expected = 0
    for (let n = BigInt(lo); n < BigInt(TWO53); n++) if (isPrimeMR(n)) expected++
    expect(expected).toBeGreaterThan(2000)
    expect(kernel.countRangeSync(lo, TWO53)).toBe(expected)
    // a smaller unit after the large one reuses the cached base primes; then the large one again
    expect(kernel.countRangeSync(1e12, 1e12 + 1e5)).toBe(countBySieve(1e12, 1e12 + 1e5))
    expect(kernel.countRangeSync(TWO53 - 1000, TWO53)).toBe(
      Array.from({ length: 1000 }, (_, i) => BigInt(TWO53 - 1000 + i)).filter(isPrimeMR).length)
  })

  it.skipIf(!hasPrimecount())('intervals against primecount', () => {
    const rand = rng(99)
    const pi = (x: number): number => Number(execFileSync('primecount', [String(x)], { encoding: 'utf8' }).trim())
    for (let t = 0; t < 3; t++) {
      const a = Math.floor(1e10 + rand() * 1e12)
      const b = a + Math.floor(rand() * 4e7) // [a, b] inclusive
      expect(kernel.countRangeSync(a, b + 1), `[${a}, ${b}]`).toBe(pi(b) - pi(a - 1))
    }
  })
})

function hasPrimecount (): boolean {
  try {
    execFileSync('primecount', ['100'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('primes-sieve kernel: ABI and wrapper', () => {
  it('exports the ABI and imports nothing outside the whitelist', async () => {
    const module = await WebAssembly.compile(wasmBytes)
    for (const imp of WebAssembly.Module.imports(module)) expect(PRIMES_KERNEL_ALLOWED_IMPORTS).toContain(`${imp.module}.${imp.name}`)
    const names = WebAssembly.Module.exports(module).map(e => e.name)
    expect(names).toEqual(expect.arrayContaining(['init', 'step', 'count', 'done', 'memory']))
    const mem = WebAssembly.Module.exports(module).find(e => e.name === 'memory')
    expect(mem?.kind).toBe('memory')
  })

  it('init rejects bad ranges with -1', async () => {
    const { instance } = await WebAssembly.instantiate(wasmBytes, { env: { abort () { throw new Error('abort') } } })
    const ex = instance.exports as unknown as { init: (lo: number, hi: number) => number, step: (n: number) => number, count: () => number }
    for (const [lo, hi] of [[5, 5], [10, 3], [-1, 5], [0, TWO53 + 2], [0.5, 10], [0, 10.5], [Number.NaN, 10], [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY], [Number.NEGATIVE_INFINITY, 3]]) {
      expect(ex.init(lo, hi), `[${lo}, ${hi})`).toBe(-1)
    }
    expect(ex.step(1)).toBe(1) // no unit running
    expect(ex.init(0, TWO53)).toBe(0) // accepted (not run)
    expect(ex.init(0, 100)).toBe(0)
    while (ex.step(1) === 0) { /* run */ }
    expect(ex.count()).toBe(25)
  })

  it('countRange rejects bad ranges with RangeError', async () => {
    await expect(kernel.countRange(10, 10)).rejects.toBeInstanceOf(RangeError)
    await expect(kernel.countRange(-1, 10)).rejects.toBeInstanceOf(RangeError)
    await expect(kernel.countRange(0, TWO53 + 2)).rejects.toBeInstanceOf(RangeError)
    await expect(kernel.countRange(1.5, 10)).rejects.toBeInstanceOf(RangeError)
    expect(() => kernel.countRangeSync(3, 2)).toThrow(RangeError)
  })

  it('refuses modules importing anything outside the whitelist, before running them', async () => {
    for (const [imports, bad] of [
      [[{ module: 'env', name: 'seed', kind: 'func' }], 'env.seed'],
      [[{ module: 'env', name: 'abort', kind: 'func' }, { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'func' }], 'wasi_snapshot_preview1.fd_write'],
      [[{ module: 'env', name: 'memory', kind: 'memory' }], 'env.memory'],
      [[{ module: 'env', name: 'abort', kind: 'global' }], 'env.abort']
    ] as const) {
      const err = await instantiatePrimesKernel(moduleImporting([...imports])).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(KernelImportError)
      expect((err as KernelImportError).name).toBe('KernelImportError')
      expect((err as KernelImportError).importName).toBe(bad)
      expect((err as Error).message).toContain(bad)
    }
    // a module with only allowed imports passes the import check and fails on its missing exports
    await expect(instantiatePrimesKernel(moduleImporting([{ module: 'env', name: 'abort', kind: 'func' }])))
      .rejects.toBeInstanceOf(KernelRunError)
  })

  it('env.abort surfaces as KernelRunError with the decoded message', async () => {
    const fake = await instantiatePrimesKernel(abortingKernel())
    const err = await fake.countRange(0, 100).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KernelRunError)
    expect((err as Error).message).toMatch(/boom/)
    expect((err as Error).name).toBe('KernelRunError')
  })

  it('slice size does not change the count; progress is monotonic and ends at the total', async () => {
    const lo = 1e12
    const hi = lo + 6e7
    const progress: Array<[number, number]> = []
    const a = await kernel.countRange(lo, hi, { sliceSegments: 1, progressEveryMs: 0, onProgress: (d, t) => progress.push([d, t]) })
    const b = await kernel.countRange(lo, hi, { sliceSegments: 1000 })
    const c = kernel.countRangeSync(lo, hi, 2)
    expect(a).toBe(b)
    expect(a).toBe(c)
    expect(progress.length).toBeGreaterThan(2)
    expect(progress[0]).toEqual([0, hi - lo])
    expect(progress[progress.length - 1]).toEqual([hi - lo, hi - lo])
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThanOrEqual(progress[i - 1][0])
  })

  it('concurrent countRange calls are queued, not interleaved', async () => {
    const [x, y] = await Promise.all([kernel.countRange(0, 1e8 + 1), kernel.countRange(1e13, 1e13 + 1e8 + 1)])
    expect(x).toBe(5761455)
    expect(y).toBe(3342093)
  })

  it('an aborted signal stops countRange with its reason; the kernel stays usable', async () => {
    const pre = new AbortController()
    pre.abort(new Error('stop before'))
    await expect(kernel.countRange(0, 1e9, { signal: pre.signal })).rejects.toThrow('stop before')

    const ctl = new AbortController()
    let calls = 0
    const started = performance.now()
    const err = await kernel.countRange(1e12, 1e12 + 1e11, {
      signal: ctl.signal,
      progressEveryMs: 0,
      onProgress: () => { if (++calls === 3) ctl.abort(new Error('stop now')) }
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('stop now')
    expect(performance.now() - started).toBeLessThan(5000) // 10^11 numbers would take far longer

    // abort from a timer: needs countRange to yield to the event loop
    const timed = new AbortController()
    setTimeout(() => timed.abort(new Error('timer stop')), 30)
    await expect(kernel.countRange(1e12, 1e12 + 1e11, { signal: timed.signal })).rejects.toThrow('timer stop')

    expect(await kernel.countRange(0, 1e6 + 1)).toBe(78498)
  })

  it('instantiate honours an aborted signal', async () => {
    const ctl = new AbortController()
    ctl.abort(new Error('no'))
    await expect(instantiatePrimesKernel(wasmBytes, { signal: ctl.signal })).rejects.toThrow('no')
  })

  it('work-unit byte layouts round-trip', () => {
    const input = encodePrimesInput(1e12, TWO53)
    expect(input.length).toBe(16)
    const view = new DataView(input.buffer)
    expect(view.getBigUint64(0, true)).toBe(10n ** 12n)
    expect(view.getBigUint64(8, true)).toBe(2n ** 53n)
    expect(decodePrimesInput(input)).toEqual({ lo: 1e12, hi: TWO53 })
    expect(() => decodePrimesInput(new Uint8Array(15))).toThrow(RangeError)
    expect(() => decodePrimesInput(encodeRaw(5n, 5n))).toThrow(RangeError)
    expect(() => decodePrimesInput(encodeRaw(0n, 2n ** 53n + 1n))).toThrow(RangeError)
    const out = encodePrimesOutput(37607912018)
    expect(out.length).toBe(8)
    expect(decodePrimesOutput(out)).toBe(37607912018)
    expect(() => decodePrimesOutput(new Uint8Array(7))).toThrow(RangeError)
  })
})

function encodeRaw (lo: bigint, hi: bigint): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, lo, true)
  view.setBigUint64(8, hi, true)
  return out
}
