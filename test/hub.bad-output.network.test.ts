/**
 * Impossible primes outputs over the real result protocol (WebSockets on loopback, noise, yamux)
 * against a real hub (startHub, SQLite in a temp dir), from attackers that are their own libp2p
 * nodes and keys: two keys agreeing on 10^12 primes in a 10^5-number unit, a count of 2^53 + 7,
 * checkpoints that do not fit the unit, and a client error carrying output bytes are each refused
 * with a named error and leave nothing stored (no result row, the replica still leased, no
 * ledger entry); none is an internal error. An honest checkpointed output is accepted after them.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput, encodePrimesOutput, primesBlocks } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { bytesResultFor, caps, inspect, v2 } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Lease, ResultPayload, ResultResponse } from '../src/protocol/index.ts'

interface Peer { node: Libp2p, key: PrivateKey, id: string }

let hub: RunningHub
let hubPeer: PeerId
const logged: string[] = []
const peers: Peer[] = []

beforeAll(async () => {
  hub = await startHub({ dataDir: tempDir('hub-bad-output-'), staticDir: join(REPO_ROOT, 'dist'), log: line => { logged.push(line) } })
  hubPeer = peerIdFromString(hub.peerId)
})

afterAll(async () => {
  await Promise.all(peers.map(async p => p.node.stop()))
  await hub?.stop()
})

async function peer (): Promise<Peer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

async function lease (p: Peer, jobId: string): Promise<Lease> {
  const res = await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(caps()), AbortSignal.timeout(10_000))
  expect(res.leases).toHaveLength(1)
  expect(res.leases[0].jobId).toBe(jobId)
  return res.leases[0]
}

async function submit (p: Peer, l: Lease, output: Uint8Array, extra: Partial<ResultPayload> = {}): Promise<ResultResponse> {
  return await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: await bytesResultFor(p, l, output, extra), receiptsAfter: 0 }, AbortSignal.timeout(10_000))
}

/** Nothing of this submission was stored: no result, the replica still in progress, the ledger as before. */
function expectNothingStored (l: Lease, ledgerBefore: number): void {
  const store = inspect(hub.core)
  expect(store.resultForReplica(l.replicaId)).toBeUndefined()
  expect(store.getReplica(l.replicaId)).toMatchObject({ state: 'in-progress' })
  expect(store.ledgerSize()).toBe(ledgerBefore)
}

describe('impossible primes outputs over /sparecycles/result/1.0.0', () => {
  it('refuses impossible counts, misfit checkpoints and a client error with output, storing nothing; then takes an honest result', async () => {
    const job = await hub.core.createPrimesJob({ from: 1e12, to: 1e12 + 1e5, unit: 1e5, quorum: 2 })
    const [a, b] = [await peer(), await peer()]
    const [la, lb] = [await lease(a, job.id), await lease(b, job.id)]
    const ledger = inspect(hub.core).ledgerSize()

    // two keys agreeing on 10^12 primes in a 10^5-number unit
    for (const [p, l] of [[a, la], [b, lb]] as const) {
      const r = await submit(p, l, encodePrimesOutput(1e12))
      expect(r).toMatchObject({ status: 'rejected', error: 'BadOutputError' })
      expect(r.message).toMatch(/impossible/)
      expectNothingStored(l, ledger)
    }
    // 2^53 + 7: past every safe integer (the assimilator's RangeError before)
    const huge = new Uint8Array(8)
    new DataView(huge.buffer).setBigUint64(0, 2n ** 53n + 7n, true)
    for (const [p, l] of [[a, la], [b, lb]] as const) {
      expect(await submit(p, l, huge)).toMatchObject({ status: 'rejected', error: 'BadOutputError' })
      expectNothingStored(l, ledger)
    }
    // a client error carrying output bytes
    const withOutput = await submit(a, la, encodePrimesOutput(3), { outcome: 'client-error', errorMessage: 'boom' })
    expect(withOutput).toMatchObject({ status: 'rejected', error: 'MalformedMessageError' })
    expect(withOutput.message).toMatch(/client-error result carries no output/)
    expectNothingStored(la, ledger)

    // the same two keys, honest now: accepted, but an impossible count proved them cheaters, so
    // their results count for nothing; two other keys' agreeing results complete the unit
    const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
    const { lo, hi } = decodePrimesInput(la.input)
    const honest = await kernel.primesOutput(lo, hi)
    expect(honest.length).toBe(8)
    expect((await submit(a, la, honest)).status).toBe('accepted')
    expect((await submit(b, lb, honest)).status).toBe('accepted')
    expect(await hub.core.jobStatus(job.id)).toMatchObject({ state: 'running', validated: 0 })
    for (const p of [await peer(), await peer()]) expect((await submit(p, await lease(p, job.id), honest)).status).toBe('accepted')
    expect(await hub.core.jobStatus(job.id)).toMatchObject({ state: 'complete', primes: 3614 })
    expect(logged.filter(line => /InternalError|RangeError/.test(line))).toEqual([])
    // an impossible count is proof of cheating: both keys are banned from primes work from then on,
    // while a fresh key still gets it
    const next = await hub.core.createPrimesJob({ from: 2e12, to: 2e12 + 2e5, unit: 1e5 })
    for (const p of [a, b]) expect((await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(caps()), AbortSignal.timeout(10_000))).leases).toEqual([])
    const fresh = await callProtocol((await peer()).node, hubPeer, WORK_SPEC_V2, v2(caps(), 2), AbortSignal.timeout(10_000))
    expect(fresh.leases.map(l => l.jobId)).toEqual([next.id, next.id])
  })

  it('refuses a multi-block unit\'s output without its checkpoints or with misplaced ones, and a client error with output', async () => {
    const job = await hub.core.createPrimesJob({ from: 2e6, to: 3e6, unit: 1e6, quorum: 1 })
    const p = await peer()
    const l = await lease(p, job.id)
    const { lo, hi } = decodePrimesInput(l.input)
    expect(primesBlocks(lo, hi)?.blocks).toBe(9)
    const ledger = inspect(hub.core).ledgerSize()
    const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
    const honest = await kernel.primesOutput(lo, hi)
    const count = Number(new DataView(honest.buffer).getBigUint64(0, true))
    expect(count).toBe(67_883) // π(2,999,999) - π(1,999,999) = 216,816 - 148,933

    const cases: Array<[string, Uint8Array]> = [
      ['count alone', encodePrimesOutput(count)],
      ['one checkpoint short', honest.slice(0, honest.length - 16)],
      ['a checkpoint moved', (() => { const o = honest.slice(); const v = new DataView(o.buffer); v.setBigUint64(24, v.getBigUint64(24, true) + 30n, true); return o })()],
      ['counts going down', (() => { const o = honest.slice(); new DataView(o.buffer).setBigUint64(32, 0n, true); return o })()]
    ]
    for (const [what, output] of cases) {
      const r = await submit(p, l, output)
      expect(r, what).toMatchObject({ status: 'rejected', error: 'BadOutputError' })
      expectNothingStored(l, ledger)
    }
    expect(await submit(p, l, honest, { outcome: 'client-error' })).toMatchObject({ status: 'rejected', error: 'MalformedMessageError' })
    expectNothingStored(l, ledger)
    expect((await submit(p, l, honest)).status).toBe('accepted')
    expect(await hub.core.jobStatus(job.id)).toMatchObject({ state: 'complete', primes: count })
  })
})
