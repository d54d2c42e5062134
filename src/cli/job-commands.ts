/**
 * `sparecycles job post|status|results`: post a signed kernel and its inputs to a hub, follow the
 * job, collect its validated outputs. Kernel ABI: docs/kernel-abi.md.
 */
import { randomInt } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import cliProgress from 'cli-progress'
import { MAX_RINGERS, SignedManifest, buildManifest, checkWasmKernel, checkWgslKernel, packInputs, sha256Bytes, signManifest } from '../protocol/index.ts'
import { InputsError, loadInputs } from './inputs.ts'
import { KernelDirError, readKernelDir, runWasmUnits } from './kernel.ts'
import type { KernelDirManifest } from '../protocol/kernel-manifest.ts'
import type { ErrorName } from '../protocol/index.ts'
import { connectToHub } from './researcher-node.ts'
import { loadResearcherKey } from './researcher-key.ts'
import type { JobInfo } from '../protocol/index.ts'

export interface PostOptions {
  hub: string
  kernel: string
  inputs: string
  quorum: number
  credit: number
  key: string
  /** `replicate` (quorum agreeing results) or `adaptive` (trust.ts); '' lets the hub decide. */
  policy?: string
  /** Ringers to compute here and give the hub: a count, or `auto` (default: {@link autoRingers}). */
  ringers?: number | 'auto'
  /** Progress of the ringer runs (one line per unit). */
  onRinger?: (line: string) => void
}

/** A ringer could not be computed on this machine (its unit failed, or a webgpu kernel). */
export class RingerError extends Error {
  static override readonly name: ErrorName = 'RingerError'
  override readonly name: ErrorName = 'RingerError'
  constructor (message: string) { super(message) }
}

/**
 * Ringers `auto` posts: about √n of n units, at least 1 and at most 32 (wasm kernels; webgpu: 0,
 * since their outputs differ between devices). A volunteer faking a fraction f of its units meets
 * a ringer among them with probability about 1 − (1 − r/n)^(f·k) for k units; see README.
 */
export function autoRingers (units: number, backend: string): number {
  if (backend !== 'wasm' || units === 0) return 0
  return Math.min(units, 32, MAX_RINGERS, Math.max(1, Math.ceil(Math.sqrt(units))))
}

/**
 * Choose `count` of the inputs uniformly at random (node:crypto) and compute their outputs here,
 * with the same checks and limits a volunteer's worker applies: the ringers' known answers.
 * @throws RingerError when a unit fails here, for a webgpu kernel, or for more ringers than inputs or MAX_RINGERS
 */
export async function computeRingers (bytes: Uint8Array, manifest: KernelDirManifest, inputs: Uint8Array[], count: number, onRun?: (line: string) => void): Promise<Array<{ index: number, outputSha256: Uint8Array<ArrayBuffer> }>> {
  if (count === 0) return []
  if (manifest.backend !== 'wasm') throw new RingerError('--ringers needs a wasm kernel (webgpu outputs differ between devices); post with --ringers 0')
  if (count > Math.min(inputs.length, MAX_RINGERS)) throw new RingerError(`--ringers ${count}: at most ${Math.min(inputs.length, MAX_RINGERS)} for ${inputs.length} inputs`)
  const chosen = new Set<number>()
  while (chosen.size < count) chosen.add(randomInt(inputs.length))
  const units = [...chosen].sort((a, b) => a - b).map(index => ({ index, input: inputs[index] }))
  let done = 0
  const runs = await runWasmUnits(bytes, manifest, units, run => onRun?.(`ringer ${++done}/${count}: unit ${run.index} ${run.ok ? `ran in ${Math.round(run.ms)} ms` : `failed: ${run.error ?? ''}`}`))
  const failed = runs.find(r => !r.ok || r.output == null)
  if (failed != null) throw new RingerError(`ringer unit ${failed.index} failed on this machine (${failed.error ?? 'no output'}): fix the kernel (sparecycles kernel test) or post with --ringers 0`)
  return runs.map(r => ({ index: r.index, outputSha256: sha256Bytes(r.output as Uint8Array) as Uint8Array<ArrayBuffer> }))
}

/**
 * Check everything locally, compute the ringers' answers here (computeRingers), then upload the
 * kernel and the packed inputs as chunked blobs (blob-put/1.0.0) and post the signed manifest
 * naming them with the ringers (job/2.0.0). Nothing is sent unless the kernel, manifest, inputs
 * and ringers pass.
 * @throws KernelDirError, ManifestError, InputsError, RingerError, ResearcherKeyError, HubUnreachableError, RemoteError
 */
export async function postJob (opts: PostOptions): Promise<JobInfo> {
  const dir = readKernelDir(opts.kernel)
  const key = loadResearcherKey(opts.key)
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(resolve(opts.kernel, dir.entry)))
  } catch {
    throw new KernelDirError(`--kernel: ${dir.entry} not found in ${opts.kernel}: run \`sparecycles kernel build ${opts.kernel}\``)
  }
  let inputs: Uint8Array
  let units: Uint8Array[]
  try {
    units = loadInputs(opts.inputs)
    inputs = packInputs(units)
  } catch (err) {
    if (err instanceof RangeError) throw new InputsError(`--inputs ${opts.inputs}: ${err.message}`)
    throw err
  }
  const manifest = buildManifest(dir, bytes, key)
  if (manifest.backend === 'wasm') await checkWasmKernel(bytes, manifest)
  else await checkWgslKernel(new TextDecoder().decode(bytes), manifest)
  const ringers = await computeRingers(bytes, dir, units, opts.ringers == null || opts.ringers === 'auto' ? autoRingers(units.length, dir.backend) : opts.ringers, opts.onRinger)
  const signed = await signManifest(manifest, key)
  const session = await connectToHub(opts.hub, key)
  try {
    const signal = AbortSignal.timeout(120_000)
    const kernelCid = await session.upload(bytes, signal)
    const inputsCid = await session.upload(inputs, signal)
    return await session.post({
      signedManifest: SignedManifest.encode(signed), kernelCid: kernelCid as Uint8Array<ArrayBuffer>, inputsCid: inputsCid as Uint8Array<ArrayBuffer>, quorum: opts.quorum, creditPerUnit: opts.credit, policy: opts.policy ?? '', ringers
    }, signal)
  } finally {
    await session.close()
  }
}

/**
 * One line of a job's status (and, when volunteers reported client errors, one more per error
 * kind): progress, who works on it now, the recent rate's ETA or that nothing moves, a hold and
 * its reason, the hub's own runs of failing units.
 */
export function formatStatus (job: JobInfo): string {
  const state = job.hold !== '' ? `${job.state}, ${job.hold}: ${job.holdReason}` : job.state
  const pace = job.state !== 'running' || job.hold !== ''
    ? ''
    : job.etaMs > 0 && !(job.workers > 0 && job.pausedWorkers === job.workers) ? `; ${job.validatedRecently} validated in the last 5 min, ETA ${Math.ceil(job.etaMs / 1000)} s` : job.etaMs > 0 ? '; every volunteer on it is paused (no ETA)' : '; nothing validated in the last 5 min (no ETA)'
  const probes = job.probes > 0 ? `; the hub ran ${job.probes} failing units itself, ${job.probeFailures} failed there too` : ''
  const lines = [`${job.jobId} (${job.kernelName}): ${state}; ${job.validated}/${job.workUnits} validated, ${job.inProgress} in progress, ${job.unsent} unsent, ${job.failed} failed, ${job.invalidResults} invalid results, ${job.clientErrorResults} client errors; ${job.volunteers} volunteers with valid results, ${job.workers} working now${pausedText(job)}; policy ${job.policy || 'replicate'}, ${job.replicasIssued} replicas issued${ringerText(job)}${probes}${pace}`]
  for (const e of job.clientErrors) lines.push(`  client errors: ${e.results} × ${e.kind || 'unnamed'} on ${e.deviceClass || 'unknown device'} from ${e.peers} volunteer${e.peers === 1 ? '' : 's'}, e.g. ${JSON.stringify(e.sample)}`)
  return lines.join('\n')
}

/**
 * Cancel, pause or resume one of your jobs.
 * @throws ResearcherKeyError, HubUnreachableError, RemoteError (UnknownJobError, BadJobError)
 */
export async function controlJob (opts: { hub: string, key: string, jobId: string, action: 'cancel' | 'pause' | 'resume' }): Promise<JobInfo> {
  const session = await connectToHub(opts.hub, loadResearcherKey(opts.key))
  try {
    return await session.request({ control: { jobId: opts.jobId, action: opts.action } })
  } finally {
    await session.close()
  }
}

function pausedText (job: JobInfo): string {
  if (job.pausedWorkers === 0) return ''
  return ` (${job.pausedWorkers} of them paused: ${job.pauseReasons.map(p => `${p.reason} ×${p.volunteers}`).join(', ')})`
}

function ringerText (job: JobInfo): string {
  if (job.ringers === 0) return '; no ringers'
  return `; ${job.ringers} ringers, ${job.ringerChecks} ringer checks, ${job.ringerFailures} failed${job.ringerFailures > 0 ? ' (cheaters caught: their credit reversed, their units recomputed)' : ''}`
}

/** Print the status; with `watch`, show a live progress bar on stderr until the job ends. */
/**
 * Revive one of your failed jobs (its failed work units open again).
 * @throws ResearcherKeyError, HubUnreachableError, RemoteError (UnknownJobError for a job that is not yours)
 */
export async function reviveJob (opts: { hub: string, key: string, jobId: string }): Promise<JobInfo> {
  const session = await connectToHub(opts.hub, loadResearcherKey(opts.key))
  try {
    return await session.request({ revive: { jobId: opts.jobId } })
  } finally {
    await session.close()
  }
}

export async function jobStatus (opts: { hub: string, key: string, jobId: string, watch: boolean, intervalMs?: number }): Promise<JobInfo> {
  const session = await connectToHub(opts.hub, loadResearcherKey(opts.key))
  try {
    let job = await session.request({ query: { jobId: opts.jobId, outputsFrom: 0, outputsMax: 0 } })
    if (!opts.watch || job.state !== 'running') return job
    const format = '{bar} {value}/{total} validated | {inProgress} in progress | {unsent} unsent | {failed} failed | {volunteers} volunteers | ETA {etaS}s'
    const payload = (j: JobInfo): Record<string, number> => ({ inProgress: j.inProgress, unsent: j.unsent, failed: j.failed, volunteers: j.volunteers, etaS: Math.ceil(j.etaMs / 1000) })
    // without a terminal (CI, pipes) a plain line, printed only when a value changed
    const tty = process.stderr.isTTY
    const bar = tty ? new cliProgress.SingleBar({ format, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined
    let lastLine = ''
    const show = (j: JobInfo): void => {
      if (bar != null) { bar.update(j.validated, payload(j)); return }
      const p = payload(j)
      const line = `${j.validated}/${j.workUnits} validated | ${p.inProgress} in progress | ${p.unsent} unsent | ${p.failed} failed | ${p.volunteers} volunteers`
      if (line !== lastLine) process.stderr.write(`${line}\n`)
      lastLine = line
    }
    bar?.start(job.workUnits, job.validated, payload(job))
    show(job)
    while (job.state === 'running') {
      await new Promise(resolveWait => setTimeout(resolveWait, opts.intervalMs ?? 1000))
      job = await session.request({ query: { jobId: opts.jobId, outputsFrom: 0, outputsMax: 0 } })
      show(job)
    }
    bar?.stop()
    return job
  } finally {
    await session.close()
  }
}

function outputEntry (index: number, bytes: Uint8Array, format: string): Record<string, unknown> {
  if (format === 'u64le' && bytes.length % 8 === 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const u64: Array<number | string> = []
    for (let i = 0; i < bytes.length; i += 8) {
      const v = view.getBigUint64(i, true)
      u64.push(v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString())
    }
    return { index, u64 }
  }
  return { index, hex: Buffer.from(bytes).toString('hex') }
}

/**
 * Fetch every canonical output page by page and write `{ jobId, kernelName, kernelId, state,
 * workUnits, format, outputs: [{ index, u64 | hex }] }` to `out`.
 */
export async function jobResults (opts: { hub: string, key: string, jobId: string, out: string }): Promise<{ job: JobInfo, written: number }> {
  const session = await connectToHub(opts.hub, loadResearcherKey(opts.key))
  try {
    const outputs: Array<Record<string, unknown>> = []
    let job = await session.request({ query: { jobId: opts.jobId, outputsFrom: 0, outputsMax: 1000 } })
    let from = 0
    for (;;) {
      for (const o of job.outputs) outputs.push(outputEntry(o.index, o.output, job.output))
      from += 1000
      if (from >= job.workUnits) break
      job = await session.request({ query: { jobId: opts.jobId, outputsFrom: from, outputsMax: 1000 } })
    }
    writeFileSync(opts.out, JSON.stringify({
      jobId: job.jobId, kernelName: job.kernelName, kernelId: job.kernelId, state: job.state, workUnits: job.workUnits, format: job.output, outputs
    }, null, 1) + '\n')
    return { job, written: outputs.length }
  } finally {
    await session.close()
  }
}
