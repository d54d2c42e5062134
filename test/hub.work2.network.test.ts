/**
 * /sparecycles/work/2.0.0 over real libp2p (WebSockets on loopback, noise, yamux) against a real
 * hub (startHub, SQLite in a temp dir), with attackers written as their own peers and keys: a
 * honest page leases only what it can run and every unit's count is checked against a sieve
 * written in the test; malformed capabilities and bogus give-back reasons reset the stream with
 * MalformedMessageError while the hub keeps serving; Sybil keys giving a unit back `cannot-run`
 * in a loop never starve it; and a restarted hub leases a posted kernel's units at once.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MATMUL_KERNEL_ID, PRIMES_KERNEL_ID, RESULT_SPEC, WORK_PROTOCOL_V2, WORK_SPEC, WORK_SPEC_V2, WorkRequestV2, callProtocol, decodePrimesInput,
  encodePrimesOutput, sha256Bytes, signResult
} from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { REPO_ROOT, tempDir, dialledPeer } from './helpers.ts'
import { bytesResultFor, caps, countPrimes, gpuAdapter, inspect, postTestKernel, v2 } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Capabilities, Lease, WorkResponse } from '../src/protocol/index.ts'

interface Peer { node: Libp2p, key: PrivateKey, id: string }

let hub: RunningHub
let hubPeer: PeerId
let dataDir: string
const streamErrors: string[] = []
const peers: Peer[] = []

async function startTestHub (): Promise<void> {
  hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), log: line => { const m = /: (\w+Error):/.exec(line); if (m != null) streamErrors.push(m[1]) } })
  hubPeer = peerIdFromString(hub.peerId)
}

beforeAll(async () => {
  dataDir = tempDir('hub-work2-')
  await startTestHub()
})

afterAll(async () => {
  await Promise.all(peers.map(async p => p.node.stop()))
  await hub?.stop()
})

/** A peer of its own: its own libp2p node and Ed25519 key, dialled to the hub (helpers.ts). */
async function peer (): Promise<Peer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

async function work (p: Peer, req: WorkRequestV2): Promise<WorkResponse> {
  return await callProtocol(p.node, hubPeer, WORK_SPEC_V2, req, AbortSignal.timeout(10_000))
}

async function submitCount (p: Peer, lease: Lease, count: number): Promise<string> {
  const output = encodePrimesOutput(count) as Uint8Array<ArrayBuffer>
  const signed = await signResult({ replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, p.key)
  return (await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))).status
}

const PRIMES_PAGE: Capabilities = caps({ backends: ['wasm'], kernels: [PRIMES_KERNEL_ID], memoryBytes: 256 * 1024 * 1024 })

describe('work/2.0.0 over libp2p', () => {
  it('a page leases only the kernels it lists; each unit\'s count is checked against an independent sieve', async () => {
    const primes = await hub.core.createPrimesJob({ from: 0, to: 4e5, unit: 1e5, quorum: 1 })
    const matmul = await hub.core.createMatmulJob({ n: 8, seed: 3, tile: 8 })
    const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
    const page = await peer()
    const leases = (await work(page, v2(PRIMES_PAGE, 16))).leases
    expect(leases.map(l => l.kernel)).toEqual(Array(4).fill(PRIMES_KERNEL_ID))
    for (const l of leases) {
      const { lo, hi } = decodePrimesInput(l.input)
      const count = await kernel.countRange(lo, hi)
      expect(count).toBe(countPrimes(lo, hi))
      expect(await submitCount(page, l, count)).toBe('accepted')
    }
    expect(await hub.core.jobStatus(primes.id)).toMatchObject({ state: 'complete', primes: 33_860 })
    // a GPU page gets the tile, as its own device class
    const gpuPage = await peer()
    const [tile] = (await work(gpuPage, v2(caps({ backends: ['webgpu', 'wasm'], kernels: [MATMUL_KERNEL_ID], gpu: gpuAdapter('Intel', 'Gen-12LP') })))).leases
    expect(tile.jobId).toBe(matmul.id)
    expect(inspect(hub.core).getReplica(tile.replicaId)?.device_class).toBe('webgpu:intel/gen-12lp')
    await work(gpuPage, v2(caps(), 0, [{ replicaId: tile.replicaId, reason: 'stopped' }]))
  })

  it('resets a stream with malformed capabilities or a bogus give-back reason, changes nothing, and keeps serving', async () => {
    const job = await hub.core.createPrimesJob({ from: 1e6, to: 1.1e6, unit: 1e5, quorum: 1 })
    const attacker = await peer()
    const [held] = (await work(attacker, v2(PRIMES_PAGE))).leases
    expect(held.jobId).toBe(job.id)
    const malformed: Array<Partial<WorkRequestV2>> = [
      v2(caps({ backends: ['cuda'] })),
      v2(caps({ gpu: gpuAdapter('nvidia', 'ampere') })), // a GPU but no webgpu backend
      v2(caps({ kernels: Array(33).fill(PRIMES_KERNEL_ID) })),
      v2(caps({ kernels: ['primes sieve; DROP TABLE jobs'] })),
      v2(caps({ kernelAbis: [0] })),
      v2(caps({ gpu: gpuAdapter('x'.repeat(300), 'y'), backends: ['webgpu'] })),
      { maxUnits: 1, release: [], siteKey: '' }, // no capabilities at all
      v2(PRIMES_PAGE, 1, [{ replicaId: held.replicaId, reason: 'bored' }]),
      v2(PRIMES_PAGE, 1, [{ replicaId: held.replicaId, reason: 'cannot-run' }], 'site_bad')
    ]
    for (const req of malformed) {
      const before = streamErrors.length
      await expect(work(attacker, req as WorkRequestV2)).rejects.toThrow()
      await expect.poll(() => streamErrors.slice(before)).toContain('MalformedMessageError')
    }
    // raw garbage on the wire too
    const stream = await attacker.node.dialProtocol(hubPeer, WORK_PROTOCOL_V2)
    const lp = lpStream(stream)
    await lp.write(new Uint8Array([0x1a, 0xff, 0xff, 0x01]))
    await expect(lp.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    // nothing changed: the lease is still the attacker's and counted nowhere as given back
    expect(inspect(hub.core).getReplica(held.replicaId)).toMatchObject({ state: 'in-progress', peer_id: attacker.id, release_reason: null })
    expect(inspect(hub.core).getWorkUnit(held.wuId)).toMatchObject({ replicas_issued: 1, replicas_excused: 0 })
    // the same connection is still served, and so are others (work/1.0.0 beside 2.0.0)
    expect((await work(attacker, v2(PRIMES_PAGE, 0))).error).toBe('')
    const bystander = await peer()
    const old = await callProtocol(bystander.node, hubPeer, WORK_SPEC, { maxUnits: 1, release: [], deviceClass: 'wasm' })
    expect(old.leases).toHaveLength(1)
  })

  it('Sybil keys giving a unit back `cannot-run` in a loop never starve it: it stays open and an honest page computes it', async () => {
    const job = await hub.core.createPrimesJob({ from: 2e6, to: 2.01e6, unit: 1e4, quorum: 1 })
    const sybils = await Promise.all(Array.from({ length: 8 }, async () => await peer()))
    const seen = new Map<string, Set<string>>()
    for (let round = 0; round < 3; round++) {
      for (const s of sybils) {
        const { leases } = await work(s, v2(PRIMES_PAGE, 4))
        for (const l of leases.filter(l => l.jobId === job.id)) {
          const mine = seen.get(s.id) ?? new Set()
          expect(mine.has(l.wuId)).toBe(false) // never the same unit twice to one key
          mine.add(l.wuId)
          seen.set(s.id, mine)
        }
        if (leases.length > 0) await work(s, v2(PRIMES_PAGE, 0, leases.map(l => ({ replicaId: l.replicaId, reason: 'cannot-run' }))))
      }
    }
    const wu = inspect(hub.core).getWorkUnit(`${job.id}/wu-0`)
    expect(wu).toMatchObject({ state: 'open', wanted: 1, in_progress: 0, replicas_issued: 8, replicas_excused: 8 })
    const honest = await peer()
    const leases = (await work(honest, v2(PRIMES_PAGE, 4))).leases.filter(l => l.jobId === job.id)
    expect(leases).toHaveLength(1)
    const { lo, hi } = decodePrimesInput(leases[0].input)
    expect(await submitCount(honest, leases[0], countPrimes(lo, hi))).toBe('accepted')
    expect(await hub.core.jobStatus(job.id)).toMatchObject({ state: 'complete', failed: 0, primes: countPrimes(2e6, 2.01e6) })
  })

  it('a restarted hub serves a posted kernel\'s units at once (the catalogue is loaded before the protocols)', async () => {
    const researcher = await generateKeyPair('Ed25519')
    const r = { key: researcher, id: peerIdFromPrivateKey(researcher).toString() }
    const { jobId, kernelRef } = await postTestKernel(hub.core, r, 'wasm', [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])], 1)
    await Promise.all(peers.splice(0).map(async p => p.node.stop()))
    await hub.stop()
    await startTestHub()
    const page = await peer()
    const kernelPage = caps({ backends: ['wasm'], kernels: [PRIMES_KERNEL_ID], kernelAbis: [1] })
    const leases = (await work(page, v2(kernelPage, 16))).leases.filter(l => l.jobId === jobId)
    expect(leases.map(l => l.kernel)).toEqual([kernelRef, kernelRef])
    for (const l of leases) {
      const signed = await bytesResultFor(page, l, sha256Bytes(l.input))
      expect((await callProtocol(page.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 })).status).toBe('accepted')
    }
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ state: 'complete', validated: 2 })
  })
})
