/**
 * The hub's primes spot check beside the unit it checks: for units of `--length` numbers starting
 * at each `--lo`, the time to compute the unit's checkpointed output with the WASM kernel in Node
 * (what a volunteer does), and the time of one spot check re-sieving `--blocks` random blocks with
 * the same kernel (src/hub/spot-check.ts), medians of `--runs`; prints a table and a JSON line.
 *
 *   node --import tsx bench/spot-check.ts [--lo 0,9.9e9,1e12,1e15] [--length 1e8] [--blocks 2] [--runs 5]
 *
 * Needs build/kernels/primes-sieve.wasm (`npm run build:kernels`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { encodePrimesInput, primesBlocks } from '../src/protocol/primes.ts'
import { primesSpotCheck } from '../src/hub/spot-check.ts'
import { instantiatePrimesKernelSync } from '../workers/primes-kernel.ts'
import type { KernelContext } from '../src/hub/catalogue.ts'
import type { WorkUnitRow } from '../src/hub/repository.ts'

const ROOT = new URL('..', import.meta.url).pathname
const opts = new Command()
  .option('--lo <list>', 'unit starts, comma-separated', '0,9.9e9,1e12,1e15')
  .option('--length <n>', 'numbers per unit', '1e8')
  .option('--blocks <k>', 'blocks re-sieved per check', '2')
  .option('--runs <n>', 'runs per figure (median)', '5')
  .parse().opts<{ lo: string, length: string, blocks: string, runs: string }>()

const kernel = instantiatePrimesKernelSync(readFileSync(join(ROOT, 'build', 'kernels', 'primes-sieve.wasm')))
const length = Number(opts.length)
const k = Number(opts.blocks)
const runs = Number(opts.runs)
const check = primesSpotCheck({ kernel: () => kernel, blocks: k })
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows: Array<{ lo: number, blocks: number, unitMs: number, checkMs: number, fraction: number }> = []

console.log(`| lo | blocks | unit (ms) | check of ${k} blocks (ms) | check / unit |`)
console.log('|---|---|---|---|---|')
for (const lo of opts.lo.split(',').map(Number)) {
  const hi = lo + length
  const wu = { input: encodePrimesInput(lo, hi) } as unknown as WorkUnitRow
  let output = await kernel.primesOutput(lo, hi) // warm-up
  const unitTimes: number[] = []
  const checkTimes: number[] = []
  for (let r = 0; r < runs; r++) {
    let t = performance.now()
    output = await kernel.primesOutput(lo, hi)
    unitTimes.push(performance.now() - t)
    t = performance.now()
    const v = check({} as KernelContext, wu, output, Math.random)
    checkTimes.push(performance.now() - t)
    if (!v.ok) throw new Error(`honest output failed its check: ${v.reason}`)
  }
  const row = { lo, blocks: primesBlocks(lo, hi)?.blocks ?? 1, unitMs: median(unitTimes), checkMs: median(checkTimes), fraction: 0 }
  row.fraction = row.checkMs / row.unitMs
  rows.push(row)
  console.log(`| ${lo} | ${row.blocks} | ${row.unitMs.toFixed(1)} | ${row.checkMs.toFixed(2)} | ${(100 * row.fraction).toFixed(1)} % |`)
}
console.log(JSON.stringify({ bench: 'spot-check', length, blocks: k, rows }))
