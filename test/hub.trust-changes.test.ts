/**
 * A transaction's trust-record writes are made at its commit (trust-changes.ts), on both real
 * stores: `getTrust` and `trustOf` inside the transaction see the queued counters and the
 * consecutive-valid run (incs after the last reset), another connection sees none of it before
 * COMMIT, a savepoint rolled back drops its own, and the stored records are what the writes one by
 * one made: counters added, updated_at_ms never moved back, CV grown or set.
 */
import { describe, expect, it } from 'vitest'
import { bothStores } from './both-stores.ts'

const stores = bothStores('hub-trust-changes-')

for (const [kind, open] of stores) {
  describe(`trust writes at the commit (${kind})`, () => {
    it('queued counters and CV: seen inside, committed as one, a rolled-back savepoint drops its own', async () => {
      const { repo, second } = await open()
      const other = await second()
      try {
        await repo.transaction(async tx => {
          await tx.addToTrust('p', 'k-old', { valid_results: 3, verified_results: 3 }, 'inc', 1_000)
          await tx.addToTrust('p', 'k-old', {}, 'inc', 1_000)
        })
        expect(await other.read(async r => await r.getTrust('p', 'k-old'))).toMatchObject({ consecutive_valid: 2, valid_results: 3, verified_results: 3, updated_at_ms: 1_000 })
        await repo.transaction(async tx => {
          // read (and kept) before the changes: the view still applies them
          expect(await tx.getTrust('p', 'k-old')).toMatchObject({ consecutive_valid: 2 })
          await tx.addToTrust('p', 'k-old', { valid_results: 1 }, 'inc', 3_000)
          await tx.addToTrust('p', 'k-new', { client_errors: 1 }, 'keep', 2_000)
          await expect(tx.savepoint(async () => {
            await tx.addToTrust('p', 'k-old', { invalid_results: 1 }, 'reset', 4_000)
            await tx.addToTrust('p', 'k-rolled-back', { spot_checks: 1 }, 'inc', 4_000)
            throw new Error('rolled back')
          })).rejects.toThrow('rolled back')
          await tx.addToTrust('p', 'k-old', {}, 'keep', 2_500)
          expect(await tx.getTrust('p', 'k-old')).toMatchObject({ consecutive_valid: 3, valid_results: 4, invalid_results: 0, updated_at_ms: 3_000 })
          expect(await tx.getTrust('p', 'k-new')).toMatchObject({ consecutive_valid: 0, client_errors: 1, valid_results: 0, updated_at_ms: 2_000 })
          expect(await tx.getTrust('p', 'k-rolled-back')).toBeUndefined()
          expect((await tx.trustOf('p')).map(t => [t.kernel, t.consecutive_valid, t.valid_results, t.client_errors])).toEqual([['k-new', 0, 0, 1], ['k-old', 3, 4, 0]])
          expect(await other.read(async r => await r.trustOf('p'))).toHaveLength(1)
        })
        expect((await other.read(async r => await r.trustOf('p'))).map(t => [t.kernel, t.consecutive_valid, t.valid_results, t.client_errors, t.updated_at_ms])).toEqual([['k-new', 0, 0, 1, 2_000], ['k-old', 3, 4, 0, 3_000]])
        // a reset, then incs: CV is the incs after it; counters still add
        await repo.transaction(async tx => {
          await tx.addToTrust('p', 'k-old', {}, 'inc', 5_000)
          await tx.addToTrust('p', 'k-old', { invalid_results: 1 }, 'reset', 5_000)
          await tx.addToTrust('p', 'k-old', { valid_results: 1 }, 'inc', 5_000)
          await tx.addToTrust('p', 'k-old', { valid_results: 1, spot_checks: 1 }, 'inc', 5_000)
          expect(await tx.getTrust('p', 'k-old')).toMatchObject({ consecutive_valid: 2, valid_results: 6, invalid_results: 1, spot_checks: 1 })
        })
        expect(await other.read(async r => await r.getTrust('p', 'k-old'))).toMatchObject({ consecutive_valid: 2, valid_results: 6, invalid_results: 1, spot_checks: 1, updated_at_ms: 5_000 })
        // a rolled-back transaction writes nothing; a column that is no counter is refused
        await expect(repo.transaction(async tx => { await tx.addToTrust('p', 'k-old', { valid_results: 100 }, 'reset', 9_000); throw new Error('no') })).rejects.toThrow('no')
        expect(await other.read(async r => await r.getTrust('p', 'k-old'))).toMatchObject({ consecutive_valid: 2, valid_results: 6 })
        await expect(repo.transaction(async tx => { await tx.addToTrust('p', 'k-old', { updated_at_ms: 1 } as never, 'keep', 1) })).rejects.toThrow()
      } finally {
        await other.close()
        await repo.close()
      }
    })
  })
}
