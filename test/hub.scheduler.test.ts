import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { PRIMES_KERNEL_ID, decodePrimesInput } from '../src/protocol/primes.ts'
import type { HubCoreOptions } from '../src/hub/hub-core.ts'
import type { Lease } from '../src/protocol/pb/messages.ts'
import { signResult, sha256Bytes } from '../src/protocol/signing.ts'
import { countPrimes, resultFor, volunteer } from './hub-fixtures.ts'
import { inspect } from './hub-fixtures.ts'

let dir: string
let clock: number
const open: HubCore[] = []

async function hub (opts: Partial<HubCoreOptions> = {}): Promise<HubCore> {
  const h = await HubCore.open({ dataDir: dir, hubKey: await generateKeyPair('Ed25519'), now: () => clock, defaultPolicy: 'replicate', leaseOrder: 'sequential', ...opts })
  open.push(h)
  return h
}

async function ask (h: HubCore, peer: string, maxUnits = 1, release: string[] = []): Promise<Lease[]> {
  const res = await h.lease(peer, { maxUnits, release, deviceClass: 'wasm' })
  expect(res.error).toBe('')
  return res.leases
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hub-sched-'))
  clock = 1_700_000_000_000
})

afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('work generator', () => {
  it('splits [from, to) into units, the last one short', async () => {
    const h = await hub()
    const job = await h.createPrimesJob({ from: 1000, to: 2050, unit: 100 })
    expect(job).toMatchObject({ id: 'job-1', kernel: PRIMES_KERNEL_ID, from: 1000, to: 2050, unit: 100, quorum: 2, workUnits: 11, state: 'running', unsent: 22 })
    const leases = await ask(h, 'peer-a', 16)
    expect(leases).toHaveLength(11)
    leases.forEach((l, i) => {
      const lo = 1000 + i * 100
      const hi = Math.min(lo + 100, 2050)
      expect(l.wuId).toBe(`job-1/wu-${i}`)
      expect(l.replicaId).toBe(`job-1/wu-${i}/r0`)
      expect(l.jobId).toBe('job-1')
      expect(l.kernel).toBe(PRIMES_KERNEL_ID)
      expect(decodePrimesInput(l.input)).toEqual({ lo, hi })
      expect(l.estOps).toBe(hi - lo)
      expect(l.credit).toBe((hi - lo) / 1e6)
      expect(l.memoryBytes).toBe(128 * 1024 * 1024)
      expect(l.deadlineMs).toBe(Math.ceil(60_000 + (hi - lo) / 1e5))
      expect(l.leaseExpiresAtMs).toBe(clock + l.deadlineMs * 2 + 30_000)
    })
    expect(leases[10].estOps).toBe(50)
  })

  it('makes 100 units of 10^8 for [0, 10^10) with credit 100 each', async () => {
    const h = await hub()
    const job = await h.createPrimesJob({ from: 0, to: 1e10, unit: 1e8, quorum: 3 })
    expect(job.workUnits).toBe(100)
    expect(job.quorum).toBe(3)
    // replicasPerUnit is measured now (issued / units): nothing issued yet
    expect(job.replicasPerUnit).toBe(0)
    const [l] = await ask(h, 'p')
    expect(l.credit).toBe(100)
    expect(l.deadlineMs).toBe(61_000)
    expect(decodePrimesInput(l.input)).toEqual({ lo: 0, hi: 1e8 })
  })

  it('refuses bad specs, naming the field, before writing anything', async () => {
    const h = await hub()
    const bad: Array<[Record<string, number>, RegExp]> = [
      [{ from: -1, to: 10, unit: 1 }, /^from/],
      [{ from: 1.5, to: 10, unit: 1 }, /^from/],
      [{ from: 0, to: 10.5, unit: 1 }, /^to/],
      [{ from: 0, to: 2 ** 53 + 2, unit: 1 }, /^to/],
      [{ from: 10, to: 10, unit: 1 }, /^from\/to/],
      [{ from: 20, to: 10, unit: 1 }, /^from\/to/],
      [{ from: 0, to: 10, unit: 0 }, /^unit/],
      [{ from: 0, to: 10, unit: -5 }, /^unit/],
      [{ from: 0, to: 10, unit: 2.5 }, /^unit/],
      [{ from: 0, to: 1e12, unit: 1 }, /^unit/],
      [{ from: 0, to: 10, unit: 1, quorum: 0 }, /^quorum/],
      [{ from: 0, to: 10, unit: 1, quorum: 9 }, /^quorum/],
      [{ from: 0, to: 10, unit: 1, quorum: 1.5 }, /^quorum/],
      [{ from: 0, to: 10, unit: 1, creditPerOps: -1 }, /^creditPerOps/],
      [{ from: 0, to: 10, unit: 1, creditPerOps: Number.NaN }, /^creditPerOps/]
    ]
    for (const [spec, message] of bad) {
      await expect(h.createPrimesJob(spec as never), JSON.stringify(spec)).rejects.toThrow(RangeError)
      await expect(h.createPrimesJob(spec as never)).rejects.toThrow(message)
    }
    expect(inspect(h).get<{ n: number }>('SELECT count(*) AS n FROM jobs')?.n).toBe(0)
    expect(inspect(h).get<{ n: number }>('SELECT count(*) AS n FROM work_units')?.n).toBe(0)
    expect(await h.listJobs()).toEqual([])
    // the next good job is still job-1
    expect((await h.createPrimesJob({ from: 0, to: 10, unit: 5 })).id).toBe('job-1')
  })

  it('creates 10^5 work units in one transaction, quickly', async () => {
    const h = await hub()
    const started = performance.now()
    const job = await h.createPrimesJob({ from: 0, to: 1e7, unit: 100 })
    expect(job.workUnits).toBe(100_000)
    expect(performance.now() - started).toBeLessThan(5_000)
    const leases = await ask(h, 'p', 16)
    expect(leases.map(l => l.wuId)).toEqual(Array.from({ length: 16 }, (_, i) => `job-1/wu-${i}`))
  })
})

describe('scheduler', () => {
  it('never gives two replicas of one work unit to the same peer, even after release or expiry', async () => {
    const h = await hub({ leaseMs: 1_000 })
    await h.createPrimesJob({ from: 0, to: 100, unit: 100, quorum: 2 })
    const [a] = await ask(h, 'peer-a', 4)
    expect(a.replicaId).toBe('job-1/wu-0/r0')
    expect(await ask(h, 'peer-a', 4)).toEqual([]) // the WU wants one more replica, but not from peer-a

    // release: the WU is reissued at once, but not to peer-a
    expect(await ask(h, 'peer-a', 4, [a.replicaId])).toEqual([])
    expect(inspect(h).getReplica(a.replicaId)).toMatchObject({ state: 'over', outcome: 'no-reply', released: 1 })
    const [b] = await ask(h, 'peer-b', 4)
    expect(b.replicaId).toBe('job-1/wu-0/r1')

    // expiry: peer-b's lease runs out; the WU goes to peer-c, never back to peer-a or peer-b
    clock += 1_000
    expect(await ask(h, 'peer-b', 4)).toEqual([])
    expect(inspect(h).getReplica(b.replicaId)).toMatchObject({ state: 'over', outcome: 'no-reply', released: 0 })
    expect(await ask(h, 'peer-a', 4)).toEqual([])
    const c = await ask(h, 'peer-c', 4)
    expect(c.map(l => l.replicaId)).toEqual(['job-1/wu-0/r2'])

    // the table refuses it too
    expect(() => inspect(h).run(`INSERT INTO replicas (id, wu_id, job_id, peer_id, k, device_class, state, issued_at_ms, expires_at_ms)
      VALUES ('x', 'job-1/wu-0', 'job-1', 'peer-a', 9, 'wasm', 'in-progress', 0, 0)`)).toThrow(/UNIQUE/)
  })

  it('needs two distinct peers for quorum 2', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 100, unit: 100, quorum: 2 })
    const a = await volunteer()
    const b = await volunteer()
    const [la] = await ask(h, a.id)
    expect((await h.submit(a.id, await resultFor(a, la, 25))).status).toBe('accepted')
    expect(await h.jobStatus('job-1')).toMatchObject({ validated: 0, state: 'running', unsent: 1, inProgress: 0 })
    expect(await ask(h, a.id)).toEqual([])
    const [lb] = await ask(h, b.id)
    expect(lb.wuId).toBe(la.wuId)
    expect((await h.submit(b.id, await resultFor(b, lb, 25))).status).toBe('accepted')
    expect(await h.jobStatus('job-1')).toMatchObject({ validated: 1, state: 'complete', primes: 25, volunteers: 2, replicasIssued: 2, unsent: 0 })
    expect(await ask(h, (await volunteer()).id)).toEqual([])
  })

  it('reissues a work unit when its lease expires (injected clock)', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 1000, quorum: 1 })
    const [a] = await ask(h, 'peer-a')
    expect(a.leaseExpiresAtMs).toBe(clock + 60_001 * 2 + 30_000)
    expect(await ask(h, 'peer-b')).toEqual([])
    expect(await h.jobStatus('job-1')).toMatchObject({ inProgress: 1, unsent: 0 })
    clock = a.leaseExpiresAtMs - 1
    expect(await ask(h, 'peer-b')).toEqual([])
    clock = a.leaseExpiresAtMs
    const [b] = await ask(h, 'peer-b')
    expect(b.wuId).toBe(a.wuId)
    expect(b.replicaId).toBe('job-1/wu-0/r1')
    expect(inspect(h).getReplica(a.replicaId)).toMatchObject({ state: 'over', outcome: 'no-reply' })
    expect(inspect(h).getPeer('peer-a')?.no_replies).toBe(1)
    expect(await h.jobStatus('job-1')).toMatchObject({ inProgress: 1, replicasIssued: 2 })
  })

  it('reissues a released replica at once', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 500, quorum: 1 })
    const leases = await ask(h, 'peer-a', 2)
    expect(leases).toHaveLength(2)
    expect(await ask(h, 'peer-b')).toEqual([])
    // release one (and ask for nothing): peer-b gets it immediately
    const res = await h.lease('peer-a', { maxUnits: 0, release: [leases[1].replicaId, 'job-1/wu-9/r0'], deviceClass: 'wasm' })
    expect(res).toMatchObject({ leases: [], retryAfterMs: 0, error: '' })
    const [b] = await ask(h, 'peer-b', 2)
    expect(b.wuId).toBe('job-1/wu-1')
    // releasing someone else's replica does nothing
    await ask(h, 'peer-c', 0, [b.replicaId])
    expect(inspect(h).getReplica(b.replicaId)?.state).toBe('in-progress')
  })

  it('marks a work unit failed after maxErrorsPerUnit established peers report client errors (never on releases), and the job reports it', async () => {
    // issue 10: releases no longer fail a unit; client errors from peers with a valid result do
    const h = await hub({ maxErrorsPerUnit: 3 })
    await h.createPrimesJob({ from: 0, to: 200, unit: 100, quorum: 1 })
    for (const peer of ['p1', 'p2', 'p3']) {
      const [l] = await ask(h, peer)
      expect(l.wuId).toBe('job-1/wu-0')
      await ask(h, peer, 0, [l.replicaId])
    }
    expect(inspect(h).getWorkUnit('job-1/wu-0')).toMatchObject({ state: 'open', replicas_issued: 3 })
    const established = await Promise.all([volunteer(), volunteer(), volunteer()])
    await h.createPrimesJob({ from: 1000, to: 1300, unit: 100, quorum: 1 })
    const empty = new Uint8Array(0)
    for (const e of established) {
      // a valid result elsewhere first (job-2) makes the peer established; then a client error on wu-0
      const leases = await ask(h, e.id, 4)
      const w = leases.find(l => l.jobId === 'job-2') as Lease
      const r = decodePrimesInput(w.input)
      expect((await h.submit(e.id, await resultFor(e, w, countPrimes(r.lo, r.hi)))).status).toBe('accepted')
      const l0 = leases.find(l => l.wuId === 'job-1/wu-0') as Lease
      expect((await h.submit(e.id, await signResult({
        replicaId: l0.replicaId, wuId: l0.wuId, outcome: 'client-error', output: empty,
        outputSha256: sha256Bytes(empty) as Uint8Array<ArrayBuffer>, elapsedMs: 5, deviceClass: 'wasm', errorMessage: 'trap'
      }, e.key))).status).toBe('accepted')
      await ask(h, e.id, 0, leases.filter(l => l !== w && l !== l0).map(l => l.replicaId))
    }
    expect(inspect(h).getWorkUnit('job-1/wu-0')).toMatchObject({ state: 'failed', wanted: 0, error_peers: 3 })
    expect(await h.jobStatus('job-1')).toMatchObject({ failed: 1, state: 'running' })
    // wu-1 is still served; wu-0 never again
    const [l] = await ask(h, 'p4', 4)
    expect(l.wuId).toBe('job-1/wu-1')
    const v = await volunteer()
    const [lv] = await ask(h, v.id, 4)
    expect(lv).toBeUndefined()
    // finishing wu-1 settles the job as failed
    await ask(h, 'p4', 0, [l.replicaId])
    const [l2] = await ask(h, v.id, 4)
    expect(l2.wuId).toBe('job-1/wu-1')
    expect((await h.submit(v.id, await resultFor(v, l2, 21))).status).toBe('accepted')
    expect(await h.jobStatus('job-1')).toMatchObject({ failed: 1, validated: 1, state: 'failed', primes: 21 })
  })

  it('prefers older jobs, work units that already have a result, then lower index', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 300, unit: 100, quorum: 2 })
    await h.createPrimesJob({ from: 0, to: 300, unit: 100, quorum: 1 })
    const a = await volunteer()
    const la = await ask(h, a.id, 2)
    expect(la.map(l => l.wuId)).toEqual(['job-1/wu-0', 'job-1/wu-1'])
    await h.submit(a.id, await resultFor(a, la[1], 25))
    // wu-1 has a result, so it comes before wu-0
    expect((await ask(h, 'peer-b', 1)).map(l => l.wuId)).toEqual(['job-1/wu-1'])
    expect((await ask(h, 'peer-c', 6)).map(l => l.wuId)).toEqual(['job-1/wu-0', 'job-1/wu-2', 'job-2/wu-0', 'job-2/wu-1', 'job-2/wu-2'])
    expect((await ask(h, 'peer-d', 16)).map(l => l.wuId)).toEqual(['job-1/wu-2'])
    const empty = await h.lease('peer-d', { maxUnits: 1, release: [], deviceClass: 'wasm' })
    expect(empty.leases).toEqual([])
    expect(empty.retryAfterMs).toBeGreaterThan(0)
  })

  it('answers a malformed work request with a named error', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 300, unit: 100 })
    expect(await h.lease('p', { maxUnits: 1, release: [], deviceClass: 'cuda' })).toMatchObject({ leases: [], error: 'MalformedMessageError' })
    expect(await h.lease('p', { maxUnits: 1000, release: [], deviceClass: 'wasm' })).toMatchObject({ leases: [], error: 'MalformedMessageError' })
    expect((await h.jobStatus('job-1'))?.replicasIssued).toBe(0)
  })
})
