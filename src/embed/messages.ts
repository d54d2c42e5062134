/**
 * The messages that cross the iframe boundary between a partner's page (the loader, embed.js) and
 * the hub's embed frame (embed-frame.html). Both sides accept a message only when it comes from the
 * expected window and origin AND parses here: a plain object with exactly the listed keys, of the
 * listed types and ranges. Anything else is ignored. Nothing here carries a key, a signature or a
 * peer id: the host page learns run state and credit totals, never the visitor's identity.
 *
 * Version 2 (issue 12): the yes lives in the frame. No host message can make work run: 'start' is a
 * request that at most shows the frame's own consent prompt (or resumes a yes the visitor gave by
 * a click in the frame), and 'theme' only picks colours the frame checks for contrast. A version 1
 * loader's messages (its 'start' carried the loader's own consentUntil) are refused.
 *
 * Imports nothing: the loader bundles this file and must stay tiny.
 */

export const EMBED_NS = 'sparecycles-embed'
export const EMBED_VERSION = 2
/** Longest error text the frame sends to the host page. */
export const MAX_EMBED_ERROR_CHARS = 300
/** Largest frame size (CSS px, each side) the frame may ask its host for. */
export const MAX_FRAME_PX = 1000

interface Envelope { ns: typeof EMBED_NS, v: typeof EMBED_VERSION }

/**
 * A theme colour as the loader sends it: '' (the frame's default) or an opaque `rgb(R, G, B)` with
 * 0..255 components, the form getComputedStyle gives for a colour.
 */
export const THEME_COLOR = /^rgb\((25[0-5]|2[0-4]\d|1?\d?\d), (25[0-5]|2[0-4]\d|1?\d?\d), (25[0-5]|2[0-4]\d|1?\d?\d)\)$/
/** The themeable colours, each from the custom property `--sparecycles-<kebab-case name>`. */
export const THEME_KEYS = ['bg', 'fg', 'border', 'buttonBg', 'buttonFg', 'accent'] as const
export type Theme = Record<typeof THEME_KEYS[number], string>

/** Host page -> frame. */
export type HostMessage = Envelope & (
  /**
   * A request: resume when the frame holds a live yes (stopped by 'stop'), else show the frame's
   * consent prompt. Nothing runs without the visitor's click in the frame.
   */
  | { type: 'start' }
  /** Stop every worker now (the frame answers 'stopped'); the visitor's yes stays. */
  | { type: 'stop' }
  /** The host tab became hidden or visible: hidden pauses; visible runs only what the frame allows. */
  | { type: 'visibility', hidden: boolean }
  /** Colours for the frame's prompt (see THEME_COLOR); the frame ignores a theme of poor contrast. */
  | ({ type: 'theme' } & Theme)
)

export type EmbedRunState = 'running' | 'paused' | 'stopped'

/** Frame -> host page. */
export type FrameMessage = Envelope & (
  | { type: 'ready' }
  /**
   * What the frame is doing: 'consent' (no live yes; `asking` while the full prompt is open),
   * 'running', 'paused' (yes live, but the tab or the frame is hidden, covered or too small),
   * 'stopped' (yes live, stopped by the host's 'stop' or the prompt).
   */
  | { type: 'state', run: 'consent' | EmbedRunState, asking: boolean }
  /** The size (CSS px) the frame's content needs; the host sizes the iframe to it. */
  | { type: 'size', width: number, height: number }
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
const px = (v: unknown): boolean => count(v) && (v as number) <= MAX_FRAME_PX
const run = (v: unknown): boolean => v === 'running' || v === 'paused' || v === 'stopped'
const color = (v: unknown): boolean => v === '' || (typeof v === 'string' && THEME_COLOR.test(v))

const HOST: Record<string, Spec> = {
  start: {},
  stop: {},
  visibility: { hidden: bool },
  theme: Object.fromEntries(THEME_KEYS.map(k => [k, color]))
}

const FRAME: Record<string, Spec> = {
  ready: {},
  state: { run: v => v === 'consent' || run(v), asking: bool },
  size: { width: px, height: px },
  progress: {
    run,
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
