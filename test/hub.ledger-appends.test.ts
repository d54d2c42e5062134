/**
 * The ledger appends a transaction's entries at its commit (ledger.ts, before-commit.ts), on both
 * real stores: a grant is in the tables only after COMMIT; a second grant of a replica queued in the
 * same transaction writes nothing; a reversal in the transaction that granted takes back the
 * queued grant too; a savepoint rolled back drops its entries and keeps the ones queued before it;
 * and on PostgreSQL another hub's transaction appends and commits while a transaction with queued
 * grants is still open (the one-appender lock is no longer held from the first grant to COMMIT),
 * the chain one chain afterwards.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { beforeAll, describe, expect, it } from 'vitest'
import { cachedSigningKey } from '../src/hub/ed25519-keys.ts'
import { Ledger } from '../src/hub/ledger.ts'
import { verifyReceipt } from '../src/protocol/signing.ts'
import { CreditEntry } from '../src/protocol/pb/messages.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import { bothStores } from './both-stores.ts'
import type { HubRepository } from '../src/hub/repository.ts'
import type { PrivateKey } from '@libp2p/interface'

const stores = bothStores('hub-ledger-appends-')
let key: PrivateKey
beforeAll(async () => { key = await generateKeyPair('Ed25519') })

const grant = (i: number, peerId = 'peer-a'): Parameters<Ledger['grant']>[1] => ({ peerId, jobId: 'j', wuId: `w${i}`, replicaId: `w${i}/r0`, credit: 1 + i, grantedAtMs: 1_700_000_000_000 + i })

const ledgerOf = (): Ledger => new Ledger(cachedSigningKey(key), new Uint8Array(32).fill(5))

async function entriesOf (repo: HubRepository, peerId: string): Promise<CreditEntry[]> {
  return (await repo.read(async tx => await tx.ledgerEntriesFor(peerId, 0, 100))).map(r => CreditEntry.decode(r.entry))
}

for (const [kind, open] of stores) {
  describe(`ledger appends at the commit (${kind})`, () => {
    it('a grant is in the ledger only once its transaction committed; a second grant of the replica in it writes nothing', async () => {
      const { repo, second } = await open()
      const other = await second()
      const ledger = ledgerOf()
      try {
        await repo.transaction(async tx => {
          expect(await ledger.grant(tx, grant(0))).toEqual({ created: true })
          expect(await ledger.grant(tx, grant(0))).toEqual({ created: false })
          // queued, not written: neither this transaction nor another connection sees it yet
          expect(await tx.ledgerByReplica('w0/r0')).toBeUndefined()
          expect(await other.read(async r => await r.ledgerSize())).toBe(0)
        })
        const [row] = await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))
        expect(CreditEntry.decode(row.entry)).toMatchObject({ seq: 1, replicaId: 'w0/r0', creditUnits: toCreditUnits(1) })
        await verifyReceipt(ledger.receipts([row])[0], key.publicKey)
        // committed: a grant in a later transaction returns the entry and writes nothing
        await repo.transaction(async tx => { expect(await ledger.grant(tx, grant(0))).toMatchObject({ created: false, seq: 1 }) })
        expect(await repo.read(async tx => await tx.ledgerSize())).toBe(1)
      } finally {
        await other.close()
        await repo.close()
      }
    })

    it('a reversal takes back the grants committed before and those queued in its own transaction; a savepoint rolled back drops only its own', async () => {
      const { repo } = await open()
      const ledger = ledgerOf()
      try {
        await repo.transaction(async tx => { await ledger.grant(tx, grant(0)) })
        const reversed = await repo.transaction(async tx => {
          await ledger.grant(tx, grant(1))
          await ledger.grant(tx, grant(2, 'peer-b'))
          await expect(tx.savepoint(async () => {
            await ledger.grant(tx, grant(3))
            throw new Error('rolled back')
          })).rejects.toThrow('rolled back')
          const r = await ledger.reverse(tx, 'peer-a', 1_700_000_000_100)
          // a second reversal in the same transaction finds nothing left; one after a new grant takes that back
          expect(await ledger.reverse(tx, 'peer-a', 1_700_000_000_101)).toEqual({ entries: 0, credit: 0 })
          await ledger.grant(tx, grant(4))
          expect(await ledger.reverse(tx, 'peer-a', 1_700_000_000_102)).toEqual({ entries: 1, credit: 5 })
          return r
        })
        // w0 (1 credit, committed) and w1 (2 credits, queued); w3 was rolled back
        expect(reversed).toEqual({ entries: 2, credit: 3 })
        const a = await entriesOf(repo, 'peer-a')
        expect(a.map(e => [e.replicaId, e.creditUnits, e.reverses])).toEqual([
          ['w0/r0', toCreditUnits(1), 0], ['w1/r0', toCreditUnits(2), 0], ['w0/r0/reversal', -toCreditUnits(1), 1], ['w1/r0/reversal', -toCreditUnits(2), 2],
          ['w4/r0', toCreditUnits(5), 0], ['w4/r0/reversal', -toCreditUnits(5), 6]
        ])
        expect((await entriesOf(repo, 'peer-b')).map(e => e.seq)).toEqual([3])
        expect(await repo.read(async tx => await tx.balance('peer-a'))).toBe(0)
        expect((await repo.read(async tx => await ledger.verifyChain(tx))).ok).toBe(true)
      } finally {
        await repo.close()
      }
    })

    if (kind === 'postgres') {
      it('another hub appends and commits while a transaction with queued grants is open: the lock waits only for the appends', async () => {
        const { repo, second } = await open()
        const other = await second()
        const ledger = ledgerOf()
        try {
          let releaseFirst: () => void = () => {}
          const firstWaits = new Promise<void>(resolve => { releaseFirst = resolve })
          let queued: () => void = () => {}
          const firstQueued = new Promise<void>(resolve => { queued = resolve })
          const first = repo.transaction(async tx => {
            for (let i = 0; i < 5; i++) await ledger.grant(tx, grant(i))
            queued()
            await firstWaits
          })
          await firstQueued
          // the first transaction is open with 5 grants queued; the second appends and commits now
          // (with the lock held from the first grant on it would wait for the first one, which waits for it)
          let timer: ReturnType<typeof setTimeout> | undefined
          await Promise.race([
            other.transaction(async tx => { for (let i = 10; i < 13; i++) await ledger.grant(tx, grant(i, 'peer-b')) }),
            new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('the second transaction waited for the first one\'s lock')) }, 10_000) })
          ]).finally(() => { clearTimeout(timer) })
          expect((await entriesOf(other, 'peer-b')).map(e => e.seq)).toEqual([1, 2, 3])
          releaseFirst()
          await first
          expect((await entriesOf(repo, 'peer-a')).map(e => e.seq)).toEqual([4, 5, 6, 7, 8])
          expect((await repo.read(async tx => await ledger.verifyChain(tx)))).toEqual({ ok: true, entries: 8 })
        } finally {
          await other.close()
          await repo.close()
        }
      })
    }
  })
}
