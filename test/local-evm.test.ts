/**
 * The journaled local EVM (local-evm.ts, issue 16): a chain that outlives its process. Real EDR,
 * real transactions through viem: a deployment, roots and claims are there again after a restart
 * (and after a SIGKILL right after a claim was acknowledged); a torn last line is dropped; a journal
 * that does not replay as recorded, or is another chain's, is refused; state setters are refused
 * on a journaled chain.
 */
import { spawn } from 'node:child_process'
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Address, Hex } from 'viem'
import { LocalEvm, LocalEvmJournalError } from '../src/hub/local-evm.ts'
import { PayoutContracts, deployPayoutContracts } from '../src/hub/payout-chain.ts'
import { payoutTree, proofFor } from '../src/protocol/payout.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { ensureContracts, ethAccount } from './payout-fixtures.ts'

const running: LocalEvm[] = []
afterEach(async () => { for (const e of running.splice(0)) await e.stop() })

async function started (opts: ConstructorParameters<typeof LocalEvm>[0]): Promise<LocalEvm> {
  const evm = new LocalEvm(opts)
  await evm.start()
  running.push(evm)
  return evm
}

async function stopped (evm: LocalEvm): Promise<void> {
  await evm.stop()
  running.splice(running.indexOf(evm), 1)
}

/** Post a root of one leaf (account, amount) as epoch `epoch`. */
async function postOneLeaf (c: PayoutContracts, key: Hex, epoch: number, account: Address, amount: bigint): Promise<Hex[]> {
  const tree = payoutTree([[account, amount]])
  await c.wait(await c.postRoot(key, { epoch, root: tree.root as Hex, ledgerSeq: epoch, chainHead: `0x${'ab'.repeat(32)}`, totalCumulative: amount }))
  return proofFor(tree, epoch, account)!.proof
}

async function rpcOverHttp (url: string, method: string, params: unknown[] = []): Promise<{ result?: unknown, error?: { code: number, message: string } }> {
  return await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json() as { result?: unknown, error?: { code: number, message: string } }
}

describe('journaled local EVM', () => {
  it('a restart replays deployment, roots and claims: same addresses, balances, claims and blocks; then goes on', async () => {
    ensureContracts()
    const dir = tempDir('sparecycles-evm-')
    const journalFile = join(dir, 'chain.jsonl')
    const operator = ethAccount()
    const volunteer = ethAccount()
    const first = await started({ fund: [operator.address], journalFile })
    const d = await deployPayoutContracts(first.url, operator.key)
    let c = new PayoutContracts(first.url, d)
    const proof = await postOneLeaf(c, operator.key, 1, volunteer.address, 7n * 10n ** 18n)
    const claimTx = await c.claim(operator.key, volunteer.address, 7n * 10n ** 18n, proof)
    const claimReceipt = await c.wait(claimTx)
    expect(claimReceipt.status).toBe('success')
    const blockBefore = await first.rpc('eth_blockNumber')
    const lines = readFileSync(journalFile, 'utf8').trim().split('\n')
    expect(lines.length).toBe(1 + 3)
    expect(JSON.parse(lines[0])).toMatchObject({ kind: 'genesis', chainId: 31337, fund: [operator.address] })
    await stopped(first)

    const second = await started({ fund: [operator.address], journalFile })
    expect(second.replayedTransactions).toBe(3)
    c = new PayoutContracts(second.url, d)
    await c.check()
    expect(await second.rpc('eth_blockNumber')).toBe(blockBefore)
    expect(await c.currentEpoch()).toBe(1)
    expect(await c.claimed(volunteer.address)).toBe(7n * 10n ** 18n)
    expect(await c.balanceOf(volunteer.address)).toBe(7n * 10n ** 18n)
    expect((await c.receipt(claimTx))?.blockNumber).toBe(claimReceipt.blockNumber)
    // a second claim of the same amount is still refused after the restart
    await expect(c.claim(operator.key, volunteer.address, 7n * 10n ** 18n, proof)).rejects.toMatchObject({ name: 'ContractRevertError', message: expect.stringMatching(/NothingToClaim/) })
    // and the chain goes on: epoch 2 raises the leaf, the claim pays the difference
    const proof2 = await postOneLeaf(c, operator.key, 2, volunteer.address, 10n * 10n ** 18n)
    await c.wait(await c.claim(operator.key, volunteer.address, 10n * 10n ** 18n, proof2))
    await stopped(second)

    const third = await started({ fund: [operator.address], journalFile })
    expect(third.replayedTransactions).toBe(5)
    c = new PayoutContracts(third.url, d)
    expect(await c.currentEpoch()).toBe(2)
    expect(await c.balanceOf(volunteer.address)).toBe(10n * 10n ** 18n)
  }, 60_000)

  it('a claim acknowledged just before SIGKILL is there after the restart', async () => {
    ensureContracts()
    const dir = tempDir('sparecycles-evm-kill-')
    const journalFile = join(dir, 'chain.jsonl')
    const operator = ethAccount()
    const volunteer = ethAccount()
    // the chain in a child process (as in a hub), killed as soon as the claim's answer arrives
    const script = `
      import { LocalEvm } from ${JSON.stringify(join(REPO_ROOT, 'src/hub/local-evm.ts'))}
      const evm = new LocalEvm({ fund: [${JSON.stringify(operator.address)}], journalFile: ${JSON.stringify(journalFile)} })
      process.stdout.write(await evm.start() + '\\n')
      setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); const m = /^(http\S+)\n/.exec(out); if (m != null) resolve(m[1]) })
      child.once('exit', code => { reject(new Error(`the chain exited with ${code}`)) })
    })
    try {
      const d = await deployPayoutContracts(url, operator.key)
      const c = new PayoutContracts(url, d)
      const proof = await postOneLeaf(c, operator.key, 1, volunteer.address, 3n)
      // the answer of eth_sendRawTransaction is the acknowledgement; kill at once
      const hash = await c.claim(operator.key, volunteer.address, 3n, proof)
      child.kill('SIGKILL')
      await new Promise(resolve => child.once('exit', resolve))
      const again = await started({ fund: [operator.address], journalFile })
      const after = new PayoutContracts(again.url, d)
      expect(again.replayedTransactions).toBe(3)
      expect((await after.receipt(hash))?.status).toBe('success')
      expect(await after.balanceOf(volunteer.address)).toBe(3n)
    } finally {
      child.kill('SIGKILL')
    }
  }, 60_000)

  it('a torn last line is dropped; an edited record, another chain or a changed genesis is refused', async () => {
    ensureContracts()
    const dir = tempDir('sparecycles-evm-bad-')
    const journalFile = join(dir, 'chain.jsonl')
    const operator = ethAccount()
    const first = await started({ fund: [operator.address], journalFile })
    await deployPayoutContracts(first.url, operator.key)
    await stopped(first)
    const good = readFileSync(journalFile, 'utf8')

    // a crash in the middle of a write: the partial line goes, the rest replays
    appendFileSync(journalFile, '{"kind":"tx","block":2,"times')
    const torn = await started({ fund: [operator.address], journalFile })
    expect(torn.replayedTransactions).toBe(1)
    expect(statSync(journalFile).size).toBe(Buffer.byteLength(good))
    await stopped(torn)

    const [genesis, tx] = good.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    const write = (records: unknown[]): void => { writeFileSync(journalFile, records.map(r => JSON.stringify(r) + '\n').join('')) }
    write([genesis, { ...tx, block: 7 }])
    await expect(new LocalEvm({ fund: [operator.address], journalFile }).start()).rejects.toThrow(/replays into block 1 \(success\), not block 7/)
    write([genesis, { ...tx, status: 'reverted' }])
    await expect(new LocalEvm({ fund: [operator.address], journalFile }).start()).rejects.toBeInstanceOf(LocalEvmJournalError)
    write([genesis, { ...tx, raw: '0x02' }])
    await expect(new LocalEvm({ fund: [operator.address], journalFile }).start()).rejects.toBeInstanceOf(LocalEvmJournalError)
    write([genesis, tx])
    await expect(new LocalEvm({ fund: [operator.address], journalFile, chainId: 5 }).start()).rejects.toThrow(/is chain 31337, not 5/)
    await expect(new LocalEvm({ fund: [operator.address, ethAccount().address], journalFile }).start()).rejects.toThrow(/genesis does not fund/)
    writeFileSync(journalFile, 'not json\n' + good)
    await expect(new LocalEvm({ fund: [operator.address], journalFile }).start()).rejects.toThrow(/line 1 is not JSON/)
  }, 60_000)

  it('a journaled chain refuses state setters over JSON-RPC; a chain without a journal allows them', async () => {
    const dir = tempDir('sparecycles-evm-methods-')
    const target = ethAccount().address
    const journaled = await started({ journalFile: join(dir, 'chain.jsonl') })
    for (const [method, params] of [['hardhat_setBalance', [target, '0x1']], ['evm_mine', []], ['evm_revert', ['0x1']], ['hardhat_impersonateAccount', [target]]] as const) {
      const r = await rpcOverHttp(journaled.url, method, [...params])
      expect(r.error?.code, method).toBe(-32601)
      expect(r.error?.message).toMatch(/^LocalEvmMethodError: /)
    }
    expect((await rpcOverHttp(journaled.url, 'eth_getBalance', [target, 'latest'])).result).toBe('0x0')
    const plain = await started({})
    expect((await rpcOverHttp(plain.url, 'hardhat_setBalance', [target, '0x1'])).error).toBeUndefined()
    expect((await rpcOverHttp(plain.url, 'eth_getBalance', [target, 'latest'])).result).toBe('0x1')
  }, 30_000)
})
