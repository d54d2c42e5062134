/**
 * The hub's embed frame (embed-frame.html), which a partner page's embed.js loads in a
 * cross-origin iframe. The frame, not the partner's page, asks the visitor (issue 12, items 1-2):
 *
 * - it draws the consent question and its Yes button; only the visitor's own click there is a yes
 *   (`isTrusted`, and the button lives in a cross-origin document no host script can click in);
 * - it remembers the choice in the hub origin's storage (frame-rules.ts), partitioned per top-level
 *   site by the browser: what a partner page writes in its own storage means nothing;
 * - every host message is a request (messages.ts): 'start' at most shows the prompt or resumes a
 *   live yes, 'stop' stops, 'visibility' can only pause, 'theme' picks checked colours;
 * - it watches its own box with IntersectionObserver v2 (trackVisibility): a click counts only
 *   when the box has been seen (frame-rules.ts isSeen) for SEEN_BEFORE_YES_MS and is seen again by
 *   a fresh observer after the click; work runs only while the box is seen and pauses within about
 *   OBSERVER_DELAY_MS plus a frame when it is hidden, covered, transparent, too small or off-screen.
 *   The box always holds the Stop button while a yes is live. A browser without
 *   IntersectionObserver v2 gets no yes at all (fail closed).
 *
 * The volunteer client (libp2p, the key in this origin's IndexedDB, workers) is loaded and
 * started only once there is a live yes and the box is seen: before that the frame opens no
 * connection and writes nothing but the visitor's own choice. Credit and run state go to the
 * parent through checked envelopes, never the key or the peer id.
 */
import { isSiteKey } from '../protocol/site-key.ts'
import { MAX_CONSENT_HOURS, embedWorkerSlots } from './config.ts'
import { MAX_EMBED_ERROR_CHARS, MAX_FRAME_PX, envelope, parseHostMessage } from './messages.ts'
import {
  DEFAULT_CONSENT_MS, OBSERVER_DELAY_MS, SEEN_BEFORE_YES_MS, clearChoice, coarseTotal, isSeen, readChoice, resolveTheme, sightingOf, writeChoice
} from './frame-rules.ts'
import type { Choice, Sighting } from './frame-rules.ts'
import type { Body, EmbedRunState, FrameMessage } from './messages.ts'
import type { VolunteerClient, VolunteerState } from '../volunteer/client.ts'

const PROGRESS_INTERVAL_MS = 250
/** How often the frame re-reads what no observer entry reports (its zoom) and the Yes delay. */
const RECHECK_MS = 250

const box = document.getElementById('box') as HTMLElement
const msgEl = document.getElementById('msg') as HTMLElement
const params = new URLSearchParams(location.hash.slice(1))
const siteKey = params.get('site')
const parentOrigin = params.get('parent') ?? ''

const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
// numbers as 12,345.67; times as the visitor's local YYYY-MM-DD HH:MM (no Intl: where the browser
// keeps this frame in the partner page's process, a first Intl call is a long task there)
const fmt = (n: number): string => {
  const [int, frac] = String(Math.round(n * 100) / 100).split('.')
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac != null ? `.${frac}` : '')
}
const two = (n: number): string => String(n).padStart(2, '0')
const fmtTime = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`
}

function fatal (text: string): void {
  msgEl.textContent = `Spare Cycles frame: ${text}. Nothing runs.`
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
if (refusal != null) fatal(refusal)
else runFrame(siteKey as string)

function runFrame (site: string): void {
  const storage = ((): Storage | undefined => { try { return localStorage } catch { return undefined } })()
  const hours = Number(params.get('hours'))
  const consentMs = hours > 0 && hours <= MAX_CONSENT_HOURS ? hours * 3_600_000 : DEFAULT_CONSENT_MS
  const workers = embedWorkerSlots(params.get('workers'))
  const canObserve = typeof IntersectionObserverEntry !== 'undefined' && 'isVisible' in IntersectionObserverEntry.prototype

  let choice: Choice | null = readChoice(storage, site, Date.now())
  /** the full prompt is open (at load unless the visitor chose before; 'Not now' folds it) */
  let asking = choice == null
  /** stopped by the host's 'stop' (the yes stays; 'start' or the visitor's Start again resumes) */
  let stopped = false
  let tabHidden = document.hidden
  let hostHidden = false
  let sighting: Sighting | null = null
  /** performance.now() since when the box is seen without a break; 0: not seen */
  let seenSince = 0
  let note = ''
  let broken = false
  let client: VolunteerClient | undefined
  let last: VolunteerState | undefined
  let expiry: ReturnType<typeof setTimeout> | undefined

  const toParent = (body: Body<FrameMessage>): void => {
    window.parent.postMessage(envelope(body as never), parentOrigin)
  }
  const live = (): boolean => choice?.choice === 'yes' && choice.until > Date.now()
  const seen = (): boolean => isSeen(sighting, window.devicePixelRatio)
  const yesReady = (): boolean => seenSince > 0 && performance.now() - seenSince >= SEEN_BEFORE_YES_MS
  const shouldRun = (): boolean => live() && !stopped && !broken && !tabHidden && !hostHidden && seen()
  const runState = (): 'consent' | EmbedRunState => !live() ? 'consent' : stopped ? 'stopped' : shouldRun() ? 'running' : 'paused'

  // ---- drawing -----------------------------------------------------------------------------------
  function html (): string {
    const hub = esc(location.host)
    if (!canObserve) {
      return `<p><b>Spare Cycles</b> cannot ask here: this browser cannot tell whether this box is visible (IntersectionObserver v2), so no yes is possible and nothing runs.</p>`
    }
    const state = runState()
    if (state === 'consent' && !asking) return '<button data-act="ask">Spare Cycles: lend spare CPU?</button>'
    if (state === 'consent') {
      const cores = navigator.hardwareConcurrency || 2
      const h = fmt(consentMs / 3_600_000)
      const hoursText = `${h} ${h === '1' ? 'hour' : 'hours'}`
      const disabled = yesReady() ? '' : ' disabled title="Yes takes a click once this box has been fully visible for a moment"'
      return `<p><b>Lend this site your spare CPU?</b></p><p>If you say yes, a prime-counting program (WebAssembly, from ${hub}) runs in ${workers} background worker${workers === 1 ? '' : 's'} in this tab: at most ${workers} of your ${cores} CPU cores, only while this tab is open and this box is visible, for up to ${hoursText} (your yes is remembered ${hoursText} on this site; Stop ends it at once). It reads nothing else on your device. Results are signed with a key that ${hub} keeps in this browser, out of this site's reach. Credit goes to you and to this site (${esc(site)}).</p>` +
        `<button class="yes" data-act="yes"${disabled}>Yes, contribute</button><button data-act="later">Not now</button><button data-act="no">No thanks</button>${note !== '' ? `<p class="note">${esc(note)}</p>` : ''}`
    }
    const s = last
    const what = state === 'running'
      ? (s == null || s.connection !== 'connected' ? 'connecting to the hub' : `running ${s.workers} worker${s.workers === 1 ? '' : 's'}`)
      : state === 'paused'
        ? (tabHidden || hostHidden ? 'paused while this tab is hidden' : 'paused while this box is hidden, covered, too small or off-screen')
        : 'stopped'
    return `<p><b>Spare Cycles</b> for ${esc(site)} via ${hub}: ${what}. Credit ${fmt(s?.creditGranted ?? 0)} (${s?.resultsValidated ?? 0} results validated). Yes remembered until ${esc(fmtTime(choice?.until ?? 0))}.</p>` +
      `${state === 'stopped' ? '<button class="yes" data-act="resume">Start again</button>' : ''}<button data-act="revoke">Stop and forget my yes</button>`
  }

  let sent = ''
  let shouldBefore = false
  /** Redraw, tell the parent what changed, and bring the client in line with shouldRun(). */
  function update (): void {
    if (seen()) {
      if (seenSince === 0) {
        seenSince = performance.now()
        setTimeout(update, SEEN_BEFORE_YES_MS + 20)
      }
    } else {
      seenSince = 0
    }
    const h = html()
    if (msgEl.innerHTML !== h) msgEl.innerHTML = h
    box.classList.toggle('folded', canObserve && runState() === 'consent' && !asking)
    const state = runState()
    document.body.dataset.state = state === 'consent' && asking ? 'asking' : state
    document.body.dataset.seen = String(seen())
    const key = `${state} ${asking}`
    if (key !== sent) {
      sent = key
      toParent({ type: 'state', run: state, asking: asking && canObserve })
      sendProgress()
    }
    const should = shouldRun()
    if (should !== shouldBefore) {
      shouldBefore = should
      void apply()
    }
  }

  // one change of the client at a time, each against the latest shouldRun()
  let chain: Promise<void> = Promise.resolve()
  function apply (): Promise<void> {
    // a stop (revoke, stop, hidden host) ends the workers at once, not behind a start still queued
    // (a slow IndexedDB write under load); the queued change then runs against shouldRun() as ever
    if (!shouldRun() && client != null) void client.stop().catch(() => {})
    chain = chain.then(async () => {
      if (shouldRun()) {
        client ??= await createClient()
        if (client != null && shouldRun() && choice != null) await client.start({ untilMs: choice.until })
      } else if (client != null) {
        await client.stop()
      }
    }).catch((err: unknown) => { toParent({ type: 'error', message: String((err as Error).message).slice(0, MAX_EMBED_ERROR_CHARS) }) })
    return chain
  }

  function armExpiry (): void {
    clearTimeout(expiry)
    if (choice != null) expiry = setTimeout(update, Math.min(Math.max(0, choice.until - Date.now()) + 10, 2 ** 31 - 1))
  }

  // ---- seeing ------------------------------------------------------------------------------------
  const observe = (onEntry: (s: Sighting) => void): IntersectionObserver => {
    const io = new IntersectionObserver(entries => { onEntry(sightingOf(entries[entries.length - 1])) },
      { trackVisibility: true, delay: OBSERVER_DELAY_MS, threshold: [0, 0.5, 0.99, 1] } as IntersectionObserverInit)
    io.observe(box)
    return io
  }
  /** A fresh observer's first entry (the box as it is now, not as it was at the last change), or null after 1 s. */
  const sightNow = async (): Promise<Sighting | null> => await new Promise(resolve => {
    const timer = setTimeout(() => { io.disconnect(); resolve(null) }, 1000)
    const io = observe(s => { clearTimeout(timer); io.disconnect(); resolve(s) })
  })

  async function yes (): Promise<void> {
    if (!canObserve || !yesReady()) return
    const now = await sightNow()
    if (!isSeen(now, window.devicePixelRatio) || !yesReady()) {
      note = 'Your click was not counted: this box was not fully visible. Nothing runs.'
      update()
      return
    }
    choice = writeChoice(storage, site, 'yes', consentMs, Date.now())
    asking = false
    stopped = false
    note = ''
    armExpiry()
    update()
  }

  box.addEventListener('click', (e: Event) => {
    // only the visitor's own click counts (and no script of the host page can click in this frame)
    if (!e.isTrusted) return
    const act = (e.target as Element).closest('[data-act]')?.getAttribute('data-act')
    if (act === 'yes') {
      void yes()
      return
    }
    if (act === 'later') {
      asking = false
    } else if (act === 'no') {
      choice = writeChoice(storage, site, 'no', consentMs, Date.now())
      asking = false
    } else if (act === 'ask') {
      asking = true
    } else if (act === 'resume') {
      stopped = false
    } else if (act === 'revoke') {
      clearChoice(storage, site)
      choice = null
      stopped = false
      asking = false
    } else {
      return
    }
    note = ''
    update()
  })

  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== window.parent || e.origin !== parentOrigin) return
    const m = parseHostMessage(e.data)
    if (m == null) return
    if (m.type === 'start') {
      // a request: resume a live yes, else open the prompt; never a yes
      if (live()) stopped = false
      else asking = true
      update()
    } else if (m.type === 'stop') {
      stopped = true
      update()
      void apply().finally(() => { toParent({ type: 'stopped' }) })
    } else if (m.type === 'visibility') {
      hostHidden = m.hidden
      update()
    } else if (m.type === 'theme') {
      const { theme, refused } = resolveTheme(m)
      const style = document.documentElement.style
      style.setProperty('--bg', theme.bg)
      style.setProperty('--fg', theme.fg)
      style.setProperty('--border', theme.border)
      style.setProperty('--button-bg', theme.buttonBg)
      style.setProperty('--button-fg', theme.buttonFg)
      style.setProperty('--accent', theme.accent)
      if (refused != null) toParent({ type: 'error', message: refused })
    }
  })
  document.addEventListener('visibilitychange', () => {
    tabHidden = document.hidden
    update()
  })

  // the host sizes the iframe to the box; a host that makes it smaller clips the box: not seen
  let sizeSent = ''
  new ResizeObserver(() => {
    const r = box.getBoundingClientRect()
    const width = Math.min(MAX_FRAME_PX, Math.ceil(r.width))
    const height = Math.min(MAX_FRAME_PX, Math.ceil(r.height))
    if (`${width}x${height}` === sizeSent) return
    sizeSent = `${width}x${height}`
    toParent({ type: 'size', width, height })
  }).observe(box)

  toParent({ type: 'ready' })
  if (canObserve) {
    observe(s => { sighting = s; update() })
    setInterval(update, RECHECK_MS)
  } else {
    toParent({ type: 'error', message: 'this browser lacks IntersectionObserver v2: the frame cannot tell whether it is visible, so no yes is possible' })
  }
  armExpiry()
  update()

  // ---- the volunteer client, once there is a live yes and the box is seen --------------------------
  let progressTimer: ReturnType<typeof setTimeout> | undefined
  let lastCredit = -1
  let lastValidated = -1
  let lastError: string | null = null
  function sendProgress (): void {
    const s = last
    if (s == null) return
    const state = runState()
    toParent({
      type: 'progress',
      run: state === 'consent' ? 'stopped' : state,
      connected: s.connection === 'connected',
      workers: s.workers,
      unitsDone: coarseTotal(s.unitsDone),
      resultsPending: s.resultsPending,
      // numbers sieved per second, published by the loader as numbersPerSecond and throughput
      throughput: Math.max(0, s.numbersPerSecond)
    })
  }

  async function createClient (): Promise<VolunteerClient | undefined> {
    let c: VolunteerClient
    try {
      // loaded only now: before a yes the frame fetches no more than its page and this small script
      const [{ VolunteerClient }, { embedFrameOptions }] = await Promise.all([import('../volunteer/client.ts'), import('../volunteer/page-options.ts')])
      // the origin the browser says embeds us (not what the partner's page claims): the site earns credit only from an origin it registered
      c = await VolunteerClient.create(embedFrameOptions(site, String(workers), location.ancestorOrigins?.[0] ?? ''))
    } catch (err) {
      // e.g. a browser that refuses storage to embedded third-party frames: the key cannot be kept
      broken = true
      const text = `cannot start here: ${(err as Error).message}`
      fatal(text)
      toParent({ type: 'error', message: text.slice(0, MAX_EMBED_ERROR_CHARS) })
      return undefined
    }
    c.subscribe(s => {
      last = s
      // a client that resumes on its own (a reload of a frame that was running) is held to shouldRun()
      if (s.run === 'running' && !shouldRun()) void apply()
      // coarse totals only (coarseTotal): the partner cannot match its events to grants in the public ledger
      const credit = coarseTotal(s.creditGranted)
      const validated = coarseTotal(s.resultsValidated)
      if (credit !== lastCredit || validated !== lastValidated) {
        lastCredit = credit
        lastValidated = validated
        toParent({ type: 'credit', credit, resultsValidated: validated })
      }
      if (s.lastError != null && s.lastError !== lastError) {
        toParent({ type: 'error', message: s.lastError.slice(0, MAX_EMBED_ERROR_CHARS) })
      }
      lastError = s.lastError
      if (progressTimer == null) {
        progressTimer = setTimeout(() => { progressTimer = undefined; sendProgress(); update() }, PROGRESS_INTERVAL_MS)
      }
    })
    return c
  }
}
