/**
 * Ringers for researcher kernels (issue 10), over real libp2p against a real hub (startHub, SQLite
 * in a temp dir): a researcher posts the Collatz example kernel with the SHA-256 of a few units'
 * answers over /sparecycles/job/1.0.0, as `job post --ringers` does; volunteers are Node peers
 * with their own keys speaking work/2.0.0 and result/1.0.0. Every unit's canonical output is
 * checked against an independent Collatz computation in this file (not the kernel).
 *
 * Two colluding fresh keys that hoard the job at its start and answer the same fake for every
 * unit out-vote quorum 2 without ringers; with them, each is caught on the first ringer it answers,
 * its credit is reversed, every unit it had made canonical is computed again, and the job ends
 * with 0 wrong outputs. The leases of ringers carry nothing that tells them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lease as LeaseCodec, sha256Bytes } from '../src/protocol/index.ts'
import { readKernelDir } from '../src/cli/kernel.ts'
import { computeRingers } from '../src/cli/job-commands.ts'
import { inspect } from './hub-fixtures.ts'
import { seededRandom } from './seeded-random.ts'
import { rangeOf, startCollatzHub, unitInput } from './collatz-hub.ts'
import type { CollatzHub, Peer } from './collatz-hub.ts'
import type { JobInfo, Lease } from '../src/protocol/index.ts'

/** The Collatz kernel's output for [lo, hi), computed here: (n, steps) u64 LE pairs of the unit's delay records. */
function collatzRecords (lo: number, hi: number): Uint8Array {
  const pairs: number[] = []
  let best = -1
  for (let n = lo; n < hi; n++) {
    let x = n
    let steps = 0
    while (x !== 1) { x = x % 2 === 1 ? 3 * x + 1 : x / 2; steps++ }
    if (steps > best) { best = steps; pairs.push(n, steps) }
  }
  const out = new Uint8Array(pairs.length * 8)
  const view = new DataView(out.buffer)
  pairs.forEach((v, i) => view.setBigUint64(i * 8, BigInt(v), true))
  return out
}

const UNITS = 12
const STEP = 2000
const INPUTS = Array.from({ length: UNITS }, (_, i) => unitInput(1 + i * STEP, 1 + (i + 1) * STEP))

let c: CollatzHub
beforeAll(async () => { c = await startCollatzHub() }, 60_000)
afterAll(async () => { await c?.stop() })

const peer = async (): Promise<Peer> => await c.peer()
const post = async (inputs: Uint8Array[], ringers: Array<{ index: number, outputSha256: Uint8Array<ArrayBuffer> }>): Promise<JobInfo> => await c.post(inputs, { ringers })
const query = async (jobId: string): Promise<JobInfo> => await c.status(jobId, 1000)
const work = async (p: Peer, n: number): Promise<Lease[]> => await c.work(p, n)
const submit = async (p: Peer, l: Lease, output: Uint8Array): Promise<unknown> => await c.report(p, l, { output })

const truth = (l: Lease): Uint8Array => { const { lo, hi } = rangeOf(l.input); return collatzRecords(lo, hi) }
/** The colluders' shared fake: a plausible output (the unit's first record only), the same for both. */
const fake = (l: Lease): Uint8Array => { const { lo } = rangeOf(l.input); return collatzRecords(lo, lo + 1) }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('ringers (issue 10): units whose answer the researcher gave the hub', () => {
  it('the CLI computes ringer answers with the kernel itself: they match an independent computation', async () => {
    const ringers = await computeRingers(c.kernel, readKernelDir(c.collatzDir), INPUTS, 4)
    expect(ringers).toHaveLength(4)
    expect(new Set(ringers.map(r => r.index)).size).toBe(4)
    for (const r of ringers) {
      const { lo, hi } = rangeOf(INPUTS[r.index])
      expect(hex(r.outputSha256)).toBe(hex(sha256Bytes(collatzRecords(lo, hi))))
    }
  }, 60_000)

  it('two colluding fresh keys hoarding the job with one fake are caught on a ringer: 0 wrong outputs, 0 net credit, units recomputed', async () => {
    // ringers at 3 seeded positions of 12, answers computed independently here
    const random = seededRandom(11)
    const ringerIdx = new Set<number>()
    while (ringerIdx.size < 3) ringerIdx.add(Math.floor(random() * UNITS))
    const ringers = [...ringerIdx].map(index => { const { lo, hi } = rangeOf(INPUTS[index]); return { index, outputSha256: sha256Bytes(collatzRecords(lo, hi)) as Uint8Array<ArrayBuffer> } })
    const job = await post(INPUTS, ringers)
    expect(job).toMatchObject({ workUnits: UNITS, policy: 'replicate', ringers: 3, ringerChecks: 0 })

    // the colluders alone, at the job's start: lease everything they can, then answer the same
    // fake for every unit. Their luckiest order is shown here: every other unit first (each gets
    // two agreeing fakes: a wrong canonical output), and the ringers last (the attackers cannot
    // tell which those are; the test can, to reach the case where they are caught late)
    const cheaters = [await peer(), await peer()]
    const held: Array<Array<{ c: Peer, l: Lease }>> = []
    for (const c of cheaters) {
      const mine: Array<{ c: Peer, l: Lease }> = []
      for (let round = 0; round < 4; round++) for (const l of await work(c, 8)) mine.push({ c, l })
      held.push(mine)
    }
    const leased = held.flat().map(h => h.l)
    const isRinger = (l: Lease): boolean => ringerIdx.has(Number(l.wuId.split('/wu-')[1]))
    expect(held.map(h => h.length)).toEqual([UNITS, UNITS])
    for (const { c, l } of held.flat().filter(h => !isRinger(h.l))) await submit(c, l, fake(l))
    expect(await query(job.jobId)).toMatchObject({ validated: UNITS - 3 })
    for (const { c, l } of held.flat().filter(h => isRinger(h.l))) await submit(c, l, fake(l))
    // ringers look like any other unit on the wire: same kernel, limits and credit, same fields
    const shape = (l: Lease): string => JSON.stringify({ kernel: l.kernel, estOps: l.estOps, memoryBytes: l.memoryBytes, deadlineMs: l.deadlineMs, credit: l.credit, inputBytes: l.input.length, fields: Object.keys(LeaseCodec.decode(LeaseCodec.encode(l))).sort() })
    expect(new Set(leased.map(shape)).size).toBe(1)

    let info = await query(job.jobId)
    // each one's first wrong ringer proved it a cheater (its later ones were refused unchecked): the
    // 9 units they had made canonical are open again
    expect(info).toMatchObject({ validated: 0, ringerFailures: 2 })
    expect((await c.hub.core.jobStatus(job.jobId))?.reopened).toBe(UNITS - 3)
    const ids = cheaters.map(c => c.id)
    for (const id of ids) expect(inspect(c.hub.core).all<{ spot_failures: number }>('SELECT spot_failures FROM trust WHERE peer_id = ?', id)[0].spot_failures).toBeGreaterThan(0)
    for (const id of ids) expect(await c.hub.core.ledgerBalance(id)).toBe(0)
    // caught: the hub gives them no more of this kernel
    for (const c of cheaters) expect(await work(c, 8)).toEqual([])

    // honest volunteers finish the job
    const honest = [await peer(), await peer(), await peer()]
    for (let round = 0; round < 60 && info.state === 'running'; round++) {
      await Promise.all(honest.map(async h => { for (const l of await work(h, 4)) expect(((await submit(h, l, truth(l))) as { status: string }).status).toBe('accepted') }))
      info = await query(job.jobId)
    }
    expect(info).toMatchObject({ state: 'complete', workUnits: UNITS, validated: UNITS, ringers: 3 })
    // every unit's output against the independent computation, through the researcher's own view
    expect(info.outputs.map(o => o.index)).toEqual(Array.from({ length: UNITS }, (_, i) => i))
    for (const o of info.outputs) {
      const { lo, hi } = rangeOf(INPUTS[o.index])
      expect(hex(o.output), `unit ${o.index}`).toBe(hex(collatzRecords(lo, hi)))
    }
    // and in the store: no canonical result from a cheater, their balance 0, no honest result invalid
    const canonical = inspect(c.hub.core).all<{ peer_id: string }>('SELECT r.peer_id FROM work_units w JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ?', job.jobId)
    expect(canonical.filter(r => ids.includes(r.peer_id))).toEqual([])
    for (const id of ids) expect(await c.hub.core.ledgerBalance(id)).toBe(0)
    const honestIds = honest.map(h => h.id)
    const honestInvalid = inspect(c.hub.core).all<{ peer_id: string }>("SELECT peer_id FROM results WHERE job_id = ? AND validate_state = 'invalid'", job.jobId).filter(r => honestIds.includes(r.peer_id))
    expect(honestInvalid).toEqual([])
    // honest peers that answered a ringer passed it: their trust grew from a check they could not influence
    const passed = inspect(c.hub.core).all<{ n: number }>("SELECT count(*) AS n FROM results WHERE job_id = ? AND hub_check = 'spot-ok'", job.jobId)[0].n
    expect(passed).toBeGreaterThan(0)
    expect(await c.hub.core.verifyLedger()).toMatchObject({ ok: true })
    const s = (await c.hub.core.jobStatus(job.jobId))!
    console.log(`ringers: 2 colluders caught after ${leased.length} leases; ${s.reopened} wrong canonical units reopened; ${s.replicasIssued} replicas for ${UNITS} units; ${info.ringerChecks} ringer checks`)
  }, 120_000)

  it('bad ringers are refused with BadJobError and write nothing', async () => {
    const before = (await c.hub.core.listJobs()).length
    const digest = sha256Bytes(new Uint8Array(1)) as Uint8Array<ArrayBuffer>
    const two = INPUTS.slice(0, 2)
    await expect(post(two, [{ index: 2, outputSha256: digest }])).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/outside the 2 inputs/) })
    await expect(post(two, [{ index: 0, outputSha256: digest }, { index: 0, outputSha256: digest }])).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/given twice/) })
    await expect(post(two, [{ index: 0, outputSha256: digest.slice(0, 31) }])).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/32 bytes/) })
    await expect(post(two, [0, 1, 0].map(index => ({ index, outputSha256: digest })))).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/at most 2 ringers/) })
    expect((await c.hub.core.listJobs()).length).toBe(before)
  }, 60_000)
})
