/**
 * Error names survive the shipped bundle. The BUILT page (dist/, minified by `npm run build`) is
 * given a researcher kernel whose bytes on the hub were altered after posting, so every fetch of it
 * fails the content hash with BlobHashMismatchError inside the page. That name must reach the hub
 * literally (not the bundler's short class name) in the client-error result, and the page must
 * treat it as a refusal: one client error for the replica, no retry loop until the lease expires.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignedManifest, buildManifest, signManifest } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { readKernelDir } from '../src/cli/kernel.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { buildModule } from './wasm-builder.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser } from 'playwright-core'

const STATIC_DIR = join(REPO_ROOT, 'dist')
let browser: Browser
let hub: RunningHub

beforeAll(async () => {
  expect(existsSync(join(STATIC_DIR, 'index.html')), 'run `npm run build` first').toBe(true)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await hub?.stop()
})

describe('error names in the built page', () => {
  it('the built bundle is minified (so this test means something)', () => {
    const assets = readdirSync(join(STATIC_DIR, 'assets')).filter(f => f.endsWith('.js'))
    expect(assets.length).toBeGreaterThan(0)
    const code = assets.map(f => readFileSync(join(STATIC_DIR, 'assets', f), 'utf8')).join('\n')
    // no `class BlobHashMismatchError` survives: the identifier is mangled, only the literal name remains
    expect(code).not.toMatch(/class BlobHashMismatchError\b/)
    expect(code).toMatch(/[`"']BlobHashMismatchError[`"']/)
  })

  it('a kernel whose bytes fail their hash is refused by name, once, with no retry loop', async () => {
    const researcher = await generateKeyPair('Ed25519')
    const work = tempDir()
    const researchers = join(work, 'researchers.json')
    writeFileSync(researchers, JSON.stringify({ allowed: [peerIdFromPrivateKey(researcher).toString()] }))
    const dataDir = join(work, 'hub')
    hub = await startHub({ dataDir, staticDir: STATIC_DIR, researchersFile: researchers })

    const bytes = buildModule({ memory: { min: 1, max: 4 }, run: { kind: 'return-len', outLen: 8 } })
    const dir = { ...readKernelDir(join(REPO_ROOT, 'examples/collatz')), name: 'tampered', limits: { memoryBytes: 4 * 65536, maxOutputBytes: 4096, deadlineMs: 5000 } }
    const signed = await signManifest(buildManifest(dir, bytes, researcher), researcher)
    const session = await connectToHub(hub.multiaddrs[0], researcher)
    let jobId: string
    try {
      jobId = (await session.request({ post: { signedManifest: SignedManifest.encode(signed), kernel: bytes as Uint8Array<ArrayBuffer>, inputs: [new Uint8Array(16)], quorum: 1, creditPerUnit: 1, policy: '', ringers: [] } })).jobId
    } finally {
      await session.close()
    }
    // alter the kernel's stored bytes (same length): the hub now serves bytes that do not hash to the kernel id
    const blobPath = join(dataDir, 'blobs', createHash('sha256').update(bytes).digest('hex'))
    expect(existsSync(blobPath), blobPath).toBe(true)
    const altered = new Uint8Array(readFileSync(blobPath))
    altered[altered.length - 1] ^= 0xff
    writeFileSync(blobPath, altered)

    const page = await (await browser.newContext()).newPage()
    await page.goto(`${hub.url}?workers=1`)
    await page.waitForSelector('body[data-ready="true"]')
    await expect.poll(async () => (await page.textContent('[data-field="connection"]'))?.trim(), { timeout: 20_000 }).toBe('connected')
    await page.getByRole('button', { name: 'Start' }).click()

    await expect.poll(async () => (await hub.core.hubPeerStats()).clientErrors, { timeout: 60_000 }).toBe(1)
    const status = (await hub.core.jobStatus(jobId))!
    expect(status.validated).toBe(0)
    // the page names the refusal with the class's real name, and the hub got that name
    await expect.poll(async () => (await page.textContent('#error')) ?? '', { timeout: 10_000 }).toMatch(/BlobHashMismatchError/)
    // a refusal is final: the page does not keep re-fetching the kernel (the old minified-name bug
    // retried every 2 s until the lease ran out); over 8 s no further result or lease appears
    const before = await hub.core.hubPeerStats()
    await new Promise(resolve => setTimeout(resolve, 8_000))
    const after = await hub.core.hubPeerStats()
    expect(after.clientErrors).toBe(1)
    expect(after.results).toBe(before.results)
    await page.context().close()
  })
})
