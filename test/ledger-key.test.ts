/**
 * The ledger key and the hub's delegation (protocol/ledger-key.ts) on real hub cores (SQLite):
 * a single hub's ledger key is its own key (its delegation names itself, result responses carry
 * none, receipts verify with the hub key as before); a core given another ledger key signs acks
 * and receipts with it and vouches for it. Statements with and without a ledger key, receipts from
 * before ledger keys (signed by the hub key), the byte layout, and refusals by name.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import {
  BadLedgerDelegationError, HubReceipt, LEDGER_KEY_DOMAIN, StatementFormatError, buildStatement, decodePrimesInput, ledgerDelegationBytes, ledgerKeyFromJson,
  ledgerKeyOf, ledgerKeyToJson, sameKey, signLedgerDelegation, signReceipt, toHex, verifyLedgerDelegation, verifyReceipt, verifyReceiptFrom, verifyStatement
} from '../src/protocol/index.ts'
import { countPrimes, resultFor, volunteer } from './hub-fixtures.ts'
import type { PrivateKey } from '@libp2p/interface'

const cores: HubCore[] = []
afterAll(async () => { for (const c of cores) await c.close() })

async function coreWith (hubKey: PrivateKey, ledgerKey?: PrivateKey): Promise<HubCore> {
  const core = await HubCore.open({ dataDir: mkdtempSync(join(tmpdir(), 'ledger-key-')), hubKey, ledgerKey, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  cores.push(core)
  return core
}

/** Three units of quorum 1, all done by one volunteer: its acks and credit receipts. */
async function credited (core: HubCore) {
  await core.createPrimesJob({ from: 0, to: 3000, unit: 1000, quorum: 1 })
  const v = await volunteer()
  const acks: HubReceipt[] = []
  for (let i = 0; i < 3; i++) {
    const [l] = (await core.lease(v.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases
    const { lo, hi } = decodePrimesInput(l.input)
    const res = await core.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))
    expect(res.status).toBe('accepted')
    acks.push(res.ack as HubReceipt)
  }
  return { v, acks, credits: (await core.creditsFor(v.id, 0)).credits }
}

describe('ledger key', () => {
  it('signs LEDGER_KEY_DOMAIN || 0x00 || the ledger key\'s protobuf bytes (62 bytes for Ed25519) with the hub key', async () => {
    const hubKey = await generateKeyPair('Ed25519')
    const ledgerKey = await generateKeyPair('Ed25519')
    const pb = publicKeyToProtobuf(ledgerKey.publicKey)
    expect([...pb.subarray(0, 4)]).toEqual([0x08, 0x01, 0x12, 0x20])
    const bytes = ledgerDelegationBytes(pb)
    expect(bytes).toHaveLength(62)
    expect(new TextDecoder().decode(bytes.subarray(0, 25))).toBe('sparecycles-ledger-key-v1')
    expect(LEDGER_KEY_DOMAIN).toBe('sparecycles-ledger-key-v1')
    expect(bytes[25]).toBe(0)
    expect([...bytes.subarray(26)]).toEqual([...pb])
    const d = await signLedgerDelegation(hubKey, ledgerKey.publicKey)
    expect(await hubKey.publicKey.verify(bytes, d.signature)).toBe(true)
    expect(sameKey(await verifyLedgerDelegation(d, hubKey.publicKey), ledgerKey.publicKey)).toBe(true)
    // no delegation: the hub key is the ledger key
    expect(await ledgerKeyOf(hubKey.publicKey, undefined)).toBe(hubKey.publicKey)
    // refused by name: another signer, an edited key, a key that does not decode, a signature cut short
    const other = await generateKeyPair('Ed25519')
    const forged = [
      await signLedgerDelegation(other, ledgerKey.publicKey),
      { ...d, publicKey: publicKeyToProtobuf(other.publicKey) },
      { ...d, publicKey: new Uint8Array([1, 2, 3]) },
      { ...d, signature: d.signature.subarray(0, 10) }
    ]
    for (const f of forged) {
      const err = await verifyLedgerDelegation(f as typeof d, hubKey.publicKey).catch((e: Error) => e)
      expect(err).toBeInstanceOf(BadLedgerDelegationError)
      expect((err as Error).name).toBe('BadLedgerDelegationError')
    }
    // the JSON form round-trips; half of it is refused
    const back = ledgerKeyFromJson(ledgerKeyToJson(d))
    expect([toHex(back?.publicKey ?? new Uint8Array()), toHex(back?.signature ?? new Uint8Array())]).toEqual([toHex(d.publicKey), toHex(d.signature)])
    expect(ledgerKeyFromJson({})).toBeUndefined()
    expect(() => ledgerKeyFromJson({ ledgerKey: ledgerKeyToJson(d).ledgerKey })).toThrow(BadLedgerDelegationError)
  })

  it('a single hub: its own key is the ledger key — nothing is delegated, receipts verify with the hub key, statements are as before', async () => {
    const hubKey = await generateKeyPair('Ed25519')
    const core = await coreWith(hubKey)
    expect(core.delegatesLedger).toBe(false)
    expect(core.ledgerKeyFor(true)).toBeUndefined()
    expect(core.ledgerPeerId).toBe(core.peerId)
    // /hub.json's delegation names the hub's own key
    expect(sameKey(await verifyLedgerDelegation(core.ledgerDelegation, hubKey.publicKey), hubKey.publicKey)).toBe(true)
    const { v, acks, credits } = await credited(core)
    for (const r of [...acks, ...credits]) await verifyReceipt(r, hubKey.publicKey)
    const st = buildStatement(core.peerId, v.id, credits.map(r => HubReceipt.encode(r)), toHex(core.ledger.saltOf(v.id)))
    expect(st).not.toHaveProperty('ledgerKey')
    expect(await verifyStatement(JSON.stringify(st))).toMatchObject({ ok: true, ledgerPeerId: core.peerId, hubPeerId: core.peerId })
  })

  it('a hub with a deployment ledger key signs acks and receipts with it and vouches for it; old receipts signed by the hub key still verify', async () => {
    const hubKey = await generateKeyPair('Ed25519')
    const ledgerKey = await generateKeyPair('Ed25519')
    const core = await coreWith(hubKey, ledgerKey)
    expect(core.delegatesLedger).toBe(true)
    expect(core.ledgerKeyFor(false)).toBeUndefined()
    expect(core.ledgerKeyFor(true)).toBe(core.ledgerDelegation)
    expect(core.ledgerPeerId).toBe(peerIdFromPrivateKey(ledgerKey).toString())
    const delegated = await verifyLedgerDelegation(core.ledgerDelegation, hubKey.publicKey)
    expect(sameKey(delegated, ledgerKey.publicKey)).toBe(true)
    const { v, acks, credits } = await credited(core)
    for (const r of [...acks, ...credits]) {
      await verifyReceipt(r, ledgerKey.publicKey)
      await expect(verifyReceipt(r, hubKey.publicKey)).rejects.toThrow(/does not verify/)
    }
    const salt = toHex(core.ledger.saltOf(v.id))
    const json = ledgerKeyToJson(core.ledgerDelegation)
    const st = buildStatement(core.peerId, v.id, credits.map(r => HubReceipt.encode(r)), salt, json)
    expect(st).toMatchObject(json)
    expect(await verifyStatement(JSON.stringify(st))).toMatchObject({ ok: true, hubPeerId: core.peerId, ledgerPeerId: core.ledgerPeerId, verifiedCredit: await core.ledgerBalance(v.id) })

    // a receipt from before ledger keys (the same entry signed by the hub's own key) verifies too;
    // one signed by any third key does not
    const old = await signReceipt(credits[0].body, hubKey)
    await verifyReceiptFrom(old, { ledgerKey: delegated, hubKey: hubKey.publicKey })
    const mixed = buildStatement(core.peerId, v.id, [HubReceipt.encode(old), ...credits.slice(1).map(r => HubReceipt.encode(r))], salt, json)
    expect((await verifyStatement(JSON.stringify(mixed))).ok).toBe(true)
    const third = await signReceipt(credits[0].body, await generateKeyPair('Ed25519'))
    await expect(verifyReceiptFrom(third, { ledgerKey: delegated, hubKey: hubKey.publicKey })).rejects.toThrow(/does not verify/)
    const bad = await verifyStatement(JSON.stringify(buildStatement(core.peerId, v.id, [HubReceipt.encode(third)], salt, json)))
    expect(bad.entries.map(e => e.status)).toEqual(['bad-signature'])

    // a statement naming the ledger key with a delegation from another key is refused by name; half a ledger key is no statement
    const forged = ledgerKeyToJson(await signLedgerDelegation(await generateKeyPair('Ed25519'), ledgerKey.publicKey))
    await expect(verifyStatement(JSON.stringify({ ...st, ...forged }))).rejects.toThrow(BadLedgerDelegationError)
    await expect(verifyStatement(JSON.stringify({ ...st, ledgerDelegation: undefined }))).rejects.toThrow(StatementFormatError)
    await expect(verifyStatement(JSON.stringify({ ...st, ledgerKey: 'not base64!' }))).rejects.toThrow(StatementFormatError)
  })
})

describe('the ledger key file', () => {
  it('hubs creating it at once all get one key, the file whole and nothing else left; a damaged file is an error', async () => {
    const { loadOrCreateLedgerKey, LEDGER_KEY_FILE } = await import('../src/hub/hub-key.ts')
    const { readdirSync, statSync, writeFileSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'ledger-key-file-'))
    const keys = await Promise.all(Array.from({ length: 8 }, async () => await loadOrCreateLedgerKey(dir)))
    const ids = new Set(keys.map(k => peerIdFromPrivateKey(k).toString()))
    expect(ids.size).toBe(1)
    expect(readdirSync(dir)).toEqual([LEDGER_KEY_FILE])
    expect(statSync(join(dir, LEDGER_KEY_FILE)).mode & 0o777).toBe(0o600)
    expect(peerIdFromPrivateKey(await loadOrCreateLedgerKey(dir)).toString()).toBe([...ids][0])
    writeFileSync(join(dir, LEDGER_KEY_FILE), new Uint8Array(0))
    await expect(loadOrCreateLedgerKey(dir)).rejects.toThrow()
  })
})
