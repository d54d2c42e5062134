/**
 * /sparecycles/result/2.0.0 (issue 14): many signed results in one request, over real libp2p
 * against a real hub (startHub, SQLite in a temp dir), volunteers and an attacker as Node peers with
 * their own keys speaking the wire format of src/protocol/pb/messages.proto:
 *
 * - two honest volunteers each submit their 16 results in ONE request: an outcome per result in
 *   order, each ack hub-signed and naming its replica; every unit validated, and every canonical
 *   count equal to primecount's; the same batch again is answered "duplicate" with the same acks;
 * - an attacker's batch mixing one honest result with a result for someone else's replica, one
 *   signed by another key and one with a broken signature: only the honest one is stored, each
 *   other gets its own named refusal, nothing else is written;
 * - a batch over the caps (65 results, an output over 32 KiB, 1.2 MiB of results each under it) is
 *   refused whole (the stream reset with the cap's error: MalformedMessageError, MessageTooLargeError)
 *   and the hub goes on serving; a batch larger than the peer's result-rate burst is admitted once
 *   and the next request waits off the debt (RateLimitedError), storing nothing.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC_V2, ResultPayload, SignedResult, decodePrimesInput, decodePrimesOutput, decodeResultAck, encodePrimesOutput, sha256Bytes, signResult, verifyReceipt } from '../src/protocol/index.ts'
import { batchClient, inspect, loopbackHub, resultFor } from './hub-fixtures.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Lease, ResultBatchResponse } from '../src/protocol/index.ts'
import type { DialledVolunteer } from './hub-fixtures.ts'

type Peer = DialledVolunteer

let hub: RunningHub
let client: ReturnType<typeof batchClient>
let jobId: string
let net: Awaited<ReturnType<typeof loopbackHub>>

beforeAll(async () => {
  net = await loopbackHub('hub-batch-', { peerLimits: { resultRate: { perSecond: 2, burst: 4 } } })
  hub = net.hub
  client = batchClient(peerIdFromString(hub.peerId))
  jobId = (await hub.core.createPrimesJob({ from: 0, to: 20_000, unit: 1000, quorum: 2 })).id
}, 30_000)

afterAll(async () => { await net?.stop() })

const peer = async (): Promise<Peer> => await net.peer()
const lease = async (p: Peer, n: number): Promise<Lease[]> => await client.lease(p, n)
const batch = async (p: Peer, results: SignedResult[], receiptsAfter = 0): Promise<ResultBatchResponse> => await client.batch(p, results, receiptsAfter)
const honest = async (p: Peer, l: Lease): Promise<SignedResult> => await client.honest(p, l)
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
const resultRows = (): number => inspect(hub.core).all<{ n: number }>('SELECT count(*) AS n FROM results')[0].n

describe('result/2.0.0: many results in one request', () => {
  it('two volunteers, one batch of 16 each: an ack per result, every unit validated, every count = primecount', async () => {
    const [a, b] = [await peer(), await peer()]
    const la = await lease(a, 16)
    const lb = await lease(b, 16)
    expect(la).toHaveLength(16)
    expect(lb.map(l => l.wuId).sort()).toEqual(la.map(l => l.wuId).sort())
    const ra = await batch(a, await Promise.all(la.map(async l => await honest(a, l))))
    const hubKey = peerIdFromString(hub.peerId).publicKey!
    expect(ra.outcomes.map(o => o.status)).toEqual(Array(16).fill('accepted'))
    for (const [i, o] of ra.outcomes.entries()) {
      await verifyReceipt(o.ack!, hubKey)
      expect(decodeResultAck(o.ack!)).toMatchObject({ replicaId: la[i].replicaId, wuId: la[i].wuId, peerId: a.id })
    }
    await sleep(600) // b's rate (2/s, burst 4) has gone into debt by nothing yet: b has sent nothing
    const sb = await Promise.all(lb.map(async l => await honest(b, l)))
    const rb = await batch(b, sb)
    expect(rb.outcomes.map(o => o.status)).toEqual(Array(16).fill('accepted'))
    // b's second replica validated each unit: its credit receipts came with the answer
    expect(rb.credits.length).toBe(16)
    expect(rb.creditsUpTo).toBeGreaterThan(0)
    const units = inspect(hub.core).all<{ input: Uint8Array, canonical_result_id: number | null, state: string }>('SELECT input, canonical_result_id, state FROM work_units WHERE id IN (SELECT value FROM json_each(?)) ORDER BY idx', JSON.stringify(la.map(l => l.wuId)))
    expect(units).toHaveLength(16)
    const ranges = units.map(u => decodePrimesInput(u.input))
    const expected = await primecountIntervals(ranges)
    for (const [i, u] of units.entries()) {
      expect(u.canonical_result_id).not.toBeNull()
      const canonical = inspect(hub.core).all<{ output: Uint8Array }>('SELECT output FROM results WHERE id = ?', u.canonical_result_id)[0]
      expect(BigInt(decodePrimesOutput(canonical.output))).toBe(expected[i])
    }
    // the same batch again (a page that lost the answer): duplicates, with the acks it had
    await sleep(8_500) // b's bucket pays off its debt of 12 at 2/s
    const again = await batch(b, sb, rb.creditsUpTo)
    expect(again.outcomes.map(o => o.status)).toEqual(Array(16).fill('duplicate'))
    expect(again.outcomes.map(o => Buffer.from(o.ack!.body).toString('hex'))).toEqual(rb.outcomes.map(o => Buffer.from(o.ack!.body).toString('hex')))
    expect(again.credits).toHaveLength(0)
  }, 60_000)

  it("an attacker's mixed batch: only its honest result is stored, each other refused by name", async () => {
    const [victim, attacker] = [await peer(), await peer()]
    const [lv] = await lease(victim, 1)
    const [la1, la2, la3] = await lease(attacker, 3)
    expect([lv, la1, la2, la3].every(l => l != null)).toBe(true)
    const before = resultRows()
    const other = await generateKeyPair('Ed25519')
    const broken = await honest(attacker, la3)
    const tampered: SignedResult = { ...broken, payload: ResultPayload.encode({ ...ResultPayload.decode(broken.payload), elapsedMs: 99 }) }
    const output = encodePrimesOutput(0) as Uint8Array<ArrayBuffer>
    const stolen = await signResult({ replicaId: lv.replicaId, wuId: lv.wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, attacker.key)
    const res = await batch(attacker, [
      await honest(attacker, la1),
      stolen, // the victim's replica, signed by the attacker
      await resultFor({ key: other, id: '' }, la2, 0), // the attacker's replica, signed by another key
      tampered // payload changed after signing
    ])
    expect(res.outcomes.map(o => [o.status, o.error])).toEqual([
      ['accepted', ''], ['rejected', 'ReplicaNotLeasedError'], ['rejected', 'SignerMismatchError'], ['rejected', 'BadSignatureError']
    ])
    expect(resultRows()).toBe(before + 1)
    expect(inspect(hub.core).all<{ replica_id: string }>('SELECT replica_id FROM results WHERE peer_id = ?', attacker.id).map(r => r.replica_id)).toEqual([la1.replicaId])
    // the victim's own result is still accepted
    expect((await batch(victim, [await honest(victim, lv)])).outcomes[0].status).toBe('accepted')
  }, 30_000)

  it('over the caps the whole request is refused and the hub goes on; past the rate burst the next batch waits', async () => {
    const p = await peer()
    const ls = await lease(p, 3)
    expect(ls).toHaveLength(3)
    const good = await honest(p, ls[0])
    const before = resultRows()
    const lastReset = (): string | undefined => net.resets.filter(r => r.protocol === RESULT_SPEC_V2.id).at(-1)?.name
    // 65 results (the cap is 64): refused before any is looked at
    await expect(batch(p, Array(65).fill(good))).rejects.toThrow()
    expect(lastReset()).toBe('MalformedMessageError')
    // an output over 32 KiB does not ride in a batch (result/1.1.0 carries those)
    const withOutput = async (l: Lease, bytes: number): Promise<SignedResult> => {
      const out = new Uint8Array(bytes) as Uint8Array<ArrayBuffer>
      return await signResult({ replicaId: l.replicaId, wuId: l.wuId, outcome: 'success', output: out, outputSha256: sha256Bytes(out) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, p.key)
    }
    net.resets.length = 0
    await expect(batch(p, [await withOutput(ls[1], 40 * 1024)])).rejects.toThrow()
    expect(lastReset()).toBe('MalformedMessageError')
    // 40 results of 30 KiB each (every one under the output cap): 1.2 MiB, over the 1 MiB a request
    net.resets.length = 0
    const thirty = await withOutput(ls[1], 30 * 1024)
    await expect(batch(p, Array(40).fill(thirty))).rejects.toThrow()
    expect(lastReset()).toBe('MessageTooLargeError')
    expect(resultRows()).toBe(before)
    // the hub still serves this peer: a batch over the burst (4) is admitted once ...
    const res = await batch(p, [good, await honest(p, ls[1]), await honest(p, ls[2]), good, good, good])
    expect(res.outcomes.map(o => o.status)).toEqual(['accepted', 'accepted', 'accepted', 'duplicate', 'duplicate', 'duplicate'])
    // ... and then the peer is in debt: the next request is refused (RateLimitedError resets the stream), nothing stored
    const count = resultRows()
    net.resets.length = 0
    await expect(batch(p, [good])).rejects.toThrow()
    expect(lastReset()).toBe('RateLimitedError')
    expect(resultRows()).toBe(count)
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ state: 'running' })
  }, 30_000)
})
