/**
 * End to end, as a visitor (issue 16): a real hub serves the built page, a headless Chromium tab
 * earns credit on a small primes job, types an address into the Token payout section and presses
 * Bind (its key signs the binding); the hub's operator posts an epoch to a real local EVM; the page
 * shows the tokens and the claim transaction, which a relayer sends as the page shows it; the
 * address then holds exactly the page's credit × 10^18 token units.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWalletClient, http } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { startHub } from '../src/hub/hub.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { PayoutContracts, chainFor, deployPayoutContracts, loadOrCreateOperatorKey } from '../src/hub/payout-chain.ts'
import { LocalEvm } from '../src/hub/local-evm.ts'
import { runPayoutEpoch } from '../src/hub/payout-epochs.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT } from '../src/protocol/payout.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { ensureContracts, ethAccount } from './payout-fixtures.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let hub: RunningHub
let browser: Browser
let evm: LocalEvm
let dataDir: string

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
  ensureContracts()
  dataDir = tempDir('sparecycles-e2e-payout-')
  hub = await startHub({ dataDir, staticDir: STATIC_DIR })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
  await evm?.stop()
})

describe('visitor page: token payout', () => {
  it('earns credit, binds an address from the page, and the claim the page shows pays exactly the credit', async () => {
    const operatorKey = loadOrCreateOperatorKey(dataDir)
    const relayer = ethAccount()
    evm = new LocalEvm({ fund: [privateKeyToAccount(operatorKey).address, relayer.address] })
    const rpc = await evm.start()
    const deployment = await deployPayoutContracts(rpc, operatorKey)
    const contracts = new PayoutContracts(rpc, deployment)

    const job = await hub.core.createPrimesJob({ from: 0, to: 4e7, unit: 1e7, quorum: 1 }, { policy: 'replicate' })
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${hub.url}?workers=1`)
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => readField(page, 'connection'), { timeout: 20_000 }).toBe('connected')
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 120_000, interval: 500 }).toBe('complete')
    await page.getByRole('button', { name: 'Stop' }).click()
    const peerId = await readField(page, 'peerId')
    const credit = await hub.core.ledgerBalance(peerId)
    expect(credit).toBeGreaterThan(0)

    // a malformed address is refused on the page, before anything is sent
    const address = ethAccount().address
    await page.fill('#payout-address', address.toLowerCase().replace(/^0x/, '0X'))
    await page.getByRole('button', { name: 'Bind address' }).click()
    await expect.poll(async () => (await page.textContent('#payout-status')) ?? '').toMatch(/^Not bound: .*not an Ethereum address/)
    await page.fill('#payout-address', address)
    await page.getByRole('button', { name: 'Bind address' }).click()
    await expect.poll(async () => (await page.textContent('#payout-status')) ?? '', { timeout: 20_000 }).toMatch(/^Bound: credit of this key goes to /)

    // before an epoch: nothing to claim
    await page.getByRole('button', { name: 'Show claimable tokens' }).click()
    await expect.poll(async () => (await page.textContent('#payout-status')) ?? '').toMatch(/^Nothing to claim: NotInPayoutTreeError/)

    const r = await runPayoutEpoch({ repo: hub.core.repo, contracts, operatorKey })
    expect(r.epoch.status).toBe('confirmed')
    await page.getByRole('button', { name: 'Show claimable tokens' }).click()
    await expect.poll(async () => readField(page, 'payoutTokens'), { timeout: 20_000 }).toBe(`${credit} SPARE`)
    expect(await readField(page, 'payoutTo')).toBe(deployment.distributor)
    expect(await readField(page, 'payoutChain')).toBe(String(deployment.chainId))
    const data = await page.inputValue('#payout-data') as Hex
    expect(data).toMatch(/^0x[0-9a-f]+$/)
    // no wallet in this browser: the page offers the transaction data only
    expect(await page.isHidden('#payout-claim')).toBe(true)
    // for a person to look at (build/ is not committed)
    mkdirSync(join(REPO_ROOT, 'build', 'screens'), { recursive: true })
    await page.locator('#payout').screenshot({ path: join(REPO_ROOT, 'build', 'screens', 'payout.png') })

    // a relayer sends the transaction exactly as the page shows it
    const wallet = createWalletClient({ account: privateKeyToAccount(relayer.key), chain: chainFor(deployment.chainId, rpc), transport: http(rpc) })
    const hash = await wallet.sendTransaction({ to: deployment.distributor, data })
    expect((await contracts.wait(hash)).status).toBe('success')
    expect(await contracts.balanceOf(address as Address)).toBe(BigInt(toCreditUnits(credit)) * TOKEN_UNITS_PER_CREDIT_UNIT)
  }, 200_000)
})
