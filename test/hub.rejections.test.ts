import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { decodeResultAck, sha256Bytes, toHex, verifyReceipt } from '../src/protocol/signing.ts'
import type { Lease, ResultResponse } from '../src/protocol/pb/messages.ts'
import type { PrivateKey } from '@libp2p/interface'
import { type Volunteer, resultFor, volunteer } from './hub-fixtures.ts'
import { inspect } from './hub-fixtures.ts'

let dir: string
let clock: number
let hubKey: PrivateKey
let h: HubCore
let a: Volunteer
let b: Volunteer
let la: Lease

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hub-reject-'))
  clock = 1_700_000_000_000
  hubKey = await generateKeyPair('Ed25519')
  h = await HubCore.open({ dataDir: dir, hubKey, now: () => clock, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  await h.createPrimesJob({ from: 0, to: 1000, unit: 1000 })
  ;[a, b] = await Promise.all([volunteer(), volunteer()])
  ;[la] = (await h.lease(a.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
})

afterEach(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

function count (table: string): number {
  return inspect(h).get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)?.n ?? 0
}

/** The response is a rejection with this error, nothing was written, and a's replica is still leased to a. */
function expectRejected (res: ResultResponse, error: string): void {
  expect(res).toMatchObject({ status: 'rejected', error, credits: [] })
  expect(res.ack).toBeUndefined()
  expect(res.message.length).toBeGreaterThan(0)
  expect(count('results')).toBe(0)
  expect(count('ledger')).toBe(0)
  expect(inspect(h).getReplica(la.replicaId)).toMatchObject({ peer_id: a.id, state: 'in-progress', outcome: null })
  expect(inspect(h).getWorkUnit(la.wuId)).toMatchObject({ in_progress: 1, state: 'open' })
}

/** After a rejection the rightful owner can still submit. */
async function expectStillAccepted (): Promise<void> {
  const res = await h.submit(a.id, await resultFor(a, la, 168))
  expect(res.status).toBe('accepted')
}

describe('HubCore.submit rejections', () => {
  it('refuses a result signed by someone other than the remote peer', async () => {
    expectRejected(await h.submit(b.id, await resultFor(a, la, 168)), 'SignerMismatchError')
    await expectStillAccepted()
  })

  it('refuses a bad signature', async () => {
    const good = await resultFor(a, la, 168)
    const badSig = { ...good, signature: good.signature.slice() }
    badSig.signature[10] ^= 0x01
    expectRejected(await h.submit(a.id, badSig), 'BadSignatureError')
    const badPayload = { ...good, payload: good.payload.slice() }
    badPayload.payload[badPayload.payload.length - 3] ^= 0x80
    expectRejected(await h.submit(a.id, badPayload), 'BadSignatureError')
    const badKey = { ...good, publicKey: good.publicKey.slice(0, 5) }
    expectRejected(await h.submit(a.id, badKey), 'MalformedMessageError')
    await expectStillAccepted()
  })

  it('refuses a payload that fails the schema check', async () => {
    expectRejected(await h.submit(a.id, await resultFor(a, la, 168, { outcome: 'maybe' })), 'MalformedMessageError')
    expectRejected(await h.submit(a.id, await resultFor(a, la, 168, { deviceClass: 'tpu' })), 'MalformedMessageError')
    await expectStillAccepted()
  })

  it('refuses a replica not leased to the submitting peer', async () => {
    // b signs and sends a result for a's replica
    expectRejected(await h.submit(b.id, await resultFor(b, la, 168)), 'ReplicaNotLeasedError')
    // unknown replica, and a's replica under another WU id
    expectRejected(await h.submit(a.id, await resultFor(a, { ...la, replicaId: 'job-1/wu-0/r7' }, 168)), 'ReplicaNotLeasedError')
    expectRejected(await h.submit(a.id, await resultFor(a, { ...la, wuId: 'job-1/wu-1' }, 168)), 'ReplicaNotLeasedError')
    await expectStillAccepted()
  })

  it('refuses a replica that was released', async () => {
    await h.lease(a.id, { maxUnits: 0, release: [la.replicaId], deviceClass: 'wasm' })
    const res = await h.submit(a.id, await resultFor(a, la, 168))
    expect(res).toMatchObject({ status: 'rejected', error: 'ReplicaNotLeasedError' })
    expect(count('results')).toBe(0)
  })

  it('refuses a result after the lease expired', async () => {
    const signed = await resultFor(a, la, 168)
    clock = la.leaseExpiresAtMs
    expectRejected(await h.submit(a.id, signed), 'LeaseExpiredError')
    // still refused once the sweep has ended the replica
    await h.lease(b.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })
    const res = await h.submit(a.id, signed)
    expect(res).toMatchObject({ status: 'rejected', error: 'LeaseExpiredError' })
    expect(count('results')).toBe(0)
    expect(count('ledger')).toBe(0)
  })

  it('refuses a bad output digest or a wrongly sized output', async () => {
    const wrong = new Uint8Array(32).fill(7) as Uint8Array<ArrayBuffer>
    expectRejected(await h.submit(a.id, await resultFor(a, la, 168, { outputSha256: wrong })), 'BadOutputError')
    const seven = new Uint8Array(7) as Uint8Array<ArrayBuffer>
    expectRejected(await h.submit(a.id, await resultFor(a, la, 168, { output: seven, outputSha256: sha256Bytes(seven) as Uint8Array<ArrayBuffer> })), 'BadOutputError')
    await expectStillAccepted()
  })

  it('answers a duplicate with the first ack, byte for byte, and credits once', async () => {
    const first = await h.submit(a.id, await resultFor(a, la, 168))
    expect(first.status).toBe('accepted')
    await verifyReceipt(first.ack!, hubKey.publicKey)
    const ack = decodeResultAck(first.ack!)
    expect(ack).toMatchObject({ replicaId: la.replicaId, wuId: la.wuId, peerId: a.id, acceptedAtMs: clock })

    clock += 5_000
    const again = await h.submit(a.id, await resultFor(a, la, 168, { elapsedMs: 99 }))
    expect(again.status).toBe('duplicate')
    expect(toHex(again.ack!.body)).toBe(toHex(first.ack!.body))
    expect(toHex(again.ack!.bodyHash)).toBe(toHex(first.ack!.bodyHash))
    expect(toHex(again.ack!.signature)).toBe(toHex(first.ack!.signature))
    // a different answer for the same replica is a duplicate too: the first one stands
    const changed = await h.submit(a.id, await resultFor(a, la, 170))
    expect(changed.status).toBe('duplicate')
    expect(toHex(changed.ack!.signature)).toBe(toHex(first.ack!.signature))
    expect(count('results')).toBe(1)

    const [lb] = (await h.lease(b.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    expect((await h.submit(b.id, await resultFor(b, lb, 168))).status).toBe('accepted')
    expect(await h.ledgerBalance(a.id)).toBe(0.001)
    // duplicates after validation, even after the lease time, credit nothing more
    clock = la.leaseExpiresAtMs + 1
    expect((await h.submit(a.id, await resultFor(a, la, 168))).status).toBe('duplicate')
    expect(await h.ledgerBalance(a.id)).toBe(0.001)
    expect(count('ledger')).toBe(2)
  })

  it('serialises concurrent submissions', async () => {
    const [lb] = (await h.lease(b.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const sa = await resultFor(a, la, 168)
    const sb = await resultFor(b, lb, 168)
    const results = await Promise.all([h.submit(a.id, sa), h.submit(b.id, sb), h.submit(a.id, sa), h.submit(b.id, sb)])
    expect(results.map(r => r.status)).toEqual(['accepted', 'accepted', 'duplicate', 'duplicate'])
    expect(count('ledger')).toBe(2)
    expect((await h.jobStatus('job-1'))?.state).toBe('complete')
  })
})
