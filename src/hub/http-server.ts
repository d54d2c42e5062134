/**
 * The hub's HTTP side (fastify): serves the built visitor page as static files, `/hub.json` (the
 * hub's peer id and WebSocket multiaddrs, which the page dials), a read-only job API and
 * `GET /metrics` (Prometheus text, metrics.ts).
 */
import { constants as zlibConstants } from 'node:zlib'
import fastifyCompress from '@fastify/compress'
import fastifyStatic from '@fastify/static'
import Fastify, { LogController } from 'fastify'
import { isSiteKey } from '../protocol/site-key.ts'
import { registerStatementApi } from './statement-api.ts'
import { registerPayoutApi } from './payout-api.ts'
import type { PayoutChainView } from './payout-service.ts'
import type { HubCore } from './hub-core.ts'
import type { HubMetrics } from './metrics.ts'
import type { JobStatus } from './job-status.ts'
import { RequestTracker, silentLogger } from './log.ts'
import type { HubLogger } from './log.ts'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export interface HubHttpOptions {
  core: HubCore
  /** Served as Prometheus text by `GET /metrics` (default: `core.metrics`). */
  metrics?: HubMetrics
  /** Directory of the built page (vite's dist/). */
  staticDir: string
  /**
   * What `/hub.json` returns: the hub's peer id and multiaddrs, and the ledger key that signs its
   * receipts with the hub's delegation to it (protocol/ledger-key.ts, base64; optional for callers
   * that serve no ledger key, e.g. tests: volunteers then verify with the hub's key).
   */
  hubInfo: () => { peerId: string, multiaddrs: string[], ledgerKey?: string, ledgerDelegation?: string, iceServers?: string[], recommendedHubs?: string[] }
  /** The payout chain the payout routes read (payout-service.ts); default none. */
  payoutChain?: PayoutChainView
  host: string
  port: number
  /** Fastify's logger (its request lines at debug with `reqId`; 5xx errors at error); default none. */
  logger?: HubLogger
  /** Gives HTTP requests their ids (`http-<n>`) from the hub's counter; default a counter of its own. */
  tracker?: Pick<RequestTracker, 'nextId'>
}

/** A caller's `x-request-id` kept as the request's id when it is 1 to 64 characters of `A-Z a-z 0-9 . _ : -`. */
const REQUEST_ID = /^[\w.:-]{1,64}$/

/** Fastify's request logging at debug (its default is two info lines a request); errors stay errors. */
class DebugRequestLog extends LogController {
  override incomingRequest (request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ method: request.method, url: request.url }, 'incoming request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error != null) { super.requestCompleted(error, request, reply, metadata); return }
    if (!this.isLogDisabled(request)) reply.log.debug({ method: request.method, url: request.url, statusCode: reply.statusCode, elapsedMs: Math.round(reply.elapsedTime * 1000) / 1000 }, 'request completed')
  }
}

export async function startHubHttp (opts: HubHttpOptions): Promise<{ server: FastifyInstance, url: string }> {
  const tracker = opts.tracker ?? new RequestTracker({ logger: silentLogger() })
  const server = Fastify({
    loggerInstance: (opts.logger ?? silentLogger()) as FastifyBaseLogger,
    logController: new DebugRequestLog(),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : tracker.nextId('http')
    },
    bodyLimit: 1024
  })
  // responses over 1 KiB compressed for clients that accept it (brotli at quality 5: fast enough to
  // do per request, within a few % of quality 11 on these files); compressed from the file as it is
  // now, so nothing stale is ever served
  await server.register(fastifyCompress, {
    global: true, threshold: 1024, encodings: ['br', 'gzip'],
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } }
  })
  await server.register(fastifyStatic, { root: opts.staticDir, index: ['index.html'], setHeaders: staticHeaders })
  // readable from any origin: a volunteer page served by another hub works for this one too (hub-set.ts)
  server.get('/hub.json', async (_req, reply) => {
    void reply.header('cache-control', 'no-store').header('access-control-allow-origin', '*')
    return opts.hubInfo()
  })
  // the public job API names volunteers by their ledger pseudonyms, as the public ledger does (pseudonym.ts)
  const publicStatus = (s: JobStatus): JobStatus => ({ ...s, credit: Object.fromEntries(Object.entries(s.credit).map(([peer, c]) => [opts.core.ledger.pseudonymOf(peer), c])) })
  server.get('/api/jobs', async () => (await opts.core.listJobs()).map(publicStatus))
  const metrics = opts.metrics ?? opts.core.metrics
  server.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.contentType).header('cache-control', 'no-store')
    return await metrics.text()
  })
  server.get<{ Params: { id: string } }>('/api/jobs/:id', async (req, reply) => {
    const status = await opts.core.jobStatus(req.params.id)
    if (status == null) return reply.code(404).send({ error: 'UnknownJob', message: `no job ${req.params.id}` })
    return publicStatus(status)
  })
  registerStatementApi(server, opts.core)
  registerPayoutApi(server, opts.core, opts.payoutChain)

  // Partner-site credit (read-only): totals of one site key, readable from any origin.
  server.get<{ Params: { key: string } }>('/api/sites/:key', async (req, reply) => {
    void reply.header('access-control-allow-origin', '*').header('cache-control', 'no-store')
    if (!isSiteKey(req.params.key)) {
      return reply.code(400).send({ error: 'MalformedSiteKey', message: 'a site key is site_ followed by 16 to 64 characters of [A-Za-z0-9_-]' })
    }
    return await opts.core.siteStats(req.params.key)
  })
  const address = await server.listen({ host: opts.host, port: opts.port })
  return { server, url: address.replace('[::1]', 'localhost') + '/' }
}

/** Cache rules of the static files (hashed assets immutable, pages revalidated), then the embed's headers. */
function staticHeaders (reply: FastifyReply, path: string): void {
  if (path.includes('/assets/')) {
    // vite's content-hashed file names: a new build is a new URL
    reply.header('cache-control', 'public, max-age=31536000, immutable')
    return
  }
  if (path.endsWith('.html')) reply.header('cache-control', 'no-cache')
  embedHeaders(reply, path)
}

/**
 * Headers of the partner-site embed's files. embed.js is loaded cross-origin with
 * `integrity` + `crossorigin="anonymous"`: Subresource Integrity needs a CORS response. The frame
 * page is meant to be framed by any partner origin, and is never cached stale.
 */
function embedHeaders (reply: FastifyReply, path: string): void {
  if (path.endsWith('/embed.js') || path.endsWith('/embed.d.ts') || path.endsWith('/embed.json')) {
    reply.header('access-control-allow-origin', '*')
    reply.header('cross-origin-resource-policy', 'cross-origin')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('cache-control', 'public, max-age=300')
  } else if (path.endsWith('/embed-frame.html')) {
    reply.header('content-security-policy', "frame-ancestors http: https:; object-src 'none'; base-uri 'none'")
    reply.header('referrer-policy', 'no-referrer')
    reply.header('cache-control', 'no-cache')
  }
}
