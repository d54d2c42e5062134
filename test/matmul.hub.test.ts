import { inspect } from './hub-fixtures.ts'
/**
 * The matmul job on a real HubCore (SQLite) with Node volunteers running the WASM SIMD kernel:
 * bad matrix files are refused before any work unit exists; a tile with one corrupted element is
 * invalid (no credit), its sender is marked and the WU goes to someone else; tiles of the wrong
 * length or shape are rejected by name with nothing stored or credited; the assembled product
 * matches a float64 reference within the f32 bound and its sha-256 is reported. Over libp2p: the
 * blob protocol serves hash-checked blocks in chunks, and a 256 KiB tile travels over
 * /sparecycles/result/1.1.0.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { startHub } from '../src/hub/hub.ts'
import { productErrorBound, referenceProduct } from '../src/hub/matmul-reference.ts'
import {
  MATMUL_KERNEL_ID, MAX_LARGE_OUTPUT_BYTES, MatrixFormatError, RemoteError, decodeMatrix, decodeTileInput,
  encodeMatrix, encodeTileOutput, generateMatrix, sha256Bytes, signResult
} from '../src/protocol/index.ts'
import { fetchBlob } from '../src/volunteer/blob-fetch.ts'
import { exchangeResult } from '../src/volunteer/hub-client.ts'
import { instantiateGemmKernel } from '../workers/gemm-wasm.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import type { GemmWasm } from '../workers/gemm-wasm.ts'
import type { Lease, SignedResult } from '../src/protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'

let kernel: GemmWasm
beforeAll(async () => {
  kernel = await instantiateGemmKernel(readFileSync(join(REPO_ROOT, 'build/kernels/gemm-simd.wasm')), 'simd')
})

interface Volunteer { key: PrivateKey, peerId: string }
async function volunteer (): Promise<Volunteer> {
  const key = await generateKeyPair('Ed25519')
  return { key, peerId: peerIdFromPrivateKey(key).toString() }
}

/** Compute a leased tile from the hub's blobs (as a volunteer would after fetching them). */
async function computeTile (hub: HubCore, lease: Lease): Promise<{ rows: number, cols: number, c: Float32Array }> {
  const t = decodeTileInput(lease.input)
  const f32 = (b: Uint8Array): Float32Array => new Float32Array(b.slice().buffer)
  const c = await kernel.multiply(f32(hub.blobs.get(t.aCid)!), f32(hub.blobs.get(t.bCid)!), t.rows, t.inner, t.cols)
  return { rows: t.rows, cols: t.cols, c }
}

async function sign (v: Volunteer, lease: Lease, output: Uint8Array): Promise<SignedResult> {
  return await signResult({
    replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output: output as Uint8Array<ArrayBuffer>,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 5, deviceClass: 'wasm', errorMessage: ''
  }, v.key)
}

describe('matmul job in the hub', () => {
  let hub: HubCore
  let dir: string
  beforeAll(async () => {
    dir = tempDir()
    hub = await HubCore.open({ dataDir: join(dir, 'hub'), hubKey: await generateKeyPair('Ed25519') })
  })
  afterAll(async () => { await hub?.close() })

  it('refuses bad matrix files with a clear error before any work unit is created', async () => {
    const good = encodeMatrix(generateMatrix(4, 3, 1))
    const write = (name: string, bytes: Uint8Array): string => { const p = join(dir, name); writeFileSync(p, bytes); return p }
    const b = write('b.f32mat', encodeMatrix(generateMatrix(3, 5, 2)))
    const badMagic = good.slice(); badMagic[0] = 0x58
    const nan = good.slice(); new DataView(nan.buffer).setFloat32(16 + 4 * 5, NaN, true)
    const inf = good.slice(); new DataView(inf.buffer).setFloat32(16 + 4 * 11, -Infinity, true)
    const zeroRows = good.slice(); new DataView(zeroRows.buffer).setUint32(8, 0, true)
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['magic', badMagic, /wrong header: magic/],
      ['short', good.subarray(0, good.length - 4), /wrong size: a 4 x 3 matrix file is 64 bytes, got 60/],
      ['long', new Uint8Array([...good, 0, 0, 0, 0]), /wrong size/],
      ['header-only', good.subarray(0, 10), /shorter than the 16-byte header/],
      ['nan', nan, /entry \(1, 2\) is NaN/],
      ['inf', inf, /entry \(3, 2\) is -Infinity/],
      ['zero-rows', zeroRows, /wrong header: rows must be an integer from 1/]
    ]
    for (const [name, bytes, message] of cases) {
      const a = write(`${name}.f32mat`, bytes)
      await expect(hub.createMatmulJob({ a, b }), name).rejects.toThrow(MatrixFormatError)
      await expect(hub.createMatmulJob({ a, b }), name).rejects.toThrow(message)
    }
    const a = write('a.f32mat', good)
    await expect(hub.createMatmulJob({ a, b: a })).rejects.toThrow(/non-conforming dimensions: A is 4 x 3, B is 4 x 3/)
    await expect(hub.createMatmulJob({ a, b: join(dir, 'missing.f32mat') })).rejects.toThrow(/cannot read/)
    await expect(hub.createMatmulJob({ a: { rows: 1, cols: 1, data: new Float32Array([3e38]) }, b: { rows: 1, cols: 1, data: new Float32Array([3e38]) } })).rejects.toThrow(/overflow/)
    expect(await hub.listJobs()).toHaveLength(0)
    expect(inspect(hub).get<{ n: number }>('SELECT count(*) AS n FROM work_units')?.n).toBe(0)
  })

  it('validates tiles from one volunteer by Freivalds, rejects a corrupted one, reissues it to another peer, assembles the product', async () => {
    const A = generateMatrix(70, 50, 9, 0)
    const B = generateMatrix(50, 90, 9, 1)
    writeFileSync(join(dir, 'A.f32mat'), encodeMatrix(A))
    writeFileSync(join(dir, 'B.f32mat'), encodeMatrix(B))
    const job = await hub.createMatmulJob({ a: join(dir, 'A.f32mat'), b: join(dir, 'B.f32mat'), tile: 32 })
    expect(job.kernel).toBe(MATMUL_KERNEL_ID)
    expect(job.workUnits).toBe(9)
    // replicasPerUnit is measured now (issued / units, issue 10): nothing issued yet; quorum 1, certificates
    expect(job).toMatchObject({ quorum: 1, policy: 'certify', replicasPerUnit: 0 })
    const cheat = await volunteer()
    const honest = await volunteer()
    const opts = { maxOutputBytes: MAX_LARGE_OUTPUT_BYTES }

    // the cheater's first tile: one element off
    const [bad] = (await hub.lease(cheat.peerId, { maxUnits: 1, release: [], deviceClass: 'webgpu' })).leases
    const tile = await computeTile(hub, bad)
    tile.c[7] += 1000
    const res = await hub.submit(cheat.peerId, await sign(cheat, bad, encodeTileOutput(tile.rows, tile.cols, tile.c)), opts)
    expect(res.status).toBe('accepted')
    expect(inspect(hub).resultForReplica(bad.replicaId)?.validate_state).toBe('invalid')
    expect(inspect(hub).getPeer(cheat.peerId)?.invalid_results).toBe(1)
    expect(await hub.ledgerBalance(cheat.peerId)).toBe(0)
    expect(inspect(hub).getWorkUnit(bad.wuId)?.wanted).toBe(1)

    // wrong length and wrong shape: rejected by name, nothing stored or credited
    const [next] = (await hub.lease(cheat.peerId, { maxUnits: 1, release: [], deviceClass: 'webgpu' })).leases
    expect(next.wuId).not.toBe(bad.wuId)
    const t2 = await computeTile(hub, next)
    const resultsBefore = inspect(hub).get<{ n: number }>('SELECT count(*) AS n FROM results')?.n
    const wrongShape = await hub.submit(cheat.peerId, await sign(cheat, next, encodeTileOutput(t2.rows * 2, t2.cols / 2, t2.c)), opts)
    expect(wrongShape.status).toBe('rejected')
    expect(wrongShape.error).toBe('TileShapeError')
    expect(wrongShape.message).toMatch(/has shape \d+ x \d+, the work unit asked for/)
    const short = encodeTileOutput(t2.rows, t2.cols, t2.c).subarray(0, 8 + 4 * (t2.rows * t2.cols - 1))
    const wrongLength = await hub.submit(cheat.peerId, await sign(cheat, next, short), opts)
    expect(wrongLength.error).toBe('TileShapeError')
    expect(wrongLength.message).toMatch(/bytes, got/)
    expect(inspect(hub).get<{ n: number }>('SELECT count(*) AS n FROM results')?.n).toBe(resultsBefore)
    expect(await hub.ledgerBalance(cheat.peerId)).toBe(0)
    // the cheater gives the lease back
    await hub.lease(cheat.peerId, { maxUnits: 0, release: [next.replicaId], deviceClass: 'webgpu' })

    // the honest volunteer does every tile, including the reissued one
    const done = new Set<string>()
    for (;;) {
      const { leases } = await hub.lease(honest.peerId, { maxUnits: 4, release: [], deviceClass: 'wasm' })
      if (leases.length === 0) break
      for (const lease of leases) {
        const t = await computeTile(hub, lease)
        const r = await hub.submit(honest.peerId, await sign(honest, lease, encodeTileOutput(t.rows, t.cols, t.c)), opts)
        expect(r.status).toBe('accepted')
        expect(inspect(hub).resultForReplica(lease.replicaId)?.validate_state).toBe('valid')
        done.add(lease.wuId)
      }
    }
    expect(done.has(bad.wuId)).toBe(true)
    const status = (await hub.jobStatus(job.id))!
    expect(status.state).toBe('complete')
    expect(status.validated).toBe(9)
    expect(status.invalidResults).toBe(1)
    const out = status.output as { outputPath: string, outputSha256: string }
    const file = readFileSync(out.outputPath)
    expect(out.outputSha256).toBe(createHash('sha256').update(file).digest('hex'))
    const C = decodeMatrix(file, 'C')
    expect([C.rows, C.cols]).toEqual([70, 90])
    const ref = referenceProduct(A, B)
    const bound = productErrorBound(A, B)
    for (let i = 0; i < ref.length; i++) expect(Math.abs(C.data[i] - ref[i])).toBeLessThanOrEqual(bound[i])
    // 1 credit per GFLOP: 2 * 70 * 50 * 90 flops in all, all to the honest volunteer
    expect(await hub.ledgerBalance(honest.peerId)).toBeCloseTo(2 * 70 * 50 * 90 * 1e-9, 9)
    expect((await hub.verifyLedger()).ok).toBe(true)
  })
})

describe('matmul over libp2p: blob protocol and result/1.1.0', () => {
  it('serves hash-checked blocks in chunks, refuses unknown ids, and takes a 256 KiB tile over result/1.1.0', async () => {
    const hub = await startHub({ dataDir: tempDir(), staticDir: join(REPO_ROOT, 'dist') })
    const key = await generateKeyPair('Ed25519')
    const peer = await createTestPeer(key)
    try {
      const job = await hub.core.createMatmulJob({ n: 1030, seed: 4, tile: 256 })
      expect(job.workUnits).toBe(25)
      await peer.dial(multiaddr(hub.multiaddrs[0]))
      const hubPeer = peerIdFromString(hub.peerId)
      // leases come in random order now (issue 10): take a full 256 x 256 tile among 16 (at least 7 of any 16 are)
      const { leases: some } = await hub.core.lease(peer.peerId.toString(), { maxUnits: 16, release: [], deviceClass: 'wasm' })
      const leases = some.filter(l => { const d = decodeTileInput(l.input); return d.rows === 256 && d.cols === 256 }).slice(0, 1)
      const t = decodeTileInput(leases[0].input)
      // A's row block: 256 x 1030 f32 = 1,054,720 bytes, more than one 1 MiB chunk
      const aBytes = await fetchBlob(peer, hubPeer, t.aCid)
      expect(aBytes.length).toBe(4 * 256 * 1030)
      expect(aBytes).toEqual(hub.core.blobs.get(t.aCid))
      const bBytes = await fetchBlob(peer, hubPeer, t.bCid)
      const unknown = new Uint8Array(32).fill(7)
      await expect(fetchBlob(peer, hubPeer, unknown)).rejects.toThrow(RemoteError)
      await expect(fetchBlob(peer, hubPeer, unknown)).rejects.toThrow(/BlobNotFoundError/)

      const c = await kernel.multiply(new Float32Array(aBytes.slice().buffer), new Float32Array(bBytes.slice().buffer), t.rows, t.inner, t.cols)
      const output = encodeTileOutput(t.rows, t.cols, c)
      expect(output.length).toBeGreaterThan(256 * 1024)
      const signed = await signResult({
        replicaId: leases[0].replicaId, wuId: leases[0].wuId, outcome: 'success', output: output as Uint8Array<ArrayBuffer>,
        outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 5, deviceClass: 'wasm', errorMessage: ''
      }, key)
      const res = await exchangeResult(peer, hubPeer, { result: signed, receiptsAfter: 0 })
      expect(res.status).toBe('accepted')
      expect(res.credits).toHaveLength(1)
      expect(inspect(hub.core).resultForReplica(leases[0].replicaId)?.validate_state).toBe('valid')
    } finally {
      await peer.stop()
      await hub.stop()
    }
  })
})
