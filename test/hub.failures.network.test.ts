/**
 * Failures a researcher can see (issue 13), over real libp2p against a real hub (startHub, SQLite
 * in a temp dir), volunteers as Node peers with their own keys speaking work/2.0.0 and
 * result/1.0.0, the researcher over /sparecycles/job/1.0.0:
 *
 * - a kernel that fails on every unit (the Collatz example given lo = 0: `sc_run` returns -2):
 *   the volunteers' client errors are counted by kind in the job's status, the hub runs the
 *   failing units itself (the real kernel, in a worker thread), and what fails there too fails
 *   the unit; on 3 units the job is paused with the error as its reason; `cancel` and `resume`;
 * - fresh keys reporting false client errors for a kernel that works: the hub's own run succeeds,
 *   nothing fails, the units become ringers with the hub's answer, and a peer that later answers
 *   them wrong is caught.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, SignedManifest, WORK_SPEC_V2, buildManifest, callProtocol, sha256Bytes, signManifest, signResult } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { buildKernel, readKernelDir } from '../src/cli/kernel.ts'
import { formatStatus } from '../src/cli/job-commands.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { caps, inspect, v2 } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { JobInfo, JobRequest, Lease, ResultResponse } from '../src/protocol/index.ts'

interface Peer { node: Libp2p, key: PrivateKey, id: string }

const PAGE = caps({ kernels: [], kernelAbis: [1] })
let hub: RunningHub
let hubPeer: PeerId
let researcher: PrivateKey
let collatzDir: string
let kernel: Uint8Array
const peers: Peer[] = []
const logged: string[] = []

function unitInput (lo: number, hi: number): Uint8Array {
  const b = new Uint8Array(16)
  const view = new DataView(b.buffer)
  view.setBigUint64(0, BigInt(lo), true)
  view.setBigUint64(8, BigInt(hi), true)
  return b
}

beforeAll(async () => {
  collatzDir = join(tempDir(), 'collatz')
  cpSync(join(REPO_ROOT, 'examples/collatz'), collatzDir, { recursive: true, filter: src => !src.includes('/build') })
  await buildKernel(collatzDir)
  kernel = new Uint8Array(readFileSync(join(collatzDir, 'build/kernel.wasm')))
  researcher = await generateKeyPair('Ed25519')
  const dataDir = tempDir('hub-failures-')
  writeFileSync(join(dataDir, 'researchers.json'), JSON.stringify({ allowed: [peerIdFromPrivateKey(researcher).toString()] }))
  const rate = { perSecond: 10_000, burst: 10_000 }
  hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), peerLimits: { workRate: rate, resultRate: rate, receiptsRate: rate }, probeIntervalMs: 100, log: line => logged.push(line) })
  hubPeer = peerIdFromString(hub.peerId)
}, 60_000)

afterAll(async () => {
  await Promise.all(peers.map(async p => p.node.stop()))
  await hub?.stop()
})

async function peer (): Promise<Peer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

async function request (req: JobRequest): Promise<JobInfo> {
  const session = await connectToHub(hub.multiaddrs[0], researcher)
  try {
    return await session.request(req)
  } finally {
    await session.close()
  }
}

async function post (inputs: Uint8Array[]): Promise<JobInfo> {
  const signed = await signManifest(buildManifest(readKernelDir(collatzDir), kernel, researcher), researcher)
  return await request({ post: { signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 2, creditPerUnit: 1, policy: 'replicate', ringers: [] } })
}

const status = async (jobId: string): Promise<JobInfo> => await request({ query: { jobId, outputsFrom: 0, outputsMax: 0 } })

async function work (p: Peer, n: number): Promise<Lease[]> {
  return (await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(PAGE, n), AbortSignal.timeout(10_000))).leases
}

async function report (p: Peer, l: Lease, result: { output: Uint8Array } | { error: string }): Promise<ResultResponse> {
  const output = ('output' in result ? result.output : new Uint8Array(0)) as Uint8Array<ArrayBuffer>
  const signed = await signResult({
    replicaId: l.replicaId, wuId: l.wuId, outcome: 'output' in result ? 'success' : 'client-error', output,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: 'error' in result ? result.error : ''
  }, p.key)
  return await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
}

describe('failures reach the researcher (issue 13)', () => {
  it('a kernel failing on every unit: errors by kind, the hub reproduces them, units fail, the job is paused with why; cancel and resume', async () => {
    const job = await post(Array.from({ length: 6 }, (_, i) => unitInput(0, 1000 + i)))
    const volunteers = [await peer(), await peer()]
    // what a page reports when sc_run returns -2 (test/e2e.researcher.test.ts runs real pages)
    const error = 'KernelRunError: sc_run returned -2'
    let info = job
    const started = Date.now()
    while (info.hold === '' && Date.now() - started < 30_000) {
      for (const v of volunteers) for (const l of await work(v, 4)) expect((await report(v, l, { error })).status).toBe('accepted')
      await new Promise(resolve => setTimeout(resolve, 200))
      info = await status(job.jobId)
    }
    expect(info).toMatchObject({ hold: 'paused', state: 'running', validated: 0 })
    console.log(formatStatus(info))
    expect(info.holdReason).toMatch(/^the kernel fails on the hub too, on 3 units: KernelRunError: /)
    expect(info.failed).toBeGreaterThanOrEqual(3)
    expect(info.probeFailures).toBeGreaterThanOrEqual(3)
    expect(info.clientErrors[0]).toMatchObject({ kind: 'KernelRunError', deviceClass: 'wasm', peers: 2, sample: error })
    expect(info.clientErrorResults).toBe(info.clientErrors[0].results)
    expect(info.etaMs).toBe(0)
    const line = formatStatus(info)
    expect(line).toMatch(/running, paused: the kernel fails on the hub too/)
    expect(line).toMatch(/client errors: \d+ × KernelRunError on wasm from 2 volunteers/)
    expect(logged.some(l => /job job-\d+ paused: its kernel fails on the hub too/.test(l))).toBe(true)
    // a paused job leases nothing
    for (const v of [...volunteers, await peer()]) expect(await work(v, 4)).toEqual([])

    // resume: failed units open again and are leased again; cancel: nothing more, for good
    const resumed = await request({ control: { jobId: job.jobId, action: 'resume' } })
    expect(resumed).toMatchObject({ hold: '', failed: 0, probes: 0 })
    expect((await work(await peer(), 4)).length).toBeGreaterThan(0)
    const cancelled = await request({ control: { jobId: job.jobId, action: 'cancel' } })
    expect(cancelled).toMatchObject({ hold: 'cancelled', holdReason: 'cancelled by its researcher' })
    expect(await work(await peer(), 4)).toEqual([])
    await expect(request({ control: { jobId: job.jobId, action: 'resume' } })).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/was cancelled/) })
    await expect(request({ control: { jobId: job.jobId, action: 'explode' } })).rejects.toMatchObject({ remoteName: 'BadJobError' })
    // nobody else controls it
    const stranger = await generateKeyPair('Ed25519')
    const session = await connectToHub(hub.multiaddrs[0], stranger)
    try {
      await expect(session.request({ control: { jobId: job.jobId, action: 'pause' } })).rejects.toMatchObject({ remoteName: 'UnknownJobError' })
    } finally {
      await session.close()
    }
  }, 60_000)

  it('paused volunteers are shown as paused, with the reasons their pages gave, not as progress', async () => {
    const job = await post(Array.from({ length: 3 }, (_, i) => unitInput(1 + 100 * i, 101 + 100 * i)))
    const [a, b] = [await peer(), await peer()]
    expect(await work(a, 1)).toHaveLength(1)
    expect(await work(b, 1)).toHaveLength(1)
    expect(await status(job.jobId)).toMatchObject({ workers: 2, pausedWorkers: 0, pauseReasons: [] })
    // what a paused page sends now and then (work/2.0.0, maxUnits 0, its governor's reasons)
    const say = async (p: Peer, paused: string[]): Promise<void> => {
      const res = await callProtocol(p.node, hubPeer, WORK_SPEC_V2, { ...v2(PAGE, 0), paused }, AbortSignal.timeout(10_000))
      expect(res.error).toBe('')
    }
    await say(a, ['cpu-pressure'])
    await say(b, ['battery-low', 'cpu-pressure'])
    const info = await status(job.jobId)
    expect(info).toMatchObject({ workers: 2, pausedWorkers: 2 })
    expect(Object.fromEntries(info.pauseReasons.map(p => [p.reason, p.volunteers]))).toEqual({ 'cpu-pressure': 2, 'battery-low': 1 })
    expect(formatStatus(info)).toMatch(/2 working now \(2 of them paused: (cpu-pressure ×2, battery-low ×1|battery-low ×1, cpu-pressure ×2)\)/)
    await say(b, [])
    expect(await status(job.jobId)).toMatchObject({ pausedWorkers: 1 })
    // a reason outside the format is refused (the stream is reset with MalformedMessageError)
    await expect(callProtocol(a.node, hubPeer, WORK_SPEC_V2, { ...v2(PAGE, 0), paused: ['Paused because <script>'] }, AbortSignal.timeout(10_000))).rejects.toThrow()
    expect(await status(job.jobId)).toMatchObject({ pausedWorkers: 1 })
    await request({ control: { jobId: job.jobId, action: 'cancel' } })
  }, 30_000)

  it('fresh keys reporting false client errors fail nothing: the hub runs the unit fine and it becomes a ringer', async () => {
    const inputs = Array.from({ length: 4 }, (_, i) => unitInput(1 + 1000 * i, 1001 + 1000 * i))
    const job = await post(inputs)
    const liars = [await peer(), await peer(), await peer()]
    for (const liar of liars) for (const l of await work(liar, 4)) await report(liar, l, { error: 'KernelRunError: unreachable' })
    // the hub's own runs (one per unit that 2 peers reported failing) succeed
    await expect.poll(async () => inspect(hub.core).all<{ probe: string | null }>('SELECT probe FROM work_units WHERE job_id = ?', job.jobId).map(r => r.probe), { timeout: 20_000, interval: 200 })
      .toEqual(['ok', 'ok', 'ok', 'ok'])
    const info = await status(job.jobId)
    expect(info).toMatchObject({ hold: '', failed: 0, probes: 4, probeFailures: 0, state: 'running' })
    expect(logged.some(l => /ran fine on the hub/.test(l))).toBe(true)
    // the hub's answer is now the unit's known answer: a wrong output for it is proof
    const cheat = await peer()
    const [l] = await work(cheat, 1)
    expect(l).toBeDefined()
    await report(cheat, l, { output: new Uint8Array(16) })
    expect(await status(job.jobId)).toMatchObject({ ringerFailures: 1 })
    expect(await work(cheat, 1)).toEqual([])
  }, 60_000)
})
