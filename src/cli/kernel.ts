/**
 * Researcher commands for kernels: `kernel init` (a skeleton with manifest, sample inputs and
 * expected outputs), `kernel build` (compile and check), `kernel test` (run locally in Node on
 * sample work units, with the manifest's deadline and limits). Kernel ABI: docs/kernel-abi.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { KERNEL_ABI_VERSION, ManifestError, checkDirManifest } from '../protocol/kernel-manifest.ts'
import { WASM_PAGE_BYTES, checkWasmKernel, checkWgslKernel } from '../protocol/kernel-module.ts'
import { sha256Bytes, toHex } from '../protocol/signing.ts'
import { loadInputs } from './inputs.ts'
import { TSX_LOADER, runWasmInThread } from '../../workers/wasm-thread.ts'
import type { WasmRun, WasmRunLimits } from '../../workers/wasm-thread.ts'
import type { KernelBackend, KernelDirManifest } from '../protocol/kernel-manifest.ts'
import type { ErrorName } from '../protocol/index.ts'

export const MANIFEST_FILE = 'kernel.json'
/** A kernel directory that cannot be read, built or run. */
export class KernelDirError extends Error {
  static override readonly name: ErrorName = 'KernelDirError'
  override readonly name: ErrorName = 'KernelDirError'
  constructor (message: string) { super(message) }
}

const WASM_TEMPLATE = `// A Spare Cycles kernel (ABI 1, docs/kernel-abi.md) in AssemblyScript.
// This skeleton sums its input bytes and returns the sum as one u64 LE.

const INPUT_CAP: i32 = 4096
const INPUT = memory.data(INPUT_CAP)
const OUTPUT = memory.data(8)

export function sc_abi (): i32 { return 1 }

/** Where the host writes \`len\` input bytes (0 refuses the input). */
export function sc_input (len: i32): i32 { return len <= INPUT_CAP ? <i32>INPUT : 0 }

/** Run on the input; return the output length or a negative error code. */
export function sc_run (len: i32): i32 {
  let sum: u64 = 0
  for (let i = 0; i < len; i++) sum += load<u8>(<usize>INPUT + i)
  store<u64>(OUTPUT, sum)
  return 8
}

export function sc_output (): i32 { return <i32>OUTPUT }
`

const WASM_TEMPLATE_ABI2 = `// A Spare Cycles kernel (ABI 2, docs/kernel-abi.md) in AssemblyScript: sliced, so the
// volunteer's governor can hold it to its CPU share and pause it between slices.
// This skeleton sums its input bytes and returns the sum as one u64 LE; one iteration = one byte.

const INPUT_CAP: i32 = 4096
const INPUT = memory.data(INPUT_CAP)
const OUTPUT = memory.data(8)

// the unit's state between slices
let length: i32 = 0
let position: i32 = 0
let sum: u64 = 0

export function sc_abi (): i32 { return 2 }

/** Where the host writes \`len\` input bytes (0 refuses the input). */
export function sc_input (len: i32): i32 { return len <= INPUT_CAP ? <i32>INPUT : 0 }

/** Start a unit on the input bytes: 0, or a negative error code. */
export function sc_init (len: i32): i32 {
  length = len
  position = 0
  sum = 0
  return 0
}

/** Do at most \`maxIterations\` iterations: 0 while work remains, 1 when done, or a negative error code. */
export function sc_step (maxIterations: i32): i32 {
  const end = maxIterations >= length - position ? length : position + maxIterations
  for (; position < end; position++) sum += load<u8>(<usize>INPUT + position)
  return position < length ? 0 : 1
}

/** Write the output; return its length or a negative error code. */
export function sc_finish (): i32 {
  store<u64>(OUTPUT, sum)
  return 8
}

export function sc_output (): i32 { return <i32>OUTPUT }
`

const WGSL_TEMPLATE = `// A Spare Cycles kernel (backend webgpu, docs/kernel-abi.md) in WGSL: the same bindings in ABI 1 and 2.
// This skeleton squares each u32 word of its input.
struct Params { inputWords: u32, outputWords: u32 }
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i < params.inputWords && i < params.outputWords) {
    output[i] = input[i] * input[i];
  }
}
`

/**
 * Make a kernel skeleton in `dir`.
 * @param abi 1 (one `sc_run` call per unit) or 2 (sliced; the default of `kernel init`); a webgpu
 *   skeleton is the same WGSL under either
 * @throws KernelDirError when the directory already holds a kernel
 */
export function initKernel (name: string, backend: KernelBackend, dir: string, abi = KERNEL_ABI_VERSION): string[] {
  if (existsSync(join(dir, MANIFEST_FILE))) throw new KernelDirError(`${dir} already holds a ${MANIFEST_FILE}`)
  mkdirSync(dir, { recursive: true })
  const wasm = backend === 'wasm'
  const manifest: KernelDirManifest = {
    abi,
    name,
    version: '0.1.0',
    backend,
    source: wasm ? 'kernel.ts' : 'kernel.wgsl',
    entry: wasm ? 'build/kernel.wasm' : 'kernel.wgsl',
    limits: { memoryBytes: 1 << 20, maxOutputBytes: wasm ? 8 : 64, deadlineMs: 10_000 },
    output: wasm ? 'u64le' : 'bytes',
    ...(wasm ? {} : { webgpu: { workgroupSize: 64, outputBytes: 64 } })
  }
  checkDirManifest(manifest)
  const files: Record<string, string> = {
    [MANIFEST_FILE]: JSON.stringify(manifest, null, 2) + '\n',
    [manifest.source]: wasm ? (abi >= 2 ? WASM_TEMPLATE_ABI2 : WASM_TEMPLATE) : WGSL_TEMPLATE,
    'sample-inputs.json': JSON.stringify({ workUnits: wasm ? [{ utf8: 'abc' }, { hex: 'ff01' }] : [{ hex: '02000000030000000400000005000000' }] }, null, 2) + '\n',
    // the test: `sparecycles kernel test . --input sample-inputs.json --expect expected-outputs.json`
    'expected-outputs.json': JSON.stringify({ outputs: wasm ? [{ u64: [294] }, { u64: [256] }] : [{ hex: '04000000090000001000000019000000' + '00'.repeat(48) }] }, null, 2) + '\n'
  }
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return Object.keys(files)
}

/** @throws KernelDirError, ManifestError */
export function readKernelDir (dir: string): KernelDirManifest {
  const path = join(dir, MANIFEST_FILE)
  if (!existsSync(path)) throw new KernelDirError(`no ${MANIFEST_FILE} in ${dir}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ManifestError(`${path} is not JSON: ${(err as Error).message}`)
  }
  return checkDirManifest(parsed)
}

/** `n` bytes as KiB or MiB (whole where it is whole). */
function sizeText (n: number): string {
  return n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(2)} MiB` : `${+(n / 1024).toFixed(2)} KiB`
}

/**
 * Compile a WASM kernel with AssemblyScript (the ABI's settings: stub runtime, the memory maximum
 * from `limits.memoryBytes`, the initial memory what the static data needs).
 * @throws KernelDirError with asc's errors, or one sentence when the static data needs more memory
 *   than `limits.memoryBytes` allows
 */
async function compileAssemblyScript (source: string, entry: string, memoryBytes: number): Promise<void> {
  const asc = await import('assemblyscript/asc')
  mkdirSync(dirname(entry), { recursive: true })
  const pages = Math.floor(memoryBytes / WASM_PAGE_BYTES)
  const stderr: string[] = []
  const { error } = await asc.main([
    source, '-o', entry, '--runtime', 'stub', '--maximumMemory', String(pages),
    '--noAssert', '--optimizeLevel', '3', '--shrinkLevel', '0'
  ], { stderr: { write: (s: string | Uint8Array) => { stderr.push(String(s)); return true } } as never, stdout: { write: () => true } as never })
  if (error == null) return
  const text = stderr.join('').trim()
  // AS105/AS106: the static data (memory.data, constant arrays and strings) does not fit the maximum
  const needed = /AS10[56]: Module requires at least '(\d+)' pages/.exec(text)
  if (needed != null) {
    const bytes = Number(needed[1]) * WASM_PAGE_BYTES
    throw new KernelDirError(`the kernel's static data needs ${needed[1]} pages (${sizeText(bytes)}) of memory but kernel.json limits.memoryBytes allows ${sizeText(memoryBytes)} (${pages} pages): raise limits.memoryBytes to at least ${bytes} or shrink the static buffers`)
  }
  throw new KernelDirError(`asc failed: ${text || error.message}`)
}

/**
 * Compile the kernel (wasm: AssemblyScript with the ABI's settings; webgpu: the WGSL is the entry)
 * and run the load-time checks on the result (wasm: checkWasmKernel; webgpu: checkWgslKernel).
 * Returns the kernel id (hex sha-256 of the entry's bytes), the entry's path and its size in bytes.
 * @throws KernelDirError when compilation fails; ManifestError; the kernel-module errors when a
 *   check fails (KernelWgslError for WGSL)
 */
export async function buildKernel (dir: string): Promise<{ kernelId: string, entry: string, bytes: number }> {
  const manifest = readKernelDir(dir)
  const source = resolve(dir, manifest.source)
  const entry = resolve(dir, manifest.entry)
  if (!existsSync(source)) throw new KernelDirError(`source ${manifest.source} not found in ${dir}`)
  if (manifest.backend === 'wasm') await compileAssemblyScript(source, entry, manifest.limits.memoryBytes)
  if (!existsSync(entry)) throw new KernelDirError(`entry ${manifest.entry} not found after the build`)
  const bytes = readFileSync(entry)
  const kernelId = toHex(sha256Bytes(bytes))
  if (manifest.backend === 'wasm') await checkWasmKernel(bytes, { kernelId, abi: manifest.abi, memoryBytes: manifest.limits.memoryBytes })
  else await checkWgslKernel(bytes.toString('utf8'), manifest.webgpu!)
  return { kernelId, entry, bytes: bytes.length }
}

export interface KernelTestRun {
  index: number
  ok: boolean
  output?: Uint8Array
  error?: string
  ms: number
}

type ThreadLimits = WasmRunLimits

/** `runWasmInThread` with the per-unit callback `kernel test` uses. */
async function runInThread (bytes: Uint8Array, limits: ThreadLimits, inputs: Uint8Array[], fresh: boolean, onRun?: (run: WasmRun) => void): Promise<WasmRun[]> {
  return await runWasmInThread(bytes, limits, inputs, { fresh, onRun })
}

/**
 * Run a WGSL kernel on `inputs` in one child process (kernel-gpu-child.ts), in that order. A result
 * line that arrived counts whatever the child's exit status.
 * @throws KernelDirError when the child gives no result line, or reports that the shader failed to load
 */
function runWgslInChild (wgslPath: string, manifest: KernelDirManifest, inputs: Uint8Array[]): KernelTestRun[] {
  const input = JSON.stringify({ wgslPath, ...manifest.webgpu, deadlineMs: manifest.limits.deadlineMs, inputs: inputs.map(i => Buffer.from(i).toString('hex')) })
  const child = spawnSync(process.execPath, ['--import', TSX_LOADER, fileURLToPath(new URL('./kernel-gpu-child.ts', import.meta.url))], {
    input,
    encoding: 'utf8',
    timeout: manifest.limits.deadlineMs * inputs.length + 60_000
  })
  let parsed: { runs?: Array<{ index: number, ok: boolean, output?: string, error?: string, ms: number }>, error?: string } | undefined
  try {
    parsed = JSON.parse(child.stdout.trim().split('\n').pop() ?? '')
  } catch {
    throw new KernelDirError(`the WebGPU runner gave no result (exit ${child.status ?? child.signal}: ${child.stderr.split('\n').filter(l => !l.includes('XDG_RUNTIME_DIR')).join(' ').slice(0, 300)})`)
  }
  if (parsed?.error != null) throw new KernelDirError(`WebGPU: ${parsed.error}`)
  return (parsed?.runs ?? []).map(r => ({ ...r, output: r.output == null ? undefined : new Uint8Array(Buffer.from(r.output, 'hex')) }))
}

/** What `kernel test` found: the runs of its first pass, and the units whose outputs differed in another. */
export interface KernelTestResult {
  manifest: KernelDirManifest
  kernelId: string
  /** The first pass: each unit alone, in order. */
  runs: KernelTestRun[]
  /** One sentence per unit whose output (or success) differed in a later pass, naming the unit. */
  mismatches: string[]
}

const outputText = (run: WasmRun): string => run.ok && run.output != null ? Buffer.from(run.output).toString('hex').slice(0, 64) : `failed (${run.error ?? 'no output'})`

/**
 * Compare `runs` with another pass over the same units; `how` says what the other pass did
 * differently. Units the other pass did not reach (after one that ended its thread) are skipped.
 */
function mismatchesOf (runs: KernelTestRun[], other: Map<number, WasmRun>, how: (index: number) => string): string[] {
  return runs.flatMap(run => {
    const again = other.get(run.index)
    if (again == null) return []
    const same = run.ok === again.ok && (!run.ok || Buffer.compare(Buffer.from(run.output!), Buffer.from(again.output!)) === 0)
    return same ? [] : [`unit ${run.index}: its output differs when ${how(run.index)} (${outputText(run)}, then ${outputText(again)}): a kernel must give the same output for the same input, keeping no state between units`]
  })
}

/**
 * Run the built kernel locally on each input, and again to catch nondeterminism:
 * - wasm: each unit alone in a fresh instance, in worker threads terminated at a unit's deadline
 *   (the reported runs); then again alone, in reverse order; then all the units in order in one
 *   reused instance (a kernel keeping state in globals or memory differs there);
 * - webgpu: the `webgpu` package (Dawn) in a child process, runWgslInChild: the units in order,
 *   then in reverse order, on one pipeline.
 * Rejections of the load-time checks are thrown; run failures are reported per unit; a unit whose
 * output differs between passes is in `mismatches`.
 * @throws KernelDirError, ManifestError, InputsError, the load-time checks' errors
 */
export async function testKernel (dir: string, inputsSpec: string): Promise<KernelTestResult> {
  const manifest = readKernelDir(dir)
  const entry = resolve(dir, manifest.entry)
  if (!existsSync(entry)) throw new KernelDirError(`entry ${manifest.entry} not found: run \`sparecycles kernel build ${dir}\` first`)
  const bytes = new Uint8Array(readFileSync(entry))
  const kernelId = toHex(sha256Bytes(bytes))
  const inputs = loadInputs(inputsSpec)
  const units = inputs.map((input, index) => ({ index, input }))
  const reversed = [...units].reverse()
  if (manifest.backend === 'wasm') {
    const runs = await runWasmUnits(bytes, manifest, units)
    const again = await runWasmUnits(bytes, manifest, reversed)
    const shared = await runInThread(bytes, wasmThreadLimits(bytes, manifest), inputs, false)
    const mismatches = [
      ...mismatchesOf(runs, new Map(again.map(r => [r.index, r])), () => 'run again alone in a fresh instance, in reverse order'),
      ...mismatchesOf(runs, new Map(shared.map((r, i) => [i, r])), i => i === 0 ? 'run first in a reused instance' : `run after unit${i > 1 ? `s 0-${i - 1}` : ' 0'} in the same instance`)
    ]
    return { manifest, kernelId, runs, mismatches }
  }
  const both = runWgslInChild(entry, manifest, [...inputs, ...reversed.map(u => u.input)])
  const runs = both.slice(0, inputs.length)
  const again = new Map(both.slice(inputs.length).map((r, i) => [reversed[i].index, r]))
  return { manifest, kernelId, runs, mismatches: mismatchesOf(runs, again, () => 'run again, in reverse order') }
}

function wasmThreadLimits (bytes: Uint8Array, manifest: KernelDirManifest): ThreadLimits {
  return { kernelId: toHex(sha256Bytes(bytes)), abi: manifest.abi, memoryBytes: manifest.limits.memoryBytes, maxOutputBytes: manifest.limits.maxOutputBytes, deadlineMs: manifest.limits.deadlineMs }
}

/**
 * Run a built WASM kernel on some of a job's inputs, each alone in a fresh instance, in a worker
 * thread terminated at a unit's manifest deadline (a new thread takes the units after it; what
 * `kernel test` and `job post --ringers` use).
 * @param onRun called after each unit (progress)
 * @throws the load-time checks' errors (KernelHashMismatchError, KernelImportError, KernelMemoryError, KernelAbiError)
 */
export async function runWasmUnits (bytes: Uint8Array, manifest: KernelDirManifest, units: ReadonlyArray<{ index: number, input: Uint8Array }>, onRun?: (run: KernelTestRun) => void): Promise<KernelTestRun[]> {
  const limits = wasmThreadLimits(bytes, manifest)
  await checkWasmKernel(bytes, limits)
  const runs: KernelTestRun[] = []
  // one thread for all the units, and a new one for those after a unit that ended its thread
  while (runs.length < units.length) {
    await runInThread(bytes, limits, units.slice(runs.length).map(u => u.input), true, result => {
      const run = { index: units[runs.length].index, ...result }
      runs.push(run)
      onRun?.(run)
    })
  }
  return runs
}

/** Compare runs with an expected-outputs file (`{ "outputs": [ <same entries as inputs> ] }`). */
export function compareOutputs (runs: KernelTestRun[], expectFile: string): string[] {
  const expected = loadInputs(expectFile, 'outputs')
  const failures: string[] = []
  if (expected.length !== runs.length) failures.push(`expected ${expected.length} outputs, got ${runs.length}`)
  runs.forEach((run, i) => {
    const want = expected[i]
    if (want == null) return
    if (!run.ok || run.output == null) { failures.push(`unit ${i}: ${run.error ?? 'no output'}`); return }
    if (Buffer.compare(Buffer.from(run.output), Buffer.from(want)) !== 0) failures.push(`unit ${i}: output ${Buffer.from(run.output).toString('hex')} != expected ${Buffer.from(want).toString('hex')}`)
  })
  return failures
}

