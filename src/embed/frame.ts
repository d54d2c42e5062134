/**
 * The hub's embed frame (embed-frame.html), loaded by a partner page's embed.js in a cross-origin
 * iframe after the visitor said yes. It runs the ordinary VolunteerClient with the partner's site
 * key (sent with every work request, work/2.0.0's siteKey, so the credit is attributed to the site), keeps
 * the visitor's key in this origin's IndexedDB, and talks to its parent only through checked
 * envelopes (messages.ts): commands in, run state and credit totals out — never the key.
 *
 * The frame runs only while all hold: a 'start' with an unexpired consent came from the parent,
 * the tab is visible, and no 'stop' came after it.
 */
import { isSiteKey } from '../protocol/site-key.ts'
import { VolunteerClient } from '../volunteer/client.ts'
import { embedFrameOptions } from '../volunteer/page-options.ts'
import { MAX_EMBED_ERROR_CHARS, envelope, parseHostMessage } from './messages.ts'
import type { Body, EmbedRunState, FrameMessage } from './messages.ts'
import type { VolunteerState } from '../volunteer/client.ts'

const PROGRESS_INTERVAL_MS = 250

const statusEl = document.getElementById('status') as HTMLElement
const params = new URLSearchParams(location.hash.slice(1))
const siteKey = params.get('site')
const parentOrigin = params.get('parent') ?? ''

function fatal (text: string): void {
  statusEl.textContent = `Spare Cycles frame: ${text}. Nothing runs.`
  document.body.dataset.state = 'refused'
}

function validParent (): string | null {
  if (window.parent === window) return 'not embedded'
  if (!isSiteKey(siteKey)) return 'malformed site key'
  let origin: string
  try { origin = new URL(parentOrigin).origin } catch { return 'malformed parent origin' }
  if (origin !== parentOrigin || origin === location.origin) return 'bad parent origin'
  // where the browser says who embeds us (Chromium, WebKit), it must be the origin we were given
  const ancestors = location.ancestorOrigins
  if (ancestors != null && ancestors.length > 0 && ancestors[0] !== parentOrigin) return 'parent origin mismatch'
  return null
}

const refusal = validParent()
if (refusal != null) {
  fatal(refusal)
} else {
  await runFrame(siteKey as string)
}

async function runFrame (site: string): Promise<void> {
  let consentUntil = 0
  let stopped = false
  let hidden = document.hidden
  let client: VolunteerClient | undefined
  let expiry: ReturnType<typeof setTimeout> | undefined

  const toParent = (body: Body<FrameMessage>): void => {
    window.parent.postMessage(envelope(body as never), parentOrigin)
  }
  const shouldRun = (): boolean => !stopped && !hidden && consentUntil > Date.now()
  const runState = (): EmbedRunState => stopped || consentUntil <= Date.now() ? 'stopped' : hidden ? 'paused' : 'running'

  /** Bring the client in line with shouldRun(). stop() ends every worker at once. */
  async function apply (): Promise<void> {
    if (client == null) return
    if (shouldRun()) await client.start({ untilMs: consentUntil })
    else await client.stop()
  }

  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== window.parent || e.origin !== parentOrigin) return
    const m = parseHostMessage(e.data)
    if (m == null) return
    if (m.type === 'start') {
      if (m.consentUntil <= Date.now()) return
      consentUntil = m.consentUntil
      stopped = false
      clearTimeout(expiry)
      expiry = setTimeout(() => { void apply().then(sendProgress) }, Math.min(consentUntil - Date.now(), 2 ** 31 - 1))
      void apply().then(sendProgress)
    } else if (m.type === 'stop') {
      stopped = true
      void apply().finally(() => { sendProgress(); toParent({ type: 'stopped' }) })
    } else if (m.type === 'visibility') {
      hidden = m.hidden || document.hidden
      void apply().then(sendProgress)
    }
  })
  document.addEventListener('visibilitychange', () => {
    hidden = document.hidden
    void apply().then(sendProgress)
  })
  toParent({ type: 'ready' })

  let last: VolunteerState | undefined
  let lastCredit = -1
  let lastValidated = -1
  let lastError: string | null = null
  let progressTimer: ReturnType<typeof setTimeout> | undefined
  function sendProgress (): void {
    const s = last
    if (s == null) return
    toParent({
      type: 'progress',
      run: runState(),
      connected: s.connection === 'connected',
      workers: s.workers,
      unitsDone: s.unitsDone,
      resultsPending: s.resultsPending,
      // numbers sieved per second; the message keeps its v1 shape (loaders already deployed check
      // the keys exactly), the loader publishes it as numbersPerSecond and throughput
      throughput: Math.max(0, s.numbersPerSecond)
    })
  }

  try {
    // the origin the browser says embeds us (not what the partner's page claims): the site earns credit only from an origin it registered
    client = await VolunteerClient.create(embedFrameOptions(site, params.get('workers'), location.ancestorOrigins?.[0] ?? ''))
  } catch (err) {
    // e.g. a browser that refuses storage to embedded third-party frames: the key cannot be kept
    const text = `cannot start here: ${(err as Error).message}`
    fatal(text)
    toParent({ type: 'error', message: text.slice(0, MAX_EMBED_ERROR_CHARS) })
    return
  }
  client.subscribe(s => {
    last = s
    // a reload of a frame that was running resumes on its own: hold it to the parent's commands
    if (s.run === 'running' && !shouldRun()) void client?.stop()
    statusEl.textContent = `Spare Cycles · ${runState()} · ${s.workers} worker${s.workers === 1 ? '' : 's'} · credit ${s.creditGranted} (hub-signed receipts)`
    document.body.dataset.state = runState()
    if (s.creditGranted !== lastCredit || s.resultsValidated !== lastValidated) {
      lastCredit = s.creditGranted
      lastValidated = s.resultsValidated
      toParent({ type: 'credit', credit: s.creditGranted, resultsValidated: s.resultsValidated })
    }
    if (s.lastError != null && s.lastError !== lastError) {
      toParent({ type: 'error', message: s.lastError.slice(0, MAX_EMBED_ERROR_CHARS) })
    }
    lastError = s.lastError
    if (progressTimer == null) {
      progressTimer = setTimeout(() => { progressTimer = undefined; sendProgress() }, PROGRESS_INTERVAL_MS)
    }
  })
  await apply()
  sendProgress()
}
