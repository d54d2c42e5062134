/**
 * A SQLite transaction's work-unit writes, deferred and merged (src/hub/deferred-unit-writes.ts):
 * several changes to a unit are one UPDATE when nothing reads `work_units` between them; a query
 * that names the table (a count, the lease pick, a read of a row not kept) sees every change made
 * before it; a savepoint rolled back drops its own changes and keeps the ones made before it; a
 * transaction rolled back leaves nothing. The UPDATEs are counted on the store's own statements.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SqliteHubRepository } from '../src/hub/sqlite-repository.ts'
import type { RepoReader } from '../src/hub/repository.ts'
import type { SqliteStore } from '../src/hub/store.ts'

let dir: string
let repo: SqliteHubRepository
let updates: string[]

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hub-deferred-units-'))
  repo = SqliteHubRepository.open(dir)
  // count the UPDATEs of work_units the store runs (the hook stays the repository's)
  const store = (repo as unknown as { store: SqliteStore }).store
  const run = store.run.bind(store)
  updates = []
  store.run = (sql, ...params) => { if (sql.startsWith('UPDATE work_units')) updates.push(sql); return run(sql, ...params) }
  await repo.transaction(async tx => {
    await tx.insertJob({ id: 'job-1', seq: 1, kernel: 'primes-sieve/1', quorum: 2, credit_per_ops: 1e-6, state: 'running', created_at_ms: 1_700_000_000_000, spec: '{}', output: '{"primes":0}', policy: 'replicate' })
    await tx.insertWorkUnits([0, 1].map(i => ({
      id: `job-1/wu-${i}`, job_id: 'job-1', job_seq: 1, idx: i, kernel: 'primes-sieve/1', input: new Uint8Array([i]), est_ops: 1000, credit: 0.001,
      memory_bytes: 1 << 27, deadline_ms: 61_000, quorum: 2, target_nresults: 2, wanted: 2
    })))
  })
  updates.length = 0
})

afterEach(async () => {
  await repo.close()
  rmSync(dir, { recursive: true, force: true })
})

const unit = async (tx: RepoReader, i: number): Promise<Record<string, unknown>> => await tx.getWorkUnit(`job-1/wu-${i}`) as unknown as Record<string, unknown>

describe('deferred work-unit writes (SQLite)', () => {
  it('a unit\'s changes with nothing reading work_units between them are one UPDATE, the sums and last values of them all', async () => {
    await repo.transaction(async tx => {
      // read first (as the hub's code does): kept, so reading them again runs no SQL
      await unit(tx, 0)
      await unit(tx, 1)
      await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 1)
      await tx.changeWorkUnit('job-1/wu-0', { set: { wanted: 1 }, add: { replicas_issued: 1 } })
      await tx.addToWorkUnit('job-1/wu-0', 'in_progress', -1)
      await tx.patchWorkUnit('job-1/wu-0', { max_group: 1, has_result: 1 })
      // a set after adds replaces them; an add after a set is folded into it
      await tx.addToWorkUnit('job-1/wu-0', 'error_peers', 5)
      await tx.patchWorkUnit('job-1/wu-0', { error_peers: 1 })
      await tx.addToWorkUnit('job-1/wu-0', 'error_peers', 1)
      await tx.patchWorkUnit('job-1/wu-1', { state: 'done', wanted: 0 })
      expect(await unit(tx, 0)).toMatchObject({ in_progress: 0, wanted: 1, replicas_issued: 1, max_group: 1, has_result: 1, error_peers: 2 })
      expect(updates).toEqual([])
    })
    expect(updates).toHaveLength(2)
    const after = await repo.read(async tx => [await unit(tx, 0), await unit(tx, 1)])
    expect(after[0]).toMatchObject({ in_progress: 0, wanted: 1, replicas_issued: 1, max_group: 1, has_result: 1, error_peers: 2 })
    expect(after[1]).toMatchObject({ state: 'done', wanted: 0 })
  })

  it('SQL naming work_units sees every change made before it (a count, the lease pick, a row not kept)', async () => {
    await repo.transaction(async tx => {
      await tx.patchWorkUnit('job-1/wu-0', { wanted: 0 })
      expect((await tx.jobProgress('job-1')).unsent).toBe(2)
      await tx.patchWorkUnit('job-1/wu-1', { state: 'done', wanted: 0 })
      const picked = await tx.candidateUnitsFor({ peerId: 'peer-a', kernels: 'any', limit: 10, maxReplicas: 100, maxMemoryBytes: 0, sequential: true })
      expect(picked.map(w => w.id)).toEqual([])
      expect(updates).toHaveLength(2)
    })
  })

  it('a savepoint rolled back drops its own changes and keeps those made before it; a rolled-back transaction leaves nothing', async () => {
    await repo.transaction(async tx => {
      await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 1)
      await expect(tx.savepoint(async () => {
        await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 10)
        await tx.patchWorkUnit('job-1/wu-1', { wanted: 0 })
        expect(await unit(tx, 0)).toMatchObject({ in_progress: 11 })
        throw new Error('rolled back')
      })).rejects.toThrow('rolled back')
      expect(await unit(tx, 0)).toMatchObject({ in_progress: 1 })
      expect(await unit(tx, 1)).toMatchObject({ wanted: 2 })
      await tx.savepoint(async () => { await tx.addToWorkUnit('job-1/wu-1', 'in_progress', 3) })
    })
    await expect(repo.transaction(async tx => {
      await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 100)
      throw new Error('boom')
    })).rejects.toThrow('boom')
    const after = await repo.read(async tx => [await unit(tx, 0), await unit(tx, 1)])
    expect(after[0]).toMatchObject({ in_progress: 1 })
    expect(after[1]).toMatchObject({ in_progress: 3, wanted: 2 })
  })
})
