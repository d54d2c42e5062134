/**
 * `sparecycles start` (what `npm start` runs) with its embedded payouts (issue 16), as a user meets
 * it: the hub process starts a local EVM beside itself and deploys the contracts; two Chromium
 * visitors earn credit on the demo job and bind addresses on the page; the hub's schedule posts the
 * epoch (nobody runs `payout epoch`); the page shows claimed and claimable; a claim sent with the
 * CLI pays exactly the credit. Then the hub is SIGKILLed and started again on the same data dir:
 * the chain is the same (distributor, epoch, the claim made, the tokens held), the second visitor
 * claims on it with the page's Claim button through an injected wallet (an EIP-1193 provider the
 * test puts in the page: it holds its own key and signs, the page never sees it), a repeated claim
 * is refused, and `payout verify` passes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createWalletClient, http } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../src/cli/chromium.ts'
import { PayoutContracts, chainFor, readKeyFile } from '../src/hub/payout-chain.ts'
import type { PayoutDeployment } from '../src/hub/payout-chain.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT } from '../src/protocol/payout.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { ensureContracts, ethAccount } from './payout-fixtures.ts'
import { freePort, kill, runCli, startHubProcess } from './hub-process.ts'
import type { RunningChild } from './hub-process.ts'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let browser: Browser | undefined
let hub: RunningChild | undefined

afterAll(async () => {
  await browser?.close()
  if (hub != null) await kill(hub)
})

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

const cli = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => await runCli(args)

interface Payouts {
  chain: { kind: string, rpcUrl: string, distributor: Address, chainId: number, epochIntervalMs: number } | null
  epochs: Array<{ epoch: number, status: string, root: string, addresses: number, totalTokenUnits: string, ledgerSeq: number }>
}

/**
 * A wallet for the page: `window.ethereum.request` goes to `handle` in the test, which answers
 * account requests with the wallet's own account, signs and sends eth_sendTransaction with its key,
 * and passes every other call to the chain's JSON-RPC.
 */
async function injectWallet (context: import('playwright-core').BrowserContext, rpcUrl: () => string, key: () => Hex): Promise<{ sent: Hex[] }> {
  const sent: Hex[] = []
  await context.exposeFunction('testWalletRequest', async (method: string, params: unknown[]): Promise<unknown> => {
    const account = privateKeyToAccount(key())
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account.address]
    if (method === 'eth_sendTransaction') {
      const tx = params[0] as { from: Address, to: Address, data: Hex }
      if (tx.from.toLowerCase() !== account.address.toLowerCase()) throw new Error(`the wallet holds ${account.address}, not ${tx.from}`)
      const wallet = createWalletClient({ account, chain: chainFor(31337, rpcUrl()), transport: http(rpcUrl()) })
      const hash = await wallet.sendTransaction({ to: tx.to, data: tx.data })
      sent.push(hash)
      return hash
    }
    const res = await (await fetch(rpcUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json() as { result?: unknown, error?: { message: string } }
    if (res.error != null) throw new Error(res.error.message)
    return res.result
  })
  await context.addInitScript(() => {
    const call = (window as unknown as { testWalletRequest: (m: string, p: unknown[]) => Promise<unknown> }).testWalletRequest
    ;(window as unknown as { ethereum: unknown }).ethereum = {
      request: async ({ method, params }: { method: string, params?: unknown[] }) => await call(method, params ?? []),
      on: () => {},
      removeListener: () => {}
    }
  })
  return { sent }
}

async function payouts (h: RunningChild): Promise<Payouts> {
  return await (await fetch(new URL('/api/payouts', h.url))).json() as Payouts
}

describe('npm start: the hub with its local EVM and scheduled epochs', () => {
  it('visitors bind, the schedule posts the epoch, claims pay the credit; after SIGKILL and restart the chain is the same', async () => {
    expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
    ensureContracts()
    const dataDir = tempDir('sparecycles-start-payout-')
    const [port, wsPort, evmPort] = await Promise.all([0, 1, 2].map(freePort))
    const args = ['start', '--data-dir', dataDir, '--port', String(port), '--ws-port', String(wsPort), '--evm-port', String(evmPort),
      '--from', '0', '--to', '2e7', '--unit', '1e7', '--epoch-every-s', '1', '--log-format', 'json']
    hub = await startHubProcess(args)
    expect(hub.startOutput).toMatch(/payout: local EVM at http:\/\/127\.0\.0\.1:\d+ \(chain 31337\), a new chain/)
    const first = await payouts(hub)
    expect(first.chain).toMatchObject({ kind: 'local', rpcUrl: `http://127.0.0.1:${evmPort}`, chainId: 31337, epochIntervalMs: 1000 })
    const deployment = JSON.parse(readFileSync(join(dataDir, 'payout-chain.json'), 'utf8')) as PayoutDeployment
    expect(deployment.distributor).toBe(first.chain?.distributor)
    const rpc = first.chain!.rpcUrl

    // two visitors (quorum 2 needs two) finish the demo job; the second has a wallet in its browser
    // (it holds the operator's funded key here: the only account with ETH on the local chain)
    browser = await launchChromium()
    const pages: Page[] = []
    let walletSent: Hex[] = []
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext()
      if (i === 1) walletSent = (await injectWallet(context, () => rpc, () => readKeyFile(join(dataDir, 'payout-operator.key')))).sent
      const page = await context.newPage()
      await page.goto(`${hub.url}?workers=1`)
      await page.waitForSelector('body[data-ready="true"]')
      await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
      await page.getByRole('button', { name: 'Start' }).click()
      pages.push(page)
    }
    const jobs = async (): Promise<Array<{ id: string, state: string, credit: Record<string, number> }>> => await (await fetch(new URL('/api/jobs', hub!.url))).json() as Array<{ id: string, state: string, credit: Record<string, number> }>
    await expect.poll(async () => (await jobs())[0]?.state, { timeout: 180_000, interval: 500 }).toBe('complete')
    for (const page of pages) await page.getByRole('button', { name: 'Stop' }).click()
    const jobCredit = Object.values((await jobs())[0].credit)
    expect(jobCredit.length).toBe(2)

    // each binds an address on the page; nobody runs an epoch: the hub's schedule does
    const accounts = pages.map(() => ethAccount())
    for (const [i, page] of pages.entries()) {
      await expect.poll(async () => readField(page, 'creditGranted'), { timeout: 30_000 }).not.toBe('0')
      await page.fill('#payout-address', accounts[i].address)
      await page.getByRole('button', { name: 'Bind address' }).click()
      await expect.poll(async () => (await page.textContent('#payout-status')) ?? '', { timeout: 20_000 }).toMatch(/^Bound: /)
    }
    await expect.poll(async () => (await payouts(hub!)).epochs.filter(e => e.status === 'confirmed').at(-1)?.addresses, { timeout: 30_000, interval: 500 }).toBe(2)
    const epoch = (await payouts(hub)).epochs.at(-1)!
    // the epoch commits exactly the job's credit × rate (the job's public credit, per volunteer)
    expect(BigInt(epoch.totalTokenUnits)).toBe(jobCredit.reduce((s, c) => s + BigInt(toCreditUnits(c)), 0n) * TOKEN_UNITS_PER_CREDIT_UNIT)

    // the page: tokens earned, nothing claimed yet, all of it claimable
    const show = async (page: Page): Promise<void> => { await page.getByRole('button', { name: 'Show claimable tokens' }).click() }
    await show(pages[0])
    await expect.poll(async () => readField(pages[0], 'payoutClaimed'), { timeout: 20_000 }).toBe('0 SPARE')
    // no wallet in the first visitor's browser: no Claim button, the transaction data only
    expect(await pages[0].isHidden('#payout-claim')).toBe(true)
    const tokens0 = (await readField(pages[0], 'payoutTokens')).replace(/ SPARE$/, '')
    expect(await readField(pages[0], 'payoutClaimable')).toBe(`${tokens0} SPARE`)
    expect(Number(tokens0).toLocaleString('en-US', { maximumFractionDigits: 3 })).toBe(await readField(pages[0], 'creditGranted'))

    // a claim with the CLI; the operator's key pays the gas, the tokens go to the visitor's address
    const gasKey = join(dataDir, 'payout-operator.key')
    const claim0 = await cli('payout', 'claim', '--hub', hub.url, '--rpc', rpc, '--address', accounts[0].address, '--key', gasKey)
    expect(claim0.code, claim0.stderr).toBe(0)
    const amount0 = BigInt((JSON.parse(claim0.stdout) as { amount: string }).amount)
    expect(amount0).toBeGreaterThan(0n)
    const contracts = new PayoutContracts(rpc, deployment)
    expect(await contracts.balanceOf(accounts[0].address)).toBe(amount0)
    await expect.poll(async () => { await show(pages[0]); return await readField(pages[0], 'payoutClaimable') }, { timeout: 20_000, interval: 1000 }).toBe('0 SPARE')
    expect(await readField(pages[0], 'payoutClaimed')).toBe(`${tokens0} SPARE`)

    // SIGKILL, then the same command again: the chain comes back from its journal
    await kill(hub)
    hub = await startHubProcess(args)
    expect(hub.startOutput).toMatch(/payout: local EVM at http:\/\/127\.0\.0\.1:\d+ \(chain 31337\), [1-9]\d* transactions replayed/)
    expect(hub.startOutput).not.toMatch(/deployed distributor/)
    const again = await payouts(hub)
    expect(again.chain?.distributor).toBe(deployment.distributor)
    expect(again.epochs.at(-1)).toMatchObject({ epoch: epoch.epoch, root: epoch.root, status: 'confirmed' })
    const after = new PayoutContracts(rpc, deployment)
    expect(await after.currentEpoch()).toBe(epoch.epoch)
    expect(await after.claimed(accounts[0].address)).toBe(amount0)
    expect(await after.balanceOf(accounts[0].address)).toBe(amount0)

    // the second visitor claims from the page with its wallet, on the restarted chain
    await show(pages[1])
    await expect.poll(async () => await pages[1].isVisible('#payout-claim'), { timeout: 20_000 }).toBe(true)
    const tokens1 = (await readField(pages[1], 'payoutTokens')).replace(/ SPARE$/, '')
    expect(await readField(pages[1], 'payoutClaimable')).toBe(`${tokens1} SPARE`)
    await pages[1].getByRole('button', { name: 'Claim with my wallet' }).click()
    await expect.poll(async () => (await pages[1].textContent('#payout-status')) ?? '', { timeout: 30_000 }).toMatch(/^Claim sent: transaction 0x[0-9a-f]{64}\./)
    expect(walletSent).toHaveLength(1)
    expect((await after.wait(walletSent[0])).status).toBe('success')
    const amount1 = await after.balanceOf(accounts[1].address)
    expect(amount0 + amount1).toBe(BigInt(epoch.totalTokenUnits))
    expect(await after.claimed(accounts[1].address)).toBe(amount1)
    const twice = await cli('payout', 'claim', '--hub', hub.url, '--rpc', rpc, '--address', accounts[0].address, '--key', gasKey)
    expect(twice.code).toBe(2)
    expect(twice.stderr).toMatch(/NothingToClaim/)
    const audit = await cli('payout', 'verify', '--hub', hub.url, '--rpc', rpc)
    expect(audit.code, audit.stdout + audit.stderr).toBe(0)
  }, 300_000)
})
