/**
 * Issue 11, "a post is authorised before its bulk is read": kernels and inputs travel as chunked,
 * hash-checked blobs over `/sparecycles/blob-put/1.0.0`, and `/sparecycles/job/2.0.0` posts name
 * them. Against a real hub (startHub on a temp dir, WebSockets on loopback), from attacker code of
 * its own: libp2p nodes with their own keys making raw protocol calls.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import {
  BLOB_PUT_PROTOCOL, BLOB_PUT_SPEC, JOB_SPEC, JOB_SPEC_V2, SignedManifest, buildManifest, callProtocol, cidToHex,
  packInputs, sha256Bytes, signManifest, unpackInputs
} from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { uploadBlob } from '../src/cli/researcher-node.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { attackerPeer, dribble, sleep } from './attackers.ts'
import { inspect } from './hub-fixtures.ts'
import { buildModule } from './wasm-builder.ts'
import type { HubLimits, LimitName } from '../src/hub/limits.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { KernelDirManifest } from '../src/protocol/kernel-manifest.ts'

const MB = 1024 * 1024
let hub: RunningHub
let hubPeer: PeerId
let dataDir: string
const hits: LimitName[] = []
const nodes: Libp2p[] = []

async function start (limits: Partial<HubLimits> = {}): Promise<void> {
  dataDir = tempDir('hub-upload-')
  hits.length = 0
  hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), limits, onLimitHit: name => { hits.push(name) } })
  hubPeer = peerIdFromString(hub.peerId)
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.stop()))
  await hub?.stop()
})

/** An allowed researcher: its own key in researchers.json and a node dialled to the hub. */
async function researcher (): Promise<{ node: Libp2p, key: PrivateKey }> {
  const key = await generateKeyPair('Ed25519')
  writeFileSync(join(dataDir, 'researchers.json'), JSON.stringify({ allowed: [peerIdFromPrivateKey(key).toString()] }))
  const node = await createTestPeer(key)
  nodes.push(node)
  await node.dial(multiaddr(hub.multiaddrs[0]))
  return { node, key }
}

async function metric (name: string): Promise<number> {
  const text = await (await fetch(new URL('metrics', hub.url))).text()
  return Number(new RegExp(`^sparecycles_limit_hits_total\\{limit="${name}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

const staged = (): string[] => readdirSync(join(dataDir, 'staging', hub.peerId))
const chunk = async (node: Libp2p, cid: Uint8Array, totalBytes: number, offset: number, data: Uint8Array) =>
  await callProtocol(node, hubPeer, BLOB_PUT_SPEC, { cid: cid as Uint8Array<ArrayBuffer>, totalBytes, offset, data: data as Uint8Array<ArrayBuffer> })

async function signedKernel (key: PrivateKey): Promise<{ kernel: Uint8Array, signed: Uint8Array }> {
  const kernel = buildModule({ memory: { min: 1, max: 2 } })
  const dir: KernelDirManifest = { abi: 1, name: 'big', version: '1.0.0', backend: 'wasm', source: 'k', entry: 'k', output: 'bytes', limits: { memoryBytes: 131072, maxOutputBytes: 64, deadlineMs: 5000 } }
  return { kernel, signed: SignedManifest.encode(await signManifest(buildManifest(dir, kernel, key), key)) }
}

describe('blob uploads and job/2.0.0 (issue 11)', () => {
  it('a stranger\'s chunk is refused before its body is read (unauthorised-blob-bytes), nothing staged', async () => {
    await start()
    const stranger = await attackerPeer(hub.multiaddrs[0])
    nodes.push(stranger)
    const stream = await stranger.dialProtocol(hubPeer, BLOB_PUT_PROTOCOL)
    stream.send(Uint8Array.of(0x80, 0x80, 0x40)) // declares a 1 MiB chunk, then sends 64 KiB every 16 ms
    const closedAfter = await dribble(stream, new Uint8Array(64 * 1024), 16, 3000)
    expect(closedAfter).toBeLessThan(1000)
    expect(hits.filter(h => h === 'unauthorised-blob-bytes')).toHaveLength(1)
    expect(await metric('unauthorised-blob-bytes')).toBe(1)
    expect(staged()).toEqual([])
    // a stranger's job/2.0.0 post is refused by name, before any blob is looked at
    const res = await callProtocol(stranger, hubPeer, JOB_SPEC_V2, { signedManifest: Uint8Array.of(1), kernelCid: new Uint8Array(32), inputsCid: new Uint8Array(32), quorum: 1, creditPerUnit: 1, policy: '', ringers: [] })
    expect(res.error).toBe('ResearcherNotAllowedError')
  }, 30_000)

  it('an allowed researcher past the staging quota is refused (staged-bytes, counted in /metrics)', async () => {
    await start({ maxStagedBytesPerResearcher: 2 * MB })
    const { node } = await researcher()
    const a = new Uint8Array(1.5 * MB).fill(1)
    const first = await chunk(node, sha256Bytes(a), a.length, 0, a.subarray(0, MB))
    expect(first).toMatchObject({ error: '', received: MB, complete: false })
    const b = new Uint8Array(MB).fill(2)
    const second = await chunk(node, sha256Bytes(b), b.length, 0, b.subarray(0, 4096))
    expect(second.error).toBe('ResourceLimitError')
    expect(second.message).toMatch(/staged-bytes/)
    expect(hits.filter(h => h === 'staged-bytes')).toHaveLength(1)
    expect(await metric('staged-bytes')).toBe(1)
    expect(staged()).toHaveLength(1)
    // the first upload can still finish, and its quota is free again
    expect(await chunk(node, sha256Bytes(a), a.length, MB, a.subarray(MB))).toMatchObject({ error: '', complete: true })
    expect(hub.core.blobs.has(sha256Bytes(a))).toBe(true)
    expect(await uploadBlob(node, hubPeer, b)).toEqual(sha256Bytes(b))
  }, 30_000)

  it('a blob whose bytes do not hash to its cid is refused (BlobHashMismatchError) and not stored', async () => {
    await start()
    const { node } = await researcher()
    const bytes = new Uint8Array(1.5 * MB).fill(7)
    const claimed = sha256Bytes(new Uint8Array(1.5 * MB).fill(8))
    expect((await chunk(node, claimed, bytes.length, 0, bytes.subarray(0, MB))).error).toBe('')
    const last = await chunk(node, claimed, bytes.length, MB, bytes.subarray(MB))
    expect(last.error).toBe('BlobHashMismatchError')
    expect(hub.core.blobs.has(claimed)).toBe(false)
    expect(hub.core.blobs.has(sha256Bytes(bytes))).toBe(false)
    expect(existsSync(join(dataDir, 'blobs', cidToHex(claimed)))).toBe(false)
    expect(staged()).toEqual([])
  }, 30_000)

  it('an unfinished upload expires and is deleted (staged-upload-deadline); a chunk out of order is refused', async () => {
    await start({ stagedUploadTimeoutMs: 300 })
    const { node } = await researcher()
    const bytes = new Uint8Array(2 * MB).fill(3)
    const cid = sha256Bytes(bytes)
    expect((await chunk(node, cid, bytes.length, 0, bytes.subarray(0, MB))).error).toBe('')
    expect((await chunk(node, cid, bytes.length, 4096, bytes.subarray(4096, 8192))).error).toBe('MalformedMessageError')
    await sleep(700)
    expect(staged()).toEqual([])
    expect(hits).toContain('staged-upload-deadline')
    const late = await chunk(node, cid, bytes.length, MB, bytes.subarray(MB))
    expect(late.error).toBe('MalformedMessageError')
    expect(hub.core.blobs.has(cid)).toBe(false)
  }, 30_000)

  it('a post naming a blob that was not uploaded is refused (BlobNotFoundError) and writes no job', async () => {
    await start()
    const { node, key } = await researcher()
    const { kernel, signed } = await signedKernel(key)
    const inputs = packInputs([new Uint8Array(16)])
    const kernelCid = await uploadBlob(node, hubPeer, kernel)
    const post = { signedManifest: signed as Uint8Array<ArrayBuffer>, kernelCid: kernelCid as Uint8Array<ArrayBuffer>, inputsCid: sha256Bytes(inputs) as Uint8Array<ArrayBuffer>, quorum: 1, creditPerUnit: 1, policy: '', ringers: [] }
    const res = await callProtocol(node, hubPeer, JOB_SPEC_V2, post)
    expect(res.error).toBe('BlobNotFoundError')
    const noKernel = await callProtocol(node, hubPeer, JOB_SPEC_V2, { ...post, kernelCid: sha256Bytes(Uint8Array.of(0)) as Uint8Array<ArrayBuffer>, inputsCid: await uploadBlob(node, hubPeer, inputs) as Uint8Array<ArrayBuffer> })
    expect(noKernel.error).toBe('BlobNotFoundError')
    expect(await hub.core.listJobs()).toHaveLength(0)
  }, 30_000)

  it('5 MiB of inputs through blob-put + job/2.0.0: the job is created and its units are the inputs; job/1.0.0 refuses it inline', async () => {
    await start()
    const { node, key } = await researcher()
    const { kernel, signed } = await signedKernel(key)
    const inputs = Array.from({ length: 330 }, (_, i) => new Uint8Array(16 * 1024).fill(i % 251).map((v, j) => j < 4 ? (i >> (8 * j)) & 0xff : v))
    const packed = packInputs(inputs)
    expect(packed.length).toBeGreaterThan(5 * MB)
    expect(unpackInputs(packed)).toEqual(inputs)
    const post = {
      signedManifest: signed as Uint8Array<ArrayBuffer>,
      kernelCid: await uploadBlob(node, hubPeer, kernel) as Uint8Array<ArrayBuffer>,
      inputsCid: await uploadBlob(node, hubPeer, packed) as Uint8Array<ArrayBuffer>,
      quorum: 1,
      creditPerUnit: 1,
      policy: '', ringers: []
    }
    const res = await callProtocol(node, hubPeer, JOB_SPEC_V2, post, AbortSignal.timeout(30_000))
    expect(res.error).toBe('')
    expect(res.job).toMatchObject({ kernelName: 'big', state: 'running', workUnits: 330 })
    const rows = inspect(hub.core).all<{ input: Uint8Array }>('SELECT input FROM work_units WHERE job_id = ? ORDER BY idx', res.job!.jobId)
    expect(rows.map(r => new Uint8Array(r.input))).toEqual(inputs)
    expect(staged()).toEqual([])
    // the same post inline over job/1.0.0 is above its 1 MiB cap: the stream is reset, no job is written
    await expect(callProtocol(node, hubPeer, JOB_SPEC, {
      post: { signedManifest: signed as Uint8Array<ArrayBuffer>, kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 1, creditPerUnit: 1, policy: '', ringers: [] }
    }, AbortSignal.timeout(30_000))).rejects.toThrow()
    expect(await hub.core.listJobs()).toHaveLength(1)
  }, 60_000)
})
