/**
 * The volunteer client: identity, connection to a hub, work fetch, worker slots, signing, the
 * outbox and credit receipts. The page's UI only reads `VolunteerState` and calls start()/stop().
 *
 * Data flow: lease (IndexedDB `leases`) -> run in a worker slot -> sign -> outbox (IndexedDB) ->
 * submit -> ack (IndexedDB `acks`) -> later a hub-signed credit receipt (IndexedDB `credits`).
 * A reload resumes non-expired leases if the tab was running, releases them otherwise, and
 * re-sends every result still in the outbox.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  Lease, ResultResponse, SignedResult, HubReceipt, decodeCreditEntry, sha256Bytes, signResult, verifyReceipt
} from '../protocol/index.ts'
import { openVolunteerDb } from './db.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { exchangeResult, requestWork } from './hub-client.ts'
import { createVolunteerNode } from './node.ts'
import { KernelLoadError, RunAbortedError, WasmSlot } from './task-runner.ts'
import type { VolunteerDb, StoredLease } from './db.ts'
import type { WorkerFactory } from './task-runner.ts'
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
}

const META_RUNNING = 'running'
const META_UNITS_DONE = 'unitsDone'
const META_REJECTED = 'resultsRejected'
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

  private constructor (
    private readonly opts: VolunteerOptions,
    private readonly db: VolunteerDb,
    private readonly key: PrivateKey,
    private readonly node: Libp2p,
    slotCount: number
  ) {
    this.slots = Array.from({ length: slotCount }, () => new WasmSlot(opts.createWorker, opts.wasmUrl))
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
      lastError: null
    }
  }

  /** Open the store and identity, start the libp2p node and connect to the hub. */
  static async create (opts: VolunteerOptions): Promise<VolunteerClient> {
    const db = await openVolunteerDb(opts.dbName)
    const key = await loadOrCreateIdentity(db)
    const node = await createVolunteerNode(key)
    const slotCount = opts.slots ?? Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1)
    const client = new VolunteerClient(opts, db, key, node, slotCount)
    await client.refreshCounters()
    node.addEventListener('peer:disconnect', evt => {
      if (client.hubPeer != null && evt.detail.equals(client.hubPeer)) {
        client.patch({ connection: 'disconnected' })
        void client.connectLoop()
      }
    })
    void client.connectLoop()
    setInterval(() => { client.patch({ throughput: client.measureThroughput() }) }, 1000)
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
    this.runningLeases.clear()
    this.patch({ run: 'stopped' })
    await this.db.put('meta', false, META_RUNNING)
    await this.releaseStoredLeases()
  }

  private async releaseStoredLeases (): Promise<void> {
    const stored = await this.db.getAll('leases')
    const hub = this.hubPeer
    if (stored.length === 0 || hub == null) return
    const mine = stored.filter(s => s.hubPeerId === hub.toString() && !this.runningLeases.has(s.replicaId))
    try {
      if (mine.length > 0) await requestWork(this.node, hub, { maxUnits: 0, release: mine.map(s => s.replicaId), deviceClass: 'wasm' }, this.lifetime.signal)
      const tx = this.db.transaction('leases', 'readwrite')
      for (const s of mine) await tx.store.delete(s.replicaId)
      await tx.done
    } catch (err) {
      this.patch({ lastError: `release: ${(err as Error).message}` })
    }
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
      const response = await requestWork(this.node, hub, { maxUnits: 1, release: [], deviceClass: 'wasm' }, signal)
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
      const total = lease.estOps
      const slotState: SlotState = { replicaId: lease.replicaId, done: 0, total }
      this.runningLeases.set(lease.replicaId, slotState)
      this.patch({})
      let lastDone = 0
      try {
        const report = await slot.run(lease, {
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
  private async recordResult (lease: Lease, report: { outcome: 'success' | 'client-error', output: Uint8Array, elapsedMs: number, errorMessage: string }): Promise<void> {
    const signed = await signResult({
      replicaId: lease.replicaId,
      wuId: lease.wuId,
      outcome: report.outcome,
      output: report.output as Uint8Array<ArrayBuffer>,
      outputSha256: sha256Bytes(report.output) as Uint8Array<ArrayBuffer>,
      elapsedMs: report.elapsedMs,
      deviceClass: 'wasm',
      errorMessage: report.errorMessage
    }, this.key)
    const hubPeerId = this.hubPeer?.toString() ?? ''
    const unitsDone = ((await this.db.get('meta', META_UNITS_DONE)) as number | undefined ?? 0) + 1
    const tx = this.db.transaction(['leases', 'outbox', 'meta'], 'readwrite')
    await tx.objectStore('outbox').put({ replicaId: lease.replicaId, hubPeerId, signed: SignedResult.encode(signed), createdAtMs: Date.now(), attempts: 0 })
    await tx.objectStore('leases').delete(lease.replicaId)
    await tx.objectStore('meta').put(unitsDone, META_UNITS_DONE)
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
      creditGranted: credits.reduce((sum, c) => sum + c.credit, 0)
    })
  }
}
