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
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORK_SPEC_V2, callProtocol } from '../src/protocol/index.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { formatStatus } from '../src/cli/job-commands.ts'
import { inspect, v2 } from './hub-fixtures.ts'
import { KERNEL_PAGE, startCollatzHub, unitInput } from './collatz-hub.ts'
import type { CollatzHub, Peer } from './collatz-hub.ts'

let c: CollatzHub
const logged: string[] = []
beforeAll(async () => { c = await startCollatzHub({ probeIntervalMs: 100, log: line => logged.push(line) }) }, 60_000)
afterAll(async () => { await c?.stop() })

const PAGE = KERNEL_PAGE
const peer = async (): Promise<Peer> => await c.peer()
const { request, post, status, work, report } = {
  request: async (...a: Parameters<CollatzHub['request']>) => await c.request(...a),
  post: async (inputs: Uint8Array[]) => await c.post(inputs),
  status: async (jobId: string) => await c.status(jobId),
  work: async (...a: Parameters<CollatzHub['work']>) => await c.work(...a),
  report: async (...a: Parameters<CollatzHub['report']>) => await c.report(...a)
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
    const session = await connectToHub(c.hub.multiaddrs[0], stranger)
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
      const res = await callProtocol(p.node, c.hubPeer, WORK_SPEC_V2, { ...v2(PAGE, 0), paused }, AbortSignal.timeout(10_000))
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
    await expect(callProtocol(a.node, c.hubPeer, WORK_SPEC_V2, { ...v2(PAGE, 0), paused: ['Paused because <script>'] }, AbortSignal.timeout(10_000))).rejects.toThrow()
    expect(await status(job.jobId)).toMatchObject({ pausedWorkers: 1 })
    await request({ control: { jobId: job.jobId, action: 'cancel' } })
  }, 30_000)

  it('fresh keys reporting false client errors fail nothing: the hub runs the unit fine and it becomes a ringer', async () => {
    const inputs = Array.from({ length: 4 }, (_, i) => unitInput(1 + 1000 * i, 1001 + 1000 * i))
    const job = await post(inputs)
    const liars = [await peer(), await peer(), await peer()]
    for (const liar of liars) for (const l of await work(liar, 4)) await report(liar, l, { error: 'KernelRunError: unreachable' })
    // the hub's own runs (one per unit that 2 peers reported failing) succeed
    await expect.poll(async () => inspect(c.hub.core).all<{ probe: string | null }>('SELECT probe FROM work_units WHERE job_id = ?', job.jobId).map(r => r.probe), { timeout: 20_000, interval: 200 })
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
