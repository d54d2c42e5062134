/**
 * The hub's payout service: a local chain on a port in use is refused by name; on "a real chain" (`--rpc`; here a separate local EVM stands in for one):
 * it refuses to start without a deployment, on another chain id, or with another operator key; with
 * them it posts an epoch on its schedule once the ledger has grown, and nothing while it has not.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { PayoutService } from '../src/hub/payout-service.ts'
import { DEPLOYMENT_FILE, PayoutChainError } from '../src/hub/payout-chain.ts'
import { bind, ethAccount, payoutWorld, volunteer, workAll } from './payout-fixtures.ts'
import type { PayoutWorld } from './payout-fixtures.ts'

const worlds: PayoutWorld[] = []
const services: PayoutService[] = []
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  for (const w of worlds.splice(0)) await w.close()
})

describe('payout service', () => {
  it('refuses a missing deployment, another chain id and another operator key, by name', async () => {
    const w = await payoutWorld()
    worlds.push(w)
    const rpc = { kind: 'rpc' as const, rpcUrl: w.evm.url }
    await expect(new PayoutService({ dataDir: w.dir, repo: w.core.repo, chain: { ...rpc, chainId: 5 } }).start()).rejects.toThrow(/names chain 31337, not --chain-id 5/)
    const otherKey = join(w.dir, 'other.key')
    writeFileSync(otherKey, `${ethAccount().key}\n`, { mode: 0o600 })
    await expect(new PayoutService({ dataDir: w.dir, repo: w.core.repo, chain: rpc, operatorKeyFile: otherKey }).start()).rejects.toThrow(/operator is 0x[0-9a-fA-F]{40}, the operator key is/)
    rmSync(join(w.dir, DEPLOYMENT_FILE))
    const missing = new PayoutService({ dataDir: w.dir, repo: w.core.repo, chain: rpc }).start()
    await expect(missing).rejects.toBeInstanceOf(PayoutChainError)
    await expect(missing).rejects.toThrow(/sparecycles payout deploy/)
  }, 60_000)

  it('a local chain on a port in use is refused with PayoutChainError naming --evm-port', async () => {
    const w = await payoutWorld()
    worlds.push(w)
    const port = Number(new URL(w.evm.url).port)
    const taken = new PayoutService({ dataDir: w.dir, repo: w.core.repo, chain: { kind: 'local', port } }).start()
    await expect(taken).rejects.toBeInstanceOf(PayoutChainError)
    await expect(taken).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is in use .*--evm-port/)
  }, 60_000)

  it('posts an epoch on its schedule when the ledger grows, and none while it does not', async () => {
    const w = await payoutWorld()
    worlds.push(w)
    const job = await w.core.createPrimesJob({ from: 0, to: 4e5, unit: 1e5, quorum: 1 }, { policy: 'replicate' })
    const v = await volunteer()
    await workAll(w.core, [v], w.clock)
    expect((await w.core.jobStatus(job.id))?.state).toBe('complete')
    const service = new PayoutService({ dataDir: w.dir, repo: w.core.repo, chain: { kind: 'rpc', rpcUrl: w.evm.url, chainId: 31337 }, epochIntervalMs: 200 })
    services.push(service)
    const info = await service.start()
    expect(info).toMatchObject({ kind: 'rpc', rpcUrl: w.evm.url, distributor: w.deployment.distributor, epochIntervalMs: 200 })
    // credit but no binding: nothing to pay, no epoch
    await new Promise(resolve => setTimeout(resolve, 700))
    expect(await w.contracts.currentEpoch()).toBe(0)
    const account = ethAccount()
    await bind(w, v, account.address)
    await expect.poll(async () => await w.contracts.currentEpoch(), { timeout: 10_000, interval: 100 }).toBe(1)
    const epochs = await w.api.epochs()
    expect(epochs.map(e => e.status)).toEqual(['confirmed'])
    expect(await service.claimed(account.address)).toBe(0n)
    // the ledger does not grow: later ticks post nothing
    await new Promise(resolve => setTimeout(resolve, 700))
    expect(await w.contracts.currentEpoch()).toBe(1)
    expect((await w.api.epochs()).length).toBe(1)
  }, 60_000)
})
