/**
 * The payout commands as a user runs them (child processes of `sparecycles`), against a hub's HTTP
 * API and a real local EVM: `payout bind` with a CLI volunteer key, `payout epoch`, `payout claim`
 * with a gas-paying key file, `payout verify`; and their refusals (a malformed address, a claim
 * made twice).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { initResearcherKey } from '../src/cli/researcher-key.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT } from '../src/protocol/payout.ts'
import { runCli } from './hub-process.ts'
import { type PayoutWorld, ethAccount, payoutWorld } from './payout-fixtures.ts'

const worlds: PayoutWorld[] = []
afterEach(async () => { for (const w of worlds.splice(0)) await w.close() })

const cli = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => await runCli(args)

describe('sparecycles payout (CLI)', () => {
  it('bind, epoch, claim, verify; a malformed address and a second claim are refused', async () => {
    const w = await payoutWorld({ http: true })
    worlds.push(w)
    // the hub's clock is the real one here: the CLI signs bindings with Date.now()
    w.clock.now = Date.now()
    const keyFile = join(w.dir, 'volunteer.key')
    const { peerId } = await initResearcherKey(keyFile)
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 2.5, grantedAtMs: w.clock.now }) })
    const hub = w.httpUrl as string
    const account = ethAccount()

    const bad = await cli('payout', 'bind', '--hub', hub, '--key', keyFile, '--address', account.address.toLowerCase().slice(0, 41))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/not an Ethereum address/)

    const bound = await cli('payout', 'bind', '--hub', hub, '--key', keyFile, '--address', account.address)
    expect(bound.code, bound.stderr).toBe(0)
    expect(JSON.parse(bound.stdout)).toMatchObject({ peerId, address: account.address, seq: 2 })

    const epoch = await cli('payout', 'epoch', '--data-dir', w.dir)
    expect(epoch.code, epoch.stderr).toBe(0)
    expect(JSON.parse(epoch.stdout)).toMatchObject({ action: 'posted', epoch: 1, status: 'confirmed', totalTokenUnits: (25n * 10n ** 17n).toString() })

    const gasKey = join(w.dir, 'gas.key')
    writeFileSync(gasKey, `${w.relayer.key}\n`, { mode: 0o600 })
    const claim = await cli('payout', 'claim', '--hub', hub, '--rpc', w.evm.url, '--address', account.address, '--key', gasKey)
    expect(claim.code, claim.stderr).toBe(0)
    expect(JSON.parse(claim.stdout)).toMatchObject({ epoch: 1, account: account.address, amount: (BigInt(2.5e9) * TOKEN_UNITS_PER_CREDIT_UNIT).toString() })
    expect(await w.contracts.balanceOf(account.address)).toBe(25n * 10n ** 17n)

    const again = await cli('payout', 'claim', '--hub', hub, '--rpc', w.evm.url, '--address', account.address, '--key', gasKey)
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/NothingToClaim/)

    const verify = await cli('payout', 'verify', '--hub', hub, '--rpc', w.evm.url, '--distributor', w.deployment.distributor)
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(/^VERIFIED/m)
    expect(verify.stdout).toMatch(/epoch 1 ok/)
  }, 120_000)
})
