/** Fixtures shared by the hub tests: volunteers with real Ed25519 keys, signed results, a reference sieve. */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodePrimesOutput } from '../src/protocol/primes.ts'
import { sha256Bytes, signResult } from '../src/protocol/signing.ts'
import { RESULT_SPEC_V2, SignedManifest, WORK_SPEC_V2, buildManifest, callProtocol, decodePrimesInput, signManifest } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { buildModule } from './wasm-builder.ts'
import type { HubOptions, RunningHub } from '../src/hub/hub.ts'
import type { HubCore } from '../src/hub/hub-core.ts'
import type { KernelDirManifest } from '../src/protocol/kernel-manifest.ts'
import type { Capabilities, GpuAdapter, Lease, ResultPayload, SignedResult, WorkRequestV2 } from '../src/protocol/pb/messages.ts'
import type { PeerRow, ReplicaRow, ResultRow, WorkUnitRow } from '../src/hub/repository.ts'
import type { ResultBatchResponse } from '../src/protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

export interface Volunteer { key: PrivateKey, id: string }

export async function volunteer (): Promise<Volunteer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** A successful result claiming `count` primes for `lease`, signed by `v` (fields overridable). */
export async function resultFor (v: Volunteer, lease: Lease, count: number, extra: Partial<ResultPayload> = {}): Promise<SignedResult> {
  const output = encodePrimesOutput(count) as Uint8Array<ArrayBuffer>
  return await signResult({
    replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 10, deviceClass: 'wasm', errorMessage: '', ...extra
  }, v.key)
}

/** A volunteer's node dialled to a hub (test/helpers.ts dialledPeer). */
export interface DialledVolunteer extends Volunteer { node: Libp2p }

/**
 * A volunteer speaking work/2.0.0 and result/2.0.0 to one hub over its libp2p node: `lease` asks
 * for up to `n` units (capabilities `caps()`), `batch` sends signed results in one request,
 * `honest` signs the true count of a lease's interval (countPrimes).
 */
export function batchClient (hub: PeerId): {
  lease: (p: DialledVolunteer, n: number) => Promise<Lease[]>
  batch: (p: DialledVolunteer, results: SignedResult[], receiptsAfter?: number) => Promise<ResultBatchResponse>
  honest: (p: Volunteer, l: Lease) => Promise<SignedResult>
} {
  return {
    lease: async (p, n) => (await callProtocol(p.node, hub, WORK_SPEC_V2, v2(caps(), n), AbortSignal.timeout(10_000))).leases,
    batch: async (p, results, receiptsAfter = 0) => await callProtocol(p.node, hub, RESULT_SPEC_V2, { results, receiptsAfter }, AbortSignal.timeout(20_000)),
    honest: async (p, l) => {
      const { lo, hi } = decodePrimesInput(l.input)
      return await resultFor(p, l, countPrimes(lo, hi))
    }
  }
}

/**
 * A hub (SQLite in a temp dir) for network tests whose peers all dial from 127.0.0.1 (the
 * per-address limits raised), recording the error of every stream it reset, by name, in order;
 * `peer()` dials a new volunteer node (its own key), `stop()` stops them and the hub.
 */
export async function loopbackHub (prefix: string, opts: Partial<HubOptions> = {}): Promise<{
  hub: RunningHub
  resets: Array<{ protocol: string, name: string }>
  peer: () => Promise<DialledVolunteer>
  stop: () => Promise<void>
}> {
  const resets: Array<{ protocol: string, name: string }> = []
  const peers: DialledVolunteer[] = []
  const hub = await startHub({
    dataDir: tempDir(prefix),
    staticDir: join(REPO_ROOT, 'dist'),
    leaseOrder: 'sequential',
    limits: { maxConnectionsPerAddress: 1000, maxPendingUpgradesPerAddress: 1000, inboundConnectionsPerSecond: 1000 },
    onStreamError: (protocol, err) => { resets.push({ protocol, name: err.name }) },
    ...opts
  })
  return {
    hub,
    resets,
    peer: async () => {
      const p = await dialledPeer(hub.multiaddrs[0])
      peers.push(p)
      return p
    },
    stop: async () => {
      await Promise.all(peers.map(async p => { await p.node.stop() }))
      await hub.stop()
    }
  }
}

/** Primes in [lo, hi), by a plain sieve of Eratosthenes written here (independent of the kernel). */
export function countPrimes (lo: number, hi: number): number {
  const composite = new Uint8Array(hi)
  let count = 0
  for (let n = 2; n < hi; n++) {
    if (composite[n] === 1) continue
    if (n >= lo) count++
    for (let m = n * n; m < hi; m += n) composite[m] = 1
  }
  return count
}

/**
 * Raw SQL on a hub's SQLite file, for tests only (the hub itself reaches its store through the
 * repository): a second connection to `<dataDir>/hub.sqlite`, WAL lets it read what was committed.
 */
export class StoreInspector {
  readonly db: DatabaseSync
  constructor (dataDir: string) {
    this.db = new DatabaseSync(join(dataDir, 'hub.sqlite'), { timeout: 5_000 })
    this.db.exec('PRAGMA foreign_keys = ON')
  }

  get<T> (sql: string, ...params: Array<string | number | null | Uint8Array>): T | undefined {
    return this.db.prepare(sql).get(...params) as T | undefined
  }

  all<T> (sql: string, ...params: Array<string | number | null | Uint8Array>): T[] {
    return this.db.prepare(sql).all(...params) as T[]
  }

  run (sql: string, ...params: Array<string | number | null | Uint8Array>): number {
    return Number(this.db.prepare(sql).run(...params).changes)
  }

  getReplica (id: string): ReplicaRow | undefined { return this.get<ReplicaRow>('SELECT * FROM replicas WHERE id = ?', id) }
  getWorkUnit (id: string): WorkUnitRow | undefined { return this.get<WorkUnitRow>('SELECT * FROM work_units WHERE id = ?', id) }
  getPeer (id: string): PeerRow | undefined { return this.get<PeerRow>('SELECT * FROM peers WHERE peer_id = ?', id) }
  resultForReplica (id: string): ResultRow | undefined { return this.get<ResultRow>('SELECT * FROM results WHERE replica_id = ?', id) }
  ledgerSize (): number { return this.get<{ n: number }>('SELECT count(*) AS n FROM ledger')?.n ?? 0 }
}

const inspectors = new Map<string, StoreInspector>()
/** The inspector of a hub's data directory (one connection per directory). */
export function inspect (h: { dataDir: string }): StoreInspector {
  let i = inspectors.get(h.dataDir)
  if (i == null || !i.db.isOpen) { i = new StoreInspector(h.dataDir); inspectors.set(h.dataDir, i) }
  return i
}

/** work/2.0.0 capabilities, wasm-only primes by default. */
export function caps (c: Partial<Capabilities> = {}): Capabilities {
  return { backends: ['wasm'], kernels: ['primes-sieve/1'], kernelAbis: [], memoryBytes: 0, ...c }
}

/** A WebGPU adapter as a page reports it (limits 0: unknown, WebGPU's defaults assumed). */
export function gpuAdapter (vendor: string, architecture: string, limits: Partial<GpuAdapter> = {}): GpuAdapter {
  return { vendor, architecture, fallback: false, maxComputeWorkgroupStorageSize: 0, maxComputeInvocationsPerWorkgroup: 0, maxStorageBufferBindingSize: 0, maxBufferSize: 0, ...limits }
}

/** A WorkRequestV2 leasing up to `maxUnits` with these capabilities (and a site key with the origin its frame reports). */
export function v2 (capabilities: Capabilities, maxUnits = 1, release: WorkRequestV2['release'] = [], siteKey = '', siteOrigin = ''): WorkRequestV2 {
  return { maxUnits, release, capabilities, siteKey, siteOrigin, paused: [], holding: [], reportsHolding: false }
}

/** The smallest WGSL kernel the hub accepts (docs/kernel-abi.md: the ABI's three bindings, used; workgroup size 64). */
const TEST_WGSL = `struct Params { inputWords: u32, outputWords: u32 }
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < params.outputWords) { output[id.x] = input[id.x]; }
}
`

/**
 * Post a researcher kernel job through HubCore's API, as `researcher` (allowed): a wasm kernel
 * (a minimal ABI-1 module) or a webgpu kernel (WGSL text), one work unit per input.
 */
export async function postTestKernel (core: HubCore, researcher: Volunteer, backend: 'wasm' | 'webgpu', inputs: Uint8Array[], quorum = 2): Promise<{ jobId: string, kernelRef: string }> {
  const kernel = backend === 'wasm' ? buildModule({ memory: { min: 1, max: 2 } }) : new TextEncoder().encode(TEST_WGSL)
  const dir: KernelDirManifest = {
    abi: 1, name: `test-${backend}`, version: '1.0.0', backend, source: 'k', entry: 'k', output: 'bytes',
    limits: { memoryBytes: 131072, maxOutputBytes: 64, deadlineMs: 5000 },
    ...(backend === 'webgpu' ? { webgpu: { workgroupSize: 64, outputBytes: 32 } } : {})
  }
  const signed = await signManifest(buildManifest(dir, kernel, researcher.key), researcher.key)
  return await core.postKernelJob(researcher.id, {
    signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum, creditPerUnit: 1, policy: '', ringers: []
  }, new Set([researcher.id]))
}

/** A result with arbitrary output bytes for `lease`, signed by `v`. */
export async function bytesResultFor (v: Volunteer, lease: Lease, output: Uint8Array, extra: Partial<ResultPayload> = {}): Promise<SignedResult> {
  return await signResult({
    replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output: output as Uint8Array<ArrayBuffer>,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 10, deviceClass: 'wasm', errorMessage: '', ...extra
  }, v.key)
}

/** C = A B computed here in f32 (sequential accumulation), independent of the hub and the kernels. */
export function f32Product (a: Float32Array, b: Float32Array, R: number, K: number, S: number): Float32Array {
  const c = new Float32Array(R * S)
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < S; s++) {
      let acc = 0
      for (let k = 0; k < K; k++) acc = Math.fround(acc + Math.fround(a[r * K + k] * b[k * S + s]))
      c[r * S + s] = acc
    }
  }
  return c
}
