/**
 * The volunteer client: identity, connection to a hub, work fetch, worker slots, signing, the
 * outbox and credit receipts. The page's UI only reads `VolunteerState` and calls start()/stop().
 *
 * Data flow: lease (IndexedDB `leases`) -> run in a worker slot -> sign -> outbox (IndexedDB) ->
 * submit -> ack (IndexedDB `acks`) -> later a hub-signed credit receipt (IndexedDB `credits`).
 * A reload resumes non-expired leases if the tab was running, releases them otherwise, and
 * re-sends every result still in the outbox.
 */
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  KERNEL_REF_PREFIX, Lease, ResultResponse, SignedResult, HubReceipt, decodeCreditEntry, sha256Bytes, signResult, verifyReceipt
} from '../protocol/index.ts'
import { openVolunteerDb } from './db.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { exchangeResult, requestSiteWork, requestWork } from './hub-client.ts'
import { createVolunteerNode } from './node.ts'
import { KernelLoadError, RunAbortedError, WasmSlot } from './task-runner.ts'
import { GpuSlot } from './gpu-slot.ts'
import { BlobCache, fetchBlob } from './blob-fetch.ts'
import { KernelResolver } from './kernel-resolver.ts'
import { KernelSlot, KernelUnsupportedError } from './kernel-slot.ts'
import type { GpuSlotStatus } from './gpu-slot.ts'
import type { GpuRunnerInit } from '../../workers/gpu-runner.ts'
import { Governor, attachBrowserSensors, sanitizeSettings } from './governor.ts'
import { ImportBlockedError, exportKeyFile, importKeyFile } from './key-backup.ts'
import { buildStatement, verifyStatement } from '../protocol/statement.ts'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { GovernorSettings, GovernorState, SensorOptions } from './governor.ts'
import type { StatementReport, StatementV1 } from '../protocol/statement.ts'
import type { VolunteerDb, StoredLease } from './db.ts'
import type { WorkRequest, WorkResponse } from '../protocol/index.ts'
import type { RunReport, WorkerFactory } from './task-runner.ts'
import type { Libp2p, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected'
export type RunState = 'stopped' | 'running'

export interface SlotState {
  replicaId: string
  /** Numbers sieved so far in this unit. */
  done: number
  total: number
}

export interface VolunteerState {
  peerId: string
  connection: ConnectionState
  hubPeerId: string | null
  hubMultiaddr: string | null
  run: RunState
  /** Worker slots configured. */
  slots: number
  /** Workers alive right now. */
  workers: number
  /** Work units this browser has computed (all time, kept across reloads). */
  unitsDone: number
  /** Results computed but not yet validated (in the outbox, or acknowledged and awaiting quorum). */
  resultsPending: number
  /** Results with a hub-signed credit receipt. */
  resultsValidated: number
  /** Results the hub refused. */
  resultsRejected: number
  /** Sum of verified credit receipts. */
  creditGranted: number
  /** Numbers sieved per second over the last few seconds. */
  throughput: number
  running: SlotState[]
  lastError: string | null
  /**
   * The GEMM (matmul-f32/1) slot: backend ('webgpu', or 'wasm' without WebGPU or after a device
   * loss, with the reason), adapter, whether it is a fallback adapter, last tile's GFLOP/s.
   * null when the page made no GPU worker.
   */
  gemm: GpuSlotStatus | null
  /** CPU/GPU shares, worker plan and pause reasons (src/volunteer/governor.ts). */
  governor: GovernorState
  /** Workers' compute time as a share of the machine's cores over the last ~5 s, 0-1. */
  cpuUse: number
  /** Workers' compute time since the page loaded, in ms (all slots). */
  cpuBusyMs: number
  /** GPU time as a share of wall time (null: no GPU worker in this build). */
  gpuUse: number | null
  /** libp2p peers connected now. */
  peers: number
  /** Work units computed by this browser, per kernel id (all time). */
  unitsByKernel: Record<string, number>
  /** One sample a second, newest last (at most 600): Unix seconds, numbers/s, CPU share. */
  history: Array<{ t: number, throughput: number, cpuUse: number }>
  /** What this device offers. */
  device: DeviceInfo
}

export interface DeviceInfo {
  /** Logical cores (navigator.hardwareConcurrency). */
  cores: number
  /** navigator.deviceMemory in GiB (coarse; null where absent). */
  memoryGiB: number | null
  /** WebGPU adapter (null: no navigator.gpu or no adapter). */
  gpu: { vendor: string, architecture: string, description: string, fallback: boolean } | null
}

export interface VolunteerOptions {
  /** URL of the hub's `/hub.json` (peer id and multiaddrs). */
  hubInfoUrl: string
  /** URL of the prime-sieve kernel's .wasm. */
  wasmUrl: string
  createWorker: WorkerFactory
  /** Worker slots; default navigator.hardwareConcurrency - 1, at least 1. */
  slots?: number
  dbName?: string
  /** How often to ask for receipts while results are pending, in ms. */
  receiptPollMs?: number
  /** Browser pause sensors' hold times (false: attach none). */
  sensors?: SensorOptions | false
  /**
   * A partner site's key (embed frame): work is then leased over /sparecycles/work/1.1.0 with it,
   * so the hub attributes the credit to that site as well as to this volunteer.
   */
  siteKey?: string
  /** Worker factory for workers/gpu-runner.ts: matmul tiles run there (WebGPU, else WASM SIMD). */
  createGpuWorker?: WorkerFactory
  /** Options of the GPU worker (tests: `loseDeviceAtTile`). */
  gpuInit?: GpuRunnerInit
  /** Worker factory for workers/kernel-runner.ts: researcher (`k1:`) kernels run there. */
  createKernelWorker?: WorkerFactory
}

const META_RUNNING = 'running'
const META_UNITS_DONE = 'unitsDone'
const META_REJECTED = 'resultsRejected'
const META_GOVERNOR = 'governor'
const META_UNITS_BY_KERNEL = 'unitsByKernel'
const HISTORY_MAX = 600
const THROUGHPUT_WINDOW_MS = 5000

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

/** A promise-chain mutex: runs the callbacks one at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve()
  run<T> (fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn)
    this.tail = next.catch(() => {})
    return next
  }
}

export class VolunteerClient {
  private readonly listeners = new Set<(state: VolunteerState) => void>()
  private readonly slots: WasmSlot[]
  private readonly runningLeases = new Map<string, SlotState>()
  private readonly leaseMutex = new Mutex()
  private readonly outboxMutex = new Mutex()
  private readonly throughputSamples: Array<{ t: number, numbers: number }> = []
  private numbersTotal = 0
  private runController: AbortController | undefined
  private readonly lifetime = new AbortController()
  private hubPeer: PeerId | undefined
  private hubPublicKey: PublicKey | undefined
  private receiptsAfter = 0
  private readonly state: VolunteerState
  /** The governor every slot obeys (shares, duty cycle, pauses). */
  readonly governor: Governor
  private readonly busySamples: Array<{ t: number, busy: number }> = []
  /** Runs matmul tiles (routed by kernel id); undefined without opts.createGpuWorker. */
  private readonly gpuSlot: GpuSlot | undefined
  /** Input blocks fetched over /sparecycles/blob/1.0.0, by CID. */
  private readonly blobCache = new BlobCache()
  /** One researcher-kernel slot beside each WASM slot (same index). */
  private readonly kernelSlots: KernelSlot[]
  /** Fetches, verifies, caches and serves researcher kernels. */
  private readonly kernels: KernelResolver

  private constructor (
    private readonly opts: VolunteerOptions,
    private readonly db: VolunteerDb,
    private readonly key: PrivateKey,
    private readonly node: Libp2p,
    slotCount: number
  ) {
    this.slots = Array.from({ length: slotCount }, () => new WasmSlot(opts.createWorker, opts.wasmUrl))
    this.kernelSlots = this.slots.map(() => new KernelSlot(opts.createKernelWorker ?? (() => { throw new KernelLoadError('this page runs no researcher kernels') })))
    this.kernels = new KernelResolver(node, db)
    this.gpuSlot = opts.createGpuWorker != null ? new GpuSlot(opts.createGpuWorker, { ...opts.gpuInit }, gemm => { this.patch({ gemm }) }) : undefined
    const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 2)
    this.governor = new Governor(cores, slotCount)
    this.state = {
      peerId: node.peerId.toString(),
      connection: 'idle',
      hubPeerId: null,
      hubMultiaddr: null,
      run: 'stopped',
      slots: slotCount,
      workers: 0,
      unitsDone: 0,
      resultsPending: 0,
      resultsValidated: 0,
      resultsRejected: 0,
      creditGranted: 0,
      throughput: 0,
      running: [],
      lastError: null,
      gemm: opts.createGpuWorker != null ? { backend: 'none', adapter: null, fallbackAdapter: null, fallbackReason: null, gflops: 0, tilesDone: 0 } : null,
      governor: this.governor.state,
      cpuUse: 0,
      cpuBusyMs: 0,
      gpuUse: null,
      peers: 0,
      unitsByKernel: {},
      history: [],
      device: { cores, memoryGiB: (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory ?? null, gpu: null }
    }
  }

  /** Open the store and identity, start the libp2p node and connect to the hub. */
  static async create (opts: VolunteerOptions): Promise<VolunteerClient> {
    const db = await openVolunteerDb(opts.dbName)
    const key = await loadOrCreateIdentity(db)
    const node = await createVolunteerNode(key)
    const slotCount = opts.slots ?? Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1)
    const client = new VolunteerClient(opts, db, key, node, slotCount)
    // serve cached researcher kernels to other peers over /sparecycles/blob/1.0.0
    await client.kernels.serve()
    await client.refreshCounters()
    client.governor.setShares(sanitizeSettings(await db.get('meta', META_GOVERNOR)))
    client.governor.subscribe(g => {
      const plan = client.governor.cpuPlan()
      for (const slot of client.slots) slot.applyThrottle({ duty: plan.duty, paused: plan.paused })
      client.patch({ governor: g })
    })
    if (opts.sensors !== false) await attachBrowserSensors(client.governor, { ...opts.sensors, signal: client.lifetime.signal })
    void client.probeGpu()
    node.addEventListener('peer:disconnect', evt => {
      if (client.hubPeer != null && evt.detail.equals(client.hubPeer)) {
        client.patch({ connection: 'disconnected' })
        void client.connectLoop()
      }
    })
    void client.connectLoop()
    setInterval(() => { client.patch({ throughput: client.measureThroughput() }); void client.sampleUse() }, 1000)
    return client
  }

  get snapshot (): VolunteerState { return { ...this.state, running: [...this.state.running] } }

  subscribe (fn: (state: VolunteerState) => void): () => void {
    this.listeners.add(fn)
    fn(this.snapshot)
    return () => { this.listeners.delete(fn) }
  }

  private patch (update: Partial<VolunteerState>): void {
    Object.assign(this.state, update)
    this.state.running = [...this.runningLeases.values()].map(s => ({ ...s }))
    this.state.workers = this.slots.filter(s => s.alive).length
    const snap = this.snapshot
    for (const fn of this.listeners) fn(snap)
  }

  private connecting = false

  /** Fetch /hub.json and dial the hub until connected; then resume or release stored work. */
  private async connectLoop (): Promise<void> {
    if (this.connecting) return
    this.connecting = true
    try {
      let backoffMs = 500
      while (!this.lifetime.signal.aborted) {
        this.patch({ connection: 'connecting' })
        try {
          const response = await fetch(this.opts.hubInfoUrl, { signal: AbortSignal.timeout(10_000), cache: 'no-store' })
          if (!response.ok) throw new Error(`hub info: HTTP ${response.status}`)
          const info = await response.json() as { peerId: string, multiaddrs: string[] }
          const hubPeer = peerIdFromString(info.peerId)
          if (hubPeer.publicKey == null) throw new Error('hub peer id does not carry a public key')
          const addr = info.multiaddrs.find(a => a.includes('/ws')) ?? info.multiaddrs[0]
          const connection = await this.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
          if (!connection.remotePeer.equals(hubPeer)) throw new Error('hub answered with an unexpected peer id')
          this.hubPeer = hubPeer
          this.hubPublicKey = hubPeer.publicKey
          this.patch({ connection: 'connected', hubPeerId: info.peerId, hubMultiaddr: addr, lastError: null })
          break
        } catch (err) {
          this.patch({ connection: 'disconnected', lastError: `connect: ${(err as Error).message}` })
          await sleep(backoffMs, this.lifetime.signal)
          backoffMs = Math.min(backoffMs * 2, 10_000)
        }
      }
    } finally {
      this.connecting = false
    }
    await this.afterConnect()
  }

  private async afterConnect (): Promise<void> {
    const wasRunning = (await this.db.get('meta', META_RUNNING)) === true
    if (wasRunning && this.state.run === 'stopped') {
      await this.start()
    } else if (!wasRunning) {
      await this.releaseStoredLeases()
    }
    await this.flushOutbox()
    await this.syncReceipts()
    void this.receiptLoop()
  }

  private receiptLoopActive = false

  /** While results are pending, ask the hub for new credit receipts. */
  private async receiptLoop (): Promise<void> {
    if (this.receiptLoopActive) return
    this.receiptLoopActive = true
    try {
      while (!this.lifetime.signal.aborted && this.state.connection === 'connected') {
        if (this.state.resultsPending > 0 || this.state.run === 'running') {
          await this.flushOutbox()
          if (this.state.resultsPending > 0) await this.pollReceipts()
        }
        await sleep(this.opts.receiptPollMs ?? 1500, this.lifetime.signal)
      }
    } finally {
      this.receiptLoopActive = false
    }
  }

  /** Start computing with every slot. Remembered across reloads. */
  async start (): Promise<void> {
    if (this.state.run === 'running') return
    this.runController = new AbortController()
    await this.db.put('meta', true, META_RUNNING)
    this.patch({ run: 'running' })
    const signal = this.runController.signal
    for (const slot of this.slots) void this.slotLoop(slot, signal)
    void this.receiptLoop()
  }

  /** Stop: terminate every worker at once, then give the running leases back to the hub. */
  async stop (): Promise<void> {
    if (this.state.run === 'stopped') return
    this.runController?.abort()
    for (const slot of this.slots) slot.terminate()
    for (const slot of this.kernelSlots) slot.terminate()
    this.gpuSlot?.terminate()
    this.runningLeases.clear()
    this.patch({ run: 'stopped' })
    await this.db.put('meta', false, META_RUNNING)
    await this.releaseStoredLeases()
  }

  /** Whether this page has a runner for a kernel: WASM primes always, matmul with a GPU worker, `k1:` with a kernel worker. */
  private canRun (kernel: string): boolean {
    if (kernel.startsWith(KERNEL_REF_PREFIX)) return this.opts.createKernelWorker != null
    if (GpuSlot.handles(kernel)) return this.gpuSlot != null
    return true
  }

  /** Give one stored lease back to the hub now and forget it. */
  private async releaseLease (replicaId: string): Promise<void> {
    const hub = this.hubPeer
    try {
      if (hub != null) await this.workRequest(hub, { maxUnits: 0, release: [replicaId], deviceClass: 'wasm' }, this.lifetime.signal)
      await this.db.delete('leases', replicaId)
    } catch (err) {
      this.patch({ lastError: `release: ${(err as Error).message}` })
    }
  }

  private async releaseStoredLeases (): Promise<void> {
    const stored = await this.db.getAll('leases')
    const hub = this.hubPeer
    if (stored.length === 0 || hub == null) return
    const mine = stored.filter(s => s.hubPeerId === hub.toString() && !this.runningLeases.has(s.replicaId))
    try {
      if (mine.length > 0) await this.workRequest(hub, { maxUnits: 0, release: mine.map(s => s.replicaId), deviceClass: 'wasm' }, this.lifetime.signal)
      const tx = this.db.transaction('leases', 'readwrite')
      for (const s of mine) await tx.store.delete(s.replicaId)
      await tx.done
    } catch (err) {
      this.patch({ lastError: `release: ${(err as Error).message}` })
    }
  }

  /** A work/1.0.0 request, or work/1.1.0 with the partner's site key when this client has one. */
  private async workRequest (hub: PeerId, request: WorkRequest, signal?: AbortSignal): Promise<WorkResponse> {
    const siteKey = this.opts.siteKey
    if (siteKey != null) return requestSiteWork(this.node, hub, { ...request, siteKey }, signal)
    return requestWork(this.node, hub, request, signal)
  }

  /** Next lease to run: a stored one (after a reload), else a new one from the hub. */
  private async takeLease (signal: AbortSignal): Promise<{ stored: StoredLease, lease: Lease } | { retryAfterMs: number }> {
    return this.leaseMutex.run(async () => {
      const hub = this.hubPeer
      if (hub == null) return { retryAfterMs: 1000 }
      const now = Date.now()
      // stored leases run even while the hub is unreachable: their results wait in the outbox
      for (const stored of await this.db.getAll('leases')) {
        if (this.runningLeases.has(stored.replicaId) || stored.hubPeerId !== hub.toString()) continue
        const lease = Lease.decode(stored.lease)
        if (lease.leaseExpiresAtMs - lease.deadlineMs <= now) { await this.db.delete('leases', stored.replicaId); continue }
        return { stored, lease }
      }
      if (this.state.connection !== 'connected') return { retryAfterMs: 1000 }
      const response = await this.workRequest(hub, { maxUnits: 1, release: [], deviceClass: 'wasm' }, signal)
      if (response.error !== '') throw new Error(`${response.error}: ${response.message}`)
      const lease = response.leases[0]
      if (lease == null) return { retryAfterMs: Math.max(200, Math.min(response.retryAfterMs || 2000, 10_000)) }
      const stored: StoredLease = { replicaId: lease.replicaId, hubPeerId: hub.toString(), lease: Lease.encode(lease), storedAtMs: now }
      await this.db.put('leases', stored)
      return { stored, lease }
    })
  }

  private async slotLoop (slot: WasmSlot, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // the governor decides how many slots take work, and holds them all while paused
      await this.governor.whenSlotMayRun(this.slots.indexOf(slot), signal)
      if (signal.aborted) return
      let next
      try {
        next = await this.takeLease(signal)
      } catch (err) {
        if (signal.aborted) return
        this.patch({ lastError: `work fetch: ${(err as Error).message}` })
        await sleep(2000, signal)
        continue
      }
      if ('retryAfterMs' in next) { await sleep(next.retryAfterMs, signal); continue }
      const { lease } = next
      if (!this.canRun(lease.kernel)) {
        // give it back: the hub never leases a work unit to the same peer twice, so it goes elsewhere
        await this.releaseLease(lease.replicaId)
        await sleep(250, signal)
        continue
      }
      const total = lease.estOps
      const slotState: SlotState = { replicaId: lease.replicaId, done: 0, total }
      this.runningLeases.set(lease.replicaId, slotState)
      this.patch({})
      let lastDone = 0
      try {
        // route by kernel id: matmul tiles go to the GPU slot (WebGPU, or its WASM fallback)
        const report = lease.kernel.startsWith(KERNEL_REF_PREFIX)
          ? await this.runResearcherKernel(this.slots.indexOf(slot), lease, signal)
          : this.gpuSlot != null && GpuSlot.handles(lease.kernel) ? await this.runTile(lease, signal) : await slot.run(lease, {
          signal,
          onProgress: (done) => {
            this.recordNumbers(done - lastDone)
            lastDone = done
            slotState.done = done
            this.patch({})
          }
        })
        if (report.outcome === 'success') this.recordNumbers(total - lastDone)
        else this.patch({ lastError: `work unit ${lease.wuId} failed: ${report.errorMessage}` })
        await this.recordResult(lease, report)
      } catch (err) {
        if (err instanceof RunAbortedError) return
        if (err instanceof KernelUnsupportedError) {
          // another volunteer can run it: the hub never hands it to this peer again
          await this.releaseLease(lease.replicaId)
          continue
        }
        if (err instanceof KernelLoadError) {
          // the lease stays stored; takeLease hands it out again after the pause
          this.patch({ lastError: err.message })
          await sleep(2000, signal)
          continue
        }
        this.patch({ lastError: `run: ${(err as Error).message}` })
      } finally {
        this.runningLeases.delete(lease.replicaId)
        this.patch({})
      }
    }
  }

  private recordNumbers (count: number): void {
    this.numbersTotal += count
    this.throughputSamples.push({ t: performance.now(), numbers: this.numbersTotal })
  }

  private measureThroughput (): number {
    const now = performance.now()
    while (this.throughputSamples.length > 1 && now - this.throughputSamples[0].t > THROUGHPUT_WINDOW_MS) this.throughputSamples.shift()
    const first = this.throughputSamples[0]
    if (first == null || now - first.t < 1) return 0
    const spanMs = Math.max(now - first.t, 1000)
    return (this.numbersTotal - first.numbers) / (spanMs / 1000)
  }

  /** Sign the result and move it from `leases` to the outbox in one IndexedDB transaction. */
  /** Run a researcher kernel (verified hub -> researcher -> kernel first) beside WASM slot `index`. */
  private async runResearcherKernel (index: number, lease: Lease, signal: AbortSignal): ReturnType<KernelSlot['run']> {
    const hub = this.hubPeer
    if (hub == null) throw new KernelLoadError('not connected to a hub')
    return await this.kernelSlots[index].run(lease, { signal, resolveKernel: async () => await this.kernels.resolve(lease.kernel, hub.toString(), signal) })
  }

  /** Run a matmul tile on the GPU slot; its input blocks come from the hub's blob protocol. */
  private async runTile (lease: Lease, signal: AbortSignal): ReturnType<GpuSlot['run']> {
    const hub = this.hubPeer
    if (hub == null || this.gpuSlot == null) throw new KernelLoadError('not connected to a hub')
    // the governor's GPU share and pauses, applied at tile boundaries (a tile's dispatches are each
    // sized well under a second)
    await this.governor.whenGpuMayRun(signal)
    if (signal.aborted) throw new RunAbortedError()
    const started = performance.now()
    const report = await this.gpuSlot.run(lease, {
      signal,
      fetchBlob: async cid => await this.blobCache.get(cid, async () => await fetchBlob(this.node, hub, cid, signal))
    })
    await sleep(this.governor.gpuRestMs(performance.now() - started), signal)
    return report
  }

  private async recordResult (lease: Lease, report: RunReport): Promise<void> {
    const signed = await signResult({
      replicaId: lease.replicaId,
      wuId: lease.wuId,
      outcome: report.outcome,
      output: report.output as Uint8Array<ArrayBuffer>,
      outputSha256: sha256Bytes(report.output) as Uint8Array<ArrayBuffer>,
      elapsedMs: report.elapsedMs,
      deviceClass: report.deviceClass ?? 'wasm',
      errorMessage: report.errorMessage
    }, this.key)
    const hubPeerId = this.hubPeer?.toString() ?? ''
    const unitsDone = ((await this.db.get('meta', META_UNITS_DONE)) as number | undefined ?? 0) + 1
    const tx = this.db.transaction(['leases', 'outbox', 'meta'], 'readwrite')
    await tx.objectStore('outbox').put({ replicaId: lease.replicaId, hubPeerId, signed: SignedResult.encode(signed), createdAtMs: Date.now(), attempts: 0 })
    await tx.objectStore('leases').delete(lease.replicaId)
    await tx.objectStore('meta').put(unitsDone, META_UNITS_DONE)
    const byKernel = { ...((await tx.objectStore('meta').get(META_UNITS_BY_KERNEL)) as Record<string, number> | undefined) }
    byKernel[lease.kernel] = (byKernel[lease.kernel] ?? 0) + 1
    await tx.objectStore('meta').put(byKernel, META_UNITS_BY_KERNEL)
    await tx.done
    await this.refreshCounters()
    void this.flushOutbox()
  }

  /** Send every result in the outbox; keep the ones the network failed on. */
  async flushOutbox (): Promise<void> {
    await this.outboxMutex.run(async () => {
      const hub = this.hubPeer
      if (hub == null || this.state.connection !== 'connected') return
      for (const entry of await this.db.getAll('outbox')) {
        if (entry.hubPeerId !== hub.toString()) continue
        let response: ResultResponse
        try {
          response = await exchangeResult(this.node, hub, { result: SignedResult.decode(entry.signed), receiptsAfter: this.receiptsAfter }, this.lifetime.signal)
        } catch (err) {
          this.patch({ lastError: `submit: ${(err as Error).message}` })
          return
        }
        if (response.status === 'accepted' || response.status === 'duplicate') {
          const tx = this.db.transaction(['outbox', 'acks'], 'readwrite')
          if (response.ack != null) await tx.objectStore('acks').put({ replicaId: entry.replicaId, hubPeerId: entry.hubPeerId, receipt: HubReceipt.encode(response.ack) })
          await tx.objectStore('outbox').delete(entry.replicaId)
          await tx.done
        } else {
          const rejected = ((await this.db.get('meta', META_REJECTED)) as number | undefined ?? 0) + 1
          const tx = this.db.transaction(['outbox', 'meta'], 'readwrite')
          await tx.objectStore('outbox').delete(entry.replicaId)
          await tx.objectStore('meta').put(rejected, META_REJECTED)
          await tx.done
          this.patch({ lastError: `result refused: ${response.error}: ${response.message}` })
        }
        await this.storeCredits(response)
      }
    })
    await this.refreshCounters()
  }

  private async pollReceipts (): Promise<void> {
    const hub = this.hubPeer
    if (hub == null) return
    try {
      const response = await exchangeResult(this.node, hub, { receiptsAfter: this.receiptsAfter }, this.lifetime.signal)
      await this.storeCredits(response)
      await this.refreshCounters()
    } catch (err) {
      this.patch({ lastError: `receipts: ${(err as Error).message}` })
    }
  }

  /** Verify and keep the credit receipts of a response (never trusting the page's own claims). */
  private async storeCredits (response: ResultResponse): Promise<void> {
    const hub = this.hubPeer
    const hubKey = this.hubPublicKey
    if (hub == null || hubKey == null) return
    for (const receipt of response.credits) {
      try {
        await verifyReceipt(receipt, hubKey)
        const entry = decodeCreditEntry(receipt)
        if (entry.peerId !== this.state.peerId) throw new Error(`receipt for another peer ${entry.peerId}`)
        await this.db.put('credits', { hubPeerId: hub.toString(), seq: entry.seq, replicaId: entry.replicaId, credit: entry.credit, receipt: HubReceipt.encode(receipt) })
        this.receiptsAfter = Math.max(this.receiptsAfter, entry.seq)
      } catch (err) {
        this.patch({ lastError: `receipt refused: ${(err as Error).message}` })
      }
    }
  }

  /** Recompute the counters shown on the page from IndexedDB. */
  private async refreshCounters (): Promise<void> {
    const credits = await this.db.getAll('credits')
    const credited = new Set(credits.map(c => c.replicaId))
    const ackKeys = await this.db.getAllKeys('acks')
    const outboxCount = await this.db.count('outbox')
    const hub = this.hubPeer?.toString()
    for (const c of credits) if (hub == null || c.hubPeerId === hub) this.receiptsAfter = Math.max(this.receiptsAfter, c.seq)
    this.patch({
      unitsDone: (await this.db.get('meta', META_UNITS_DONE)) as number | undefined ?? 0,
      resultsRejected: (await this.db.get('meta', META_REJECTED)) as number | undefined ?? 0,
      resultsPending: outboxCount + ackKeys.filter(k => !credited.has(k)).length,
      resultsValidated: credits.length,
      creditGranted: credits.reduce((sum, c) => sum + c.credit, 0),
      unitsByKernel: (await this.db.get('meta', META_UNITS_BY_KERNEL)) as Record<string, number> | undefined ?? {}
    })
  }

  // ---- governor, dashboard, key backup, statements (issue 6) ----

  /**
   * Set the CPU and/or GPU share (0.1-1 each); remembered in IndexedDB across visits.
   * @throws ShareOutOfRangeError for a share outside 10%-100%
   */
  async setShares (update: Partial<GovernorSettings>): Promise<void> {
    const settings = this.governor.setShares(update)
    await this.db.put('meta', settings, META_GOVERNOR)
  }

  /** Sample the workers' busy time, connected peers and the history for the dashboard. */
  private async sampleUse (): Promise<void> {
    const busy = (await Promise.all(this.slots.map(s => s.busyMs(this.lifetime.signal)))).reduce((a, b) => a + b, 0)
    const t = performance.now()
    this.busySamples.push({ t, busy })
    while (this.busySamples.length > 1 && t - this.busySamples[0].t > THROUGHPUT_WINDOW_MS) this.busySamples.shift()
    const first = this.busySamples[0]
    const cpuUse = t - first.t > 0 ? (busy - first.busy) / ((t - first.t) * this.governor.cores) : 0
    const history = [...this.state.history, { t: Math.round(Date.now() / 1000), throughput: this.state.throughput, cpuUse }].slice(-HISTORY_MAX)
    this.patch({ cpuUse, cpuBusyMs: busy, peers: this.node.getPeers().length, history })
  }

  /** Find the WebGPU adapter, where navigator.gpu exists (3 s at most). */
  private async probeGpu (): Promise<void> {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter: () => Promise<{ info?: { vendor: string, architecture: string, description: string, isFallbackAdapter?: boolean }, isFallbackAdapter?: boolean } | null> } } | undefined)?.gpu
    if (gpu == null) return
    try {
      const adapter = await Promise.race([gpu.requestAdapter(), new Promise<null>(resolve => setTimeout(() => { resolve(null) }, 3000))])
      if (adapter == null) return
      const info = adapter.info
      this.patch({ device: { ...this.state.device, gpu: { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', description: info?.description ?? '', fallback: info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false } } })
    } catch { /* no adapter */ }
  }

  /** Ask the hub for every receipt after the newest one held (all of them after a key import). */
  private async syncReceipts (): Promise<void> {
    const hub = this.hubPeer
    if (hub == null) return
    try {
      for (let page = 0; page < 10_000; page++) {
        const before = this.receiptsAfter
        const response = await exchangeResult(this.node, hub, { receiptsAfter: before }, this.lifetime.signal)
        await this.storeCredits(response)
        if (response.credits.length === 0 || this.receiptsAfter <= before) break
      }
      await this.refreshCounters()
    } catch (err) {
      this.patch({ lastError: `receipts: ${(err as Error).message}` })
    }
  }

  /**
   * The identity key as a passphrase-protected key file (JSON text; see key-backup.ts).
   * @throws WeakPassphraseError for a passphrase under 8 characters
   */
  async exportKey (passphrase: string): Promise<string> {
    return exportKeyFile(this.key, passphrase)
  }

  /**
   * Replace this browser's identity with the key in a key file. The file is decrypted and checked
   * first: on any error the current key is kept. Then work stops, leases are released, and the
   * key, acks and receipts of the old identity are replaced; reload the page to run as the new
   * peer id (it re-fetches that peer's receipts from the hub).
   * @returns the imported peer id
   * @throws KeyFileFormatError, KeyFileVersionError, WrongPassphraseError, KeyMismatchError from key-backup.ts
   * @throws ImportBlockedError while results signed by the current key wait in the outbox
   */
  async importKey (fileText: string, passphrase: string): Promise<string> {
    const key = await importKeyFile(fileText, passphrase)
    const pending = await this.db.count('outbox')
    if (pending > 0) throw new ImportBlockedError(pending)
    await this.stop()
    const tx = this.db.transaction(['identity', 'acks', 'credits', 'leases'], 'readwrite')
    await tx.objectStore('identity').put({ privateKey: privateKeyToProtobuf(key) }, 'self')
    await tx.objectStore('acks').clear()
    await tx.objectStore('credits').clear()
    await tx.objectStore('leases').clear()
    await tx.done
    this.lifetime.abort()
    await this.node.stop()
    return peerIdFromPrivateKey(key).toString()
  }

  /**
   * A credit statement of every hub-signed receipt this browser holds for the current hub.
   * @throws Error before the hub is known
   */
  async creditStatement (): Promise<StatementV1> {
    const hub = this.state.hubPeerId
    if (hub == null) throw new Error('not connected to a hub yet: its peer id is unknown')
    const credits = (await this.db.getAll('credits')).filter(c => c.hubPeerId === hub)
    return buildStatement(hub, this.state.peerId, credits.map(c => c.receipt))
  }

  /**
   * Check a statement file (this page's or anyone's) against its hub's public key.
   * @throws StatementFormatError when it is not a readable statement
   */
  async verifyStatement (text: string): Promise<StatementReport> {
    return verifyStatement(text)
  }
}
