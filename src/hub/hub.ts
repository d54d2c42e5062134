/**
 * A running hub: HubCore (SQLite or PostgreSQL store, scheduler, validator, assimilator, ledger) + libp2p host +
 * HTTP server for the visitor page. `startHub` is what `sparecycles hub`, `npm start` and the demo use.
 */
import { loadOrCreateHubKey, loadOrCreateLedgerKey } from './hub-key.ts'
import { PgHubRepository } from './pg-repository.ts'
import { isPostgresUrl, parseStoreUrl, redactStoreUrl, StoreUrlError } from './pg-store.ts'
import { SqliteHubRepository } from './sqlite-repository.ts'
import type { HubRepository } from './repository.ts'
import { startHubHost } from './libp2p-host.ts'
import { startHubHttp } from './http-server.ts'
import { FailureProbe } from './failure-probe.ts'
import { HubCore } from './hub-core.ts'
import { registerJobProtocol } from './job-host.ts'
import { registerUploadProtocols } from './upload-host.ts'
import { resolveHubLimits } from './limits.ts'
import { join } from 'node:path'
import { ledgerKeyToJson } from '../protocol/ledger-key.ts'
import { checkIceServers } from '../protocol/providers.ts'
import { checkHubUrls } from '../protocol/hub-urls.ts'
import type { ConnectionGuard } from './connection-guard.ts'
import type { PeerLimitOptions } from './peer-limits.ts'
import type { HubLimits, LimitHitDetail, LimitHitListener, LimitName } from './limits.ts'
import { RequestTracker, currentLogger, lineLogger, noteRequestError, silentLogger } from './log.ts'
import type { HubLogger } from './log.ts'
import type { Libp2p } from '@libp2p/interface'
import type { PayoutService, PayoutServiceOptions } from './payout-service.ts'

export interface HubOptions {
  /** Directory of the hub key, researchers and sites files, and (without `store`) the SQLite file; created if missing. */
  dataDir: string
  /**
   * Where the job set lives: absent — SQLite in `dataDir`; a `postgres://` URL — a PostgreSQL
   * database that several hubs may share (pg-store.ts parseStoreUrl; `?host=/dir` for a unix socket).
   */
  store?: string
  /**
   * Directory every hub of a deployment shares (one path, e.g. a network filesystem): blobs, job
   * outputs and the deployment's ledger key (`ledger-key.pb`). Default `dataDir` (one hub: its blobs
   * and outputs beside its store, the hub key as ledger key).
   */
  sharedDir?: string
  /** Directory of the built visitor page. */
  staticDir: string
  /** Interface to listen on (HTTP and WebSockets). */
  host?: string
  /** HTTP port for the page (0 = any free port). */
  httpPort?: number
  /** libp2p WebSocket port (0 = any free port). */
  wsPort?: number
  /**
   * STUN servers named to volunteers in `/hub.json` for browser-to-browser WebRTC (`stun:host:port`,
   * at most 4; default none: host candidates only, volunteers meet on one network or public addresses).
   */
  iceServers?: string[]
  /**
   * Other hubs this hub recommends to its volunteers in `/hub.json` (`recommendedHubs`: base URLs,
   * at most 8, protocol/hub-urls.ts); a visitor adds one with a click on the page.
   */
  recommendedHubs?: string[]
  /** Lease length override, in milliseconds. */
  leaseMs?: number
  /** How often the failure probe looks for queued units, ms (default 1000). */
  probeIntervalMs?: number
  /** Lease order inside a job (HubCoreOptions.leaseOrder; default `random`; `sequential` for tests only). */
  leaseOrder?: 'random' | 'sequential'
  /** Allowed researchers (JSON `{ "allowed": [peer ids] }`); default `<dataDir>/researchers.json`. */
  researchersFile?: string
  /** Registered partner sites (JSON `{ "sites": { key: [origins] } }`, site-registry.ts); default `<dataDir>/sites.json`. */
  sitesFile?: string
  /** Transport, connection and stream limits; each unset one keeps its default (limits.ts). */
  limits?: Partial<HubLimits>
  /** Per-peer caps and rates (peer-limits.ts, HubCoreOptions.limits); each unset one keeps its default. */
  peerLimits?: PeerLimitOptions
  /** Called for every limit hit by its stable name (limits.ts, LimitName), e.g. for /metrics counters. */
  onLimitHit?: LimitHitListener
  /** Called for every protocol stream that ended in an error (after it is logged). */
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
  /**
   * The hub's structured log (pino, log.ts: createHubLogger): lifecycle at info, stream resets and
   * refusals at warn, the store unreachable at error, one line per protocol and HTTP request at debug, request lines with reqId,
   * peer and protocol. Default: the messages of info and above to `log` when it is given, else nothing.
   */
  logger?: HubLogger
  /** Plain log lines (each entry's message, info and above), used when `logger` is not given. */
  log?: (line: string) => void
  /**
   * Token payouts (issue 16, payout-service.ts): the chain (a local EVM in this process, or an RPC
   * URL) and the epoch schedule; its chain is shown on `GET /api/payouts`. Default: none (epochs by
   * hand with `sparecycles payout epoch`).
   */
  payout?: Pick<PayoutServiceOptions, 'chain' | 'operatorKeyFile' | 'epochIntervalMs' | 'receiptTimeoutMs'>
}

export interface RunningHub {
  core: HubCore
  node: Libp2p
  /** The hub's logger (HubOptions.logger, or the one made for `log`). */
  logger: HubLogger
  /** URL of the visitor page. */
  url: string
  peerId: string
  multiaddrs: string[]
  /** The limits in force (defaults + overrides). */
  limits: HubLimits
  /** Connection limits and pruner (pending upgrades, prune()). */
  guard: ConnectionGuard
  /** The payout service (HubOptions.payout), when there is one. */
  payout?: PayoutService
  /** Blob bytes (chunk data) served over /sparecycles/blob/1.0.0 since the hub started. */
  blobBytesServed: () => number
  stop: () => Promise<void>
}

/**
 * Open the hub's core (its catalogue loaded before any protocol is served), then its libp2p host,
 * job protocols (job/1.0.0, blob-put/1.0.0, job/2.0.0) and HTTP server. `stop` ends them in reverse order.
 * @throws StoreUrlError for a `store` that is not a postgres:// URL (checked before anything opens)
 * @throws RangeError for `iceServers` that are not STUN URLs (checked before anything opens)
 * @throws BadHubUrlError for `recommendedHubs` that are not hub URLs (checked before anything opens)
 * @throws whatever opening the store, the host or the server throws (what was started is stopped)
 */
export async function startHub (opts: HubOptions): Promise<RunningHub> {
  const host = opts.host ?? '127.0.0.1'
  const iceServers = checkIceServers(opts.iceServers ?? [])
  const recommendedHubs = checkHubUrls(opts.recommendedHubs ?? [])
  if (opts.store != null) {
    if (!isPostgresUrl(opts.store)) throw new StoreUrlError(`--store must be a postgres:// URL (absent: SQLite in the data dir), got ${JSON.stringify(redactStoreUrl(opts.store))}`)
    parseStoreUrl(opts.store)
  }
  const privateKey = await loadOrCreateHubKey(opts.dataDir)
  const ledgerKey = opts.sharedDir == null ? undefined : await loadOrCreateLedgerKey(opts.sharedDir)
  const coreDir = opts.sharedDir ?? opts.dataDir
  const logger = opts.logger ?? (opts.log != null ? lineLogger(opts.log) : silentLogger())
  let repository: HubRepository
  if (opts.store == null) repository = SqliteHubRepository.open(opts.dataDir)
  else {
    repository = await PgHubRepository.open(opts.store, coreDir, {
      onAvailability: (up, detail) => { if (up) logger.info(detail); else logger.error(detail) }
    })
  }
  const core = await HubCore.open({
    dataDir: coreDir, hubKey: privateKey, ledgerKey, repository, leaseMs: opts.leaseMs, leaseOrder: opts.leaseOrder, limits: opts.peerLimits,
    sitesFile: opts.sitesFile ?? join(opts.dataDir, 'sites.json')
  })
  const tracker = new RequestTracker({ logger, metrics: core.metrics })
  // called inside the stream's request context (log.ts): the line carries its reqId, peer and protocol
  const onStreamError = (protocol: string, err: Error, peer: string): void => {
    core.metrics.streamReset(protocol, err.name)
    noteRequestError(err)
    currentLogger(logger).warn({ error: err.name }, `stream reset on ${protocol} from ${peer}: ${err.name}: ${err.message}`)
    opts.onStreamError?.(protocol, err, peer)
  }
  // every limit hit is counted in /metrics (sparecycles_limit_hits_total{limit}) and passed on
  const onLimitHit = (name: LimitName, detail: LimitHitDetail): void => {
    core.metrics.limitHit(name, detail)
    opts.onLimitHit?.(name, detail)
  }
  const limits = resolveHubLimits(opts.limits)
  let node: Libp2p | undefined
  let payout: PayoutService | undefined
  let hostTimers: { guard: { stop: () => void }, liveness: { stop: () => void } } | undefined
  let uploadsStarted: { stop: () => void } | undefined
  try {
    if (opts.payout != null) {
      const { PayoutService } = await import('./payout-service.ts')
      payout = new PayoutService({ ...opts.payout, dataDir: opts.dataDir, repo: core.repo, logger })
      await payout.start()
    }
    const hubHost = await startHubHost({ privateKey, core, listen: [`/ip4/${host}/tcp/${opts.wsPort ?? 0}/ws`], onStreamError, limits, onLimitHit, metrics: core.metrics, tracker })
    node = hubHost.node
    hostTimers = hubHost
    const guard = hubHost.guard
    core.metrics.countConnections(() => guard.openConnections)
    const researchersFile = opts.researchersFile ?? join(opts.dataDir, 'researchers.json')
    await registerJobProtocol(hubHost.protocols, { core, researchersFile, logger, onStreamError, host: hubHost, limits, onLimitHit })
    const uploads = await registerUploadProtocols(hubHost.protocols, { core, researchersFile, logger, onStreamError, host: hubHost, limits, onLimitHit })
    uploadsStarted = uploads
    const multiaddrs = node.getMultiaddrs().map(ma => ma.toString())
    const peerId = node.peerId.toString()
    // the deployment's ledger key with this hub's delegation to it (protocol/ledger-key.ts)
    const hubLedgerKey = ledgerKeyToJson(core.ledgerDelegation)
    const http = await startHubHttp({ core, metrics: core.metrics, logger, tracker, staticDir: opts.staticDir, host, port: opts.httpPort ?? 0, hubInfo: () => ({ peerId, multiaddrs, ...hubLedgerKey, ...(iceServers.length > 0 ? { iceServers } : {}), ...(recommendedHubs.length > 0 ? { recommendedHubs } : {}) }), payoutChain: { info: () => payout?.info(), claimed: async a => await payout?.claimed(a) } })
    // researcher units that volunteers report failing are run by the hub itself (issue 13)
    const probe = new FailureProbe({ repo: core.repo, transitioner: core.transitioner, blobs: core.blobs, logger, intervalMs: opts.probeIntervalMs })
    probe.start()
    const started = node
    logger.info({ peerId, multiaddrs, url: http.url, dataDir: opts.dataDir }, `hub ${peerId} started: page ${http.url}, libp2p ${multiaddrs.join(' ')}`)
    return {
      core,
      node: started,
      logger,
      url: http.url,
      peerId,
      multiaddrs,
      limits,
      guard: hubHost.guard,
      payout,
      blobBytesServed: hubHost.blobBytesServed,
      stop: async () => {
        hubHost.guard.stop()
        hubHost.liveness.stop()
        uploads.stop()
        await probe.stop()
        await http.server.close()
        await started.stop()
        await payout?.stop()
        await core.close()
        logger.info('hub stopped')
      }
    }
  } catch (err) {
    // what was started is stopped: the connection guard's and liveness monitor's timers too
    hostTimers?.guard.stop()
    hostTimers?.liveness.stop()
    uploadsStarted?.stop()
    await node?.stop()
    await payout?.stop()
    await core.close()
    throw err
  }
}
