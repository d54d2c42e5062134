/**
 * A researcher's day with their own kernel (issue 13), through the CLI: each mistake is refused
 * with one line that names it — a misspelt kernel.json field (with the right name), static data
 * larger than the manifest's memory, WGSL that does not parse or does not match its manifest,
 * a malformed input generator — a stateful kernel is refused by `kernel test` naming the unit,
 * and `key init` twice keeps the key.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkDirManifest } from '../src/protocol/kernel-manifest.ts'
import { loadInputs } from '../src/cli/inputs.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'

const CLI = join(REPO_ROOT, 'src/cli/main.ts')
function cli (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
/** The command fails with exactly one line on stderr, which is returned. */
function refused (args: string[]): string {
  const r = cli(args)
  expect(r.status, args.join(' ')).not.toBe(0)
  const lines = r.stderr.trim().split('\n')
  expect(lines, args.join(' ')).toHaveLength(1)
  return lines[0]
}
function skeleton (backend: 'wasm' | 'webgpu'): string {
  const dir = join(tempDir(), `k-${backend}`)
  expect(cli(['kernel', 'init', 'day', '--backend', backend, '--dir', dir]).status).toBe(0)
  return dir
}
function edit (file: string, change: (text: string) => string): void {
  writeFileSync(file, change(readFileSync(file, 'utf8')))
}

describe('kernel.json schema', () => {
  const base = { abi: 2, name: 'k', version: '0.1.0', backend: 'wasm', source: 'kernel.ts', entry: 'build/kernel.wasm', limits: { memoryBytes: 1 << 20, maxOutputBytes: 8, deadlineMs: 10_000 }, output: 'u64le' }
  it('names an unknown or misspelt field with the closest known one', () => {
    expect(() => checkDirManifest({ ...base, limits: { memoryBytes: 1 << 20, maxOutputByte: 8, deadlineMs: 10_000 } }))
      .toThrow('unknown field limits.maxOutputByte — did you mean maxOutputBytes?')
    expect(() => checkDirManifest({ ...base, ouput: 'u64le' })).toThrow('unknown field ouput — did you mean output?')
    expect(() => checkDirManifest({ ...base, frobnicate: 1 })).toThrow(/^unknown field frobnicate$/)
  })
  it('names wrong types and missing fields, and keeps the range checks', () => {
    expect(() => checkDirManifest({ ...base, limits: { ...base.limits, memoryBytes: '1MiB' } })).toThrow('limits.memoryBytes must be a number, got string')
    expect(() => checkDirManifest({ ...base, limits: undefined })).toThrow('limits is missing')
    expect(() => checkDirManifest({ ...base, limits: { ...base.limits, memoryBytes: 100 } })).toThrow(/limits.memoryBytes must be from 65536/)
    expect(() => checkDirManifest({ ...base, backend: 'webgpu' })).toThrow(/webgpu.workgroupSize must be from 1 to 256/)
    expect(() => checkDirManifest([])).toThrow('kernel.json must hold an object, got an array')
    expect(checkDirManifest(base)).toEqual(base)
  })
  it('kernel build refuses a misspelt field in one line', () => {
    const dir = skeleton('wasm')
    edit(join(dir, 'kernel.json'), t => t.replace('"maxOutputBytes"', '"maxOutputByte"'))
    expect(refused(['kernel', 'build', dir])).toBe('sparecycles: unknown field limits.maxOutputByte — did you mean maxOutputBytes?')
  })
})

describe('kernel build', () => {
  it('builds ~900 KiB of static buffers within the manifest\'s memory, and says what to raise when they do not fit', () => {
    const dir = skeleton('wasm')
    edit(join(dir, 'kernel.ts'), t => t.replace('const INPUT_CAP: i32 = 4096', 'const INPUT_CAP: i32 = 900 * 1024'))
    edit(join(dir, 'kernel.json'), t => t.replace('"memoryBytes": 1048576', '"memoryBytes": 2097152'))
    const built = cli(['kernel', 'build', dir])
    expect(built.status, built.stderr).toBe(0)
    const test = cli(['kernel', 'test', dir, '--input', join(dir, 'sample-inputs.json'), '--expect', join(dir, 'expected-outputs.json')])
    expect(test.status, test.stderr).toBe(0)
    edit(join(dir, 'kernel.json'), t => t.replace('"memoryBytes": 2097152', '"memoryBytes": 524288'))
    expect(refused(['kernel', 'build', dir])).toBe("sparecycles: the kernel's static data needs 15 pages (960 KiB) of memory but kernel.json limits.memoryBytes allows 512 KiB (8 pages): raise limits.memoryBytes to at least 983040 or shrink the static buffers")
  })

  it('refuses WGSL that does not parse, with its line, or whose workgroup size or bindings break the manifest', () => {
    const dir = skeleton('webgpu')
    const wgsl = join(dir, 'kernel.wgsl')
    const original = readFileSync(wgsl, 'utf8')
    const cases: Array<[(t: string) => string, string | RegExp]> = [
      [t => t.replace('let i = id.x;', 'let i = id.x'), /^sparecycles: WGSL syntax error on line \d+: Expected ';'/],
      [t => t.replace('@workgroup_size(64)', '@workgroup_size(32)'), 'sparecycles: WGSL @workgroup_size(32, 1, 1) of main does not match kernel.json webgpu.workgroupSize 64: write @workgroup_size(64) (the host dispatches in x only)'],
      [t => t.replace('fn main', 'fn run'), 'sparecycles: WGSL has no @compute entry point named main'],
      [t => t.replace('var<uniform> params: Params', 'var<storage, read> params: Params'), /@binding\(2\) \(params\) must be the ABI's params: var<uniform> params: Params/],
      [t => t.replace('@group(0) @binding(2)', '@group(1) @binding(2)'), /outside the ABI's @group\(0\) bindings/]
    ]
    for (const [change, message] of cases) {
      writeFileSync(wgsl, change(original))
      expect(refused(['kernel', 'build', dir])).toMatch(message)
    }
    writeFileSync(wgsl, original)
    expect(cli(['kernel', 'build', dir]).status).toBe(0)
  })
})

describe('inputs', () => {
  it('reads generators with the demo\'s numbers and names the part that is wrong', () => {
    expect(loadInputs('range:1:1e7:5e5')).toHaveLength(20)
    expect(loadInputs('range:0:10^7:10^6')).toHaveLength(10)
    expect(() => loadInputs('range:1:10')).toThrow("range:FROM:TO:STEP: STEP is missing in 'range:1:10'")
    expect(() => loadInputs('rang:1:10:2')).toThrow(/^unknown generator 'rang' — did you mean range\?/)
    expect(() => loadInputs('range:1:ten:2')).toThrow(/range:FROM:TO:STEP: TO: not a non-negative number: 'ten'/)
    expect(() => loadInputs('range:9:1:1')).toThrow('range:FROM:TO:STEP: FROM (9) must be less than TO (1)')
  })
  it('the CLI refuses a misspelt generator in one line', () => {
    const dir = skeleton('wasm')
    expect(cli(['kernel', 'build', dir]).status).toBe(0)
    expect(refused(['kernel', 'test', dir, '--input', 'rang:1:10:2'])).toMatch(/unknown generator 'rang' — did you mean range\?/)
    expect(refused(['kernel', 'test', dir, '--input', 'range:1:10'])).toMatch(/STEP is missing/)
  })
})

describe('kernel test', () => {
  it('refuses a kernel that keeps state between units, naming the unit', () => {
    const dir = skeleton('wasm')
    // ABI 2 skeleton with a call counter that sc_init does not reset
    edit(join(dir, 'kernel.ts'), t => t.replace('let sum: u64 = 0\n', 'let sum: u64 = 0\nlet calls: u64 = 0\n').replace('  sum = 0\n  return 0', '  sum = calls\n  calls++\n  return 0'))
    const built = cli(['kernel', 'build', dir])
    expect(built.status, built.stderr).toBe(0)
    // each unit alone (in a fresh instance, as volunteers run it) gives the expected output...
    const line = refused(['kernel', 'test', dir, '--input', join(dir, 'sample-inputs.json'), '--expect', join(dir, 'expected-outputs.json')])
    // ...but not after another unit in the same instance
    expect(line).toMatch(/^sparecycles: 1 unit\(s\) not deterministic: unit 1: its output differs when run after unit 0 in the same instance/)
  })

  it('passes the stateless skeleton, saying what it ran', () => {
    const dir = skeleton('wasm')
    expect(cli(['kernel', 'build', dir]).status).toBe(0)
    const test = cli(['kernel', 'test', dir, '--input', join(dir, 'sample-inputs.json'), '--expect', join(dir, 'expected-outputs.json')])
    expect(test.status, test.stderr).toBe(0)
    expect(test.stdout).toMatch(/all 2 outputs match .*; the same again in reverse order and in one reused instance/)
  })
})

describe('key init', () => {
  it('run twice, keeps the key and prints the same peer id', () => {
    const key = join(tempDir(), 'researcher.key')
    const first = cli(['key', 'init', '--key', key])
    const second = cli(['key', 'init', '--key', key])
    expect(first.status).toBe(0)
    expect(second.status).toBe(0)
    const peerId = (out: string): string | undefined => /peer id (\S+)/.exec(out)?.[1]
    expect(peerId(first.stdout)).toMatch(/^12D3KooW/)
    expect(peerId(second.stdout)).toBe(peerId(first.stdout))
    expect(second.stdout).toMatch(/exists already; kept it/)
  })
})
