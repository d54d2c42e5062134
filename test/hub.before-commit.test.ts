/**
 * Credit entries are queued by the ledger and appended, signed in the thread pool, just before
 * COMMIT (ledger.ts, before-commit.ts): on the real store (SQLite, or PostgreSQL with
 * SPARECYCLES_TEST_STORE=postgres), every committed entry carries the ledger key's signature of
 * itself, an entry rolled back with its savepoint is never appended nor signed (the next entry
 * takes its seq), and a transaction that fails commits no entry.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cachedSigningKey } from '../src/hub/ed25519-keys.ts'
import { Ledger } from '../src/hub/ledger.ts'
import { signReceipt, verifyReceipt } from '../src/protocol/signing.ts'
import { openTestStore, stopTestStores, testStoreKind } from './test-store.ts'
import type { HubRepository } from '../src/hub/repository.ts'
import type { PrivateKey } from '@libp2p/interface'

let dir: string
let repo: HubRepository
let key: PrivateKey
let ledger: Ledger
let signed: string[]

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hub-before-commit-'))
  repo = (await openTestStore(dir)).repo
  key = await generateKeyPair('Ed25519')
  signed = []
  ledger = new Ledger(cachedSigningKey(key), new Uint8Array(32).fill(3), when => signed.push(when))
})

afterEach(async () => {
  await repo.close()
  rmSync(dir, { recursive: true, force: true })
})

afterAll(async () => { await stopTestStores() })

const grant = (i: number, peerId = 'peer-a'): Parameters<Ledger['grant']>[1] => ({ peerId, jobId: 'j', wuId: `w${i}`, replicaId: `w${i}/r0`, credit: 1 + i, grantedAtMs: 1_700_000_000_000 + i })

describe(`ledger signatures stored before commit (${testStoreKind()})`, () => {
  it('50 entries of one transaction each carry the ledger key\'s own signature, byte for byte what signing it alone gives', async () => {
    await repo.transaction(async tx => { for (let i = 0; i < 50; i++) await ledger.grant(tx, grant(i)) })
    const rows = await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 100))
    expect(rows.map(r => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    for (const row of rows) {
      expect(row.receipt_signature).not.toBeNull()
      const receipt = ledger.receipts([row])[0]
      await verifyReceipt(receipt, key.publicKey)
      // Ed25519 is deterministic: the stored signature is the one the uncached key makes of this entry
      expect(new Uint8Array(row.receipt_signature as Uint8Array)).toEqual(new Uint8Array((await signReceipt(row.entry as Uint8Array<ArrayBuffer>, key)).signature))
    }
    expect(signed).toEqual(Array(50).fill('grant'))
    expect((await repo.read(async tx => await ledger.verifyChain(tx))).ok).toBe(true)
  })

  it('an entry rolled back with its savepoint is never appended: the next entry takes its seq and its own signature', async () => {
    await repo.transaction(async tx => {
      await ledger.grant(tx, grant(0))
      await expect(tx.savepoint(async () => {
        await ledger.grant(tx, grant(1, 'peer-rolled-back'))
        throw new Error('rolled back')
      })).rejects.toThrow('rolled back')
      // seq 2 again, another entry (another peer, another credit)
      await ledger.grant(tx, grant(2, 'peer-b'))
    })
    const a = await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))
    const b = await repo.read(async tx => await tx.ledgerEntriesFor('peer-b', 0, 10))
    const gone = await repo.read(async tx => await tx.ledgerEntriesFor('peer-rolled-back', 0, 10))
    expect(gone).toEqual([])
    expect(a.map(r => r.seq)).toEqual([1])
    expect(b.map(r => r.seq)).toEqual([2])
    for (const row of [...a, ...b]) await verifyReceipt(ledger.receipts([row])[0], key.publicKey)
    // the rolled-back entry was never appended: two signed, two stored
    expect(signed).toEqual(['grant', 'grant'])
    expect((await repo.read(async tx => await ledger.verifyChain(tx))).ok).toBe(true)
  })

  it('a transaction that fails after its grants commits none of them, and the next one signs its own', async () => {
    await expect(repo.transaction(async tx => {
      for (let i = 0; i < 5; i++) await ledger.grant(tx, grant(i))
      throw new Error('failed')
    })).rejects.toThrow('failed')
    expect(await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))).toEqual([])
    await repo.transaction(async tx => { await ledger.grant(tx, grant(9)) })
    const rows = await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))
    expect(rows.map(r => r.seq)).toEqual([1])
    await verifyReceipt(ledger.receipts(rows)[0], key.publicKey)
  })

  it('a signature that cannot be stored fails the transaction: nothing of it is committed', async () => {
    await expect(repo.transaction(async tx => {
      await ledger.grant(tx, grant(0))
      tx.beforeCommit(async () => { throw new Error('hook failed') })
    })).rejects.toThrow('hook failed')
    expect(await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))).toEqual([])
  })
})
