/**
 * Issue 14 in the browser: one visitor page (headless Chromium, one IndexedDB) connected to two
 * hubs of one deployment in turn — hub A, then hub B (two startHub processes' worth on one
 * PostgreSQL database and one shared dir; the page's /hub.json is answered with B's after the
 * switch, so the same origin and identity stay). Credit granted through A and through B is
 * verified on the page against the ledger key each hub vouches for, shown once, and the statement
 * the page downloads for hub B (every entry of both, with B's delegation) verifies offline.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { LEDGER_KEY_FILE } from '../src/hub/hub-key.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { verifyStatement } from '../src/protocol/statement.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { startPgCluster } from './pg-cluster.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let cluster: PgCluster
let sharedDir: string
const hubs: RunningHub[] = []
let browser: Browser

beforeAll(async () => {
  cluster = startPgCluster()
  const url = cluster.database()
  sharedDir = tempDir('hub-shared-')
  for (let i = 0; i < 2; i++) hubs.push(await startHub({ dataDir: tempDir(`hub-${i}-`), store: url, sharedDir, staticDir: STATIC_DIR }))
  browser = await launchChromium()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  for (const h of hubs) await h.stop()
  await cluster?.stop()
}, 60_000)

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}
const creditOn = async (page: Page): Promise<number> => Number((await readField(page, 'creditGranted')).replace(/,/g, ''))

describe('a browser volunteer connected to two hubs of one deployment in turn', () => {
  it('sees the credit granted through both verified against the shared ledger key, and its statement for hub B verifies', async () => {
    const [a, b] = hubs
    let current = a
    const context = await browser.newContext()
    // the page's /hub.json names the hub it connects to: A first, then B (same origin, same IndexedDB)
    await context.route('**/hub.json', async route => {
      const res = await fetch(new URL('/hub.json', current.url))
      await route.fulfill({ status: 200, contentType: 'application/json', headers: { 'cache-control': 'no-store' }, body: await res.text() })
    })
    const page = await context.newPage()
    await page.goto(`${a.url}?workers=1`)
    await page.waitForSelector('body[data-ready="true"]')
    await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 })
    expect(await readField(page, 'hubPeerId')).toBe(a.peerId)

    const jobA = await a.core.createPrimesJob({ from: 0, to: 3e7, unit: 1e7, quorum: 1 })
    await page.getByLabel('CPU share').fill('100')
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => (await a.core.jobStatus(jobA.id))?.state, { timeout: 90_000 }).toBe('complete')
    await expect.poll(async () => await creditOn(page), { timeout: 20_000 }).toBe(30)
    const peerId = await readField(page, 'peerId')
    await page.getByRole('button', { name: 'Stop' }).click()

    // now hub B: its receipts (A's grants among them) verify with the ledger key B vouches for
    current = b
    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => readField(page, 'hubPeerId'), { timeout: 20_000 }).toBe(b.peerId)
    expect(await readField(page, 'peerId')).toBe(peerId)
    const jobB = await b.core.createPrimesJob({ from: 1e8, to: 1.3e8, unit: 1e7, quorum: 1 })
    await page.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => (await b.core.jobStatus(jobB.id))?.state, { timeout: 90_000 }).toBe('complete')
    // both hubs' grants, each counted once
    await expect.poll(async () => await creditOn(page), { timeout: 20_000 }).toBe(60)
    expect(await b.core.ledgerBalance(peerId)).toBe(60)
    expect(await readField(page, 'resultsValidated')).toBe('6')
    await page.getByRole('button', { name: 'Stop' }).click()

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download credit statement' }).click()])
    const st = JSON.parse(readFileSync(await download.path(), 'utf8'))
    expect(st).toMatchObject({ hubPeerId: b.peerId, peerId, entries: 6, totalCredit: 60 })
    expect(typeof st.ledgerKey).toBe('string')
    expect(typeof st.ledgerDelegation).toBe('string')
    const ledgerPeerId = peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(join(sharedDir, LEDGER_KEY_FILE)))).toString()
    const report = await verifyStatement(st)
    expect(report).toMatchObject({ ok: true, hubPeerId: b.peerId, ledgerPeerId, verifiedCredit: 60, problems: [] })
    await context.close()
  }, 240_000)
})
