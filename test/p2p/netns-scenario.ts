/**
 * Browser to browser, run inside a private network namespace (scripts/netns.sh: a veth pair, a
 * default route; WebRTC between headless tabs needs an interface other than loopback). Prints
 * progress on stderr and one JSON line last on stdout, which test/p2p.netns.test.ts checks.
 *
 * 1. Kernel: a Collatz kernel job (quorum 2). Tab A starts alone and fetches the kernel ticket and
 *    the kernel from the hub; then tab B starts, and must get both from A over WebRTC.
 * 2. Blocks and a liar: both tabs stop; a matmul job (n = 1024, 16 tiles, 8 blocks of 1 MiB) is
 *    created; a lying volunteer (test/p2p/liar-page.ts, its own tab and key) tells the hub it
 *    holds every block and answers with random bytes; A and B start again. Every tile must be
 *    validated, each tab must mark the liar bad and not ask it again, and blocks must have come
 *    browser to browser, so the hub served less than the tabs fetched.
 * 3. The liar probes tab A: a blob over a plain relayed connection, the hub's work and result
 *    protocols on A, a blob A does not hold, and a held block until A's serving budget refuses.
 * 4. A second hub: another hub process's worth (its own key, store and ledger) with a primes job;
 *    A and B add it by URL on their page, as a visitor would, while still running for the first;
 *    its job must complete, and each tab's row for each hub must show that hub's ledger credit.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { workUnitId } from '../../src/hub/create-work.ts'
import { startHub } from '../../src/hub/hub.ts'
import { launchChromium } from '../../src/cli/chromium.ts'
import { resolveMatmulOperands } from '../../src/hub/matmul-job.ts'
import { cidFromHex } from '../../src/protocol/index.ts'
import { REPO_ROOT } from '../helpers.ts'
import { startCollatzHub, unitInput } from '../collatz-hub.ts'
import type { RunningHub } from '../../src/hub/hub.ts'
import type { MatmulSpec } from '../../src/hub/matmul-job.ts'
import type { Browser, Page } from 'playwright-core'

const log = (line: string): void => { process.stderr.write(`[p2p] ${line}\n`) }

interface TabStats { fromHubBytes: number, fromPeersBytes: number, fromHubBlobs: number, fromPeersBlobs: number, servedBytes: number, badPeers: number, peers: number, relayed: boolean, peerId: string }

async function tabStats (page: Page): Promise<TabStats> {
  // no named functions inside: tsx would wrap them in a helper the page does not have
  return await page.evaluate(() => {
    const fetched = document.querySelector<HTMLElement>('[data-field="blobsFetched"]')?.dataset ?? {}
    const served = document.querySelector<HTMLElement>('[data-field="blobsServed"]')?.dataset ?? {}
    const peers = document.querySelector<HTMLElement>('[data-field="p2pPeers"]')?.dataset ?? {}
    return {
      fromHubBytes: Number(fetched.fromHubBytes), fromPeersBytes: Number(fetched.fromPeersBytes),
      fromHubBlobs: Number(fetched.fromHubBlobs), fromPeersBlobs: Number(fetched.fromPeersBlobs),
      servedBytes: Number(served.servedBytes), badPeers: Number(served.badPeers), peers: Number(peers.peers), relayed: peers.relayed === 'true',
      peerId: document.querySelector<HTMLElement>('[data-field="peerId"]')?.title ?? ''
    }
  })
}

async function until (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

async function openTab (browser: Browser, url: string, name: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  page.on('pageerror', err => { log(`${name}: page error: ${err.message}`) })
  await page.goto(`${url}?workers=1`)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
  await until(`${name} connected`, 20_000, async () => (await page.textContent('[data-field="connection"]'))?.trim() === 'connected')
  await until(`${name} holds a relay reservation`, 20_000, async () => (await tabStats(page)).relayed)
  return page
}

/** A tab's row for the hub at `url`: connection and credit as shown. */
async function hubRow (page: Page, url: string): Promise<{ connection: string, credit: number }> {
  return await page.evaluate(u => {
    const row = document.querySelector<HTMLElement>(`#hub-table tr[data-hub-url="${u}"]`)
    return {
      connection: row?.querySelector('td[data-col="connection"]')?.textContent ?? '',
      credit: Number(row?.querySelector<HTMLElement>('td[data-col="credit"]')?.dataset.credit ?? 'NaN')
    }
  }, url)
}

const ch = await startCollatzHub({ staticDir: join(REPO_ROOT, 'dist') })
const hub = ch.hub
let second: RunningHub | undefined
let browser: Browser | undefined
const out: Record<string, unknown> = { ok: false }
try {
  browser = await launchChromium({ extraArgs: ['--disable-blink-features=ComputePressure', '--disable-features=WebRtcHideLocalIpsWithMdns'] })
  log(`hub ${hub.peerId} at ${hub.url}`)

  // 1. the kernel, browser to browser
  const inputs = Array.from({ length: 6 }, (_, i) => unitInput(1 + i * 20_000, 1 + (i + 1) * 20_000))
  const job = await ch.post(inputs)
  const a = await openTab(browser, hub.url, 'A')
  await a.click('#start')
  await until('A fetched the kernel from the hub', 30_000, async () => (await tabStats(a)).fromHubBlobs >= 2)
  const b = await openTab(browser, hub.url, 'B')
  await b.click('#start')
  await until('the kernel job complete', 90_000, async () => (await hub.core.jobStatus(job.jobId))?.state === 'complete')
  await new Promise(resolve => setTimeout(resolve, 1100))
  const kernelPhase = { a: await tabStats(a), b: await tabStats(b), hubBlobBytes: hub.blobBytesServed(), kernelBytes: ch.kernel.length }
  log(`kernel phase: ${JSON.stringify(kernelPhase)}`)
  out.kernelPhase = kernelPhase

  // 2. matmul blocks, with a liar among the providers
  await a.click('#stop')
  await b.click('#stop')
  const operands = resolveMatmulOperands({ n: 1024, seed: 7 })
  const mm = await hub.core.createMatmulJob({ a: operands.a, b: operands.b, tile: operands.tile, checks: operands.checks })
  const spec = mm.spec as MatmulSpec
  const blocks = [...spec.aCids, ...spec.bCids].map(cid => ({ cid, bytes: hub.core.blobs.size(cidFromHex(cid)) ?? 0 }))
  const bundle = await build({ entryPoints: [join(REPO_ROOT, 'test/p2p/liar-page.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' })
  const liar = await (await browser.newContext()).newPage()
  liar.on('pageerror', err => { log(`liar: page error: ${err.message}`) })
  await liar.goto(`${hub.url}hub.json`)
  await liar.addScriptTag({ content: bundle.outputFiles[0].text, type: 'module' })
  await until('the liar script loaded', 10_000, async () => await liar.evaluate(() => typeof window.startLiar === 'function'))
  const liarId = await liar.evaluate(async addr => await window.startLiar(addr), hub.multiaddrs[0])
  await liar.evaluate(async list => { await window.liarAnnounce(list) }, blocks)
  log(`liar ${liarId} announced ${blocks.length} blocks`)
  const before = { a: await tabStats(a), b: await tabStats(b), hubBlobBytes: hub.blobBytesServed() }
  await a.click('#start')
  await b.click('#start')
  await until('the matmul job complete', 150_000, async () => (await hub.core.jobStatus(mm.id))?.state === 'complete')
  await new Promise(resolve => setTimeout(resolve, 1100))
  const after = { a: await tabStats(a), b: await tabStats(b), hubBlobBytes: hub.blobBytesServed() }
  const status = await hub.core.jobStatus(mm.id)
  const asked = await liar.evaluate(() => window.liarAsked())
  // 3. what the liar can get out of tab A: nothing over the relay, no hub protocol, only held blobs, under a cap
  const probe = await liar.evaluate(async args => await window.liarProbe(args.hub, args.victim, args.cids), { hub: hub.multiaddrs[0], victim: after.a.peerId, cids: blocks.map(x => x.cid) })
  out.probe = probe
  log(`probe: ${JSON.stringify(probe)}`)
  out.blockPhase = {
    before, after, liarId, blocks: blocks.length, blockBytes: blocks.reduce((s, x) => s + x.bytes, 0),
    asked, validated: status?.validated, workUnits: status?.workUnits, rejected: status?.invalidResults
  }

  // 4. a second hub, added on both pages while they run
  second = await startHub({ dataDir: mkdtempSync(join(tmpdir(), 'p2p-second-hub-')), staticDir: join(REPO_ROOT, 'dist') })
  const primes = await second.core.createPrimesJob({ from: 0, to: 6e7, unit: 1e7, quorum: 2 }, { policy: 'adaptive' })
  log(`second hub ${second.peerId} at ${second.url}: job ${primes.id}`)
  for (const [name, page] of [['A', a], ['B', b]] as const) {
    await page.fill('#hub-url', second.url)
    await page.click('#add-hub')
    await until(`${name} connected to the second hub`, 20_000, async () => (await hubRow(page, second!.url)).connection === 'connected')
  }
  await until('the second hub\'s job complete', 90_000, async () => (await second!.core.jobStatus(primes.id))?.state === 'complete')
  const secondStatus = (await second.core.jobStatus(primes.id))!
  const firstCredit: Record<string, number> = {}
  for (const id of [job.jobId, mm.id]) for (const [peer, c] of Object.entries((await hub.core.jobStatus(id))?.credit ?? {})) firstCredit[peer] = (firstCredit[peer] ?? 0) + c
  const units = await second.core.repo.read(async tx => await Promise.all(Array.from({ length: secondStatus.workUnits }, async (_, k) => {
    const wu = await tx.getWorkUnit(workUnitId(primes.id, k))
    const result = wu?.canonical_result_id != null ? await tx.getResult(wu.canonical_result_id) : undefined
    return { input: Buffer.from(wu?.input ?? []).toString('hex'), output: Buffer.from(result?.output ?? []).toString('hex') }
  })))
  // the receipts of the job's last units may arrive a poll after it completes
  const settled = async (page: Page, peerId: string): Promise<boolean> => {
    const [r1, r2] = [await hubRow(page, hub.url), await hubRow(page, second!.url)]
    return Math.abs(r1.credit - (firstCredit[peerId] ?? 0)) < 1e-6 && Math.abs(r2.credit - (secondStatus.credit[peerId] ?? 0)) < 1e-6
  }
  const ids = [after.a.peerId, after.b.peerId]
  await until('both pages show both hubs\' ledger credit', 20_000, async () => await settled(a, ids[0]) && await settled(b, ids[1])).catch(() => {})
  out.secondHub = {
    state: secondStatus.state, validated: secondStatus.validated, workUnits: secondStatus.workUnits, units,
    ledgerOk: (await second.core.verifyLedger()).ok,
    credit: { first: firstCredit, second: secondStatus.credit },
    rows: { a: { first: await hubRow(a, hub.url), second: await hubRow(a, second.url) }, b: { first: await hubRow(b, hub.url), second: await hubRow(b, second.url) } }
  }
  log(`second hub: ${JSON.stringify({ ...out.secondHub as object, units: undefined })}`)
  out.ok = true
} catch (err) {
  out.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  log(`failed: ${String(out.error)}`)
} finally {
  await browser?.close().catch(() => {})
  await second?.stop()
  await ch.stop()
}
process.stdout.write(`${JSON.stringify(out)}\n`)
process.exit(out.ok === true ? 0 : 1)
