/**
 * /sparecycles/result/3.0.0 (issue 14): results signed once a batch (protocol/result-batch.ts),
 * over real libp2p against a real hub (startHub, SQLite in a temp dir), volunteers and an attacker
 * as Node peers with their own keys, building the wire messages of src/protocol/pb/messages.proto
 * themselves:
 *
 * - two honest volunteers each send their 8 results in ONE request signed once: an outcome per
 *   result in order, each ack hub-signed and naming its replica; every unit validated, every
 *   canonical count equal to primecount's; every stored result's evidence (its BatchSignedResult)
 *   checks alone and names its replica and signer; the hub checked one signature a batch
 *   (`sparecycles_result_signatures_checked_total{envelope="batch"}`) and signed their acks once a
 *   batch (one signature, a Merkle proof each, verifying); the same batch again is answered
 *   "duplicate" with the same acks, each then signed alone and kept;
 * - an attacker's batches: signed by another key (SignerMismatchError for each), a payload changed
 *   after signing (BadSignatureError for each), a single result's signature passed off as a batch's
 *   (BadSignatureError: the domains differ) — nothing of them stored; a batch holding a payload that
 *   does not decode and one for a victim's replica: those two refused by name
 *   (MalformedMessageError, ReplicaNotLeasedError), its honest ones stored;
 * - no payloads, or 65, reset the stream (MalformedMessageError) and the hub goes on serving.
 */
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BadReceiptError, BatchSignedResult, RESULT_SPEC_V3, ResultPayload, callProtocol, decodePrimesInput, decodePrimesOutput, decodeResultAck, encodePrimesOutput, sha256Bytes,
  signResult, signResultBatch, verifyReceipt, verifyStoredResult
} from '../src/protocol/index.ts'
import { batchClient, countPrimes, inspect, loopbackHub } from './hub-fixtures.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Lease, ResultBatchResponse, SignedResultBatchRequest } from '../src/protocol/index.ts'
import type { DialledVolunteer } from './hub-fixtures.ts'

type Peer = DialledVolunteer

let hub: RunningHub
let client: ReturnType<typeof batchClient>
let net: Awaited<ReturnType<typeof loopbackHub>>

beforeAll(async () => {
  net = await loopbackHub('hub-signed-batch-')
  hub = net.hub
  client = batchClient(peerIdFromString(hub.peerId))
  await hub.core.createPrimesJob({ from: 0, to: 40_000, unit: 1000, quorum: 2 })
}, 30_000)

afterAll(async () => { await net?.stop() })

const peer = async (): Promise<Peer> => await net.peer()

/** The encoded payload of a lease's result claiming `count` primes. */
function payloadFor (l: Lease, count: number, extra: Partial<ResultPayload> = {}): Uint8Array<ArrayBuffer> {
  const output = encodePrimesOutput(count) as Uint8Array<ArrayBuffer>
  return ResultPayload.encode({ replicaId: l.replicaId, wuId: l.wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 3, deviceClass: 'wasm', errorMessage: '', ...extra })
}
const honest = (l: Lease): Uint8Array<ArrayBuffer> => { const { lo, hi } = decodePrimesInput(l.input); return payloadFor(l, countPrimes(lo, hi)) }
const send = async (p: Peer, req: SignedResultBatchRequest): Promise<ResultBatchResponse> => await callProtocol(p.node, peerIdFromString(hub.peerId), RESULT_SPEC_V3, req, AbortSignal.timeout(20_000))
const resultRows = (): number => inspect(hub.core).all<{ n: number }>('SELECT count(*) AS n FROM results')[0].n
async function batchChecks (): Promise<number> {
  const m = await hub.core.metrics.registry.getSingleMetric('sparecycles_result_signatures_checked_total')?.get()
  return (m?.values ?? []).filter(v => v.labels.envelope === 'batch').reduce((a, v) => a + v.value, 0)
}

describe('result/3.0.0: results signed once a batch', () => {
  it('two volunteers, one signed batch of 8 each: an ack per result, every count = primecount, every stored result checks alone', async () => {
    const [a, b] = [await peer(), await peer()]
    const la = await client.lease(a, 8)
    const lb = await client.lease(b, 8)
    expect(la).toHaveLength(8)
    expect(lb.map(l => l.wuId).sort()).toEqual(la.map(l => l.wuId).sort())
    const checksBefore = await batchChecks()
    const ra = await send(a, await signResultBatch(la.map(honest), a.key))
    const hubKey = peerIdFromString(hub.peerId).publicKey!
    expect(ra.outcomes.map(o => o.status)).toEqual(Array(8).fill('accepted'))
    for (const [i, o] of ra.outcomes.entries()) {
      await verifyReceipt(o.ack!, hubKey)
      expect(decodeResultAck(o.ack!)).toMatchObject({ replicaId: la[i].replicaId, wuId: la[i].wuId, peerId: a.id })
      // the batch's acks signed once: one signature, a proof each (8 leaves: 3 levels)
      expect(o.ack!.signature).toEqual(ra.outcomes[0].ack!.signature)
      expect(o.ack!.proof).toHaveLength(3)
    }
    // another ack's proof does not make this one verify
    await expect(verifyReceipt({ ...ra.outcomes[0].ack!, proof: ra.outcomes[1].ack!.proof }, hubKey)).rejects.toBeInstanceOf(BadReceiptError)
    const sb = await signResultBatch(lb.map(honest), b.key)
    const rb = await send(b, sb)
    expect(rb.outcomes.map(o => o.status)).toEqual(Array(8).fill('accepted'))
    expect(rb.credits.length).toBe(8)
    // one signature checked a batch
    expect(await batchChecks()).toBe(checksBefore + 2)
    const units = inspect(hub.core).all<{ input: Uint8Array, canonical_result_id: number | null }>('SELECT input, canonical_result_id FROM work_units WHERE id IN (SELECT value FROM json_each(?)) ORDER BY idx', JSON.stringify(la.map(l => l.wuId)))
    expect(units).toHaveLength(8)
    const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.input)))
    for (const [i, u] of units.entries()) {
      expect(u.canonical_result_id).not.toBeNull()
      const canonical = inspect(hub.core).all<{ output: Uint8Array }>('SELECT output FROM results WHERE id = ?', u.canonical_result_id)[0]
      expect(BigInt(decodePrimesOutput(canonical.output))).toBe(expected[i])
    }
    // what the hub keeps of each result is its BatchSignedResult, which checks alone
    const rows = inspect(hub.core).all<{ replica_id: string, peer_id: string, signed: Uint8Array }>('SELECT replica_id, peer_id, signed FROM results WHERE peer_id IN (?, ?)', a.id, b.id)
    expect(rows).toHaveLength(16)
    for (const r of rows) {
      expect(BatchSignedResult.decode(r.signed).batchSignature).toHaveLength(64)
      const back = await verifyStoredResult(r.signed)
      expect(back.signerPeerId).toBe(r.peer_id)
      expect(back.payload.replicaId).toBe(r.replica_id)
    }
    // the same batch again (a page that lost the answer): duplicates, with the acks it had
    const again = await send(b, { ...sb, receiptsAfter: rb.creditsUpTo })
    expect(again.outcomes.map(o => o.status)).toEqual(Array(8).fill('duplicate'))
    expect(again.outcomes.map(o => Buffer.from(o.ack!.body).toString('hex'))).toEqual(rb.outcomes.map(o => Buffer.from(o.ack!.body).toString('hex')))
    // signed alone then (the rows kept no signature of the batch's), and kept: the same the next time
    for (const o of again.outcomes) {
      expect(o.ack!.proof).toHaveLength(0)
      await verifyReceipt(o.ack!, hubKey)
    }
    const third = await send(b, sb)
    expect(third.outcomes.map(o => Buffer.from(o.ack!.signature).toString('hex'))).toEqual(again.outcomes.map(o => Buffer.from(o.ack!.signature).toString('hex')))
  }, 60_000)

  it("an attacker's batches: another key, a changed payload, a lone result's signature are refused whole; a bad payload and a stolen replica alone", async () => {
    const [victim, attacker] = [await peer(), await peer()]
    const [lv] = await client.lease(victim, 1)
    const ls = await client.lease(attacker, 4)
    expect(ls).toHaveLength(4)
    const before = resultRows()
    const other = await generateKeyPair('Ed25519')
    const honestPayloads = ls.map(honest)
    const refusals = (r: ResultBatchResponse): string[] => r.outcomes.map(o => `${o.status}:${o.error}`)

    // signed by another key, sent over the attacker's connection
    const byOther = await signResultBatch(honestPayloads, other)
    expect(refusals(await send(attacker, byOther))).toEqual(Array(4).fill('rejected:SignerMismatchError'))
    // signed by the attacker, then one payload changed to claim another count
    const signed = await signResultBatch(honestPayloads, attacker.key)
    const changed = { ...signed, payloads: signed.payloads.map((p, i) => i === 1 ? payloadFor(ls[1], 0) : p) }
    expect(refusals(await send(attacker, changed))).toEqual(Array(4).fill('rejected:BadSignatureError'))
    // a single result's signature (result-v1 domain) passed off as a one-payload batch's
    const lone = await signResult(ResultPayload.decode(honestPayloads[0]), attacker.key)
    expect(refusals(await send(attacker, { payloads: [lone.payload], publicKey: publicKeyToProtobuf(attacker.key.publicKey) as Uint8Array<ArrayBuffer>, signature: lone.signature, receiptsAfter: 0 })))
      .toEqual(['rejected:BadSignatureError'])
    expect(resultRows()).toBe(before)

    // validly signed: a payload that is not a ResultPayload, and the victim's replica
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0x01]) as Uint8Array<ArrayBuffer>
    const mixed = await signResultBatch([honestPayloads[0], garbage, payloadFor(lv, 0), honestPayloads[1]], attacker.key)
    expect(refusals(await send(attacker, mixed))).toEqual(['accepted:', 'rejected:MalformedMessageError', 'rejected:ReplicaNotLeasedError', 'accepted:'])
    expect(resultRows()).toBe(before + 2)
    expect(inspect(hub.core).all<{ replica_id: string }>('SELECT replica_id FROM results WHERE peer_id = ? ORDER BY replica_id', attacker.id).map(r => r.replica_id))
      .toEqual([ls[0].replicaId, ls[1].replicaId].sort())
    // the victim's own result is still accepted
    expect((await send(victim, await signResultBatch([honest(lv)], victim.key))).outcomes[0].status).toBe('accepted')
  }, 30_000)

  it('no payloads, or more than 64, reset the stream and the hub goes on', async () => {
    const p = await peer()
    const [l] = await client.lease(p, 1)
    const ok = await signResultBatch([honest(l)], p.key)
    const lastReset = (): string | undefined => net.resets.filter(r => r.protocol === RESULT_SPEC_V3.id).at(-1)?.name
    await expect(send(p, { ...ok, payloads: [] })).rejects.toThrow()
    expect(lastReset()).toBe('MalformedMessageError')
    const n = net.resets.length
    await expect(send(p, { ...ok, payloads: Array(65).fill(ok.payloads[0]) })).rejects.toThrow()
    expect(net.resets.length).toBe(n + 1)
    expect(lastReset()).toBe('MalformedMessageError')
    expect((await send(p, ok)).outcomes.map(o => o.status)).toEqual(['accepted'])
  }, 30_000)
})
