/**
 * `npm run demo -- --payout`: after the demo job, pay the tabs' credit out as tokens on a local EVM
 * the way a visitor would. A local EVM (EDR) starts with the token and distributor deployed by the
 * hub's operator key; each tab types a fresh address into its Token payout section and presses
 * Bind (its own key signs); the hub posts an epoch; each tab shows its claim, which a relayer
 * account sends as shown; then every address must hold exactly its tab's credit × 10^18 token
 * units, and the audit (payout verify) must pass.
 */
import type { Hex } from 'viem'
import { createWalletClient, http } from 'viem'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import type { Page } from 'playwright-core'
import type { RunningHub } from '../hub/hub.ts'
import { PayoutContracts, chainFor, deployPayoutContracts, loadOrCreateOperatorKey } from '../hub/payout-chain.ts'
import { LocalEvm } from '../hub/local-evm.ts'
import { runPayoutEpoch } from '../hub/payout-epochs.ts'
import { toCreditUnits } from '../protocol/credit.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT } from '../protocol/payout.ts'
import { auditPayouts } from './payout-verify.ts'

/** What the payout step did. */
export interface DemoPayout {
  rpcUrl: string
  distributor: string
  epoch: number
  root: string
  /** Per tab: its peer id, the address it bound, its credit and the token units the address holds after its claim. */
  claims: Array<{ peerId: string, address: string, credit: number, tokenUnits: string, gasUsed: number }>
  postRootGas: number
  auditOk: boolean
}

/**
 * Run the payout step on the demo's hub and tabs (the job is over).
 * @returns the summary and the checks that failed (empty when all passed)
 */
export async function runDemoPayout (hub: RunningHub, pages: Page[], dataDir: string, log: (line: string) => void): Promise<{ payout: DemoPayout, failures: string[] }> {
  const failures: string[] = []
  const operatorKey = loadOrCreateOperatorKey(dataDir)
  const relayer = generatePrivateKey()
  const evm = new LocalEvm({ fund: [privateKeyToAccount(operatorKey).address, privateKeyToAccount(relayer).address] })
  try {
    const rpcUrl = await evm.start()
    const deployment = await deployPayoutContracts(rpcUrl, operatorKey)
    const contracts = new PayoutContracts(rpcUrl, deployment)
    log(`payout: local EVM ${rpcUrl}, distributor ${deployment.distributor}, token ${deployment.token}`)
    const tabs: Array<{ page: Page, peerId: string, address: string }> = []
    for (const page of pages) {
      const address = privateKeyToAccount(generatePrivateKey()).address
      const peerId = (await page.textContent('[data-field="peerId"]'))?.trim() ?? ''
      await page.fill('#payout-address', address)
      await page.getByRole('button', { name: 'Bind address' }).click()
      await page.waitForFunction(() => /^(Bound|Not bound)/.test(document.getElementById('payout-status')?.textContent ?? ''), undefined, { timeout: 20_000 })
      const status = await page.textContent('#payout-status') ?? ''
      if (!status.startsWith('Bound')) failures.push(`tab ${peerId}: ${status}`)
      tabs.push({ page, peerId: await page.evaluate(() => document.querySelector<HTMLElement>('[data-field="peerId"]')?.dataset.id ?? '') || peerId, address })
    }
    const r = await runPayoutEpoch({ repo: hub.core.repo, contracts, operatorKey, log })
    const postRootGas = r.epoch.tx_hash != null ? Number((await contracts.wait(r.epoch.tx_hash as Hex)).gasUsed) : 0
    const wallet = createWalletClient({ account: privateKeyToAccount(relayer), chain: chainFor(deployment.chainId, rpcUrl), transport: http(rpcUrl) })
    const claims: DemoPayout['claims'] = []
    for (const t of tabs) {
      await t.page.getByRole('button', { name: 'Show claimable tokens' }).click()
      await t.page.waitForFunction(() => /^(Epoch|Nothing)/.test(document.getElementById('payout-status')?.textContent ?? ''), undefined, { timeout: 20_000 })
      const data = await t.page.inputValue('#payout-data') as Hex
      const credit = await hub.core.ledgerBalance(t.peerId)
      let gasUsed = 0
      if (data.startsWith('0x') && data.length > 2) {
        const receipt = await contracts.wait(await wallet.sendTransaction({ to: deployment.distributor, data }))
        gasUsed = Number(receipt.gasUsed)
      } else failures.push(`tab ${t.peerId}: no claim shown (${await t.page.textContent('#payout-status') ?? ''})`)
      const held = await contracts.balanceOf(t.address as Hex)
      const expected = BigInt(toCreditUnits(credit)) * TOKEN_UNITS_PER_CREDIT_UNIT
      if (held !== expected) failures.push(`${t.address} holds ${held} token units, not credit ${credit} × 10^18 = ${expected}`)
      claims.push({ peerId: t.peerId, address: t.address, credit, tokenUnits: held.toString(), gasUsed })
      log(`payout: ${t.peerId.slice(-8)} → ${t.address}: ${credit} credit, ${held} token units`)
    }
    const audit = await auditPayouts(hub.url, rpcUrl)
    if (!audit.ok) failures.push(`payout audit: ${audit.problems.join('; ')}`)
    return { payout: { rpcUrl, distributor: deployment.distributor, epoch: r.epoch.epoch, root: r.epoch.root, claims, postRootGas, auditOk: audit.ok }, failures }
  } finally {
    await evm.stop()
  }
}
