/**
 * embed.js — the partner-site loader (built as a small IIFE by scripts/build-embed.ts).
 *
 *   <script src="https://HUB/embed.js" data-site="site_…" integrity="sha384-…" crossorigin="anonymous" async></script>
 *
 * Until the visitor opts in it only renders a consent widget (shadow DOM) and touches nothing
 * else: no worker, no request to the hub. On yes it loads the hub's embed frame in a cross-origin
 * iframe; the frame holds the visitor's key and runs the workers, and the two sides talk only
 * through checked postMessage envelopes (messages.ts). It exposes window.SpareCycles
 * (start, stop, on, off; see embed.d.ts) and pauses the frame while this tab is hidden.
 */
import { clearConsent, parseEmbedConfig, readConsent, writeConsent } from './config.ts'
import { envelope, parseFrameMessage } from './messages.ts'
import type { ConsentRecord, EmbedConfig } from './config.ts'
import type { Body, FrameMessage, HostMessage } from './messages.ts'
import type { SpareCyclesEmbed, SpareCyclesEvents, SpareCyclesRunState } from './embed.d.ts'

type Listener = (detail: never) => void

// themeable by the partner (issue 12): custom properties --sparecycles-* (they inherit into the
// shadow tree) and ::part(box | text | button | yes)
const STYLE = `:host{all:initial}
.box{position:fixed;right:12px;bottom:12px;z-index:2147483000;max-width:360px;box-sizing:border-box;padding:12px 14px;
background:var(--sparecycles-bg,#fff);color:var(--sparecycles-fg,#1b1b1b);border:1px solid var(--sparecycles-border,#bbb);border-radius:8px;box-shadow:0 2px 10px rgba(0,0,0,.18);
font:var(--sparecycles-font,13px/1.45 system-ui,sans-serif)}
.inline .box{position:static;max-width:none;box-shadow:none}
p{margin:0 0 8px}b{font-weight:600}
button{font:inherit;padding:4px 10px;margin:0 6px 0 0;border-radius:5px;border:1px solid #888;background:var(--sparecycles-button-bg,#f4f4f4);color:var(--sparecycles-button-fg,#1b1b1b);cursor:pointer}
button.yes{background:var(--sparecycles-accent,#1f6f43);border-color:var(--sparecycles-accent,#1f6f43);color:#fff}
iframe{display:block;width:100%;height:30px;border:0;margin:6px 0 0}
.err{color:#a01818}`

const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
// no Intl here: the first Intl call of a page loads locale data, a 50-125 ms task on the partner's
// main thread (issue 12). Numbers as 12,345.67; times as the visitor's local YYYY-MM-DD HH:MM.
const fmt = (n: number): string => {
  const [int, frac] = String(Math.round(n * 100) / 100).split('.')
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac != null ? `.${frac}` : '')
}
const two = (n: number): string => String(n).padStart(2, '0')
const fmtTime = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`
}

// read now: document.currentScript is only set while this script runs, not in a later callback
const currentScript = document.currentScript as HTMLScriptElement | null

function init (): void {
  if (window.SpareCycles != null) return
  const script = currentScript ??
    document.querySelector<HTMLScriptElement>('script[src*="embed.js"]')
  const cores = navigator.hardwareConcurrency || 2
  const parsed = parseEmbedConfig({ ...(script?.dataset ?? {}) }, script?.src ?? '', cores)
  const cfg: EmbedConfig | null = parsed.ok ? parsed.config : null
  const storage = ((): Storage | undefined => { try { return localStorage } catch { return undefined } })()

  let state: SpareCyclesRunState = cfg == null ? 'misconfigured' : 'consent'
  let asking = true
  let consent: ConsentRecord | null = null
  let frame: HTMLIFrameElement | null = null
  let frameReady = false
  let expiryTimer: ReturnType<typeof setTimeout> | undefined
  let readyTimer: ReturnType<typeof setTimeout> | undefined
  let stoppedWaiter: (() => void) | null = null
  let askWaiter: ((yes: boolean) => void) | null = null
  let progress: SpareCyclesEvents['progress'] | null = null
  let credit: SpareCyclesEvents['credit'] | null = null
  const listeners: Record<string, Set<Listener>> = { progress: new Set(), credit: new Set(), error: new Set() }

  const emit = <K extends keyof SpareCyclesEvents>(type: K, detail: SpareCyclesEvents[K]): void => {
    for (const fn of listeners[type]) {
      try { (fn as (d: SpareCyclesEvents[K]) => void)(detail) } catch (err) { console.error(err) }
    }
  }

  // ---- widget ------------------------------------------------------------------------------------
  const target = document.getElementById('sparecycles-embed')
  const hostEl = target ?? document.createElement('div')
  if (target == null) hostEl.setAttribute('data-sparecycles-embed', '')
  const root = hostEl.attachShadow({ mode: 'open' })
  root.innerHTML = `<style>${STYLE}</style><div class="${target != null ? 'inline' : ''}"><div class="box" part="box" role="region" aria-label="Spare Cycles"><div class="msg" part="text" aria-live="polite"></div><div class="fr"></div></div></div>`
  const msg = root.querySelector('.msg') as HTMLElement
  const frameBox = root.querySelector('.fr') as HTMLElement
  // a misconfigured tag is the partner's bug, not the visitor's: console only, nothing on the page (issue 12)
  if (cfg == null) (root.querySelector('.box') as HTMLElement).hidden = true
  else if (target == null) (document.body ?? document.documentElement).appendChild(hostEl)

  function render (): void {
    let html: string
    if (cfg == null) {
      html = ''
    } else {
      const hub = esc(new URL(cfg.hubOrigin).host)
      const n = cfg.workers
      const hours = fmt(cfg.consentMs / 3_600_000)
      if (state === 'consent' && asking) {
        html = `<p><b>Lend this site your spare CPU?</b></p><p>If you say yes, a prime-counting program (WebAssembly, from ${hub}) runs in ${n} background worker${n === 1 ? '' : 's'} in this tab: at most ${n} of your ${cores} CPU cores, only while this tab is open and visible, for up to ${hours} ${hours === '1' ? 'hour' : 'hours'} (your yes is remembered ${hours} ${hours === '1' ? 'hour' : 'hours'} on this site; Stop ends it at once). It reads nothing else on your device. Results are signed with a key that ${hub} keeps in this browser, out of this site's reach. Credit goes to you and to this site (${esc(cfg.siteKey)}).</p><button class="yes" part="button yes" data-act="yes">Yes, contribute</button><button part="button" data-act="later">Not now</button><button part="button" data-act="no">No thanks</button>`
      } else if (state === 'consent') {
        html = `<button part="button" data-act="ask">Spare Cycles: lend spare CPU?</button>`
      } else {
        const p = progress
        const what = state === 'running' ? (p?.connected === false ? 'connecting to the hub' : `running ${p?.workers ?? 0} worker${p?.workers === 1 ? '' : 's'}`) : state === 'paused' ? 'paused while this tab is hidden' : 'stopped'
        const until = consent != null ? fmtTime(consent.until) : ''
        html = `<p><b>Spare Cycles</b> for ${esc(cfg.siteKey)} via ${hub}: ${what}. Credit ${fmt(credit?.credit ?? 0)} (${credit?.resultsValidated ?? 0} results validated). Yes remembered until ${esc(until)}.</p>${state === 'stopped' ? '<button class="yes" part="button yes" data-act="resume">Start again</button>' : ''}<button part="button" data-act="revoke">Stop and forget my yes</button>`
      }
    }
    if (msg.innerHTML !== html) msg.innerHTML = html
  }

  root.addEventListener('click', (e: Event) => {
    // only the visitor's own clicks count: script on the page cannot click yes for them
    if (!e.isTrusted) return
    const act = (e.target as HTMLElement).closest('[data-act]')?.getAttribute('data-act')
    if (cfg == null || act == null) return
    if (act === 'yes') {
      consent = writeConsent(storage, cfg, 'yes', Date.now())
      launch()
      answerAsk(true)
    } else if (act === 'later') {
      // "not now": folded to one small button for this page view, nothing remembered
      asking = false
      render()
      answerAsk(false)
    } else if (act === 'no') {
      writeConsent(storage, cfg, 'no', Date.now())
      asking = false
      render()
      answerAsk(false)
    } else if (act === 'ask') {
      asking = true
      render()
    } else if (act === 'resume') {
      launch()
    } else if (act === 'revoke') {
      void revoke()
    }
  })

  function answerAsk (yes: boolean): void {
    const w = askWaiter
    askWaiter = null
    w?.(yes)
  }

  // ---- frame -------------------------------------------------------------------------------------
  function post (body: Body<HostMessage>): void {
    if (frame?.contentWindow != null && cfg != null) frame.contentWindow.postMessage(envelope(body as never), cfg.hubOrigin)
  }

  function launch (): void {
    if (cfg == null || consent == null) return
    state = document.hidden ? 'paused' : 'running'
    clearTimeout(expiryTimer)
    expiryTimer = setTimeout(() => { void revoke() }, Math.max(0, consent.until - Date.now()))
    if (frame == null) {
      frameReady = false
      frame = document.createElement('iframe')
      frame.title = 'Spare Cycles worker frame'
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin')
      frame.setAttribute('referrerpolicy', 'no-referrer')
      // the frame's governor may read the CPU's pressure (nothing else is delegated)
      frame.setAttribute('allow', 'compute-pressure')
      const params = new URLSearchParams({ site: cfg.siteKey, parent: location.origin, workers: String(cfg.workers) })
      frame.src = `${cfg.hubOrigin}/embed-frame.html#${params.toString()}`
      frameBox.appendChild(frame)
      readyTimer = setTimeout(() => {
        if (!frameReady) emit('error', { code: 'frame', message: `the hub's frame at ${cfg.hubOrigin} did not answer` })
      }, 20_000)
    } else if (frameReady) {
      post({ type: 'start', consentUntil: consent.until })
    }
    render()
  }

  async function halt (): Promise<void> {
    clearTimeout(expiryTimer)
    clearTimeout(readyTimer)
    const f = frame
    if (f != null) {
      // ask the frame to end its workers and give its leases back, then drop it whatever it says
      await new Promise<void>(resolve => {
        stoppedWaiter = resolve
        post({ type: 'stop' })
        setTimeout(resolve, 500)
      })
      stoppedWaiter = null
      f.remove()
      if (frame === f) frame = null
    }
    frameReady = false
  }

  async function revoke (): Promise<void> {
    if (cfg != null) clearConsent(storage, cfg)
    consent = null
    state = 'consent'
    asking = false
    render()
    await halt()
  }

  window.addEventListener('message', (e: MessageEvent) => {
    if (frame == null || cfg == null || e.source !== frame.contentWindow || e.origin !== cfg.hubOrigin) return
    const m: FrameMessage | null = parseFrameMessage(e.data)
    if (m == null) return
    if (m.type === 'ready') {
      frameReady = true
      clearTimeout(readyTimer)
      if (consent != null && state !== 'stopped') post({ type: 'start', consentUntil: consent.until })
      if (document.hidden) post({ type: 'visibility', hidden: true })
    } else if (m.type === 'progress') {
      const { ns: _ns, v: _v, type: _t, ...rest } = m
      const p = { ...rest, numbersPerSecond: rest.throughput }
      progress = p
      if (state === 'running' || state === 'paused') state = p.run === 'paused' ? 'paused' : 'running'
      emit('progress', p)
    } else if (m.type === 'credit') {
      credit = { credit: m.credit, resultsValidated: m.resultsValidated }
      emit('credit', credit)
    } else if (m.type === 'error') {
      emit('error', { code: 'frame', message: m.message })
    } else if (m.type === 'stopped') {
      stoppedWaiter?.()
    }
    render()
  })

  document.addEventListener('visibilitychange', () => {
    if (frame == null) return
    post({ type: 'visibility', hidden: document.hidden })
    if (state === 'running' || state === 'paused') {
      state = document.hidden ? 'paused' : 'running'
      render()
    }
  })

  // ---- API ---------------------------------------------------------------------------------------
  const api: SpareCyclesEmbed = {
    get siteKey () { return cfg?.siteKey ?? null },
    get state () { return state },
    async start () {
      if (cfg == null) return false
      if (state === 'running' || state === 'paused') return true
      consent = readConsent(storage, cfg, Date.now())
      if (consent?.choice === 'yes') { launch(); return true }
      consent = null
      state = 'consent'
      asking = true
      render()
      return await new Promise<boolean>(resolve => { askWaiter = resolve })
    },
    async stop () {
      if (state !== 'running' && state !== 'paused') return
      state = 'stopped'
      render()
      await halt()
    },
    on (type, listener) {
      listeners[type]?.add(listener as Listener)
      return () => { listeners[type]?.delete(listener as Listener) }
    },
    off (type, listener) {
      listeners[type]?.delete(listener as Listener)
    }
  }
  Object.defineProperty(window, 'SpareCycles', { value: Object.freeze(api), configurable: false, writable: false })

  if (cfg == null) {
    console.error(`Spare Cycles embed is misconfigured: ${parsed.ok ? '' : parsed.reason}. Nothing will run.`)
    emit('error', { code: 'misconfigured', message: parsed.ok ? '' : parsed.reason })
  } else {
    consent = readConsent(storage, cfg, Date.now())
    if (consent?.choice === 'yes') launch()
    else {
      asking = consent == null
      consent = null
    }
  }
  render()
  document.dispatchEvent(new Event('sparecycles:ready'))
}

if (document.body == null) document.addEventListener('DOMContentLoaded', init, { once: true })
else init()
