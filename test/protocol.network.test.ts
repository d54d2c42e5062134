/**
 * The two protocols over real libp2p connections (WebSockets on loopback, noise, yamux) against a
 * real hub (SQLite file): a full lease/submit/credit round, and each rejection and reset the issue
 * names, with the hub still serving afterwards.
 */
import { entryNames, ledgerPseudonym } from '../src/protocol/pseudonym.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  RESULT_LIMITS, RESULT_PROTOCOL, WORK_PROTOCOL, WorkRequest, creditOf, decodeCreditEntry, decodePrimesInput,
  encodePrimesOutput, sha256Bytes, signResult, verifyReceipt
} from '../src/protocol/index.ts'
import { exchangeResult, requestWork } from '../src/volunteer/hub-client.ts'
import { HubCore } from '../src/hub/hub-core.ts'
import { startHubHost } from '../src/hub/libp2p-host.ts'
import { resolveHubLimits } from '../src/hub/limits.ts'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { REPO_ROOT, createTestPeer, knownPi, tempDir } from './helpers.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Lease } from '../src/protocol/index.ts'

let hubNode: Libp2p
let core: HubCore
let hubKey: PrivateKey
let hubPeer: PeerId
let jobId: string
const streamErrors: string[] = []

beforeAll(async () => {
  hubKey = await generateKeyPair('Ed25519')
  core = await HubCore.open({ dataDir: tempDir(), hubKey, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  jobId = (await core.createPrimesJob({ from: 0, to: 1e6, unit: 2.5e5, quorum: 2 })).id
  hubNode = (await startHubHost({
    privateKey: hubKey,
    core,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    limits: resolveHubLimits(),
    onStreamError: (_protocol, err) => { streamErrors.push(err.name) }
  })).node
  hubPeer = hubNode.peerId
})

afterAll(async () => {
  await hubNode?.stop()
  await core?.close()
})

const peerKeys = new Map<Libp2p, PrivateKey>()

async function connectedPeer (): Promise<Libp2p> {
  const key = await generateKeyPair('Ed25519')
  const peer = await createTestPeer(key)
  peerKeys.set(peer, key)
  await peer.dial(multiaddr(hubNode.getMultiaddrs()[0]))
  return peer
}

async function computeResult (lease: Lease): Promise<Uint8Array> {
  const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
  const { lo, hi } = decodePrimesInput(lease.input)
  return await kernel.primesOutput(lo, hi) // the count and its checkpoints (units of 2.5e5 have 3 blocks)
}

describe('work and result protocols over libp2p', () => {
  it('two volunteers lease, compute, submit and receive verifiable credit receipts', async () => {
    const peers = [await connectedPeer(), await connectedPeer()]
    const credited = new Map<string, number>()
    try {
      for (let round = 0; round < 20; round++) {
        let leased = 0
        for (const peer of peers) {
          const work = await requestWork(peer, hubPeer, { maxUnits: 2, release: [], deviceClass: 'wasm' })
          expect(work.error).toBe('')
          for (const lease of work.leases) {
            leased++
            const output = await computeResult(lease)
            const key = peerKeys.get(peer)!
            const signed = await signResult({ replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output: output as Uint8Array<ArrayBuffer>, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, key)
            const res = await exchangeResult(peer, hubPeer, { result: signed, receiptsAfter: 0 })
            expect(res.status).toBe('accepted')
            expect(res.ack).toBeDefined()
            await verifyReceipt(res.ack!, hubKey.publicKey)
          }
        }
        if (leased === 0) break
      }
      for (const peer of peers) {
        const res = await exchangeResult(peer, hubPeer, { receiptsAfter: 0 })
        expect(res.status).toBe('none')
        for (const receipt of res.credits) {
          await verifyReceipt(receipt, peerIdFromString(hubPeer.toString()).publicKey!)
          const entry = decodeCreditEntry(receipt)
          // the entry names the peer by its ledger pseudonym, from the salt the hub sent it alone
          expect(res.ledgerSalt).toHaveLength(16)
          expect(entry.peerId).toBe(ledgerPseudonym(peer.peerId.toString(), res.ledgerSalt))
          expect(entryNames(entry.peerId, entry.version, peer.peerId.toString(), res.ledgerSalt)).toBe(true)
          credited.set(entry.peerId, (credited.get(entry.peerId) ?? 0) + creditOf(entry))
        }
      }
      const status = (await core.jobStatus(jobId))!
      expect(status.state).toBe('complete')
      expect(status.primes).toBe(knownPi().get(1e6))
      // quorum 2 over 4 units of 2.5e5 numbers at 1 credit per 10^6 numbers: 0.25 credit per result
      expect([...credited.values()]).toEqual([1, 1])
    } finally {
      await Promise.all(peers.map(async p => p.stop()))
    }
  })

  it('refuses a result signed by a key other than the connection\'s peer, and credits nothing', async () => {
    const peer = await connectedPeer()
    const other = await generateKeyPair('Ed25519')
    try {
      const job = await core.createPrimesJob({ from: 0, to: 1000, unit: 1000, quorum: 1 })
      const work = await requestWork(peer, hubPeer, { maxUnits: 1, release: [], deviceClass: 'wasm' })
      const lease = work.leases.find(l => l.jobId === job.id)!
      expect(lease).toBeDefined()
      const output = encodePrimesOutput(168)
      const signed = await signResult({ replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output: output as Uint8Array<ArrayBuffer>, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, other)
      const res = await exchangeResult(peer, hubPeer, { result: signed, receiptsAfter: 0 })
      expect(res.status).toBe('rejected')
      expect(res.error).toBe('SignerMismatchError')
      expect((await core.jobStatus(job.id))!.validated).toBe(0)
      const balance = await exchangeResult(peer, hubPeer, { receiptsAfter: 0 })
      expect(balance.credits).toHaveLength(0)
    } finally {
      await peer.stop()
    }
  })

  it('resets a stream carrying a malformed message with a named error and keeps serving', async () => {
    const peer = await connectedPeer()
    try {
      const stream = await peer.dialProtocol(hubPeer, WORK_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))
      await expect(lp.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
      await expect.poll(() => streamErrors).toContain('MalformedMessageError')
      // schema-valid protobuf but failing the schema check (unknown device class)
      const stream2 = await peer.dialProtocol(hubPeer, WORK_PROTOCOL)
      const lp2 = lpStream(stream2)
      await lp2.write(WorkRequest.encode({ maxUnits: 1, release: [], deviceClass: 'quantum' }))
      await expect(lp2.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
      // the same connection still gets served
      const ok = await requestWork(peer, hubPeer, { maxUnits: 0, release: [], deviceClass: 'wasm' })
      expect(ok.error).toBe('')
    } finally {
      await peer.stop()
    }
  })

  it('resets a stream carrying an oversized message and keeps serving others', async () => {
    const peer = await connectedPeer()
    const bystander = await connectedPeer()
    try {
      const stream = await peer.dialProtocol(hubPeer, RESULT_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 10 * RESULT_LIMITS.maxRequestBytes })
      await lp.write(new Uint8Array(RESULT_LIMITS.maxRequestBytes + 1)).catch(() => {})
      await expect(lp.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
      await expect.poll(() => streamErrors).toContain('MessageTooLargeError')
      const res = await exchangeResult(bystander, hubPeer, { receiptsAfter: 0 })
      expect(res.status).toBe('none')
    } finally {
      await peer.stop()
      await bystander.stop()
    }
  })
})
