/**
 * The hub's libp2p node: WebSockets (browser <-> hub), noise, yamux, identify, ping, and the Spare
 * Cycles protocols served from a HubCore: work 1.0.0, 1.1.0 (site key) and 2.0.0 (capabilities,
 * release reasons), result 1.0.0, 1.1.0 (larger caps) and 2.0.0 (many results a request),
 * receipts, blob 1.0.0. The researchers' job protocol is registered by job-host.ts.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import {
  BLOB_PROVIDERS_SPEC, BLOB_SPEC, MAX_CREDITS_PER_RESPONSE, MAX_LARGE_OUTPUT_BYTES, RESULT_SPEC, RESULT_SPEC_V1_1, RESULT_SPEC_V2, RESULT_SPEC_V3, WORK_SITE_SPEC, WORK_SPEC, WORK_SPEC_V2, handleProtocol
} from '../protocol/index.ts'
import type { ResultBatchRequest, ResultBatchResponse, ResultRequest, ResultResponse, SignedResultBatchRequest, SubmitOutcome, WorkResponse } from '../protocol/index.ts'
import { BlobProviderIndex } from './blob-providers.ts'
import { ConnectionGuard, libp2pAllowList, limitedWebSockets } from './connection-guard.ts'
import { LivenessMonitor } from './liveness.ts'
import { hubLibp2pLogger } from './libp2p-logger.ts'
import { RelayGuard } from './relay-guard.ts'
import { requestBudget, streamErrorReporter } from './stream-limits.ts'
import type { HubLimits, LimitHitListener } from './limits.ts'
import type { HubCore, RequestOrigin } from './hub-core.ts'
import type { HubMetrics } from './metrics.ts'
import { noteRequest } from './log.ts'
import type { RequestTracker } from './log.ts'
import type { ByteBudget, HandleOptions, ProtocolNode } from '../protocol/index.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Connection, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

export interface HubHostOptions {
  privateKey: PrivateKey
  core: HubCore
  /** Listen address, e.g. `/ip4/127.0.0.1/tcp/0/ws`. */
  listen: string[]
  /** Called for every stream that ended in an error (malformed, oversized, timed out). */
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
  /** Transport, connection and stream limits (limits.ts, resolved). */
  limits: HubLimits
  /** Called for every limit hit, by its stable name. */
  onLimitHit?: LimitHitListener
  /** Counters of /metrics (bytes in per protocol). */
  metrics?: Pick<HubMetrics, 'bytesIn'>
  /** Request ids, request-scoped log lines and per-protocol request metrics (log.ts); default none. */
  tracker?: RequestTracker
}

export interface HubHost {
  node: Libp2p
  guard: ConnectionGuard
  /** The liveness pings of the hub's connections (liveness.ts); started, stop it before the node. */
  liveness: LivenessMonitor
  /** The hub-wide budget of buffered request bytes (shared by the job protocol). */
  budget: ByteBudget
  /** `onStreamError` that also reports stream limits to `onLimitHit`. */
  reportStreamError: (protocol: string, err: Error, remotePeer: string) => void
  /** Where the hub's other protocols register their handlers: `node`, tracked by `tracker` when given. */
  protocols: ProtocolNode
  /** Who holds which blob (blob-providers/1.0.0), for browser-to-browser fetches. */
  providers: BlobProviderIndex
  /** Blob bytes (chunk data) this hub served over /sparecycles/blob/1.0.0 since it started. */
  readonly blobBytesServed: () => number
}

/** Replica ids resent on each connection (RequestOrigin.connection), gone with the connection. */
const resentOn = new WeakMap<object, Set<string>>()

/**
 * The origin of a request on `connection`: the IP address of a direct connection (`/ip4/…`,
 * `/ip6/…`, `/dns…/…`; none for a relayed one) and, when its timeline says when it opened, that
 * time (Unix ms) with the set of replica ids resent on it.
 */
export function originOf (connection: Pick<Connection, 'remoteAddr'> & { timeline?: { open: number } }): RequestOrigin {
  const timeline = connection.timeline
  let resent = resentOn.get(connection)
  if (timeline != null && resent == null) { resent = new Set(); resentOn.set(connection, resent) }
  const conn = timeline != null && resent != null ? { connection: { openedAtMs: timeline.open, resent } } : {}
  const addr = connection.remoteAddr.toString()
  if (addr.includes('/p2p-circuit')) return conn
  const m = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(addr)
  return m == null ? conn : { remoteAddr: m[1], ...conn }
}

/** The part of libp2p's connection manager (not public API) that linearGetConnections replaces. */
interface ConnectionLists {
  getConnections: (peerId?: PeerId) => Connection[]
  getConnectionsMap: () => { values: () => Iterable<Connection[]> }
}

/**
 * libp2p 3.3.11's connection manager builds getConnections()'s list with `conns = conns.concat(c)`
 * for each peer: quadratic in the number of connections (10,000 connections: about 50 million
 * element copies a call), and libp2p calls it on every inbound connection (acceptIncomingConnection,
 * the connection pruner's connection:open check). Replaced on this node by the same list built in
 * one pass; a libp2p that lacks either method is left as it is (hub.connections.test.ts checks
 * that the replacement is in place and lists what the map holds).
 */
export function linearGetConnections (node: Libp2p): void {
  const manager = (node as unknown as { components?: { connectionManager?: Partial<ConnectionLists> } }).components?.connectionManager
  const byPeer = manager?.getConnectionsMap
  const original = manager?.getConnections
  if (manager == null || typeof byPeer !== 'function' || typeof original !== 'function') return
  manager.getConnections = (peerId?: PeerId): Connection[] => peerId != null ? original.call(manager, peerId) : [...byPeer.call(manager).values()].flat()
}

/**
 * Start the hub's libp2p node and register the work, result and blob protocols. Open `core`
 * first (HubCore.open loads the kernel catalogue), so every lease finds its kernel.
 */
export async function startHubHost (opts: HubHostOptions): Promise<HubHost> {
  const { core, limits } = opts
  const onLimitHit: LimitHitListener = opts.onLimitHit ?? (() => {})
  const guard = new ConnectionGuard({ limits, onLimitHit, leasesHeldBy: async peer => await core.repo.read(async tx => await tx.leasesHeldBy(peer, Date.now())) })
  const relayGuard = new RelayGuard(limits, onLimitHit)
  const logger = hubLibp2pLogger()
  const node = await createLibp2p({
    privateKey: opts.privateKey,
    // no logger objects per connection and stream unless DEBUG asks for libp2p's (libp2p-logger.ts)
    ...(logger != null ? { logger } : {}),
    addresses: { listen: opts.listen },
    // The guard (connection-guard.ts) enforces HubLimits and reports each refusal; libp2p's own
    // limits stay as a looser backstop (its refusals are not reported).
    connectionManager: {
      maxConnections: limits.maxConnections + 16,
      maxIncomingPendingConnections: limits.maxPendingUpgrades * 2,
      inboundConnectionThreshold: limits.inboundConnectionsPerSecond * 2,
      inboundUpgradeTimeout: limits.upgradeTimeoutMs,
      allow: libp2pAllowList(limits.allow)
    },
    // libp2p's monitor pings every connection in the same instant; the hub's own LivenessMonitor
    // (liveness.ts) pings each once per limits.pingIntervalMs, spread over the interval
    connectionMonitor: { enabled: false },
    connectionGater: { ...guard.gater, ...relayGuard.gater },
    transports: [limitedWebSockets(limits, onLimitHit)],
    connectionEncrypters: [noise()],
    // no yamux keepalive: its ping frames (every 30 s per connection) abort nothing, and the
    // LivenessMonitor's pings find dead connections
    streamMuxers: [yamux({ enableKeepAlive: false })],
    services: {
      identify: identify(),
      ping: ping(),
      // circuit relay v2 for browser-to-browser WebRTC signalling only: every relayed connection
      // is reset after relayConnectionDurationMs or relayConnectionDataBytes (relay-guard.ts)
      relay: circuitRelayServer({
        reservations: {
          maxReservations: limits.maxRelayReservations,
          reservationTtl: limits.relayReservationTtlMs,
          applyDefaultLimit: true,
          defaultDurationLimit: limits.relayConnectionDurationMs,
          defaultDataLimit: BigInt(limits.relayConnectionDataBytes)
        },
        maxInboundHopStreams: 64,
        maxOutboundStopStreams: 64
      })
    }
  })
  linearGetConnections(node)
  guard.attach(node)
  const liveness = new LivenessMonitor(node, { intervalMs: limits.pingIntervalMs, timeoutMs: limits.pingTimeoutMs, onLimitHit })
  liveness.start()
  const relay = (node.services as { relay: CircuitRelayService }).relay
  relayGuard.attach(node, relay)
  const providers = new BlobProviderIndex()
  node.addEventListener('peer:disconnect', evt => { providers.forgetPeer(evt.detail.toString()) })
  const budget = requestBudget(limits.maxRequestMemoryBytes)
  const report = streamErrorReporter(onLimitHit, opts.onStreamError)
  const withBudget: HandleOptions = { budget, onRequestBytes: opts.metrics == null ? undefined : (protocol, bytes) => { opts.metrics?.bytesIn(protocol, bytes) } }

  const served = opts.tracker?.serve(node) ?? node
  /** A work response, its lease count noted for the request's log line. */
  const leased = (res: WorkResponse): WorkResponse => {
    noteRequest({ leases: res.leases.length, ...(res.error !== '' ? { error: res.error } : {}), ...(res.leases.length === 0 ? { retryAfterMs: res.retryAfterMs } : {}) })
    return res
  }

  // the connection's IP address goes with each lease request (trust: two replicas of a unit avoid one address)
  await handleProtocol(served, WORK_SPEC, async (req, connection) => leased(await core.lease(connection.remotePeer.toString(), req, originOf(connection))), report, withBudget)
  // /sparecycles/work/1.1.0: the same exchange from a partner site's embed, with its site key
  await handleProtocol(served, WORK_SITE_SPEC, async (req, connection) => leased(await core.lease(connection.remotePeer.toString(), req, { siteKey: req.siteKey, ...originOf(connection) })), report, withBudget)
  // /sparecycles/work/2.0.0: capability-aware leasing, give-backs with a reason
  await handleProtocol(served, WORK_SPEC_V2, async (req, connection) => leased(await core.leaseV2(connection.remotePeer.toString(), req, originOf(connection))), report, withBudget)

  /** Submit (optional) + the peer's credit receipts; `maxOutputBytes` is the protocol version's cap. */
  const exchange = (maxOutputBytes?: number) => async (req: ResultRequest, connection: Connection): Promise<ResultResponse> => {
    const peerId = connection.remotePeer.toString()
    const response: ResultResponse = req.result != null
      ? await core.submit(peerId, req.result, { maxOutputBytes })
      : { status: 'none', error: '', message: '', credits: [], creditsUpTo: 0, ledgerSalt: new Uint8Array(0) }
    if (req.result != null) noteRequest({ status: response.status, ...(response.error !== '' ? { error: response.error } : {}) })
    const { credits, upTo } = await core.creditsFor(peerId, req.receiptsAfter, MAX_CREDITS_PER_RESPONSE)
    noteRequest({ credits: credits.length })
    // the ledger key that signed ack and credits, vouched for by this hub (absent when it is the hub's own key)
    return { ...response, credits, creditsUpTo: upTo, ledgerSalt: core.ledger.saltOf(peerId) as Uint8Array<ArrayBuffer>, ledgerKey: core.ledgerKeyFor(response.ack != null || credits.length > 0) }
  }
  await handleProtocol(served, RESULT_SPEC, exchange(), report, withBudget)
  // /sparecycles/result/1.1.0: the same exchange with larger caps (matmul tiles are up to 1 MiB)
  await handleProtocol(served, RESULT_SPEC_V1_1, exchange(MAX_LARGE_OUTPUT_BYTES), report, withBudget)
  // /sparecycles/result/2.0.0: many results in one request, an outcome for each (issue 14);
  // /sparecycles/result/3.0.0: the same, signed once a batch
  const batchResponse = async (peerId: string, outcomes: SubmitOutcome[], receiptsAfter: number): Promise<ResultBatchResponse> => {
    const statuses: Record<string, number> = {}
    for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1
    noteRequest({ results: outcomes.length, ...statuses })
    const { credits, upTo } = await core.creditsFor(peerId, receiptsAfter, MAX_CREDITS_PER_RESPONSE)
    noteRequest({ credits: credits.length })
    return { outcomes, credits, creditsUpTo: upTo, ledgerSalt: core.ledger.saltOf(peerId) as Uint8Array<ArrayBuffer>, ledgerKey: core.ledgerKeyFor(credits.length > 0 || outcomes.some(o => o.ack != null)) }
  }
  await handleProtocol(served, RESULT_SPEC_V2, async (req: ResultBatchRequest, connection: Connection): Promise<ResultBatchResponse> => {
    const peerId = connection.remotePeer.toString()
    return await batchResponse(peerId, await core.submitBatch(peerId, req.results), req.receiptsAfter)
  }, report, withBudget)
  await handleProtocol(served, RESULT_SPEC_V3, async (req: SignedResultBatchRequest, connection: Connection): Promise<ResultBatchResponse> => {
    const peerId = connection.remotePeer.toString()
    return await batchResponse(peerId, await core.submitSignedBatch(peerId, req), req.receiptsAfter)
  }, report, withBudget)
  // /sparecycles/blob/1.0.0: content-addressed input blocks and kernels, in chunks; a peer that is
  // fetching a blob (served its first chunk) is listed as a provider: a page asked for a blob it
  // is still fetching waits for it (peer-blobs.ts), so the blob leaves the hub about once
  let blobBytesServed = 0
  await handleProtocol(served, BLOB_SPEC, async (req, connection) => {
    const res = core.blobs.serve(req)
    blobBytesServed += res.data.length
    if (res.error === '' && res.data.length > 0 && req.offset === 0) providers.record(req.cid, connection.remotePeer.toString())
    return res
  }, report, withBudget)
  // /sparecycles/blob-providers/1.0.0: who else holds a blob (only peers dialable through this relay)
  await handleProtocol(served, BLOB_PROVIDERS_SPEC, async (req, connection) => {
    const asker = connection.remotePeer.toString()
    if (req.have) {
      if (core.blobs.has(req.cid)) providers.record(req.cid, asker)
      return { peers: [], error: '', message: '' }
    }
    const peers = providers.providers(req.cid, asker, peer => relay.reservations.has(peerIdFromString(peer)))
    noteRequest({ providers: peers.length })
    return { peers, error: '', message: '' }
  }, report, withBudget)

  return { node, guard, liveness, budget, reportStreamError: report, protocols: served, providers, blobBytesServed: () => blobBytesServed }
}
