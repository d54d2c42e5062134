/**
 * Capability-aware leasing (work/2.0.0) on a real HubCore (SQLite in a temp dir): only what a page
 * can run is leased; `cannot-run` give-backs never count against a unit's replica limit; device
 * classes come from the request and pin non-exact kernels' units (homogeneous redundancy), never
 * exact or certificate-validated ones; the catalogue is loaded before anything is leased and a
 * second hub on the same store learns kernels posted to the first; a v1 store is migrated.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registerSite } from '../src/hub/site-registry.ts'
import { HubCore } from '../src/hub/hub-core.ts'
import { MIGRATIONS } from '../src/hub/store.ts'
import { MATMUL_KERNEL_ID, decodeTileInput, encodeTileOutput, generateMatrix } from '../src/protocol/matmul.ts'
import { PRIMES_KERNEL_ID, decodePrimesInput, encodePrimesInput } from '../src/protocol/primes.ts'
import { sha256Bytes } from '../src/protocol/signing.ts'
import type { HubCoreOptions } from '../src/hub/hub-core.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Lease } from '../src/protocol/pb/messages.ts'
import { tempDir } from './helpers.ts'
import { bytesResultFor, caps, countPrimes, f32Product, gpuAdapter, inspect, postTestKernel, resultFor, v2, volunteer } from './hub-fixtures.ts'
import type { Volunteer } from './hub-fixtures.ts'

let dir: string
let clock: number
let hubKey: PrivateKey
const open: HubCore[] = []

async function hub (opts: Partial<HubCoreOptions> = {}): Promise<HubCore> {
  const h = await HubCore.open({ dataDir: dir, hubKey, now: () => clock, defaultPolicy: 'replicate', leaseOrder: 'sequential', ...opts })
  open.push(h)
  return h
}

beforeEach(async () => {
  dir = tempDir('hub-caps-')
  clock = 1_700_000_000_000
  hubKey = await generateKeyPair('Ed25519')
})

afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
  rmSync(dir, { recursive: true, force: true })
})

const NVIDIA = gpuAdapter('NVIDIA', 'ampere')
const AMD = gpuAdapter('AMD', 'rdna-3')
const GPU_MATMUL = caps({ backends: ['webgpu', 'wasm'], kernels: [MATMUL_KERNEL_ID], gpu: NVIDIA })
const WASM_MATMUL = caps({ backends: ['wasm'], kernels: [MATMUL_KERNEL_ID] })

/** The correct tile for a matmul lease, computed here from the operands' blobs. */
function tileFor (h: HubCore, lease: Lease): Uint8Array {
  const t = decodeTileInput(lease.input)
  const f32 = (b: Uint8Array): Float32Array => new Float32Array(b.slice().buffer)
  return encodeTileOutput(t.rows, t.cols, f32Product(f32(h.blobs.get(t.aCid)!), f32(h.blobs.get(t.bCid)!), t.rows, t.inner, t.cols))
}

describe('work/2.0.0: leasing only what the page can run', () => {
  it('matches kernels, backends, GPU limits and memory; a wasm fallback stands in for a GPU that is too small', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 2000, unit: 1000, quorum: 1 })
    await h.createMatmulJob({ a: generateMatrix(8, 4, 1, 0), b: generateMatrix(4, 8, 1, 1), tile: 4 })
    const lease = async (peer: string, c = caps(), n = 8): Promise<Lease[]> => {
      const res = await h.leaseV2(peer, v2(c, n))
      expect(res.error).toBe('')
      return res.leases
    }
    // primes only (kernel id listed, wasm)
    expect((await lease('p-primes')).map(l => l.kernel)).toEqual([PRIMES_KERNEL_ID, PRIMES_KERNEL_ID])
    // a page listing no kernel gets nothing, even with every backend
    expect(await lease('p-none', caps({ backends: ['wasm', 'webgpu'], kernels: [] }))).toEqual([])
    // matmul listed but only webgpu offered, and the GPU's workgroup memory is below the GEMM's: nothing
    const tiny = gpuAdapter('acme', 'x', { maxComputeWorkgroupStorageSize: 4096 })
    expect(await lease('p-tiny', caps({ backends: ['webgpu'], kernels: [MATMUL_KERNEL_ID], gpu: tiny }))).toEqual([])
    // the same GPU with wasm too: the tile runs on the wasm fallback, and is leased as such
    const [fallback] = await lease('p-fallback', caps({ backends: ['webgpu', 'wasm'], kernels: [MATMUL_KERNEL_ID], gpu: tiny }), 1)
    expect(fallback.kernel).toBe(MATMUL_KERNEL_ID)
    expect(inspect(h).getReplica(fallback.replicaId)?.device_class).toBe('wasm')
    // a real GPU: leased as webgpu:<vendor>/<architecture>, computed by the hub from the request
    const [gpu] = await lease('p-gpu', GPU_MATMUL, 1)
    expect(inspect(h).getReplica(gpu.replicaId)?.device_class).toBe('webgpu:nvidia/ampere')
    // memory: a tile needs 2 * 4 * (16 + 16 + 16) = 384 bytes; a page with 383 gets none, 384 gets one
    expect(gpu.memoryBytes).toBe(384)
    expect(await lease('p-small', { ...WASM_MATMUL, memoryBytes: 383 })).toEqual([])
    expect(await lease('p-enough', { ...WASM_MATMUL, memoryBytes: 384 }, 1)).toHaveLength(1)
    // researcher kernels need their ABI in kernelAbis and their backend among the backends
    const researcher = await volunteer()
    const { kernelRef } = await postTestKernel(h, researcher, 'webgpu', [new Uint8Array(4)], 1)
    expect(await lease('p-abi0', caps({ backends: ['webgpu'], kernels: [], gpu: NVIDIA }))).toEqual([])
    expect(await lease('p-wasm1', caps({ backends: ['wasm'], kernels: [], kernelAbis: [1] }))).toEqual([])
    const [k] = await lease('p-gpu1', caps({ backends: ['webgpu'], kernels: [], kernelAbis: [1], gpu: NVIDIA }))
    expect(k.kernel).toBe(kernelRef)
    // a partner site's key travels in the same request, with the origin its frame reports, and is
    // recorded with the leases when the key is registered for that origin
    const site = 'site_capabilities_test_01'
    registerSite(join(dir, 'sites.json'), site, 'https://partner.example')
    expect((await h.leaseV2('p-site', v2(WASM_MATMUL, 1, [], site, 'https://partner.example'))).leases).toHaveLength(1)
    expect(await h.siteStats(site)).toMatchObject({ leases: 1, visitors: 1 })
  })

  it('seven pages that cannot run a tile give it back and it stays open; a capable page computes it and it validates', async () => {
    const h = await hub()
    const a = generateMatrix(6, 5, 3, 0)
    const b = generateMatrix(5, 7, 3, 1)
    const job = await h.createMatmulJob({ a, b, tile: 8 })
    expect(job.workUnits).toBe(1)
    // each claims a GPU (say its device is then lost) and gives the tile back: cannot-run
    for (let i = 0; i < 9; i++) {
      const [l] = (await h.leaseV2(`gpu-less-${i}`, v2(GPU_MATMUL))).leases
      expect(l.wuId).toBe('job-1/wu-0')
      await h.leaseV2(`gpu-less-${i}`, v2(GPU_MATMUL, 0, [{ replicaId: l.replicaId, reason: 'cannot-run' }]))
    }
    expect(inspect(h).getWorkUnit('job-1/wu-0')).toMatchObject({ state: 'open', wanted: 1, replicas_issued: 9, replicas_excused: 9, device_class: null })
    expect(inspect(h).getPeer('gpu-less-0')).toMatchObject({ cannot_runs: 1, no_replies: 0 })
    const v = await volunteer()
    const [l] = (await h.leaseV2(v.id, v2(WASM_MATMUL))).leases
    expect(l.replicaId).toBe('job-1/wu-0/r9')
    const output = tileFor(h, l)
    // the tile checked against a product computed here, independently of the hub
    expect(output).toEqual(encodeTileOutput(6, 7, f32Product(a.data, b.data, 6, 5, 7)))
    expect((await h.submit(v.id, await bytesResultFor(v, l, output), { maxOutputBytes: 1 << 20 })).status).toBe('accepted')
    expect(inspect(h).resultForReplica(l.replicaId)?.validate_state).toBe('valid')
    expect(await h.jobStatus(job.id)).toMatchObject({ state: 'complete', validated: 1, failed: 0 })
  })

  it('other give-backs count against the peer, never the unit: six `failed` or `stopped` leave it open (issue 10)', async () => {
    // was: six such give-backs marked the unit failed — six fresh keys could fail any job
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 100, unit: 100, quorum: 1 })
    for (let i = 0; i < 6; i++) {
      const [l] = (await h.leaseV2(`p${i}`, v2(caps()))).leases
      await h.leaseV2(`p${i}`, v2(caps(), 0, [{ replicaId: l.replicaId, reason: i % 2 === 0 ? 'failed' : 'stopped' }]))
    }
    expect(inspect(h).getWorkUnit('job-1/wu-0')).toMatchObject({ state: 'open', replicas_excused: 0, replicas_issued: 6, wanted: 1 })
    expect(inspect(h).getPeer('p0')?.no_replies).toBe(1)
  })

  it('a malformed request is refused with MalformedMessageError and changes nothing', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 100, unit: 100, quorum: 1 })
    const bad = [
      v2(caps({ backends: ['cuda'] })),
      v2(caps({ gpu: NVIDIA })), // a GPU without webgpu among the backends
      v2(caps({ kernelAbis: [0] })),
      v2(caps({ memoryBytes: -1 })),
      v2(caps(), 1, [{ replicaId: 'job-1/wu-0/r0', reason: 'bored' }]),
      { maxUnits: 1, release: [], siteKey: '' }
    ]
    for (const req of bad) expect(await h.leaseV2('p', req as never)).toMatchObject({ leases: [], error: 'MalformedMessageError' })
    expect((await h.jobStatus('job-1'))?.replicasIssued).toBe(0)
  })
})

describe('homogeneous redundancy', () => {
  async function gpuKernelJob (h: HubCore): Promise<{ jobId: string, kernelRef: string, researcher: Volunteer }> {
    const researcher = await volunteer()
    return { ...await postTestKernel(h, researcher, 'webgpu', [encodePrimesInput(0, 10)], 2), researcher }
  }
  const gpuCaps = (gpu = NVIDIA) => caps({ backends: ['webgpu'], kernels: [], kernelAbis: [1], gpu })

  it('pins a non-exact kernel\'s unit to the first device class leased, whatever class the results claim', async () => {
    const h = await hub()
    const { jobId } = await gpuKernelJob(h)
    const [a, b, c] = await Promise.all([volunteer(), volunteer(), volunteer()])
    const [la] = (await h.leaseV2(a.id, v2(gpuCaps(NVIDIA)))).leases
    expect(inspect(h).getWorkUnit(la.wuId)?.device_class).toBe('webgpu:nvidia/ampere')
    // another vendor's GPU never gets it: its floats would not be compared bit for bit
    expect((await h.leaseV2(b.id, v2(gpuCaps(AMD)))).leases).toEqual([])
    const [lc] = (await h.leaseV2(c.id, v2(gpuCaps(gpuAdapter('nvidia', 'Ampere'))))).leases
    expect(lc.wuId).toBe(la.wuId)
    // a claims another class in its result: the replica keeps the class it was leased for
    const out = sha256Bytes(la.input)
    await h.submit(a.id, await bytesResultFor(a, la, out, { deviceClass: 'webgpu:amd/rdna-3' }))
    await h.submit(c.id, await bytesResultFor(c, lc, out, { deviceClass: 'webgpu:nvidia/ampere' }))
    expect(inspect(h).getReplica(la.replicaId)?.device_class).toBe('webgpu:nvidia/ampere')
    expect(inspect(h).resultForReplica(la.replicaId)?.device_class).toBe('webgpu:amd/rdna-3')
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'complete', validated: 1, volunteers: 2 })
    expect(await h.canonicalDeviceClasses(jobId)).toEqual({ 'webgpu:nvidia/ampere': 1 })
  })

  it('a pin with nothing behind it is dropped: a peer that claims a fake GPU and walks away holds nothing', async () => {
    const h = await hub()
    await gpuKernelJob(h)
    const liar = await volunteer()
    const [l] = (await h.leaseV2(liar.id, v2(gpuCaps(gpuAdapter('fake', 'fake'))))).leases
    expect(inspect(h).getWorkUnit(l.wuId)?.device_class).toBe('webgpu:fake/fake')
    await h.leaseV2(liar.id, v2(gpuCaps(), 0, [{ replicaId: l.replicaId, reason: 'cannot-run' }]))
    expect(inspect(h).getWorkUnit(l.wuId)?.device_class).toBeNull()
    const [other] = (await h.leaseV2((await volunteer()).id, v2(gpuCaps(AMD)))).leases
    expect(other.wuId).toBe(l.wuId)
    expect(inspect(h).getWorkUnit(l.wuId)?.device_class).toBe('webgpu:amd/rdna-3')
  })

  it('never pins exact kernels (primes) nor certificate-validated ones (matmul)', async () => {
    const h = await hub()
    await h.createPrimesJob({ from: 0, to: 100, unit: 100, quorum: 2 })
    await h.createMatmulJob({ a: generateMatrix(2, 2, 1, 0), b: generateMatrix(2, 2, 1, 1), tile: 2 })
    const v = await volunteer()
    const leases = (await h.leaseV2(v.id, v2(caps({ backends: ['webgpu', 'wasm'], kernels: [PRIMES_KERNEL_ID, MATMUL_KERNEL_ID], gpu: NVIDIA }), 4))).leases
    expect(leases.map(l => inspect(h).getReplica(l.replicaId)?.device_class)).toEqual(['wasm', 'webgpu:nvidia/ampere'])
    for (const l of leases) expect(inspect(h).getWorkUnit(l.wuId)?.device_class).toBeNull()
    // and a second primes replica may go to a different class of peer, with both results compared
    const w = await volunteer()
    const [lw] = (await h.lease(w.id, { maxUnits: 1, release: [], deviceClass: 'webgpu' })).leases
    expect(lw.wuId).toBe(leases[0].wuId)
    const { lo, hi } = decodePrimesInput(lw.input)
    await h.submit(v.id, await resultFor(v, leases[0], countPrimes(lo, hi)))
    await h.submit(w.id, await resultFor(w, lw, countPrimes(lo, hi), { deviceClass: 'webgpu' }))
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', primes: 25 })
  })

  it('is loaded at open: after a restart a posted kernel\'s unit is leased and validated at once', async () => {
    let h = await hub()
    const researcher = await volunteer()
    const { jobId, kernelRef } = await postTestKernel(h, researcher, 'wasm', [encodePrimesInput(5, 9), encodePrimesInput(9, 12)], 1)
    await h.close()
    open.splice(0)
    h = await hub()
    const v = await volunteer()
    const leases = (await h.leaseV2(v.id, v2(caps({ backends: ['wasm'], kernels: [], kernelAbis: [1] }), 4))).leases
    expect(leases.map(l => l.kernel)).toEqual([kernelRef, kernelRef])
    for (const l of leases) expect((await h.submit(v.id, await bytesResultFor(v, l, sha256Bytes(l.input)))).status).toBe('accepted')
    expect(await h.jobStatus(jobId)).toMatchObject({ state: 'complete', validated: 2 })
  })

  it('a second hub on the same store learns a kernel posted to the first', async () => {
    const first = await hub()
    const second = await hub()
    const researcher = await volunteer()
    const { kernelRef } = await postTestKernel(first, researcher, 'wasm', [encodePrimesInput(1, 2)], 1)
    const v = await volunteer()
    const [l] = (await second.leaseV2(v.id, v2(caps({ kernels: [], kernelAbis: [1] })))).leases
    expect(l.kernel).toBe(kernelRef)
    const out = new Uint8Array(65)
    expect(await second.submit(v.id, await bytesResultFor(v, l, out))).toMatchObject({ status: 'rejected', error: 'BadOutputError' })
    expect((await second.submit(v.id, await bytesResultFor(v, l, sha256Bytes(l.input)))).status).toBe('accepted')
  })

  it('migrates a schema-1 store: primes ranges move to job_specs, matmul and kernel outputs keep only what was assimilated', async () => {
    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    db.exec(MIGRATIONS[0].sql)
    db.prepare("INSERT INTO meta VALUES ('schema_version', '1')").run()
    db.prepare(`INSERT INTO jobs (id, seq, kernel, range_from, range_to, unit, quorum, credit_per_ops, state, created_at_ms, wu_count, output)
      VALUES ('job-1', 1, 'primes-sieve/1', 0, 100, 50, 2, 1e-6, 'running', 1, 2, '{"primes":0}'),
             ('job-2', 2, 'matmul-f32/1', 0, 4, 2, 1, 1e-9, 'running', 1, 1, '{"m":2,"k":2,"n":2,"tile":2,"checks":20,"tilesM":1,"tilesN":1,"outputPath":"/x","tilesAssimilated":0,"outputSha256":null,"seed":1}')`).run()
    const wu = db.prepare(`INSERT INTO work_units (id, job_id, job_seq, idx, kernel, input, est_ops, credit, memory_bytes, deadline_ms, quorum, wanted)
      VALUES (?, 'job-1', 1, ?, 'primes-sieve/1', ?, 50, 0.00005, 1024, 60000, 2, 2)`)
    wu.run('job-1/wu-0', 0, encodePrimesInput(0, 50))
    wu.run('job-1/wu-1', 1, encodePrimesInput(50, 100))
    db.close()
    const h = await hub()
    expect(await h.jobStatus('job-1')).toMatchObject({ from: 0, to: 100, unit: 50, workUnits: 2, spec: { from: 0, to: 100, unit: 50 }, output: { primes: 0 } })
    expect(await h.jobStatus('job-2')).toMatchObject({ spec: { m: 2, tile: 2, checks: 20 }, output: { outputPath: '/x', tilesAssimilated: 0, outputSha256: null } })
    expect(inspect(h).all<{ name: string }>('SELECT name FROM pragma_table_info(\'jobs\')').map(c => c.name)).not.toContain('range_from')
    expect(inspect(h).get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")?.value).toBe(String(MIGRATIONS.length))
    const [a, b] = await Promise.all([volunteer(), volunteer()])
    for (const v of [a, b]) {
      for (const l of (await h.leaseV2(v.id, v2(caps(), 4))).leases) {
        const { lo, hi } = decodePrimesInput(l.input)
        expect((await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status).toBe('accepted')
      }
    }
    expect(await h.jobStatus('job-1')).toMatchObject({ state: 'complete', primes: 25 })
  })

  it('migrates a schema-9 store: replica and result indexes as schema 10 has them, live leases found through the partial ones', async () => {
    const first = await hub()
    const job = await first.createPrimesJob({ from: 0, to: 1_000, unit: 100 })
    const v = await volunteer()
    const leases = (await first.leaseV2(v.id, v2(caps(), 4))).leases
    const { lo, hi } = decodePrimesInput(leases[0].input)
    expect((await first.submit(v.id, await resultFor(v, leases[0], countPrimes(lo, hi)))).status).toBe('accepted')
    await first.close(); open.splice(open.indexOf(first), 1)
    // the store as schema 9 left it: the full indexes, results_peer_state and replicas_wu_addr
    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    db.exec(`DROP INDEX replicas_job_live; DROP INDEX replicas_peer_live;
      CREATE INDEX replicas_job ON replicas (job_id, state); CREATE INDEX replicas_peer ON replicas (peer_id, state);
      CREATE INDEX replicas_wu_addr ON replicas (wu_id, remote_addr); CREATE INDEX results_peer_state ON results (peer_id, validate_state);
      UPDATE meta SET value = '9' WHERE key = 'schema_version'`)
    db.close()
    const h = await hub()
    const store = inspect(h)
    expect(store.get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")?.value).toBe(String(MIGRATIONS.length))
    const indexes = (table: string): string[] => store.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name", table).map(r => r.name)
    expect(indexes('replicas')).toEqual(['replicas_expiry', 'replicas_job_live', 'replicas_peer_live'])
    expect(indexes('results')).toEqual(['results_job', 'results_peer', 'results_wu'])
    // the three leases still out are found through the partial indexes, and only they
    const plan = (sql: string, ...params: Array<string | number>): string => store.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params).map(r => r.detail).join(' | ')
    expect(plan("SELECT * FROM replicas WHERE peer_id = ? AND state = 'in-progress'", v.id)).toContain('replicas_peer_live')
    expect(plan("SELECT count(*) FROM replicas WHERE job_id = ? AND state = 'in-progress'", job.id)).toContain('replicas_job_live')
    expect(plan("SELECT DISTINCT wu_id FROM replicas WHERE remote_addr = ? AND wu_id IN (SELECT value FROM json_each(?))", 'a', '[]')).toMatch(/SEARCH replicas USING INDEX sqlite_autoindex_replicas_\d \(wu_id=\?\)/)
    expect(plan("SELECT id FROM results WHERE peer_id = ? AND validate_state = 'valid'", v.id)).toContain('results_peer')
    expect((await h.jobStatus(job.id))?.inProgress).toBe(3)
    expect(store.get<{ n: number }>("SELECT count(*) AS n FROM replicas INDEXED BY replicas_peer_live WHERE peer_id = ? AND state = 'in-progress'", v.id)?.n).toBe(3)
    // a page that lost them gets the same three back (the peer's own leases first)
    const again = (await h.leaseV2(v.id, { ...v2(caps(), 3), reportsHolding: true, holding: [] })).leases
    expect(again.map(l => l.replicaId).sort()).toEqual(leases.slice(1).map(l => l.replicaId).sort())
  })

  it('migrates a schema-7 store (as released, before rand_key): its open units get random keys and lease in random order', async () => {
    const first = await hub()
    await first.createPrimesJob({ from: 0, to: 2_000, unit: 100 })
    await first.close(); open.splice(open.indexOf(first), 1)
    // the store as schema 7 left it: no rand_key column, no index on it
    const db = new DatabaseSync(join(dir, 'hub.sqlite'))
    db.exec("DROP INDEX work_units_random; ALTER TABLE work_units DROP COLUMN rand_key; UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    db.close()
    const h = await hub({ leaseOrder: 'random' })
    expect(inspect(h).get<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")?.value).toBe(String(MIGRATIONS.length))
    expect(inspect(h).get<{ n: number }>('SELECT count(DISTINCT rand_key) AS n FROM work_units')?.n).toBe(20)
    const v = await volunteer()
    const leases = (await h.leaseV2(v.id, v2(caps(), 8))).leases
    expect(leases).toHaveLength(8)
    for (const l of leases) {
      const { lo, hi } = decodePrimesInput(l.input)
      expect((await h.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))).status).toBe('accepted')
    }
  })
})
