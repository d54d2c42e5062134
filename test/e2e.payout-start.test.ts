/**
 * `sparecycles start` (what `npm start` runs) with its embedded payouts (issue 16), as a user meets
 * it: the hub process starts a local EVM beside itself and deploys the contracts; two Chromium
 * visitors earn credit on the demo job and bind addresses on the page; the hub's schedule posts the
 * epoch (nobody runs `payout epoch`); the page shows claimed and claimable; a claim sent with the
 * CLI pays exactly the credit. Then the hub is SIGKILLed and started again on the same data dir:
 * the chain is the same (distributor, epoch, the claim made, the tokens held), the second visitor
 * claims on it, a repeated claim is refused, and `payout verify` passes.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../src/cli/chromium.ts'
import { PayoutContracts } from '../src/hub/payout-chain.ts'
import type { PayoutDeployment } from '../src/hub/payout-chain.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT } from '../src/protocol/payout.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { ensureContracts, ethAccount } from './payout-fixtures.ts'
import { freePort, kill, startHubProcess } from './hub-process.ts'
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

async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : -1), stdout, stderr })
    })
  })
}

interface Payouts {
  chain: { kind: string, rpcUrl: string, distributor: Address, chainId: number, epochIntervalMs: number } | null
  epochs: Array<{ epoch: number, status: string, root: string, addresses: number, totalTokenUnits: string, ledgerSeq: number }>
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

    // two visitors (quorum 2 needs two) finish the demo job
    browser = await launchChromium()
    const pages: Page[] = []
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage()
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

    const claim1 = await cli('payout', 'claim', '--hub', hub.url, '--rpc', rpc, '--address', accounts[1].address, '--key', gasKey)
    expect(claim1.code, claim1.stderr).toBe(0)
    const amount1 = BigInt((JSON.parse(claim1.stdout) as { amount: string }).amount)
    expect(amount0 + amount1).toBe(BigInt(epoch.totalTokenUnits))
    const twice = await cli('payout', 'claim', '--hub', hub.url, '--rpc', rpc, '--address', accounts[0].address, '--key', gasKey)
    expect(twice.code).toBe(2)
    expect(twice.stderr).toMatch(/NothingToClaim/)
    const audit = await cli('payout', 'verify', '--hub', hub.url, '--rpc', rpc)
    expect(audit.code, audit.stdout + audit.stderr).toBe(0)
  }, 300_000)
})
