/**
 * The messages that cross the iframe boundary between a partner's page (the loader, embed.js) and
 * the hub's embed frame (embed-frame.html). Both sides accept a message only when it comes from the
 * expected window and origin AND parses here: a plain object with exactly the listed keys, of the
 * listed types and ranges. Anything else is ignored. Nothing here carries a key, a signature or a
 * peer id: the host page learns run state and credit totals, never the visitor's identity.
 *
 * Imports nothing: the loader bundles this file and must stay tiny.
 */

export const EMBED_NS = 'sparecycles-embed'
export const EMBED_VERSION = 1
/** Longest error text the frame sends to the host page. */
export const MAX_EMBED_ERROR_CHARS = 300

interface Envelope { ns: typeof EMBED_NS, v: typeof EMBED_VERSION }

/** Host page -> frame. */
export type HostMessage = Envelope & (
  /** Run, with the consent's expiry (Unix ms): the frame stops by itself at that time. */
  | { type: 'start', consentUntil: number }
  /** Stop every worker now (the frame answers 'stopped'). */
  | { type: 'stop' }
  /** The host tab became hidden or visible: pause or resume. */
  | { type: 'visibility', hidden: boolean }
)

export type EmbedRunState = 'running' | 'paused' | 'stopped'

/** Frame -> host page. */
export type FrameMessage = Envelope & (
  | { type: 'ready' }
  /** `throughput`: numbers sieved per second (the loader publishes it as numbersPerSecond too). */
  | { type: 'progress', run: EmbedRunState, connected: boolean, workers: number, unitsDone: number, resultsPending: number, throughput: number }
  | { type: 'credit', credit: number, resultsValidated: number }
  | { type: 'error', message: string }
  | { type: 'stopped' }
)

type Spec = Record<string, (v: unknown) => boolean>

const count = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const amount = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0
const bool = (v: unknown): boolean => typeof v === 'boolean'

const HOST: Record<string, Spec> = {
  start: { consentUntil: count },
  stop: {},
  visibility: { hidden: bool }
}

const FRAME: Record<string, Spec> = {
  ready: {},
  progress: {
    run: v => v === 'running' || v === 'paused' || v === 'stopped',
    connected: bool,
    workers: count,
    unitsDone: count,
    resultsPending: count,
    throughput: amount
  },
  credit: { credit: amount, resultsValidated: count },
  error: { message: v => typeof v === 'string' && v.length <= MAX_EMBED_ERROR_CHARS },
  stopped: {}
}

function parse (specs: Record<string, Spec>, data: unknown): Record<string, unknown> | null {
  if (data == null || typeof data !== 'object' || Array.isArray(data) || Object.getPrototypeOf(data) !== Object.prototype) return null
  const m = data as Record<string, unknown>
  if (m.ns !== EMBED_NS || m.v !== EMBED_VERSION || typeof m.type !== 'string' || !Object.hasOwn(specs, m.type)) return null
  const spec = specs[m.type]
  const keys = Object.keys(m)
  if (keys.length !== Object.keys(spec).length + 3) return null
  for (const k of keys) {
    if (k === 'ns' || k === 'v' || k === 'type') continue
    if (!Object.hasOwn(spec, k) || !spec[k](m[k])) return null
  }
  return m
}

/** A message the frame accepts from the host page, or null. */
export function parseHostMessage (data: unknown): HostMessage | null {
  return parse(HOST, data) as HostMessage | null
}

/** A message the host page (loader) accepts from the frame, or null. */
export function parseFrameMessage (data: unknown): FrameMessage | null {
  return parse(FRAME, data) as FrameMessage | null
}

/** A message without its envelope (distributes over the union). */
export type Body<M> = M extends Envelope ? Omit<M, 'ns' | 'v'> : never

/** Wrap a message body in the envelope. */
export function envelope<M extends HostMessage | FrameMessage> (body: Body<M>): M {
  return { ns: EMBED_NS, v: EMBED_VERSION, ...body } as unknown as M
}
