/**
 * The volunteer client, wired from its components (js-libp2p style: each has start() and stop()):
 *
 * ```
 * connection ──▶ work fetch ──▶ runner pool (governor) ──▶ outbox ──▶ receipts
 *  (hub.json,     (work/2.0.0,    (WASM / GPU / kernel      (sign,      (verify, keep,
 *   dial, redial)  leases in IDB)   slots, routing)          submit)      poll)
 *                                  metrics (rates, use, history) · account (key backup, statements)
 * ```
 *
 * Data flow: lease (IndexedDB `leases`) -> run in a worker slot -> sign -> outbox (IndexedDB) ->
 * submit -> ack (IndexedDB `acks`) -> later a hub-signed credit receipt (IndexedDB `credits`).
 * A reload resumes non-expired leases if the tab was running, releases them otherwise, and
 * re-sends every result still in the outbox. The page's UI only reads `VolunteerState` and calls
 * the commands; `close()` ends every timer, listener and the libp2p node.
 */
import { Account } from './account.ts'
import type { PayoutClaimTx } from './payout.ts'
import { BlobCache } from './blob-fetch.ts'
import { HubConnection, dialingNode } from './connection.ts'
import { SUPPORTED_KERNEL_ABIS, buildCapabilities, deviceInfo, memoryEstimateBytes, probeAdapter } from './device.ts'
import { Governor, attachBrowserSensors, sanitizeSettings } from './governor.ts'
import { GpuSlot } from './gpu-slot.ts'
import { Libp2pHubLink } from './hub-client.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { KernelResolver } from './kernel-resolver.ts'
import { KernelSlot } from './kernel-slot.ts'
import { Metrics } from './metrics.ts'
import { canGatherIceCandidates, createVolunteerNode } from './node.ts'
import { Outbox } from './outbox.ts'
import { PeerBlobs } from './peer-blobs.ts'
import { Receipts } from './receipts.ts'
import { DEFAULT_START_MS, GEMM_NOT_STARTED, RunnerPool } from './runner-pool.ts'
import { StateBus } from './state.ts'
import { TrafficCounter } from './traffic.ts'
import { VolunteerStore } from './store.ts'
import { WasmSlot } from './task-runner.ts'
import { PAUSE_REPORT_MS, WorkFetch } from './work-fetch.ts'
import type { StatementReport, StatementV1 } from '../protocol/statement.ts'
import type { AdapterInfo } from './device.ts'
import type { GovernorSettings, SensorOptions } from './governor.ts'
import type { StateListener, VolunteerState } from './state.ts'
import type { WorkerFactory } from './task-runner.ts'
import type { GpuRunnerInit } from '../../workers/gpu-runner.ts'

export interface VolunteerOptions {
  /** URL of the hub's `/hub.json` (peer id and multiaddrs). */
  hubInfoUrl: string
  /** URL of the prime-sieve kernel's .wasm. */
  wasmUrl: string
  createWorker: WorkerFactory
  /** Worker slots; default navigator.hardwareConcurrency - 1, at least 1. */
  slots?: number
  dbName?: string
  /** How often to ask for receipts while results are pending, in ms (default 1500). */
  receiptPollMs?: number
  /** Browser pause sensors' hold times (false: attach none). */
  sensors?: SensorOptions | false
  /**
   * A partner site's key (embed frame): sent in every work request (work/2.0.0's siteKey, or
   * work/1.1.0 with an older hub), so the hub attributes the credit to that site as well.
   */
  siteKey?: string
  /** With `siteKey`: the embedding page's origin as the browser reports it (location.ancestorOrigins); a registered site earns credit only from its origins. */
  siteOrigin?: string
  /** Worker factory for workers/gpu-runner.ts: matmul tiles run there (WebGPU, else WASM SIMD). */
  createGpuWorker?: WorkerFactory
  /** Options of the GPU worker (tests: `loseDeviceAtTile`). */
  gpuInit?: GpuRunnerInit
  /** Worker factory for workers/kernel-runner.ts: researcher (`k1:`) kernels run there. */
  createKernelWorker?: WorkerFactory
  /** Fetch blobs from and serve them to other volunteers over WebRTC (default true; `?p2p=off` on the page). */
  peerToPeer?: boolean
}

/** The client's public surface (the page, the embed frame and tests use only this). */
export interface Volunteer {
  readonly snapshot: VolunteerState
  /** The governor every slot obeys (shares, duty cycle, pauses). */
  readonly governor: Governor
  /** Call `fn` now and on every state change; returns the unsubscribe function. */
  subscribe: (fn: StateListener) => () => void
  /** Start computing with every slot. Remembered across reloads. */
  /**
   * Start work; it holds across reloads until `untilMs` (Unix ms, default 24 h from now,
   * DEFAULT_START_MS; null: always on this device) and then stops by itself.
   */
  start: (opts?: { untilMs?: number | null }) => Promise<void>
  /** Stop: terminate every worker at once, then give the running leases back to the hub ('stopped'). */
  stop: () => Promise<void>
  /**
   * Set the CPU and/or GPU share (0.1-1 each); remembered in IndexedDB across visits.
   * @throws ShareOutOfRangeError for a share outside 10%-100%
   */
  setShares: (update: Partial<GovernorSettings>) => Promise<void>
  /** Send every result in the outbox to the hub now. */
  flushOutbox: () => Promise<void>
  /** @throws WeakPassphraseError (see Account.exportKey) */
  exportKey: (passphrase: string) => Promise<string>
  /**
   * Replace the identity (see Account.importKey); the client is closed afterwards: reload the page.
   * @throws KeyFileFormatError, KeyFileVersionError, WrongPassphraseError, KeyMismatchError, ImportBlockedError
   */
  importKey: (fileText: string, passphrase: string) => Promise<string>
  /** @throws Error before the hub is known */
  creditStatement: () => Promise<StatementV1>
  /** @throws StatementFormatError */
  verifyStatement: (text: string) => Promise<StatementReport>
  /** Bind this key's credit to an Ethereum address (Account.bindPayoutAddress). @throws MalformedPayoutAddressError, RemoteError */
  bindPayoutAddress: (hubUrl: string, address: string) => Promise<{ seq: number, address: string }>
  /** The address's claim under the latest payout epoch (Account.payoutClaim). @throws MalformedPayoutAddressError, RemoteError */
  payoutClaim: (hubUrl: string, address: string) => Promise<PayoutClaimTx>
  /** Stop work, remove every timer and listener, stop the libp2p node and close the database. */
  close: () => Promise<void>
}

/** The value of `p` if it fulfils within `ms`, else undefined (rejections too). */
async function settledWithin<T> (p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (p == null) return undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, ms) })])
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Open the store and identity, start the libp2p node and every component, and connect to the hub.
 * @throws Error when IndexedDB is refused (e.g. third-party storage blocked) or libp2p cannot start
 */
export async function createVolunteer (opts: VolunteerOptions): Promise<Volunteer> {
  const store = await VolunteerStore.open(opts.dbName)
  const key = await loadOrCreateIdentity(store.db)
  // relayed connections (WebRTC signalling from other volunteers) only through the hub (connection.ts)
  let relayHub: (() => string | null) = () => null
  // no ICE candidate (loopback only): no WebRTC can form, so neither listen for peers nor dial them
  const peerToPeer = opts.peerToPeer !== false && await canGatherIceCandidates()
  let hubIceServers: () => string[] = () => []
  const node = await createVolunteerNode(key, { isRelayAllowed: relay => relay.toString() === relayHub(), peerToPeer, iceServers: () => hubIceServers() })
  const peerId = node.peerId.toString()
  const device = deviceInfo()
  const slotCount = opts.slots ?? Math.max(1, device.cores - 1)
  const governor = new Governor(device.cores, slotCount, sanitizeSettings(await store.getMeta('governor')))
  const lifetime = new AbortController()
  const bus = new StateBus({
    peerId,
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
    numbersPerSecond: 0,
    flopsPerSecond: 0,
    unitsPerMinute: 0,
    running: [],
    lastError: null,
    gemm: opts.createGpuWorker != null ? { ...GEMM_NOT_STARTED } : null,
    governor: governor.state,
    cpuUse: 0,
    cpuBusyMs: 0,
    gpuUse: null,
    peers: 0,
    p2p: { fromHubBytes: 0, fromPeersBytes: 0, servedBytes: 0, fromHubBlobs: 0, fromPeersBlobs: 0, badPeers: 0, peersConnected: 0, relayed: false },
    unitsByKernel: {},
    ownContribution: null,
    traffic: { sentBytes: 0, receivedBytes: 0, runningMs: 0, bytesPerHour: null },
    history: [],
    device
  })

  const connection = new HubConnection(dialingNode(node), bus, { hubInfoUrl: opts.hubInfoUrl })
  relayHub = () => connection.hub?.peer.toString() ?? null
  hubIceServers = () => connection.hub?.iceServers ?? []
  // every byte of every Spare Cycles exchange this page makes (and serves) is counted here
  const traffic = new TrafficCounter()
  const link = new Libp2pHubLink(node, () => connection.hub?.peer ?? null, traffic.record)
  const hubPeerId = (): string | null => connection.hub?.peer.toString() ?? null
  let adapter: AdapterInfo | null = null
  const runners = { wasmSlots: slotCount, gpuWorker: opts.createGpuWorker != null, kernelAbis: opts.createKernelWorker != null ? SUPPORTED_KERNEL_ABIS : [] }
  const workFetch = new WorkFetch({
    store, link, bus, siteKey: opts.siteKey, siteOrigin: opts.siteOrigin,
    hubPeerId: () => connection.lastHub?.peer.toString() ?? null,
    connected: () => connection.hub != null,
    capabilities: () => buildCapabilities(runners, adapter, memoryEstimateBytes(device.memoryGiB)),
    pauseReasons: () => governor.state.pauseReasons
  })
  // a paused page says so when it pauses, every PAUSE_REPORT_MS while it stays paused, and when it resumes
  let pausedBefore = false
  const reportPause = (): void => {
    const paused = governor.state.pauseReasons.length > 0
    if (paused || pausedBefore) void workFetch.reportPause()
    pausedBefore = paused
  }
  const unsubscribePause = governor.subscribe(state => { if ((state.pauseReasons.length > 0) !== pausedBefore) reportPause() })
  const pauseTimer = setInterval(() => { if (governor.state.pauseReasons.length > 0) reportPause() }, PAUSE_REPORT_MS)
  const receipts = new Receipts({
    store, link, bus, peerId,
    hub: () => connection.hub,
    flushOutbox: async () => { await outbox.flush() },
    running: () => runnerPool.isRunning,
    pollMs: opts.receiptPollMs
  })
  const outbox = new Outbox({ store, link, bus, key, hubPeerId, receipts, adapter: () => adapter })
  const blobCache = new BlobCache()
  // kernels and input blocks: from volunteers the hub names first (WebRTC), the hub last; and
  // served to them from what this page holds (verified): the blob cache, then IndexedDB
  const peerBlobs = new PeerBlobs({
    node,
    hub: () => connection.hub,
    // a blob this page is fetching is served once it has it and checked it (at most 10 s of waiting)
    lookup: async hex => blobCache.peek(hex) ?? await settledWithin(blobCache.inFlight(hex), 10_000) ?? (await store.db.get('blobs', hex))?.bytes,
    onBytes: traffic.record,
    peerToPeer
  })
  const kernels = new KernelResolver(node, store.db, traffic.record, async (cid, signal) => await peerBlobs.fetch(cid, signal))
  const kernelWorker = opts.createKernelWorker
  const cpu = Array.from({ length: slotCount }, () => new WasmSlot(opts.createWorker, opts.wasmUrl))
  const metrics = new Metrics({ bus, cores: governor.cores, busyMs: async signal => await runnerPool.busyMs(signal), peers: () => node.getPeers().length, traffic: () => traffic.totals, p2p: () => peerBlobs.snapshot() })
  const runnerPool: RunnerPool = new RunnerPool({
    bus, governor, workFetch, outbox, metrics, store, cpu,
    researcher: kernelWorker != null ? cpu.map(() => new KernelSlot(kernelWorker)) : null,
    tiles: opts.createGpuWorker != null ? new GpuSlot(opts.createGpuWorker, { ...opts.gpuInit }, gemm => { bus.patch({ gemm }) }) : null,
    fetchBlob: async (cid, signal) => await blobCache.get(cid, async () => await peerBlobs.fetch(cid, signal)),
    resolveKernel: async (ref, hub, signal) => await kernels.resolve(ref, hub, signal)
  })

  /** After every (re)connection: resume or release stored work, re-send the outbox, fetch receipts. */
  const offConnect = connection.onConnect(async () => {
    link.resetNegotiation()
    // resume only while the visitor's Start holds (runUntil: null = always on this device; a Start
    // from before expiring yeses, with no runUntil, holds no longer): no work on load without a live yes
    const until = await store.getMeta('runUntil')
    const live = await store.getMeta('running') === true && (until === null || (until !== undefined && until > Date.now()))
    if (live && !runnerPool.isRunning) await runnerPool.startWork(until ?? null)
    else if (!live) {
      if (await store.getMeta('running') === true) await store.putMeta('running', false)
      await workFetch.releaseStored('stopped')
    }
    await outbox.flush()
    await receipts.sync()
    receipts.kick()
  })

  let halted = false
  /** Stop every component and the node; the store stays open (importKey writes after this). */
  const halt = async (): Promise<void> => {
    if (halted) return
    halted = true
    offConnect()
    lifetime.abort()
    await runnerPool.stop()
    metrics.stop()
    await receipts.stop()
    await outbox.stop()
    workFetch.stop()
    await connection.stop()
    await node.stop()
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    clearInterval(pauseTimer)
    unsubscribePause()
    await halt()
    bus.clear()
    store.close()
  }
  const account = new Account({ store, key, peerId, hubPeerId: () => bus.get('hubPeerId'), shutDown: halt })

  // serve held blobs (input blocks, researcher kernels) to other volunteers over /sparecycles/blob/1.0.0
  await peerBlobs.serve()
  await outbox.refresh()
  runnerPool.start()
  workFetch.start()
  outbox.start()
  receipts.start()
  metrics.start()
  if (opts.sensors !== false) await attachBrowserSensors(governor, { ...opts.sensors, onOwnContribution: estimate => { metrics.recordOwnContribution(estimate) }, signal: lifetime.signal })
  void probeAdapter(lifetime.signal).then(found => {
    adapter = found
    if (!lifetime.signal.aborted) {
      bus.patch({ device: { ...device, gpuProbed: true, gpu: found == null ? null : { vendor: found.vendor, architecture: found.architecture, description: found.description, fallback: found.fallback } } })
    }
  })
  connection.start()

  return {
    get snapshot () { return bus.snapshot },
    governor,
    subscribe: fn => bus.subscribe(fn),
    start: async (opts = {}) => { if (!closed) { await runnerPool.startWork(opts.untilMs === undefined ? Date.now() + DEFAULT_START_MS : opts.untilMs); receipts.kick() } },
    stop: async () => { await runnerPool.stopWork() },
    setShares: async update => { await store.putMeta('governor', governor.setShares(update)) },
    flushOutbox: async () => { await outbox.flush() },
    exportKey: async passphrase => await account.exportKey(passphrase),
    importKey: async (text, passphrase) => {
      const imported = await account.importKey(text, passphrase)
      await close()
      return imported
    },
    creditStatement: async () => await account.creditStatement(),
    verifyStatement: async text => await account.verifyStatement(text),
    bindPayoutAddress: async (hubUrl, address) => await account.bindPayoutAddress(hubUrl, address),
    payoutClaim: async (hubUrl, address) => await account.payoutClaim(hubUrl, address),
    close
  }
}
