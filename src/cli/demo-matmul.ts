/**
 * The headless matmul demo: a hub on a fresh data directory, one matrix-multiply job (C = A x B,
 * generated from a seed or read from `.f32mat` files), and N headless Chromium tabs (WebGPU on
 * SwiftShader via --enable-unsafe-webgpu) that press Start. Tiles are verified by Freivalds' check
 * (one volunteer per tile). At the end the product file is checked against a float64 reference on
 * sampled rows (HPL-style scaled residual, src/hub/matmul-reference.ts). Progress goes to stderr;
 * the caller prints the summary JSON as the last stdout line.
 */
import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHub } from '../hub/hub.ts'
import { readProductRow, resolveMatmulOperands } from '../hub/matmul-job.ts'
import { SCALED_RESIDUAL_THRESHOLD, sampleRows, scaledResidual } from '../hub/matmul-reference.ts'
import { launchChromium } from './chromium.ts'
import { followJob, startVolunteers } from './demo.ts'
import type { MatmulJobOutput, MatmulSpec } from '../hub/matmul-job.ts'
import type { Browser, Page } from 'playwright-core'

export interface MatmulDemoOptions {
  /** Generated operands: n x n from `seed`. */
  n?: number
  seed?: number
  /** Or operand files. */
  a?: string
  b?: string
  tile?: number
  checks?: number
  volunteers: number
  workers: number
  /** Copy the product file here at the end. */
  out?: string
  /** Extra query string for the volunteer pages (e.g. `gpu=off`). */
  pageQuery?: string
  /** Rows sampled for the scaled residual (default 16). */
  sampleRows?: number
  dataDir?: string
  staticDir: string
  timeoutMs: number
  log: (line: string) => void
}

export interface MatmulDemoSummary {
  job: string
  n: number
  m: number
  k: number
  tile: number
  workUnits: number
  validated: number
  outputSha256: string | null
  outputPath: string
  scaledResidual: number
  sampledRows: number
  maxAbsError: number
  replicasPerUnit: number
  replicasIssued: number
  rejectedTiles: number
  freivaldsChecks: number
  /** Tiles computed per device class (canonical results). */
  tilesByDeviceClass: Record<string, number>
  adapter: string
  gpuThroughput: string
  volunteers: number
  creditTotal: number
  ledgerVerified: boolean
  /** Input-block bytes the tabs fetched from the hub, as they counted them (dashboard `data-from-hub-bytes`). */
  blobBytesFromHub: number
  /** Input-block bytes the tabs fetched from each other over WebRTC, hash-checked (`data-from-peers-bytes`). */
  blobBytesFromPeers: number
  /** blobBytesFromHub / (blobBytesFromHub + blobBytesFromPeers); null when nothing was fetched. */
  hubShareOfBlobBytes: number | null
  /** Blob bytes the hub itself counted as served (its blob handler; a cross-check of blobBytesFromHub). */
  hubBlobBytesServed: number
  /** Blob bytes the tabs served to each other. */
  blobBytesServedByPeers: number
  /** Most volunteers one tab was connected to directly (WebRTC) when the job ended. */
  peersConnectedMax: number
  elapsedMs: number
  ok: boolean
  failures: string[]
}

async function readField (page: Page, name: string): Promise<string> {
  return (await page.textContent(`[data-field="${name}"]`))?.trim() ?? ''
}

/** Blob sharing as each tab's dashboard counts it (peer-blobs.ts), summed; read after one more sample. */
export async function pagePeerBlobs (pages: Page[]): Promise<{ fromHub: number, fromPeers: number, served: number, peersMax: number, badPeers: number }> {
  await new Promise(resolve => setTimeout(resolve, 1100))
  const sum = { fromHub: 0, fromPeers: 0, served: 0, peersMax: 0, badPeers: 0 }
  for (const page of pages) {
    // no named functions inside: tsx would wrap them in a helper the page does not have
    const p = await page.evaluate(() => {
      const fetched = document.querySelector<HTMLElement>('[data-field="blobsFetched"]')?.dataset ?? {}
      const served = document.querySelector<HTMLElement>('[data-field="blobsServed"]')?.dataset ?? {}
      const peers = document.querySelector<HTMLElement>('[data-field="p2pPeers"]')?.dataset ?? {}
      return { fromHub: Number(fetched.fromHubBytes), fromPeers: Number(fetched.fromPeersBytes), served: Number(served.servedBytes), peers: Number(peers.peers), bad: Number(served.badPeers) }
    })
    sum.fromHub += p.fromHub
    sum.fromPeers += p.fromPeers
    sum.served += p.served
    sum.badPeers += p.bad
    sum.peersMax = Math.max(sum.peersMax, p.peers)
  }
  return sum
}

export async function runMatmulDemo (opts: MatmulDemoOptions): Promise<MatmulDemoSummary> {
  const started = Date.now()
  // operands are checked (and generated) before the hub starts: a bad file fails fast
  const spec = opts.a != null || opts.b != null ? { a: opts.a, b: opts.b } : { n: opts.n, seed: opts.seed }
  const operands = resolveMatmulOperands({ ...spec, tile: opts.tile, checks: opts.checks })
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sparecycles-matmul-demo-'))
  const hub = await startHub({ dataDir, staticDir: opts.staticDir, log: opts.log })
  let browser: Browser | undefined
  try {
    opts.log(`hub ${hub.peerId}; page ${hub.url}; data ${dataDir}`)
    const job = await hub.core.createMatmulJob({ a: operands.a, b: operands.b, tile: operands.tile, checks: operands.checks })
    const out0 = job.spec as MatmulSpec
    opts.log(`job ${job.id}: C = A (${out0.m} x ${out0.k}) x B (${out0.k} x ${out0.n}) in ${job.workUnits} tiles of ${out0.tile}, Freivalds with ${out0.checks} vectors, one volunteer per tile`)
    // The volunteers share this machine: their own SwiftShader load makes Chromium's Compute
    // Pressure API report 'serious' pressure, and the governor (rightly, for a real visitor) pauses
    // them. The demo hides that API so co-located headless volunteers do not pause each other.
    // host ICE candidates as addresses, not mDNS names (headless tabs cannot resolve each other's)
    browser = await launchChromium({ extraArgs: ['--disable-blink-features=ComputePressure', '--disable-features=WebRtcHideLocalIpsWithMdns'] })
    const pages = await startVolunteers(browser, hub.url, { count: opts.volunteers, workers: opts.workers, pageQuery: opts.pageQuery }, opts.log)
    const status = await followJob(hub.core, job.id, opts.timeoutMs, s => `${s.validated}/${s.workUnits} tiles validated, ${s.inProgress} in progress, ${s.invalidResults} rejected`, opts.log)
    const output = { ...status.spec as MatmulSpec, ...status.output as MatmulJobOutput }
    const failures: string[] = []
    if (status.state !== 'complete') failures.push(`job state is ${status.state} (${status.validated}/${status.workUnits} validated)`)
    const adapter = pages.length > 0 ? await readField(pages[0], 'gemmAdapter') : ''
    const gpuThroughput = pages.length > 0 ? await readField(pages[0], 'gemmGflops') : ''
    const rows = sampleRows(output.m, opts.sampleRows ?? 16)
    let residual = { scaledResidual: NaN, residual: NaN, maxAbsError: NaN }
    if (status.state === 'complete') {
      residual = scaledResidual(operands.a, operands.b, r => readProductRow(output.outputPath, output.n, r), rows)
      if (!(residual.scaledResidual < SCALED_RESIDUAL_THRESHOLD)) failures.push(`scaled residual ${residual.scaledResidual} is not below ${SCALED_RESIDUAL_THRESHOLD}`)
      if (opts.out != null) copyFileSync(output.outputPath, opts.out)
    }
    const ledger = await hub.core.verifyLedger()
    if (!ledger.ok) failures.push(`ledger chain broken: ${ledger.error ?? 'unknown'}`)
    const byClass = await hub.core.canonicalDeviceClasses(job.id)
    const blobs = await pagePeerBlobs(pages)
    const blobTotal = blobs.fromHub + blobs.fromPeers
    return {
      job: job.id,
      n: output.n,
      m: output.m,
      k: output.k,
      tile: output.tile,
      workUnits: status.workUnits,
      validated: status.validated,
      outputSha256: output.outputSha256,
      outputPath: opts.out ?? output.outputPath,
      scaledResidual: residual.scaledResidual,
      sampledRows: rows.length,
      maxAbsError: residual.maxAbsError,
      replicasPerUnit: status.replicasPerUnit,
      replicasIssued: status.replicasIssued,
      rejectedTiles: status.invalidResults,
      freivaldsChecks: output.checks,
      tilesByDeviceClass: byClass,
      adapter,
      gpuThroughput,
      volunteers: status.volunteers,
      creditTotal: Object.values(status.credit).reduce((x, y) => x + y, 0),
      ledgerVerified: ledger.ok,
      blobBytesFromHub: blobs.fromHub,
      blobBytesFromPeers: blobs.fromPeers,
      hubShareOfBlobBytes: blobTotal > 0 ? blobs.fromHub / blobTotal : null,
      hubBlobBytesServed: hub.blobBytesServed(),
      blobBytesServedByPeers: blobs.served,
      peersConnectedMax: blobs.peersMax,
      elapsedMs: Date.now() - started,
      ok: failures.length === 0,
      failures
    }
  } finally {
    await browser?.close().catch(() => {})
    await hub.stop()
  }
}
