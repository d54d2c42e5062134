/**
 * A transaction's job-row writes are made at its commit (job-changes.ts), on both real stores:
 * `getJob` inside the transaction sees its queued counters and sets, another connection sees none
 * of them before COMMIT, a change function runs on the row as it is at the commit, and a savepoint
 * rolled back drops its changes. On PostgreSQL two hubs' transactions on one job run side by side
 * (neither waits for the other's job row before its commit), their counters add up, and the job
 * they finish between them is settled `complete` though each saw only its own unit assimilated.
 */
import { describe, expect, it } from 'vitest'
import { Transitioner } from '../src/hub/transitioner.ts'
import { bothStores } from './both-stores.ts'
import type { OpenedStore } from './both-stores.ts'
import type { HubRepository, RepoTx, WorkUnitRow } from '../src/hub/repository.ts'

const stores = bothStores('hub-job-changes-')

/** A running job of two units, each done (as if validated), none assimilated yet. */
async function seed (tx: RepoTx): Promise<void> {
  await tx.insertJob({ id: 'job-1', seq: 1, kernel: 'primes-sieve/1', quorum: 1, credit_per_ops: 1e-6, state: 'running', created_at_ms: 1_700_000_000_000, spec: '{}', output: '{"primes":0}', policy: 'replicate' })
  await tx.insertWorkUnits([0, 1].map(i => ({
    id: `job-1/wu-${i}`, job_id: 'job-1', job_seq: 1, idx: i, kernel: 'primes-sieve/1', input: new Uint8Array([i]), est_ops: 1000, credit: 0.001,
    memory_bytes: 1 << 27, deadline_ms: 61_000, quorum: 1, target_nresults: 1, wanted: 1
  })))
  await tx.patchJob('job-1', { wu_count: 2 })
  for (const i of [0, 1]) await tx.patchWorkUnit(`job-1/wu-${i}`, { state: 'done', wanted: 0 })
}

async function opened (open: () => Promise<OpenedStore>): Promise<{ repo: HubRepository, other: HubRepository }> {
  const { repo, second } = await open()
  await repo.transaction(seed)
  return { repo, other: await second() }
}

/** The unit's primes count folded into the job's output, as a kernel's assimilator would. */
const addPrimes = (n: number) => (output: string): string => JSON.stringify({ primes: (JSON.parse(output) as { primes: number }).primes + n })

for (const [kind, open] of stores) {
  describe(`job writes at the commit (${kind})`, () => {
    it('getJob sees the queued writes, another connection only the committed ones; a change function sees the row at the commit; a rolled-back savepoint drops its own', async () => {
      const { repo, other } = await opened(open)
      try {
        await repo.transaction(async tx => {
          await tx.addToJob('job-1', 'result_ops', 1000)
          await tx.addToJob('job-1', 'result_ops', 500)
          await tx.patchJob('job-1', { hold_reason: 'first' })
          await tx.addToJob('job-1', 'spot_checks', 1)
          tx.changeJobAtCommit('job-1', job => ({ output: JSON.stringify({ seen: job.result_ops }) }))
          await expect(tx.savepoint(async () => {
            await tx.addToJob('job-1', 'result_ops', 7)
            await tx.patchJob('job-1', { hold_reason: 'rolled back' })
            tx.changeJobAtCommit('job-1', () => ({ output: '"rolled back"' }))
            throw new Error('rolled back')
          })).rejects.toThrow('rolled back')
          await tx.patchJob('job-1', { probes: 3 })
          await tx.addToJob('job-1', 'probes', 2)
          expect(await tx.getJob('job-1')).toMatchObject({ result_ops: 1500, spot_checks: 1, hold_reason: 'first', probes: 5, output: '{"primes":0}' })
          expect(await other.read(async r => await r.getJob('job-1'))).toMatchObject({ result_ops: 0, spot_checks: 0, hold_reason: '', probes: 0 })
        })
        expect(await other.read(async r => await r.getJob('job-1'))).toMatchObject({ result_ops: 1500, spot_checks: 1, hold_reason: 'first', probes: 5, output: '{"seen":1500}' })
      } finally {
        await other.close()
        await repo.close()
      }
    })

    it('the last unit assimilated settles the job complete at the commit, its output folded from the stored one', async () => {
      const { repo, other } = await opened(open)
      const t = new Transitioner()
      try {
        for (const i of [0, 1]) {
          await repo.transaction(async tx => {
            const wu = await tx.getWorkUnit(`job-1/wu-${i}`) as WorkUnitRow
            await t.assimilated(tx, wu, addPrimes(10 + i))
            // settled at the commit, not before
            expect((await tx.getJob('job-1'))?.state).toBe('running')
          })
        }
        expect(await other.read(async r => await r.getJob('job-1'))).toMatchObject({ state: 'complete', wu_assimilated: 2, output: '{"primes":21}' })
      } finally {
        await other.close()
        await repo.close()
      }
    })

    if (kind === 'postgres') {
      it('two hubs\' transactions on one job run side by side; between them they finish the job, settled complete, counters and output summed', async () => {
        const { repo, other } = await opened(open)
        const t = new Transitioner()
        try {
          let release: () => void = () => {}
          const held = new Promise<void>(resolve => { release = resolve })
          let started: () => void = () => {}
          const firstStarted = new Promise<void>(resolve => { started = resolve })
          const first = repo.transaction(async tx => {
            await tx.addToJob('job-1', 'result_ops', 1000)
            await t.assimilated(tx, await tx.getWorkUnit('job-1/wu-0') as WorkUnitRow, addPrimes(10))
            started()
            await held
          })
          await firstStarted
          // the first transaction is open, its job writes queued; the second one commits meanwhile
          let timer: ReturnType<typeof setTimeout> | undefined
          await Promise.race([
            other.transaction(async tx => {
              await tx.addToJob('job-1', 'result_ops', 1000)
              await t.assimilated(tx, await tx.getWorkUnit('job-1/wu-1') as WorkUnitRow, addPrimes(11))
            }),
            new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('the second transaction waited for the first one\'s job row')) }, 10_000) })
          ]).finally(() => { clearTimeout(timer) })
          expect(await other.read(async r => await r.getJob('job-1'))).toMatchObject({ state: 'running', wu_assimilated: 1, result_ops: 1000, output: '{"primes":11}' })
          release()
          await first
          expect(await other.read(async r => await r.getJob('job-1'))).toMatchObject({ state: 'complete', wu_assimilated: 2, result_ops: 2000, output: '{"primes":21}' })
        } finally {
          await other.close()
          await repo.close()
        }
      })
    }
  })
}
