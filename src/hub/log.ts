/**
 * The hub's structured log (issue 14): one pino logger per hub, JSON lines (`level`, `time` in Unix
 * ms, `msg`, fields) to stdout by default, or a human-readable line per entry (`pretty`). Levels:
 * the store unreachable and a failed probe run `error`; stream resets, refusals, limit hits, units
 * failing on the hub and paused jobs `warn`; lifecycle (start, posted jobs, probes that ran fine)
 * `info`; one line per protocol or HTTP request `debug` — so the default level, `info`, is not one
 * line per result.
 *
 * Each libp2p protocol request the hub handles runs in a request context (AsyncLocalStorage, set by
 * `RequestTracker.serve`): `currentLogger(base)` is then a child logger whose lines carry `reqId`
 * (`p2p-<n>`), `peer` (the noise-authenticated peer id) and `protocol` (its protocol id). HTTP
 * requests get fastify's `req.log`, a child of the same logger with `reqId` (`http-<n>`, or a
 * caller's well-formed `x-request-id`).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import pino from 'pino'
import type { DestinationStream, Level, LevelWithSilent, Logger } from 'pino'
import type { ProtocolNode } from '../protocol/index.ts'
import type { HubMetrics } from './metrics.ts'

export type HubLogger = Logger

/** `json`: one JSON object a line; `pretty`: `HH:MM:SS.mmm LEVEL msg key=value …` a line. */
export type LogFormat = 'json' | 'pretty'

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty']
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface HubLoggerOptions {
  /** Lowest level written (default `info`). */
  level?: LevelWithSilent
  /** Default `json`. */
  format?: LogFormat
  /** Where lines go (default stdout); each `write` gets one line, newline included. */
  destination?: DestinationStream
}

/** A hub logger on pino. */
export function createHubLogger (opts: HubLoggerOptions = {}): HubLogger {
  const out = opts.destination ?? pino.destination({ dest: 1, sync: true })
  const destination = opts.format === 'pretty' ? prettyStream(out) : out
  return pino({ level: opts.level ?? 'info' }, destination)
}

/** A logger that writes nothing (a hub started without `logger` or `log`). */
export function silentLogger (): HubLogger {
  return pino({ level: 'silent' })
}

/**
 * A logger that hands the message of each entry at `level` or above (default `info`) to `log`, as
 * plain text without its fields: the `log: (line) => void` option of startHub, for callers and
 * tests that collect lines (`job job-3 paused: …`, `stream reset on … : MalformedMessageError: …`).
 */
export function lineLogger (log: (line: string) => void, level: LevelWithSilent = 'info'): HubLogger {
  return pino({ level, base: undefined }, {
    write (line: string) {
      const msg = (JSON.parse(line) as { msg?: unknown }).msg
      log(typeof msg === 'string' ? msg : line.trimEnd())
    }
  })
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/**
 * `text` with its control characters (C0 and C1, DEL: line breaks, ANSI escapes) written as JSON
 * escapes, so that a string a stranger chose (a refusal's message, a probe's error) cannot start
 * a forged line or restyle the terminal in the pretty log.
 */
export function escapeControls (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, c => JSON.stringify(c).slice(1, -1))
}

/** Reformat pino's JSON lines as `HH:MM:SS.mmm LEVEL msg key=value …` onto `out` (control characters escaped). */
function prettyStream (out: DestinationStream): DestinationStream {
  return {
    write (line: string) {
      const { level, time, msg, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as Record<string, unknown>
      const when = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23)
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? escapeControls(v) : JSON.stringify(v)}`).join(' ')
      out.write(`${when} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${escapeControls(String(msg ?? ''))}${rest === '' ? '' : ` ${rest}`}\n`)
    }
  }
}

/** What the hub knows about the protocol request being handled. */
interface RequestContext {
  /** The base logger's child with `reqId`, `peer`, `protocol` (made on first use: most requests log nothing at info). */
  readonly logger: HubLogger
  /** Fields for the request's closing debug line (e.g. leases granted, result status). */
  fields: Record<string, unknown>
  /** Name of the error the stream was reset with, if it was. */
  error?: string
}

const requests = new AsyncLocalStorage<RequestContext>()

/** The logger of the protocol request being handled (with reqId, peer, protocol), else `base`. */
export function currentLogger (base: HubLogger): HubLogger {
  return requests.getStore()?.logger ?? base
}

/** Add fields to the closing debug line of the request being handled (no-op outside one). */
export function noteRequest (fields: Record<string, unknown>): void {
  const ctx = requests.getStore()
  if (ctx != null) Object.assign(ctx.fields, fields)
}

/** Mark the request being handled as reset with `err` (its outcome becomes `error`). */
export function noteRequestError (err: Error): void {
  const ctx = requests.getStore()
  if (ctx != null) ctx.error = err.name
}

/** Run `fn` outside any request context (for work that serves many requests, e.g. timers). */
export function outsideRequests<T> (fn: () => T): T {
  return requests.exit(fn)
}

export interface RequestTrackerOptions {
  logger: HubLogger
  /** In-flight gauge and duration histogram per protocol. */
  metrics?: Pick<HubMetrics, 'requestStarted'>
  /** Level of the line each finished request writes (default `debug`). */
  level?: Level
}

/**
 * Request ids, request-scoped loggers and per-protocol request metrics for the hub's libp2p
 * protocols: `serve(node)` is a ProtocolNode whose `handle` runs each stream's handler in a request
 * context and, when it ends, writes one line (`debug`: reqId, peer, protocol, `outcome`,
 * `elapsedMs`, and what the handler noted) and observes `sparecycles_request_duration_seconds`.
 */
export class RequestTracker {
  private served = 0

  constructor (private readonly opts: RequestTrackerOptions) {}

  /** A fresh request id, `<prefix>-<n>` (one counter per hub, shared by libp2p and HTTP). */
  nextId (prefix: 'p2p' | 'http'): string {
    this.served += 1
    return `${prefix}-${this.served}`
  }

  /** `node`, with every handler registered through it tracked. */
  serve (node: ProtocolNode): ProtocolNode {
    return {
      dialProtocol: node.dialProtocol.bind(node),
      handle: async (protocol, handler, options) => {
        await node.handle(protocol, async (stream, connection) => {
          const reqId = this.nextId('p2p')
          const peer = connection.remotePeer.toString()
          const base = this.opts.logger
          let child: HubLogger | undefined
          const ctx: RequestContext = { get logger () { return (child ??= base.child({ reqId, peer, protocol })) }, fields: {} }
          const ended = this.opts.metrics?.requestStarted(protocol)
          const startedMs = performance.now()
          try {
            await requests.run(ctx, async () => { await handler(stream, connection) })
          } catch (err) {
            ctx.error ??= (err as Error).name ?? 'Error'
            throw err
          } finally {
            const elapsedMs = performance.now() - startedMs
            const outcome = ctx.error == null ? 'ok' : 'error'
            ended?.(outcome, elapsedMs / 1000)
            const level = this.opts.level ?? 'debug'
            if (base.isLevelEnabled(level)) ctx.logger[level]({ ...ctx.fields, outcome, ...(ctx.error != null ? { error: ctx.error } : {}), elapsedMs: Math.round(elapsedMs * 1000) / 1000 }, `${protocol} ${outcome}`)
          }
        }, options)
      }
    }
  }
}
