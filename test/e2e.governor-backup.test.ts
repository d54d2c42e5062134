/**
 * Key backup and credit statements, end to end in headless Chromium against a real hub:
 * a visitor earns credit, exports the key (passphrase-protected file); a second browser context
 * refuses a wrong passphrase and a corrupt file (keeping its own key), then imports it and shows
 * the same peer id and balance (receipts re-fetched from the hub). The statement the page
 * downloads verifies with `sparecycles verify-statement` (also against the hub's whole ledger
 * chain), and a tampered one fails entry by entry, on the page and in the CLI.
 */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHub } from '../src/hub/hub.ts'
import { registerStatementApi } from '../src/hub/statement-api.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { CreditEntry, HubReceipt } from '../src/protocol/pb/messages.ts'
import { sha256Bytes } from '../src/protocol/signing.ts'
import { fromBase64, toBase64 } from '../src/volunteer/key-backup.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, Page } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
const run = promisify(execFile)
let hub: RunningHub
let browser: Browser
const dir = tempDir()

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}
async function open (): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${hub.url}?workers=1`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 })
  return page
}
async function cli (...args: string[]): Promise<{ code: number, out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT })
    return { code: 0, out: stdout }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

beforeAll(async () => {
  hub = await startHub({ dataDir: tempDir(), staticDir: STATIC_DIR })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('key backup and credit statement', () => {
  let peerA: string
  let credit: string
  let keyFile: string
  let statementFile: string

  it('exports the key, refuses a wrong passphrase and a corrupt file, and imports it in another browser with the same balance', async () => {
    const job = await hub.core.createPrimesJob({ from: 0, to: 6e7, unit: 1e7, quorum: 1 })
    const a = await open()
    await a.getByLabel('CPU share').fill('100')
    await a.getByRole('button', { name: 'Start' }).click()
    await expect.poll(async () => (await hub.core.jobStatus(job.id))?.state, { timeout: 60_000 }).toBe('complete')
    peerA = await readField(a, 'peerId')
    await expect.poll(async () => Number((await readField(a, 'creditGranted')).replace(/,/g, '')), { timeout: 20_000 }).toBe(60)
    credit = await readField(a, 'creditGranted')
    await a.getByRole('button', { name: 'Stop' }).click()

    await a.getByLabel('Passphrase for the backup').fill('short')
    await a.getByRole('button', { name: 'Download key backup' }).click()
    await expect.poll(async () => a.textContent('#backup-status')).toContain('at least 8 characters')
    await a.getByLabel('Passphrase for the backup').fill('correct horse battery')
    const [download] = await Promise.all([a.waitForEvent('download'), a.getByRole('button', { name: 'Download key backup' }).click()])
    keyFile = join(dir, 'key.json')
    await download.saveAs(keyFile)
    const parsed = JSON.parse(readFileSync(keyFile, 'utf8'))
    expect(parsed).toMatchObject({ format: 'sparecycles-key', version: 1, peerId: peerA, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 600_000 } })

    const b = await open()
    const peerB = await readField(b, 'peerId')
    expect(peerB).not.toBe(peerA)
    const importWith = async (file: { name: string, mimeType: string, buffer: Buffer }, passphrase: string): Promise<void> => {
      await b.getByLabel('Key backup file').setInputFiles(file)
      await b.getByLabel('Its passphrase').fill(passphrase)
      await b.getByRole('button', { name: 'Import key' }).click()
    }
    await importWith({ name: 'key.json', mimeType: 'application/json', buffer: readFileSync(keyFile) }, 'wrong passphrase!')
    await expect.poll(async () => b.textContent('#backup-status'), { timeout: 10_000 }).toContain('wrong passphrase')
    expect(await b.textContent('#backup-status')).toContain('current key is kept')
    await importWith({ name: 'key.json', mimeType: 'application/json', buffer: readFileSync(keyFile).subarray(0, 100) }, 'correct horse battery')
    await expect.poll(async () => b.textContent('#backup-status'), { timeout: 10_000 }).toContain('not JSON')
    await b.reload()
    await b.waitForSelector('body[data-ready="true"]')
    expect(await readField(b, 'peerId')).toBe(peerB)

    await importWith({ name: 'key.json', mimeType: 'application/json', buffer: readFileSync(keyFile) }, 'correct horse battery')
    await b.waitForEvent('load', { timeout: 20_000 })
    await b.waitForSelector('body[data-ready="true"]')
    expect(await readField(b, 'peerId')).toBe(peerA)
    await expect.poll(async () => readField(b, 'creditGranted'), { timeout: 20_000 }).toBe(credit)
    expect(Number(credit)).toBe(await hub.core.ledgerBalance(peerA))

    const [st] = await Promise.all([b.waitForEvent('download'), b.getByRole('button', { name: 'Download credit statement' }).click()])
    statementFile = join(dir, 'statement.json')
    await st.saveAs(statementFile)
  })

  it('the statement verifies in the CLI, also against the whole ledger chain; a tampered one fails entry by entry', async () => {
    const ok = await cli('verify-statement', statementFile)
    expect(ok.out).toContain('VERIFIED: 6 of 6 receipts valid, 60 credit verified')
    expect(ok.code).toBe(0)

    // the hub's ledger API (src/hub/statement-api.ts) on its own server: the full chain walk
    const api = Fastify()
    registerStatementApi(api, hub.core)
    const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 })
    try {
      const full = await cli('verify-statement', statementFile, '--hub', apiUrl)
      expect(full.out).toContain('full walk of the hub ledger from genesis')
      expect(full.code).toBe(0)

      const st = JSON.parse(readFileSync(statementFile, 'utf8'))
      // forge: raise the credit of receipt 1 and recompute its hash (the signature no longer matches)
      const r = HubReceipt.decode(fromBase64(st.receipts[1]))
      const e = CreditEntry.decode(r.body)
      const body = CreditEntry.encode({ ...e, creditUnits: e.creditUnits * 100 })
      st.receipts[1] = toBase64(HubReceipt.encode({ body, bodyHash: sha256Bytes(body) as Uint8Array<ArrayBuffer>, signature: r.signature, proof: [] }))
      // drop receipt 3
      const dropped = CreditEntry.decode(HubReceipt.decode(fromBase64(st.receipts[3])).body)
      st.receipts.splice(3, 1)
      const tampered = join(dir, 'tampered.json')
      writeFileSync(tampered, JSON.stringify(st))
      const bad = await cli('verify-statement', tampered, '--hub', apiUrl)
      expect(bad.code).toBe(1)
      expect(bad.out).toMatch(/#1 FAIL seq \d+ .* bad-signature/)
      expect(bad.out).toContain(`missing receipt: the ledger credits seq ${dropped.seq}`)
      expect(bad.out).toContain('claims 6 entries but holds 5 receipts')
      expect(bad.out).toContain('NOT VERIFIED: 4 of 5 receipts valid')

      // the page checks it too, without the hub
      const page = await open()
      await page.getByLabel('Check a statement').setInputFiles(tampered)
      await expect.poll(async () => page.textContent('#statement-status'), { timeout: 10_000 }).toContain('NOT verified')
      expect(await page.locator('#statement-report li.fail').allTextContents()).toEqual([expect.stringContaining('bad-signature')])
    } finally {
      await api.close()
    }
  })
})
