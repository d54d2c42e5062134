/**
 * `sparecycles payout epoch` is crash-safe and idempotent: the CLI runs as a child process that the
 * crash hook (SPARECYCLES_PAYOUT_CRASH_AT) ends at each step — after the intent is stored, after
 * the root is sent but before its hash is stored, after the hash is stored — and a re-run finishes
 * the same epoch: none skipped, none posted twice (the distributor's RootPosted events are counted).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PAYOUT_CRASH_ENV, PAYOUT_CRASH_EXIT_CODE } from '../src/hub/payout-epochs.ts'
import type { PayoutCrashPoint } from '../src/hub/payout-epochs.ts'
import { loadArtifact } from '../src/hub/payout-chain.ts'
import { REPO_ROOT } from './helpers.ts'
import { type PayoutWorld, bind, ethAccount, payoutWorld, volunteer } from './payout-fixtures.ts'

const worlds: PayoutWorld[] = []
afterEach(async () => { for (const w of worlds.splice(0)) await w.close() })

/** Run `sparecycles payout epoch` on the world's data dir; resolves with its exit code and output. */
async function epochCli (w: PayoutWorld, crashAt?: PayoutCrashPoint, extra: string[] = []): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'payout', 'epoch', '--data-dir', w.dir, ...extra], {
      cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, [PAYOUT_CRASH_ENV]: crashAt ?? '' }
    }, (err, stdout, stderr) => { resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : -1), stdout, stderr }) })
  })
}

async function rootPostedCount (w: PayoutWorld): Promise<number> {
  return (await w.contracts.pub.getContractEvents({ address: w.deployment.distributor, abi: loadArtifact('PayoutDistributor').abi, eventName: 'RootPosted', fromBlock: 0n, toBlock: 'latest' })).length
}

describe('payout epoch: crash at every step, then re-run', () => {
  it('after-intent, after-send and after-posted each end in one confirmed epoch on chain, and a run with nothing new posts nothing', async () => {
    const w = await payoutWorld()
    worlds.push(w)
    const v = await volunteer()
    // a peer binds once it has credit here
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/first', replicaId: 'j/first/r0', credit: 1, grantedAtMs: w.clock.now }) })
    await bind(w, v, ethAccount().address)
    const points: PayoutCrashPoint[] = ['after-intent', 'after-send', 'after-posted']
    for (const [i, point] of points.entries()) {
      await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: `j/${i}`, replicaId: `j/${i}/r0`, credit: i + 1, grantedAtMs: w.clock.now }) })
      const crashed = await epochCli(w, point)
      expect(crashed.code, crashed.stderr).toBe(PAYOUT_CRASH_EXIT_CODE)
      const stored = await w.core.repo.read(async tx => await tx.payoutEpochs())
      expect(stored.at(-1)).toMatchObject({ epoch: i + 1, status: point === 'after-posted' ? 'posted' : 'intent' })
      expect(await w.contracts.currentEpoch()).toBe(point === 'after-intent' ? i : i + 1)

      const rerun = await epochCli(w)
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(JSON.parse(rerun.stdout)).toMatchObject({ action: 'resumed', epoch: i + 1, status: 'confirmed' })
      const rows = await w.core.repo.read(async tx => await tx.payoutEpochs())
      expect(rows.map(r => r.status)).toEqual(Array(i + 1).fill('confirmed'))
      expect(rows[i].tx_hash).toMatch(/^0x[0-9a-f]{64}$/)
      expect(rows[i].block_number).toBeGreaterThan(0)
      expect(await w.contracts.currentEpoch()).toBe(i + 1)
      expect(await rootPostedCount(w)).toBe(i + 1)
      expect((await w.contracts.epoch(i + 1)).root).toBe(rows[i].root)
    }
    const idle = await epochCli(w)
    expect(idle.code, idle.stderr).toBe(0)
    expect(JSON.parse(idle.stdout)).toMatchObject({ action: 'unchanged', epoch: 3 })
    expect(await rootPostedCount(w)).toBe(3)
    // cumulative: 1 + (1 + 2 + 3) credits
    expect((await w.contracts.epoch(3)).totalCumulative).toBe(7n * 10n ** 18n)
  }, 120_000)

  it('on a chain that does not mine at once, a crash after sending never leads to a second root transaction', async () => {
    const w = await payoutWorld()
    worlds.push(w)
    const v = await volunteer()
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1, grantedAtMs: w.clock.now }) })
    await bind(w, v, ethAccount().address)
    await w.evm.rpc('evm_setAutomine', [false])
    for (const point of ['after-send', 'after-posted'] as const) {
      if (point === 'after-posted') {
        await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/1', replicaId: 'j/1/r0', credit: 2, grantedAtMs: w.clock.now }) })
      }
      const epoch = point === 'after-send' ? 1 : 2
      expect((await epochCli(w, point)).code).toBe(PAYOUT_CRASH_EXIT_CODE)
      // the root is in a pending transaction: a re-run refuses to send another
      const early = await epochCli(w, undefined, ['--receipt-timeout-s', '2'])
      expect(early.code, early.stderr).toBe(2)
      expect(early.stderr).toMatch(/not mined yet/)
      expect(await w.contracts.currentEpoch()).toBe(epoch - 1)
      await w.evm.rpc('evm_mine')
      const rerun = await epochCli(w)
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(JSON.parse(rerun.stdout)).toMatchObject({ action: 'resumed', epoch, status: 'confirmed' })
      expect(await rootPostedCount(w)).toBe(epoch)
      expect(await w.contracts.currentEpoch()).toBe(epoch)
    }
  }, 120_000)
})
