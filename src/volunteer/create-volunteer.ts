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
 * Connection, work fetch, outbox and receipts exist once per hub (hub-session.ts): the page's own
 * hub and any the visitor added; the hub set (hub-set.ts) is the runner pool's one work source
 * over them and hands each result to the outbox of the hub that leased it.
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
import { SUPPORTED_KERNEL_ABIS, buildCapabilities, deviceInfo, memoryEstimateBytes, probeAdapter } from './device.ts'
import { Governor, attachBrowserSensors, sanitizeSettings } from './governor.ts'
import { GpuSlot } from './gpu-slot.ts'
import { normalizeHubUrl } from '../protocol/hub-urls.ts'
import { HubSession } from './hub-session.ts'
import { HubSet } from './hub-set.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { KernelResolver } from './kernel-resolver.ts'
import { KernelSlot } from './kernel-slot.ts'
import { Metrics } from './metrics.ts'
import { canGatherIceCandidates, createVolunteerNode } from './node.ts'
import { PeerBlobs } from './peer-blobs.ts'
import { DEFAULT_START_MS, GEMM_NOT_STARTED, RunnerPool } from './runner-pool.ts'
import { StateBus } from './state.ts'
import { TrafficCounter } from './traffic.ts'
import { VolunteerStore } from './store.ts'
import { WasmSlot } from './task-runner.ts'
import { PAUSE_REPORT_MS } from './work-fetch.ts'
import type { StatementReport, StatementV1 } from '../protocol/statement.ts'
import type { ConnectedHub } from './connection.ts'
import type { AdapterInfo } from './device.ts'
import type { Capabilities } from '../protocol/index.ts'
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
  /** Whether the visitor may add other hubs (hub-set.ts; the visitor page: true; default false, as in a partner's embed frame). */
  addHubs?: boolean
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
  /** Send every result in the outboxes to their hubs now. */
  flushOutbox: () => Promise<void>
  /**
   * Work for another hub as well (its base URL), with the same key, governor and outbox rules;
   * remembered across reloads. @returns the URL as kept
   * @throws BadHubUrlError for a malformed URL, one already added, too many, or a page that adds none
   */
  addHub: (url: string) => Promise<string>
  /** Stop working for an added hub (after the units it is running). @throws BadHubUrlError for the own hub or one not added */
  removeHub: (url: string) => Promise<void>
  /** @throws WeakPassphraseError (see Account.exportKey) */
  exportKey: (passphrase: string) => Promise<string>
  /**
   * Replace the identity (see Account.importKey); the client is closed afterwards: reload the page.
   * @throws KeyFileFormatError, KeyFileVersionError, WrongPassphraseError, KeyMismatchError, ImportBlockedError
   */
  importKey: (fileText: string, passphrase: string) => Promise<string>
  /** A statement of the receipts of hub `hubPeerId` (default: the page's own hub). @throws Error before the hub is known */
  creditStatement: (hubPeerId?: string) => Promise<StatementV1>
  /** @throws StatementFormatError */
  verifyStatement: (text: string) => Promise<StatementReport>
  /** Bind this key's credit to an Ethereum address (Account.bindPayoutAddress). @throws MalformedPayoutAddressError, RemoteError */
  bindPayoutAddress: (hubUrl: string, address: string) => Promise<{ seq: number, address: string }>
  /** The address's claim under the latest payout epoch (Account.payoutClaim). @throws MalformedPayoutAddressError, RemoteError */
  payoutClaim: (hubUrl: string, address: string) => Promise<PayoutClaimTx>
  /** Stop work, remove every timer and listener, stop the libp2p node and close the database. */
  close: () => Promise<void>
}

/** The hub's base URL from the URL of its /hub.json (one that is no http(s) URL, as in tests: itself). */
function hubBaseUrl (hubInfoUrl: string): string {
  try { return normalizeHubUrl(hubInfoUrl) } catch { return hubInfoUrl }
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
    device,
    hubs: [],
    recommendedHubs: [],
    perHub: {}
  })

  // every byte of every Spare Cycles exchange this page makes (and serves) is counted here
  const traffic = new TrafficCounter()
  let adapter: AdapterInfo | null = null
  const runners = { wasmSlots: slotCount, gpuWorker: opts.createGpuWorker != null, kernelAbis: opts.createKernelWorker != null ? SUPPORTED_KERNEL_ABIS : [] }
  const capabilities = (): Capabilities => buildCapabilities(runners, adapter, memoryEstimateBytes(device.memoryGiB))
  // one session per hub: the page's own, then those the visitor added (hub-set.ts)
  const hubSet: HubSet = new HubSet({
    primaryUrl: hubBaseUrl(opts.hubInfoUrl),
    bus, store,
    allowAdding: opts.addHubs === true,
    makeSession: (url, primary) => new HubSession({
      url, primary, hubInfoUrl: primary ? opts.hubInfoUrl : undefined, node, bus, store, key, peerId, onBytes: traffic.record, capabilities,
      pauseReasons: () => governor.state.pauseReasons,
      adapter: () => adapter,
      running: () => runnerPool.isRunning,
      siteKey: opts.siteKey, siteOrigin: opts.siteOrigin, receiptPollMs: opts.receiptPollMs,
      onView: update => { hubSet.viewChanged(url, update) }
    }),
    startSession: session => { session.start(onConnect) }
  })
  const ownHub = (): ConnectedHub | null => hubSet.primary?.hub ?? null
  relayHub = () => ownHub()?.peer.toString() ?? null
  hubIceServers = () => ownHub()?.iceServers ?? []
  // a paused page says so when it pauses, every PAUSE_REPORT_MS while it stays paused, and when it resumes
  let pausedBefore = false
  const reportPause = (): void => {
    const paused = governor.state.pauseReasons.length > 0
    if (paused || pausedBefore) void hubSet.reportPause()
    pausedBefore = paused
  }
  const unsubscribePause = governor.subscribe(state => { if ((state.pauseReasons.length > 0) !== pausedBefore) reportPause() })
  const pauseTimer = setInterval(() => { if (governor.state.pauseReasons.length > 0) reportPause() }, PAUSE_REPORT_MS)
  const blobCache = new BlobCache()
  // the connected hub with this peer id (the one whose lease needs a blob), or null
  const hubOf = (hubPeerId: string): ConnectedHub | null => hubSet.sessionOf(hubPeerId)?.hub ?? null
  // kernels and input blocks: from volunteers the hub names first (WebRTC), the hub last; and
  // served to them from what this page holds (verified): the blob cache, then IndexedDB
  const peerBlobs = new PeerBlobs({
    node,
    hub: ownHub,
    // a blob this page is fetching is served once it has it and checked it (at most 10 s of waiting)
    lookup: async hex => blobCache.peek(hex) ?? await settledWithin(blobCache.inFlight(hex), 10_000) ?? (await store.db.get('blobs', hex))?.bytes,
    onBytes: traffic.record,
    peerToPeer
  })
  const kernels = new KernelResolver(node, store.db, traffic.record, async (cid, hub, signal) => await peerBlobs.fetch(cid, signal, hubOf(hub.toString())))
  const kernelWorker = opts.createKernelWorker
  const cpu = Array.from({ length: slotCount }, () => new WasmSlot(opts.createWorker, opts.wasmUrl))
  const metrics = new Metrics({ bus, cores: governor.cores, busyMs: async signal => await runnerPool.busyMs(signal), peers: () => node.getPeers().length, traffic: () => traffic.totals, p2p: () => peerBlobs.snapshot() })
  const runnerPool: RunnerPool = new RunnerPool({
    bus, governor, workFetch: hubSet, outbox: hubSet, metrics, store, cpu,
    researcher: kernelWorker != null ? cpu.map(() => new KernelSlot(kernelWorker)) : null,
    tiles: opts.createGpuWorker != null ? new GpuSlot(opts.createGpuWorker, { ...opts.gpuInit }, gemm => { bus.patch({ gemm }) }) : null,
    fetchBlob: async (cid, hub, signal) => await blobCache.get(cid, async () => await peerBlobs.fetch(cid, signal, hubOf(hub))),
    resolveKernel: async (ref, hub, signal) => await kernels.resolve(ref, hub, signal)
  })

  /** After every (re)connection of a hub: resume or release its stored work, re-send its outbox, fetch its receipts. */
  async function onConnect (session: HubSession): Promise<void> {
    // resume only while the visitor's Start holds (runUntil: null = always on this device; a Start
    // from before expiring yeses, with no runUntil, holds no longer): no work on load without a live yes
    const until = await store.getMeta('runUntil')
    const live = await store.getMeta('running') === true && (until === null || (until !== undefined && until > Date.now()))
    if (live && !runnerPool.isRunning) await runnerPool.startWork(until ?? null)
    else if (!live) {
      if (await store.getMeta('running') === true) await store.putMeta('running', false)
      await session.workFetch.releaseStored('stopped')
    }
    await session.outbox.flush()
    await session.receipts.sync()
    session.receipts.kick()
  }

  let halted = false
  /** Stop every component and the node; the store stays open (importKey writes after this). */
  const halt = async (): Promise<void> => {
    if (halted) return
    halted = true
    lifetime.abort()
    await runnerPool.stop()
    metrics.stop()
    await hubSet.stop()
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
  const kickReceipts = (): void => { for (const s of hubSet.all) s.receipts.kick() }

  // serve held blobs (input blocks, researcher kernels) to other volunteers over /sparecycles/blob/1.0.0
  await peerBlobs.serve()
  runnerPool.start()
  metrics.start()
  if (opts.sensors !== false) await attachBrowserSensors(governor, { ...opts.sensors, onOwnContribution: estimate => { metrics.recordOwnContribution(estimate) }, signal: lifetime.signal })
  void probeAdapter(lifetime.signal).then(found => {
    adapter = found
    if (!lifetime.signal.aborted) {
      bus.patch({ device: { ...device, gpuProbed: true, gpu: found == null ? null : { vendor: found.vendor, architecture: found.architecture, description: found.description, fallback: found.fallback } } })
    }
  })
  await hubSet.start()
  await hubSet.primary.outbox.refresh()

  return {
    get snapshot () { return bus.snapshot },
    governor,
    subscribe: fn => bus.subscribe(fn),
    start: async (opts = {}) => { if (!closed) { await runnerPool.startWork(opts.untilMs === undefined ? Date.now() + DEFAULT_START_MS : opts.untilMs); kickReceipts() } },
    stop: async () => { await runnerPool.stopWork() },
    setShares: async update => { await store.putMeta('governor', governor.setShares(update)) },
    flushOutbox: async () => { await hubSet.flush() },
    addHub: async url => await hubSet.add(url),
    removeHub: async url => { await hubSet.remove(url) },
    exportKey: async passphrase => await account.exportKey(passphrase),
    importKey: async (text, passphrase) => {
      const imported = await account.importKey(text, passphrase)
      await close()
      return imported
    },
    creditStatement: async hubPeerId => await account.creditStatement(hubPeerId),
    verifyStatement: async text => await account.verifyStatement(text),
    bindPayoutAddress: async (hubUrl, address) => await account.bindPayoutAddress(hubUrl, address),
    payoutClaim: async (hubUrl, address) => await account.payoutClaim(hubUrl, address),
    close
  }
}
