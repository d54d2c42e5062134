import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { createWork } from '../src/hub/create-work.ts'
import { decodePrimesInput, encodePrimesInput } from '../src/protocol/primes.ts'
import { sha256Bytes, signResult } from '../src/protocol/signing.ts'
import type { HubCoreOptions } from '../src/hub/hub-core.ts'
import type { Lease } from '../src/protocol/pb/messages.ts'
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

async function ask (h: HubCore, peer: string, maxUnits = 1, deviceClass = 'wasm'): Promise<Lease[]> {
  return (await h.lease(peer, { maxUnits, release: [], deviceClass })).leases
}

function ledgerCount (h: HubCore): number {
  return inspect(h).get<{ n: number }>('SELECT count(*) AS n FROM ledger')?.n ?? 0
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hub-valid-'))
  clock = 1_700_000_000_000
})

afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('validator', () => {
  it('two agreeing results: canonical, both valid, each credited the pre-assigned credit whatever time is claimed', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 100_000, unit: 100_000 })
    const a = await volunteer()
    const b = await volunteer()
    const [la] = await ask(h, a.id)
    const [lb] = await ask(h, b.id, 1, 'webgpu')
    expect(la.credit).toBe(0.1)
    // absurd claimed times: one says 49 days, the other 0 ms, and they ran on different device classes
    expect((await h.submit(a.id, await resultFor(a, la, 9592, { elapsedMs: 0xFFFF_FFFF }))).status).toBe('accepted')
    expect(inspect(h).resultForReplica(la.replicaId)?.validate_state).toBeNull()
    expect((await h.submit(b.id, await resultFor(b, lb, 9592, { elapsedMs: 0, deviceClass: 'webgpu' }))).status).toBe('accepted')

    const wu = inspect(h).getWorkUnit(la.wuId)
    expect(wu?.state).toBe('done')
    expect(wu?.canonical_result_id).toBe(inspect(h).resultForReplica(la.replicaId)?.id)
    expect(inspect(h).resultForReplica(la.replicaId)?.validate_state).toBe('valid')
    expect(inspect(h).resultForReplica(lb.replicaId)?.validate_state).toBe('valid')
    expect(await h.ledgerBalance(a.id)).toBe(0.1)
    expect(await h.ledgerBalance(b.id)).toBe(0.1)
    expect(await h.jobStatus('job-1')).toMatchObject({
      state: 'complete', validated: 1, primes: 9592, volunteers: 2, invalidResults: 0, credit: { [a.id]: 0.1, [b.id]: 0.1 }
    })
    expect(inspect(h).getPeer(a.id)).toMatchObject({ results: 1, valid_results: 1, invalid_results: 0 })
  })

  it('disagreement is inconclusive; a third peer decides 2:1 and the odd one out is invalid, uncredited and marked', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 1000 })
    const [a, b, c, d] = await Promise.all([volunteer(), volunteer(), volunteer(), volunteer()])
    const [la] = await ask(h, a.id)
    const [lb] = await ask(h, b.id)
    expect(await ask(h, c.id)).toEqual([]) // two replicas out, quorum 2: nothing more yet
    await h.submit(a.id, await resultFor(a, la, 168))
    await h.submit(b.id, await resultFor(b, lb, 169)) // wrong
    expect(inspect(h).resultForReplica(la.replicaId)?.validate_state).toBe('inconclusive')
    expect(inspect(h).resultForReplica(lb.replicaId)?.validate_state).toBe('inconclusive')
    expect(await h.jobStatus('job-1')).toMatchObject({ validated: 0, unsent: 1, state: 'running' })
    expect(ledgerCount(h)).toBe(0)

    expect(await ask(h, a.id)).toEqual([])
    expect(await ask(h, b.id)).toEqual([])
    const [lc] = await ask(h, c.id)
    expect(lc.replicaId).toBe('job-1/wu-0/r2')
    expect(await ask(h, d.id)).toEqual([]) // only one more is needed
    await h.submit(c.id, await resultFor(c, lc, 168))

    expect(inspect(h).getWorkUnit(la.wuId)?.state).toBe('done')
    expect(inspect(h).resultForReplica(la.replicaId)?.validate_state).toBe('valid')
    expect(inspect(h).resultForReplica(lb.replicaId)?.validate_state).toBe('invalid')
    expect(inspect(h).resultForReplica(lc.replicaId)?.validate_state).toBe('valid')
    expect(await h.ledgerBalance(a.id)).toBe(0.001)
    expect(await h.ledgerBalance(b.id)).toBe(0)
    expect(await h.ledgerBalance(c.id)).toBe(0.001)
    expect(inspect(h).getPeer(b.id)).toMatchObject({ invalid_results: 1, valid_results: 0 })
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', primes: 168, invalidResults: 1, volunteers: 2, replicasIssued: 3 })
    expect(Object.keys((await h.jobStatus('job-1'))?.credit ?? {}).sort()).toEqual([a.id, c.id].sort())
  })

  it('a client error is a failed replica: reissued, no credit', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 1000 })
    const [a, b, c] = await Promise.all([volunteer(), volunteer(), volunteer()])
    const [la] = await ask(h, a.id)
    const [lb] = await ask(h, b.id)
    const empty = new Uint8Array(0)
    const failed = await signResult({
      replicaId: la.replicaId, wuId: la.wuId, outcome: 'client-error', output: empty,
      outputSha256: sha256Bytes(empty) as Uint8Array<ArrayBuffer>, elapsedMs: 5, deviceClass: 'wasm', errorMessage: 'deadline exceeded'
    }, a.key)
    expect((await h.submit(a.id, failed)).status).toBe('accepted')
    expect(inspect(h).getReplica(la.replicaId)).toMatchObject({ state: 'over', outcome: 'client-error' })
    expect(inspect(h).getPeer(a.id)?.client_errors).toBe(1)
    expect(await ask(h, a.id)).toEqual([])
    const [lc] = await ask(h, c.id)
    expect(lc.wuId).toBe(la.wuId)
    await h.submit(b.id, await resultFor(b, lb, 168))
    await h.submit(c.id, await resultFor(c, lc, 168))
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', primes: 168, volunteers: 2 })
    expect(await h.ledgerBalance(a.id)).toBe(0)
    expect(await h.ledgerBalance(b.id)).toBe(0.001)
    expect(inspect(h).resultForReplica(la.replicaId)?.validate_state).toBeNull()
  })

  it('counts pi(10^6) = 78498 from independently computed results over 10 units', async () => {
    const h = await hub()
    const job = await h.createPrimesJob({ from: 0, to: 1_000_000, unit: 100_000 })
    expect(job.workUnits).toBe(10)
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    for (const v of [a, b]) {
      for (;;) {
        const leases = await ask(h, v.id, 4)
        if (leases.length === 0) break
        for (const l of leases) {
          const { lo, hi } = decodePrimesInput(l.input)
          const res = await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))
          expect(res.status).toBe('accepted')
        }
      }
    }
    const status = await h.jobStatus(job.id)
    expect(status).toMatchObject({ state: 'complete', validated: 10, workUnits: 10, primes: 78498, volunteers: 2, replicasIssued: 20, invalidResults: 0, unsent: 0, inProgress: 0 })
    expect(status?.credit[a.id]).toBeCloseTo(1, 9)
    expect(status?.credit[b.id]).toBeCloseTo(1, 9)
    expect(await h.verifyLedger()).toEqual({ ok: true, entries: 20 })
  })

  it('compares only within a device class for a kernel that is not exact', async () => {
    const h = await hub()
    // a kernel of this process only, defined in the catalogue (no import side effects)
    h.catalogue.define({
      id: 'float-test/1', backends: ['webgpu', 'wasm'], exact: false, checkOutput: () => {},
      assimilator: { fold: (acc: { n: number }) => ({ n: acc.n + 1 }) }
    })
    const { jobId } = await h.repo.transaction(async tx => await createWork(tx, clock, () => ({
      kernel: 'float-test/1', quorum: 2, creditPerOps: 1e-6, spec: {}, output: { n: 0 },
      units: [{ input: encodePrimesInput(0, 10), estOps: 10, credit: 1e-5, memoryBytes: 1 << 20, deadlineMs: 60_000 }]
    })))
    const [a, b, c] = await Promise.all([volunteer(), volunteer(), volunteer()])
    const [la] = await ask(h, a.id, 1, 'webgpu')
    expect(await ask(h, b.id, 1, 'wasm')).toEqual([]) // pinned to webgpu
    const [lc] = await ask(h, c.id, 1, 'webgpu')
    await h.submit(a.id, await resultFor(a, la, 4, { deviceClass: 'webgpu' }))
    await h.submit(c.id, await resultFor(c, lc, 4, { deviceClass: 'webgpu' }))
    expect(inspect(h).getWorkUnit(la.wuId)?.state).toBe('done')
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'complete', output: { n: 1 } })
  })

  it('replaying the validator changes nothing and grants nothing twice', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 1000, unit: 1000 })
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    const [la] = await ask(h, a.id)
    const [lb] = await ask(h, b.id)
    await h.submit(a.id, await resultFor(a, la, 168))
    await h.submit(b.id, await resultFor(b, lb, 168))
    expect(ledgerCount(h)).toBe(2)
    const again = await h.repo.transaction(async tx => await h.validator.validate(tx, la.wuId, clock + 5))
    expect(again.credited).toEqual([])
    expect(again.newCanonicalResultId).toBeUndefined()
    expect(ledgerCount(h)).toBe(2)
    expect(await h.jobStatus('job-1')).toMatchObject({ primes: 168, validated: 1 })
  })
})
