/**
 * A transaction's peer-row writes are made at its commit (peer-changes.ts), on both real stores:
 * one statement per peer; `getPeer` inside the transaction sees its queued touches, counters and
 * pause report (a peer touched and not yet stored reads as a new row), another connection sees
 * none of them before COMMIT, a savepoint rolled back drops its own, a counter of a peer never
 * touched and not stored changes nothing, and the stored row is what the statements one by one made.
 */
import { describe, expect, it } from 'vitest'
import { bothStores } from './both-stores.ts'

const stores = bothStores('hub-peer-changes-')

for (const [kind, open] of stores) {
  describe(`peer writes at the commit (${kind})`, () => {
    it('queued touches, counters and pause reports: seen inside, committed together, a rolled-back savepoint drops its own', async () => {
      const { repo, second } = await open()
      const other = await second()
      try {
        // an existing peer, as an earlier transaction left it
        await repo.transaction(async tx => {
          await tx.touchPeer('peer-old', 1_000)
          await tx.addToPeer('peer-old', 'valid_results', 4)
        })
        expect(await other.read(async r => await r.getPeer('peer-old'))).toMatchObject({ first_seen_ms: 1_000, last_seen_ms: 1_000, valid_results: 4 })
        await repo.transaction(async tx => {
          await tx.touchPeer('peer-new', 5_000)
          await tx.addToPeer('peer-new', 'results', 1)
          await tx.addToPeer('peer-new', 'results', 1)
          await tx.addToPeer('peer-old', 'valid_results', 1)
          await tx.touchPeer('peer-old', 7_000)
          await tx.touchPeer('peer-old', 6_000)
          await tx.setPeerPaused('peer-old', ['hidden', 'battery'], 7_000)
          // never touched, not stored: nothing (as an UPDATE of no row)
          await tx.addToPeer('peer-ghost', 'results', 1)
          await expect(tx.savepoint(async () => {
            await tx.addToPeer('peer-new', 'results', 10)
            await tx.touchPeer('peer-rolled-back', 8_000)
            throw new Error('rolled back')
          })).rejects.toThrow('rolled back')
          await tx.addToPeer('peer-new', 'client_errors', 1)
          expect(await tx.getPeer('peer-new')).toMatchObject({ first_seen_ms: 5_000, last_seen_ms: 5_000, results: 2, client_errors: 1, valid_results: 0, paused: '' })
          expect(await tx.getPeer('peer-old')).toMatchObject({ first_seen_ms: 1_000, last_seen_ms: 7_000, valid_results: 5, paused: 'battery,hidden', paused_at_ms: 7_000 })
          expect(await tx.getPeer('peer-ghost')).toBeUndefined()
          expect(await tx.getPeer('peer-rolled-back')).toBeUndefined()
          // nothing of it before COMMIT
          expect(await other.read(async r => await r.getPeer('peer-new'))).toBeUndefined()
          expect(await other.read(async r => await r.getPeer('peer-old'))).toMatchObject({ last_seen_ms: 1_000, valid_results: 4, paused: '' })
        })
        expect(await other.read(async r => await r.getPeer('peer-new'))).toMatchObject({ first_seen_ms: 5_000, last_seen_ms: 5_000, results: 2, client_errors: 1, leases: 0 })
        expect(await other.read(async r => await r.getPeer('peer-old'))).toMatchObject({ first_seen_ms: 1_000, last_seen_ms: 7_000, valid_results: 5, paused: 'battery,hidden', paused_at_ms: 7_000 })
        expect(await other.read(async r => await r.getPeer('peer-ghost'))).toBeUndefined()
        expect(await other.read(async r => await r.getPeer('peer-rolled-back'))).toBeUndefined()
        // a later touch never moves last_seen back; first_seen stays
        await repo.transaction(async tx => { await tx.touchPeer('peer-old', 2_000) })
        expect(await other.read(async r => await r.getPeer('peer-old'))).toMatchObject({ first_seen_ms: 1_000, last_seen_ms: 7_000 })
        // a rolled-back transaction writes nothing
        await expect(repo.transaction(async tx => { await tx.addToPeer('peer-old', 'valid_results', 100); throw new Error('no') })).rejects.toThrow('no')
        expect(await other.read(async r => await r.getPeer('peer-old'))).toMatchObject({ valid_results: 5 })
        await expect(repo.transaction(async tx => { await tx.addToPeer('peer-old', 'first_seen_ms' as never, 1) })).rejects.toThrow()
      } finally {
        await other.close()
        await repo.close()
      }
    })
  })
}
