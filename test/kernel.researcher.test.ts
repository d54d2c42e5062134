/**
 * Researcher kernels (kernel ABI 1, docs/kernel-abi.md), Node side: the load-time checks, manifest
 * signatures, posting over real libp2p to a real hub (each refusal leaves nothing behind), blob
 * fetching that drops a peer sending bad bytes, and the CLI's kernel/key/job commands.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BLOB_SPEC, KernelManifest, SignedManifest, buildManifest, checkWasmKernel, handleProtocol, sha256Bytes, signManifest,
  toHex, verifySignedManifest
} from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { fetchBlobFromPeers } from '../src/volunteer/kernel-resolver.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { buildKernel, readKernelDir } from '../src/cli/kernel.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { buildModule } from './wasm-builder.ts'
import { caps, countPrimes, resultFor, v2, volunteer } from './hub-fixtures.ts'
import { sha256Bytes as sha256, signResult } from '../src/protocol/signing.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { PrivateKey } from '@libp2p/interface'

const CLI = join(REPO_ROOT, 'src/cli/main.ts')
function cli (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const LIMITS = { memoryBytes: 4 * 65536, maxOutputBytes: 4096, deadlineMs: 5000 }
function manifestFor (bytes: Uint8Array, memoryBytes = LIMITS.memoryBytes): Pick<KernelManifest, 'kernelId' | 'memoryBytes'> {
  return { kernelId: toHex(sha256Bytes(bytes)), memoryBytes }
}

let collatzDir: string
let collatzBytes: Uint8Array

beforeAll(async () => {
  collatzDir = join(tempDir(), 'collatz')
  cpSync(join(REPO_ROOT, 'examples/collatz'), collatzDir, { recursive: true, filter: src => !src.includes('/build') })
  await buildKernel(collatzDir)
  collatzBytes = new Uint8Array(readFileSync(join(collatzDir, 'build/kernel.wasm')))
})

describe('load-time checks of a WASM kernel', () => {
  it('accepts the Collatz example', async () => {
    await expect(checkWasmKernel(collatzBytes, manifestFor(collatzBytes, 131072))).resolves.toBeInstanceOf(WebAssembly.Module)
  })
  it('refuses an import outside the whitelist, naming it', async () => {
    for (const imp of ['env.seed', 'wasi_snapshot_preview1.fd_write']) {
      const bytes = buildModule({ imports: [imp], memory: { min: 1, max: 2 } })
      await expect(checkWasmKernel(bytes, manifestFor(bytes))).rejects.toMatchObject({ name: 'KernelImportError', importName: imp })
    }
    const ok = buildModule({ imports: ['env.abort'], memory: { min: 1, max: 2 } })
    await expect(checkWasmKernel(ok, manifestFor(ok))).resolves.toBeDefined()
  })
  it('refuses a memory maximum above the manifest\'s, or none at all', async () => {
    const big = buildModule({ memory: { min: 1, max: 5 } })
    await expect(checkWasmKernel(big, manifestFor(big))).rejects.toMatchObject({ name: 'KernelMemoryError' })
    const unbounded = buildModule({ memory: { min: 1, max: null } })
    await expect(checkWasmKernel(unbounded, manifestFor(unbounded))).rejects.toThrow(/declares no maximum/)
  })
  it('refuses bytes that do not hash to the manifest\'s id, and a module lacking an ABI export', async () => {
    const bytes = buildModule({ memory: { min: 1, max: 2 } })
    const other = buildModule({ memory: { min: 1, max: 3 } })
    await expect(checkWasmKernel(bytes, manifestFor(other))).rejects.toMatchObject({ name: 'KernelHashMismatchError' })
    const partial = buildModule({ memory: { min: 1, max: 2 }, exports: ['sc_abi', 'sc_run'] })
    await expect(checkWasmKernel(partial, manifestFor(partial))).rejects.toMatchObject({ name: 'KernelAbiError' })
  })
})

describe('signed manifests', () => {
  it('verify, and a one-byte change or a wrong field is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    const signed = await signManifest(buildManifest(readKernelDir(collatzDir), collatzBytes, key), key)
    const verified = await verifySignedManifest(signed)
    expect(verified.researcherId).toBe(peerIdFromPrivateKey(key).toString())
    expect(verified.manifest.kernelId).toBe(toHex(sha256Bytes(collatzBytes)))
    const tampered = { ...signed, manifest: KernelManifest.encode({ ...KernelManifest.decode(signed.manifest), deadlineMs: 600_000 }) }
    await expect(verifySignedManifest(tampered)).rejects.toMatchObject({ name: 'ManifestSignatureError' })
    // ABI 2 is known since the sliced ABI; an unknown version is still refused
    const badAbi = await signManifest({ ...KernelManifest.decode(signed.manifest), abi: 3 }, key)
    await expect(verifySignedManifest(badAbi)).rejects.toMatchObject({ name: 'ManifestError' })
    const abi2 = await signManifest({ ...KernelManifest.decode(signed.manifest), abi: 2 }, key)
    await expect(verifySignedManifest(abi2)).resolves.toMatchObject({ manifest: { abi: 2 } })
  })
})

describe('posting jobs over /sparecycles/job/1.0.0', () => {
  let hub: RunningHub
  let allowed: PrivateKey
  let stranger: PrivateKey

  beforeAll(async () => {
    allowed = await generateKeyPair('Ed25519')
    stranger = await generateKeyPair('Ed25519')
    const dataDir = tempDir()
    writeFileSync(join(dataDir, 'researchers.json'), JSON.stringify({ allowed: [peerIdFromPrivateKey(allowed).toString()] }))
    hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist') })
  })
  afterAll(async () => { await hub?.stop() })

  async function post (connectAs: PrivateKey, signer: PrivateKey, kernel: Uint8Array, memoryBytes = 131072, inputs = [new Uint8Array(16)], policy = '', ringers: Array<{ index: number, outputSha256: Uint8Array<ArrayBuffer> }> = []) {
    const dir = { ...readKernelDir(collatzDir), limits: { ...readKernelDir(collatzDir).limits, memoryBytes } }
    const signed = await signManifest(buildManifest(dir, kernel, signer), signer)
    const session = await connectToHub(hub.multiaddrs[0], connectAs)
    try {
      return await session.request({ post: { signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 2, creditPerUnit: 1, policy, ringers } })
    } finally {
      await session.close()
    }
  }

  async function jobCount (): Promise<number> { return (await hub.core.listJobs()).length }

  it('accepts an allowed researcher\'s job and shows its status', async () => {
    const before = await jobCount()
    const job = await post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(16), new Uint8Array(16)])
    expect(job).toMatchObject({ kernelName: 'collatz-records', state: 'running', workUnits: 2, policy: 'replicate', invalidResults: 0, replicasIssued: 0 })
    expect(await jobCount()).toBe(before + 1)
  })

  it('takes the researcher\'s policy: adaptive is kept and shown; certify and unknown policies are refused, writing nothing', async () => {
    const job = await post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(16)], 'adaptive')
    expect(job).toMatchObject({ state: 'running', workUnits: 1, policy: 'adaptive' })
    expect((await hub.core.jobStatus(job.jobId))?.policy).toBe('adaptive')
    const before = await jobCount()
    await expect(post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(16)], 'certify')).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/certify needs a verifier/) })
    await expect(post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(16)], 'trust-me')).rejects.toMatchObject({ remoteName: 'BadJobError', message: expect.stringMatching(/policy must be replicate or adaptive/) })
    expect(await jobCount()).toBe(before)
  })

  it('a researcher revives their own failed job over the job protocol; nobody else can', async () => {
    const job = await post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(16)], 'replicate')
    // three established volunteers (each with a valid result on this hub) whose runs all fail: the unit fails
    const primes = await hub.core.createPrimesJob({ from: 0, to: 3000, unit: 1000, quorum: 1 })
    const vs = await Promise.all([volunteer(), volunteer(), volunteer()])
    const empty = new Uint8Array(0)
    for (const v of vs) {
      const [l] = (await hub.core.leaseV2(v.id, v2(caps()))).leases
      expect(l.wuId.startsWith(`${primes.id}/`)).toBe(true)
      const { lo, hi } = await import('../src/protocol/primes.ts').then(m => m.decodePrimesInput(l.input))
      expect((await hub.core.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status).toBe('accepted')
      // earlier tests' jobs run the same kernel: take this job's unit and give the others back
      const page = caps({ kernels: [], kernelAbis: [1] })
      const leased = (await hub.core.leaseV2(v.id, v2(page, 16))).leases
      const k = leased.find(l => l.wuId.startsWith(`${job.jobId}/`))!
      expect(k).toBeDefined()
      await hub.core.leaseV2(v.id, v2(page, 0, leased.filter(l => l !== k).map(l => ({ replicaId: l.replicaId, reason: 'cannot-run' }))))
      await hub.core.submit(v.id, await signResult({ replicaId: k.replicaId, wuId: k.wuId, outcome: 'client-error', output: empty, outputSha256: sha256(empty) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: 'trap' }, v.key))
    }
    const session = await connectToHub(hub.multiaddrs[0], allowed)
    try {
      expect(await session.request({ query: { jobId: job.jobId, outputsFrom: 0, outputsMax: 0 } })).toMatchObject({ state: 'failed', failed: 1 })
      const other = await connectToHub(hub.multiaddrs[0], stranger)
      try {
        await expect(other.request({ revive: { jobId: job.jobId } })).rejects.toMatchObject({ remoteName: 'UnknownJobError' })
      } finally { await other.close() }
      expect(await session.request({ revive: { jobId: job.jobId } })).toMatchObject({ state: 'running', failed: 0, unsent: 2 })
      // reviving a running job changes nothing
      expect(await session.request({ revive: { jobId: job.jobId } })).toMatchObject({ state: 'running', failed: 0 })
    } finally {
      await session.close()
    }
  })

  it('refuses each bad post with a named error and writes nothing', async () => {
    const before = await jobCount()
    await expect(post(stranger, stranger, collatzBytes)).rejects.toMatchObject({ remoteName: 'ResearcherNotAllowedError' })
    await expect(post(allowed, stranger, collatzBytes)).rejects.toMatchObject({ remoteName: 'ResearcherMismatchError' })
    const importer = buildModule({ imports: ['env.seed'], memory: { min: 1, max: 2 } })
    await expect(post(allowed, allowed, importer)).rejects.toMatchObject({ remoteName: 'KernelImportError' })
    const hungry = buildModule({ memory: { min: 1, max: 64 } })
    await expect(post(allowed, allowed, hungry, 131072)).rejects.toMatchObject({ remoteName: 'KernelMemoryError' })
    await expect(post(allowed, allowed, collatzBytes, 131072, [])).rejects.toMatchObject({ remoteName: 'BadJobError' })
    await expect(post(allowed, allowed, collatzBytes, 131072, [new Uint8Array(20_000)])).rejects.toMatchObject({ remoteName: 'BadJobError' })
    expect(await jobCount()).toBe(before)
  })
})

describe('blob fetching', () => {
  it('refuses a blob whose hash does not match and never asks that peer again', async () => {
    const good = new TextEncoder().encode('kernel bytes '.repeat(100))
    const cid = sha256Bytes(good)
    const makeServer = async (bytes: Uint8Array, counter: { n: number }) => {
      const node = await createTestPeer(undefined, ['/ip4/127.0.0.1/tcp/0/ws'])
      await handleProtocol(node, BLOB_SPEC, async (req) => {
        counter.n++
        return { error: '', message: '', offset: req.offset, totalBytes: bytes.length, data: bytes.slice(req.offset) as Uint8Array<ArrayBuffer> }
      })
      return node
    }
    const badCount = { n: 0 }
    const goodCount = { n: 0 }
    const tampered = good.slice()
    tampered[7] ^= 1
    const bad = await makeServer(tampered, badCount)
    const honest = await makeServer(good, goodCount)
    const client = await createTestPeer()
    try {
      await client.dial(bad.getMultiaddrs()[0])
      await client.dial(honest.getMultiaddrs()[0])
      const badPeers = new Set<string>()
      const first = await fetchBlobFromPeers(client, [bad.peerId, honest.peerId], cid, badPeers)
      expect(toHex(sha256Bytes(first))).toBe(toHex(cid))
      expect([...badPeers]).toEqual([bad.peerId.toString()])
      expect(badCount.n).toBe(1)
      const again = await fetchBlobFromPeers(client, [bad.peerId, honest.peerId], cid, badPeers)
      expect(again).toEqual(first)
      expect(badCount.n).toBe(1)
      expect(goodCount.n).toBe(2)
      // with only the bad peer left, the fetch fails rather than use its bytes
      await expect(fetchBlobFromPeers(client, [bad.peerId], cid, new Set())).rejects.toMatchObject({ name: 'BlobHashMismatchError' })
    } finally {
      await client.stop()
      await bad.stop()
      await honest.stop()
    }
  })
})

describe('researcher CLI', () => {
  it('kernel init, build and test for wasm and webgpu skeletons', () => {
    for (const backend of ['wasm', 'webgpu']) {
      const dir = join(tempDir(), `k-${backend}`)
      const init = cli(['kernel', 'init', 'my-kernel', '--backend', backend, '--dir', dir])
      expect(init.status, init.stderr).toBe(0)
      const build = cli(['kernel', 'build', dir])
      expect(build.status, build.stderr).toBe(0)
      expect(build.stdout).toMatch(/kernel id [0-9a-f]{64}/)
      const test = cli(['kernel', 'test', dir, '--input', join(dir, 'sample-inputs.json'), '--expect', join(dir, 'expected-outputs.json')])
      expect(test.status, test.stderr).toBe(0)
      expect(test.stdout).toMatch(/all \d+ outputs match/)
    }
  })

  it('every command refuses bad input with one line and a non-zero exit', () => {
    const dir = tempDir()
    const key = join(dir, 'researcher.key')
    const cases: Array<[string[], RegExp]> = [
      [['kernel', 'init', 'Bad Name'], /<name>/],
      [['kernel', 'init', 'k', '--backend', 'cuda'], /--backend/],
      [['kernel', 'build', join(dir, 'missing')], /no kernel.json/],
      [['kernel', 'test', collatzDir, '--input', join(dir, 'missing.json')], /cannot read inputs file/],
      [['job', 'post', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--kernel', collatzDir, '--inputs', 'range:1:100:10', '--key', join(dir, 'nokey')], /no researcher key/],
      [['job', 'status', 'job-1', '--hub', 'not-a-multiaddr', '--key', key], /no researcher key|--hub/],
      [['job', 'post', '--kernel', collatzDir, '--inputs', 'range:1:100:10'], /--hub/],
      [['job', 'post', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--kernel', collatzDir, '--inputs', 'range:1:100:10', '--quorum', '9'], /--quorum/],
      [['job', 'post', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--kernel', collatzDir, '--inputs', 'range:1:100:10', '--ringers', 'some'], /--ringers/]
    ]
    expect(cli(['key', 'init', '--key', key]).status).toBe(0)
    cases.push([['job', 'status', 'job-1', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--key', key], /--hub: unreachable/])
    // ringers are computed before anything is sent: too many is refused without the hub
    cases.push([['job', 'post', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--kernel', collatzDir, '--inputs', 'range:1:100:10', '--ringers', '11', '--key', key], /--ringers 11: at most 10 for 10 inputs/])
    for (const [args, pattern] of cases) {
      const r = cli(args)
      expect(r.status, args.join(' ')).not.toBe(0)
      const lines = r.stderr.trim().split('\n')
      expect(lines, args.join(' ')).toHaveLength(1)
      expect(lines[0], args.join(' ')).toMatch(pattern)
    }
    chmodSync(key, 0o644)
    const loose = cli(['job', 'status', 'job-1', '--hub', '/ip4/127.0.0.1/tcp/1/ws', '--key', key])
    expect(loose.stderr.trim()).toMatch(/readable by other users/)
    expect(existsSync(key)).toBe(true)
  })
})
