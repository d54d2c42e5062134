/**
 * Asynchronous commits (repository.ts CommitMode, issue 14), on both real stores: a transaction
 * run with `{ commit: 'asynchronous' }` runs under SQLite `synchronous = NORMAL` / PostgreSQL
 * `synchronous_commit = off` (read back from the transaction's own connection), every other one
 * under FULL / on, the connection is FULL again after it, its writes are committed and visible to
 * another connection, and one that appends to the ledger is committed synchronously (SQLite: run
 * again under FULL) with its entry appended once.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { cachedSigningKey } from '../src/hub/ed25519-keys.ts'
import { Ledger } from '../src/hub/ledger.ts'
import { bothStores } from './both-stores.ts'
import type { TxSql } from '../src/hub/pg-store.ts'
import type { HubRepository, RepoTx } from '../src/hub/repository.ts'
import type { SqliteStore } from '../src/hub/store.ts'

/** The commit setting of `tx`'s connection, read inside it: 'full' / 'normal' (SQLite) or 'on' / 'off' (PostgreSQL). */
async function commitSetting (kind: 'sqlite' | 'postgres', repo: HubRepository, tx: RepoTx): Promise<string> {
  if (kind === 'sqlite') {
    const level = (repo as unknown as { store: SqliteStore }).store.get<{ synchronous: number }>('PRAGMA synchronous')?.synchronous
    return ({ 1: 'normal', 2: 'full' } as Record<number, string>)[level as number] ?? String(level)
  }
  const rows = await (tx as unknown as { c: TxSql }).c.unsafe("SELECT current_setting('synchronous_commit') AS s")
  return String(rows[0].s)
}

const grant = (i: number): Parameters<Ledger['grant']>[1] => ({ peerId: 'peer-a', jobId: 'j', wuId: `w${i}`, replicaId: `w${i}/r0`, credit: 1, grantedAtMs: 1_700_000_000_000 + i })

describe.each(bothStores('hub-commit-mode-'))('commit modes (%s)', (kind, open) => {
  const slow = kind === 'sqlite' ? 'full' : 'on'
  const fast = kind === 'sqlite' ? 'normal' : 'off'

  it('an asynchronous transaction runs without the flush, the others with it, and its writes are committed', async () => {
    const { repo, second } = await open()
    const other = await second()
    try {
      const seen: string[] = []
      await repo.transaction(async tx => { seen.push(await commitSetting(kind, repo, tx)); await tx.setMeta('k', 'sync') })
      await repo.transaction(async tx => { seen.push(await commitSetting(kind, repo, tx)); await tx.setMeta('k', 'async') }, { commit: 'asynchronous' })
      await repo.transaction(async tx => { seen.push(await commitSetting(kind, repo, tx)) }, { commit: 'synchronous' })
      expect(seen).toEqual([slow, fast, slow])
      // committed: another connection reads it
      expect(await other.read(async tx => await tx.getMeta('k'))).toBe('async')
    } finally {
      await other.close()
      await repo.close()
    }
  })

  it('an asynchronous transaction that fails is rolled back and leaves the connection synchronous', async () => {
    const { repo } = await open()
    try {
      await expect(repo.transaction(async tx => { await tx.setMeta('k', 'lost'); throw new Error('boom') }, { commit: 'asynchronous' })).rejects.toThrow('boom')
      let after = ''
      await repo.transaction(async tx => { after = await commitSetting(kind, repo, tx); expect(await tx.getMeta('k')).toBeUndefined() })
      expect(after).toBe(slow)
    } finally {
      await repo.close()
    }
  })

  it('an asynchronous transaction that appends to the ledger commits synchronously, its entry appended once', async () => {
    const { repo } = await open()
    try {
      const key = await generateKeyPair('Ed25519')
      const ledger = new Ledger(cachedSigningKey(key), new Uint8Array(32).fill(3))
      const runs: string[] = []
      await repo.transaction(async tx => {
        runs.push(await commitSetting(kind, repo, tx))
        await ledger.grant(tx, grant(1))
      }, { commit: 'asynchronous' })
      // SQLite cannot change `synchronous` inside a transaction: rolled back and run again under FULL;
      // PostgreSQL sets synchronous_commit back on before its COMMIT (one run)
      expect(runs).toEqual(kind === 'sqlite' ? [fast, slow] : [fast])
      const rows = await repo.read(async tx => await tx.ledgerEntriesFor('peer-a', 0, 10))
      expect(rows.map(r => r.seq)).toEqual([1])
      expect((await repo.read(async tx => await ledger.verifyChain(tx))).ok).toBe(true)
    } finally {
      await repo.close()
    }
  })
})
