/**
 * The researcher's worked example end to end, with nothing built in knowing about it: a Collatz
 * delay-record kernel is built, signed and posted through the CLI to a running hub, computed by two
 * headless Chromium volunteers (quorum 2), followed with `job status --watch` and collected with
 * `job results`; the merged records match ../shared/reference/known-answers.md. Then kernels that
 * loop forever, grow memory without end, or return a gigabyte are stopped and reported as client
 * errors while the next work unit runs. A sliced (ABI 2) kernel runs in a browser worker and gives
 * the ABI 1 kernel's outputs.
 */
import { spawn } from 'node:child_process'
import { runProcess } from './hub-process.ts'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignedManifest, buildManifest, sha256Bytes, signManifest, toHex } from '../src/protocol/index.ts'
import { instantiateWasmKernel } from '../workers/wasm-kernel.ts'
import { startHub } from '../src/hub/hub.ts'
import { launchChromium } from '../src/cli/chromium.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { buildKernel, initKernel, readKernelDir } from '../src/cli/kernel.ts'
import { KNOWN_ANSWERS_PATH, REPO_ROOT, tempDir } from './helpers.ts'
import { buildModule } from './wasm-builder.ts'
import { inspect } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Browser, Page } from 'playwright-core'
import type { PrivateKey } from '@libp2p/interface'

const CLI = join(REPO_ROOT, 'src/cli/main.ts')
let browser: Browser
const hubs: RunningHub[] = []

/** Run the CLI without blocking this process's event loop (the hub runs in it). */
async function cli (args: string[], timeoutMs = 120_000): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return await runProcess(process.execPath, ['--import', 'tsx', CLI, ...args], timeoutMs)
}

/** Delay records (start value : steps) from the known-answers file. */
function knownCollatzRecords (): Array<[number, number]> {
  const text = readFileSync(KNOWN_ANSWERS_PATH, 'utf8')
  const section = text.slice(text.indexOf('## Collatz'), text.indexOf('## SHA-256'))
  return [...section.matchAll(/(\d+):(\d+)/g)].map(m => [Number(m[1]), Number(m[2])])
}

async function openVolunteer (hub: RunningHub): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${hub.url}?workers=1`)
  await page.waitForSelector('body[data-ready="true"]')
  await expect.poll(async () => (await page.textContent('[data-field="connection"]'))?.trim(), { timeout: 20_000 }).toBe('connected')
  await page.getByRole('button', { name: 'Start' }).click()
  return page
}

/** A hub that allows one fresh researcher key. */
async function hubWithResearcher (): Promise<{ hub: RunningHub, researcher: PrivateKey, work: string }> {
  const researcher = await generateKeyPair('Ed25519')
  const work = tempDir()
  const researchers = join(work, 'researchers.json')
  writeFileSync(researchers, JSON.stringify({ allowed: [peerIdFromPrivateKey(researcher).toString()] }))
  const hub = await startHub({ dataDir: join(work, 'hub'), staticDir: join(REPO_ROOT, 'dist'), researchersFile: researchers })
  hubs.push(hub)
  return { hub, researcher, work }
}

/** Post a kernel job (quorum 1) signed by `researcher`, wait until one volunteer completes it; the valid outputs in unit order. */
async function runJob (hub: RunningHub, researcher: PrivateKey, manifest: ReturnType<typeof readKernelDir>, kernel: Uint8Array, inputs: Uint8Array[]): Promise<{ jobId: string, rows: Array<{ output: Uint8Array, idx: number }> }> {
  const signed = await signManifest(buildManifest(manifest, kernel, researcher), researcher)
  const session = await connectToHub(hub.multiaddrs[0], researcher)
  let jobId: string
  try {
    jobId = (await session.request({ post: { signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 1, creditPerUnit: 1, policy: '', ringers: [] } })).jobId
  } finally {
    await session.close()
  }
  const page = await openVolunteer(hub)
  await expect.poll(async () => (await hub.core.jobStatus(jobId))?.state, { timeout: 60_000 }).toBe('complete')
  await page.context().close()
  const rows = inspect(hub.core).all<{ output: Uint8Array, idx: number }>(
    "SELECT r.output, w.idx FROM results r JOIN work_units w ON w.id = r.wu_id WHERE r.job_id = ? AND r.validate_state = 'valid' ORDER BY w.idx", jobId)
  return { jobId, rows }
}

beforeAll(async () => {
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  for (const hub of hubs) await hub.stop().catch(() => {})
})

describe('researcher worked example', () => {
  it('posts the Collatz kernel through the CLI; two volunteers compute it; the records match OEIS A006877/A006878', async () => {
    const work = tempDir()
    const key = join(work, 'researcher.key')
    const keyInit = await cli(['key', 'init', '--key', key])
    expect(keyInit.status, keyInit.stderr).toBe(0)
    const researcherId = /peer id (\S+)/.exec(keyInit.stdout)![1]
    const dataDir = join(work, 'hub')
    const researchers = join(work, 'researchers.json')
    writeFileSync(researchers, JSON.stringify({ allowed: [researcherId] }))
    const hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), researchersFile: researchers })
    hubs.push(hub)

    const kernelDir = join(work, 'collatz')
    cpSync(join(REPO_ROOT, 'examples/collatz'), kernelDir, { recursive: true, filter: src => !src.includes('/build') })
    const build = await cli(['kernel', 'build', kernelDir])
    expect(build.status, build.stderr).toBe(0)
    const post = await cli(['job', 'post', '--hub', hub.multiaddrs[0], '--kernel', kernelDir, '--inputs', 'range:1:100000:10000', '--quorum', '2', '--key', key])
    expect(post.status, post.stderr).toBe(0)
    const jobId = post.stdout.trim().split('\n').pop()!
    expect(jobId).toMatch(/^job-\d+$/)

    // follow the job from before any volunteer arrives, so the live progress bar has work to show
    const watching = cli(['job', 'status', jobId, '--hub', hub.multiaddrs[0], '--watch', '--key', key], 180_000)
    await expect.poll(() => hub.node.getConnections().length, { timeout: 20_000 }).toBeGreaterThan(0)
    const pages = [await openVolunteer(hub), await openVolunteer(hub)]
    const watch = await watching
    expect(watch.status, watch.stderr).toBe(0)
    expect(watch.stdout).toMatch(new RegExp(`${jobId} \\(collatz-records\\): complete; 10/10 validated`))
    // `--ringers auto`: 4 of the 10 units were computed by the CLI first; the browsers' results
    // for them matched those answers bit for bit (and none failed)
    expect(post.stderr).toMatch(/ringer 4\/4: unit \d+ ran in \d+ ms/)
    expect(watch.stdout).toMatch(/; 4 ringers, [1-9]\d* ringer checks, 0 failed/)
    expect(watch.stderr).toMatch(/\d+\/10 validated/) // the live progress bar

    const outFile = join(work, 'results.json')
    const results = await cli(['job', 'results', jobId, '--hub', hub.multiaddrs[0], '--out', outFile, '--key', key])
    expect(results.status, results.stderr).toBe(0)
    const written = JSON.parse(readFileSync(outFile, 'utf8')) as { outputs: Array<{ index: number, u64: number[] }> }
    expect(written.outputs).toHaveLength(10)
    // merge the units' local records in order: a global record beats every smaller start value
    const records: Array<[number, number]> = []
    let best = -1
    for (const { u64 } of written.outputs.sort((a, b) => a.index - b.index)) {
      for (let i = 0; i < u64.length; i += 2) {
        if (u64[i + 1] > best) { best = u64[i + 1]; records.push([u64[i], u64[i + 1]]) }
      }
    }
    expect(records).toEqual(knownCollatzRecords())
    // each unit was validated by two distinct volunteers, each credited
    const status = (await hub.core.jobStatus(jobId))!
    expect(status.volunteers).toBe(2)
    for (const page of pages) await page.context().close()
  })
})

describe('a kernel that fails on every unit (issue 13)', () => {
  it('is refused by the CLI\'s ringers before posting; posted anyway, two pages\' errors fail its units and pause the job within a minute; job cancel stops leasing', async () => {
    const work = tempDir()
    const key = join(work, 'researcher.key')
    const keyInit = await cli(['key', 'init', '--key', key])
    const researcherId = /peer id (\S+)/.exec(keyInit.stdout)![1]
    const researchers = join(work, 'researchers.json')
    writeFileSync(researchers, JSON.stringify({ allowed: [researcherId] }))
    const hub = await startHub({ dataDir: join(work, 'hub'), staticDir: join(REPO_ROOT, 'dist'), researchersFile: researchers })
    hubs.push(hub)
    const kernelDir = join(work, 'collatz')
    cpSync(join(REPO_ROOT, 'examples/collatz'), kernelDir, { recursive: true, filter: src => !src.includes('/build') })
    expect((await cli(['kernel', 'build', kernelDir])).status).toBe(0)
    // lo = 0 makes the Collatz kernel's sc_run return -2 on every unit
    const inputs = join(work, 'inputs.json')
    writeFileSync(inputs, JSON.stringify({ workUnits: Array.from({ length: 6 }, (_, i) => ({ u64: [0, 100 + i] })) }))
    const refused = await cli(['job', 'post', '--hub', hub.multiaddrs[0], '--kernel', kernelDir, '--inputs', inputs, '--key', key])
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toMatch(/ringer unit \d+ failed on this machine \(KernelRunError: kernel returned error code -2\)/)
    expect(await hub.core.listJobs()).toEqual([])

    const post = await cli(['job', 'post', '--hub', hub.multiaddrs[0], '--kernel', kernelDir, '--inputs', inputs, '--ringers', '0', '--key', key])
    expect(post.status, post.stderr).toBe(0)
    const jobId = post.stdout.trim().split('\n').pop()!
    const pages = [await openVolunteer(hub), await openVolunteer(hub)]
    const started = Date.now()
    await expect.poll(async () => (await hub.core.jobStatus(jobId))?.hold, { timeout: 60_000, interval: 500 }).toBe('paused')
    const pausedAfterS = (Date.now() - started) / 1000
    const shown = await cli(['job', 'status', jobId, '--hub', hub.multiaddrs[0], '--key', key])
    expect(shown.stdout).toMatch(/running, paused: the kernel fails on the hub too, on 3 units: KernelRunError: kernel returned error code -2/)
    expect(shown.stdout).toMatch(/client errors: \d+ × KernelRunError on wasm from 2 volunteers/)
    console.log(`a failing kernel: paused ${pausedAfterS.toFixed(1)} s after two pages started\n${shown.stdout.trim()}`)
    const cancelled = await cli(['job', 'cancel', jobId, '--hub', hub.multiaddrs[0], '--key', key])
    expect(cancelled.stdout).toMatch(/cancelled: cancelled by its researcher/)
    const issued = (await hub.core.jobStatus(jobId))!.replicasIssued
    await new Promise(resolve => setTimeout(resolve, 3000))
    expect((await hub.core.jobStatus(jobId))!.replicasIssued).toBe(issued)
    for (const page of pages) await page.context().close()
  }, 150_000)
})

describe('sparecycles volunteer (issue 13)', () => {
  it('puts headless volunteers on any hub: they complete the Collatz example job, and Ctrl-C stops them cleanly', async () => {
    const { hub, researcher } = await hubWithResearcher()
    const dir = readKernelDir(join(REPO_ROOT, 'examples/collatz'))
    const kernelDir = join(tempDir(), 'collatz')
    cpSync(join(REPO_ROOT, 'examples/collatz'), kernelDir, { recursive: true, filter: src => !src.includes('/build') })
    await buildKernel(kernelDir)
    const kernel = new Uint8Array(readFileSync(join(kernelDir, 'build/kernel.wasm')))
    const signed = await signManifest(buildManifest(dir, kernel, researcher), researcher)
    const session = await connectToHub(hub.multiaddrs[0], researcher)
    const inputs = Array.from({ length: 4 }, (_, i) => { const b = new Uint8Array(16); const v = new DataView(b.buffer); v.setBigUint64(0, BigInt(1 + 5000 * i), true); v.setBigUint64(8, BigInt(1 + 5000 * (i + 1)), true); return b })
    const job = await session.request({ post: { signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 2, creditPerUnit: 1, policy: 'replicate', ringers: [] } })
    await session.close()
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'volunteer', '--hub', hub.url, '--tabs', '2'], { cwd: REPO_ROOT })
    let stderr = ''
    child.stderr.on('data', d => { stderr += String(d) })
    const exited = new Promise<number | null>(resolve => child.on('close', resolve))
    await expect.poll(async () => (await hub.core.jobStatus(job.jobId))?.state, { timeout: 90_000, interval: 500 }).toBe('complete')
    expect((await hub.core.jobStatus(job.jobId))!.volunteers).toBe(2)
    await expect.poll(() => /volunteer 1: .*validated/.test(stderr), { timeout: 10_000 }).toBe(true)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(stderr).toMatch(/volunteer 0 started/)
    expect(stderr).toMatch(/2 volunteer tabs stopped/)
  }, 150_000)
})

describe('run-time limits of researcher kernels', () => {
  let researcher: PrivateKey

  async function postModule (hub: RunningHub, bytes: Uint8Array, limits: { memoryBytes: number, maxOutputBytes: number, deadlineMs: number }): Promise<string> {
    const dir = { ...readKernelDir(join(REPO_ROOT, 'examples/collatz')), name: 'hostile', limits }
    const signed = await signManifest(buildManifest(dir, bytes, researcher), researcher)
    const session = await connectToHub(hub.multiaddrs[0], researcher)
    try {
      const job = await session.request({ post: { signedManifest: SignedManifest.encode(signed), kernel: bytes as Uint8Array<ArrayBuffer>, inputs: [new Uint8Array(16)], quorum: 1, creditPerUnit: 1, policy: '', ringers: [] } })
      return job.jobId
    } finally {
      await session.close()
    }
  }

  it('a kernel that loops forever, grows memory without end, or returns a gigabyte is stopped as a client error, and the next unit runs', async () => {
    researcher = await generateKeyPair('Ed25519')
    const work = tempDir()
    const researchers = join(work, 'researchers.json')
    writeFileSync(researchers, JSON.stringify({ allowed: [peerIdFromPrivateKey(researcher).toString()] }))
    const hub = await startHub({ dataDir: join(work, 'hub'), staticDir: join(REPO_ROOT, 'dist'), researchersFile: researchers })
    hubs.push(hub)
    const limits = { memoryBytes: 4 * 65536, maxOutputBytes: 4096, deadlineMs: 1500 }
    const hostile = [
      await postModule(hub, buildModule({ memory: { min: 1, max: 4 }, run: { kind: 'loop' } }), limits),
      await postModule(hub, buildModule({ memory: { min: 1, max: 4 }, run: { kind: 'grow-forever' } }), limits),
      await postModule(hub, buildModule({ memory: { min: 1, max: 4 }, run: { kind: 'return-len', outLen: 1 << 30 } }), limits)
    ]
    const page = await openVolunteer(hub)
    await expect.poll(async () => (await hub.core.hubPeerStats()).clientErrors, { timeout: 60_000 }).toBe(3)
    for (const id of hostile) expect((await hub.core.jobStatus(id))!.validated).toBe(0)
    const errors = inspect(hub.core).all<{ error_message: string }>("SELECT error_message FROM results WHERE outcome = 'client-error' ORDER BY id").map(r => r.error_message)
    expect(errors.join('\n')).toMatch(/deadline of 1500 ms exceeded/)
    expect(errors.join('\n')).toMatch(/KernelOutputTooLargeError/)
    // the next unit, a good kernel, runs in a fresh worker and completes
    const good = await hub.core.createPrimesJob({ from: 0, to: 1e6, unit: 1e6, quorum: 1 })
    await expect.poll(async () => (await hub.core.jobStatus(good.id))?.state, { timeout: 30_000 }).toBe('complete')
    expect((await hub.core.jobStatus(good.id))!.primes).toBe(78_498)
    await page.context().close()
  })
})

describe('a researcher WGSL kernel', () => {
  it('runs on a volunteer\'s WebGPU device (SwiftShader) and its output is the squares the shader computes', async () => {
    const { hub, researcher, work } = await hubWithResearcher()
    const dir = join(work, 'squares')
    initKernel('squares', 'webgpu', dir)
    await buildKernel(dir)
    const manifest = readKernelDir(dir)
    const wgsl = new Uint8Array(readFileSync(join(dir, manifest.entry)))
    const words = [[2, 3, 4, 5], [7, 11, 65535]]
    const inputs = words.map(w => new Uint8Array(new Uint32Array(w).buffer))
    const { jobId, rows } = await runJob(hub, researcher, manifest, wgsl, inputs)
    expect(rows).toHaveLength(2)
    rows.forEach((row, i) => {
      const got = new Uint32Array(new Uint8Array(row.output).buffer)
      const want = new Uint32Array(manifest.webgpu!.outputBytes / 4)
      words[i].forEach((w, j) => { want[j] = Math.imul(w, w) >>> 0 })
      expect([...got]).toEqual([...want])
    })
    // reported as WebGPU work, so its replicas are only ever compared with other WebGPU results
    const devices = inspect(hub.core).all<{ device_class: string }>('SELECT device_class FROM results WHERE job_id = ?', jobId)
    // the adapter's real device class, webgpu:<vendor>/<architecture> (SwiftShader here)
    expect(devices.map(d => d.device_class)).toEqual(['webgpu:google/swiftshader', 'webgpu:google/swiftshader'])
  })
})

describe('a sliced (ABI 2) researcher kernel', () => {
  it('runs in a volunteer\'s browser worker and returns the ABI 1 kernel\'s outputs', async () => {
    const { hub, researcher, work } = await hubWithResearcher()
    const built: Record<string, { manifest: ReturnType<typeof readKernelDir>, bytes: Uint8Array }> = {}
    for (const example of ['collatz', 'collatz-sliced']) {
      const dir = join(work, example)
      cpSync(join(REPO_ROOT, 'examples', example), dir, { recursive: true, filter: src => !src.includes('/build') })
      await buildKernel(dir)
      const manifest = readKernelDir(dir)
      built[example] = { manifest, bytes: new Uint8Array(readFileSync(join(dir, manifest.entry))) }
    }
    const { manifest, bytes } = built['collatz-sliced']
    expect(manifest.abi).toBe(2)
    const ranges = [[1, 20_000], [20_000, 300_000]]
    const inputs = ranges.map(([lo, hi]) => new Uint8Array(new BigUint64Array([BigInt(lo), BigInt(hi)]).buffer))
    const { rows } = await runJob(hub, researcher, manifest, bytes, inputs)
    const abi1 = await instantiateWasmKernel(built.collatz.bytes, { kernelId: toHex(sha256Bytes(built.collatz.bytes)), memoryBytes: 131072, maxOutputBytes: 4096 })
    expect(rows).toHaveLength(2)
    for (const [i, row] of rows.entries()) expect(new Uint8Array(row.output)).toEqual(await abi1.run(inputs[i]))
  })
})
