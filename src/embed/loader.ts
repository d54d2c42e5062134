/**
 * embed.js — the partner-site loader (built as a small IIFE by scripts/build-embed.ts).
 *
 *   <script src="https://HUB/embed.js" data-site="site_…" integrity="sha384-…" crossorigin="anonymous" async></script>
 *
 * It places the hub's embed frame (/embed-frame.html, cross-origin) in a small box (shadow DOM,
 * `::part(box)`) and relays: the frame draws the consent question, takes the visitor's own click
 * as the yes, remembers it in the hub origin's storage and runs the workers only while the visitor
 * can see it (frame.ts). Nothing this script or the partner's page does can say yes: every message
 * to the frame is a request (messages.ts). Until a yes the frame opens no connection and starts no
 * worker. The loader exposes window.SpareCycles (start, stop, on, off; see embed.d.ts), passes the
 * page's `--sparecycles-*` colours to the frame (which checks them) and tells it when this tab is
 * hidden. It stores nothing.
 */
import { parseEmbedConfig } from './config.ts'
import { THEME_COLOR, THEME_KEYS, envelope, parseFrameMessage } from './messages.ts'
import type { Body, FrameMessage, HostMessage, Theme } from './messages.ts'
import type { SpareCyclesEmbed, SpareCyclesEvents, SpareCyclesRunState } from './embed.d.ts'

type Listener = (detail: never) => void

// the box the loader owns is themeable by ::part(box); the question's colours go to the frame
const STYLE = `:host{all:initial}
.box{position:fixed;right:12px;bottom:12px;z-index:2147483000;border-radius:8px;box-shadow:0 2px 10px rgba(0,0,0,.18);line-height:0}
.inline .box{position:static;display:inline-block;box-shadow:none}
iframe{display:block;border:0;width:320px;height:42px;background:transparent}`

// read now: document.currentScript is only set while this script runs, not in a later callback
const currentScript = document.currentScript as HTMLScriptElement | null

function init (): void {
  if (window.SpareCycles != null) return
  const script = currentScript ??
    document.querySelector<HTMLScriptElement>('script[src*="embed.js"]')
  const parsed = parseEmbedConfig({ ...(script?.dataset ?? {}) }, script?.src ?? '', navigator.hardwareConcurrency || 2)
  const cfg = parsed.ok ? parsed.config : null

  let state: SpareCyclesRunState = cfg == null ? 'misconfigured' : 'consent'
  let frameReady = false
  /** what the page asked before the frame was ready: sent on its 'ready' */
  let wanted: 'start' | 'stop' | null = null
  let readyTimer: ReturnType<typeof setTimeout> | undefined
  let stoppedWaiter: (() => void) | null = null
  const startWaiters: Array<(started: boolean) => void> = []
  const listeners: Record<string, Set<Listener>> = { progress: new Set(), credit: new Set(), error: new Set() }

  const emit = <K extends keyof SpareCyclesEvents>(type: K, detail: SpareCyclesEvents[K]): void => {
    for (const fn of listeners[type]) {
      try { (fn as (d: SpareCyclesEvents[K]) => void)(detail) } catch (err) { console.error(err) }
    }
  }
  const settle = (started: boolean): void => {
    for (const w of startWaiters.splice(0)) w(started)
  }

  // ---- the box and the hub's frame (none for a misconfigured tag: console only, issue 12) ------------
  let frame: HTMLIFrameElement | null = null
  let root: ShadowRoot | null = null
  if (cfg != null) {
    const target = document.getElementById('sparecycles-embed')
    const hostEl = target ?? document.createElement('div')
    if (target == null) hostEl.setAttribute('data-sparecycles-embed', '')
    root = hostEl.attachShadow({ mode: 'open' })
    root.innerHTML = `<style>${STYLE}</style><div class="${target != null ? 'inline' : ''}"><div class="box" part="box"></div></div>`
    frame = document.createElement('iframe')
    frame.title = 'Spare Cycles: asks you, and works only with your yes'
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin')
    frame.setAttribute('referrerpolicy', 'no-referrer')
    // the frame's governor may read the CPU's pressure (nothing else is delegated)
    frame.setAttribute('allow', 'compute-pressure')
    const params = new URLSearchParams({ site: cfg.siteKey, parent: location.origin, workers: String(cfg.workers), hours: String(cfg.consentMs / 3_600_000) })
    frame.src = `${cfg.hubOrigin}/embed-frame.html#${params.toString()}`
    if (target == null) (document.body ?? document.documentElement).appendChild(hostEl)
    // inserting a cross-origin frame is the loader's one costly step (a new frame, often a new
    // process): a task of its own when the page is idle, not part of this script's evaluation
    const box = root.querySelector('.box') as HTMLElement
    const insert = (): void => { box.appendChild(frame as HTMLIFrameElement) }
    if (typeof requestIdleCallback === 'function') requestIdleCallback(insert, { timeout: 1000 })
    else setTimeout(insert, 0)
    readyTimer = setTimeout(() => { emit('error', { code: 'frame', message: `the hub's frame at ${cfg.hubOrigin} did not answer` }) }, 20_000)
  }

  function post (body: Body<HostMessage>): void {
    if (frameReady && cfg != null) frame?.contentWindow?.postMessage(envelope(body as never), cfg.hubOrigin)
  }

  /** The page's --sparecycles-<name> colours, as computed (rgb(…)); '' where unset or not opaque. */
  function theme (): Theme {
    // one probe per colour, all set before the first read: one style recalculation, not six
    const probes = THEME_KEYS.map(k => {
      const probe = document.createElement('i')
      probe.style.color = `var(--sparecycles-${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)},rgba(0,0,0,0))`
      root?.appendChild(probe)
      return probe
    })
    const t = {} as Theme
    THEME_KEYS.forEach((k, i) => {
      const c = getComputedStyle(probes[i]).color
      t[k] = THEME_COLOR.test(c) ? c : ''
    })
    for (const probe of probes) probe.remove()
    return t
  }

  window.addEventListener('message', (e: MessageEvent) => {
    if (frame == null || cfg == null || e.source !== frame.contentWindow || e.origin !== cfg.hubOrigin) return
    const m: FrameMessage | null = parseFrameMessage(e.data)
    if (m == null) return
    if (m.type === 'ready') {
      frameReady = true
      clearTimeout(readyTimer)
      post({ type: 'theme', ...theme() })
      if (document.hidden) post({ type: 'visibility', hidden: true })
      if (wanted != null) post({ type: wanted })
      wanted = null
    } else if (m.type === 'state') {
      state = m.run
      if (m.run === 'running' || m.run === 'paused') settle(true)
      else if (!m.asking) settle(false)
    } else if (m.type === 'size') {
      frame.style.width = `${m.width}px`
      frame.style.height = `${m.height}px`
    } else if (m.type === 'progress') {
      const { ns: _ns, v: _v, type: _t, ...rest } = m
      emit('progress', { ...rest, numbersPerSecond: rest.throughput })
    } else if (m.type === 'credit') {
      emit('credit', { credit: m.credit, resultsValidated: m.resultsValidated })
    } else if (m.type === 'error') {
      emit('error', { code: 'frame', message: m.message })
    } else if (m.type === 'stopped') {
      stoppedWaiter?.()
    }
  })

  document.addEventListener('visibilitychange', () => { post({ type: 'visibility', hidden: document.hidden }) })

  // ---- API ---------------------------------------------------------------------------------------
  const api: SpareCyclesEmbed = {
    get siteKey () { return cfg?.siteKey ?? null },
    get state () { return state },
    async start () {
      if (cfg == null) return false
      if (state === 'running' || state === 'paused') return true
      // a request only: the frame resumes a yes the visitor gave there, or shows its question
      if (frameReady) post({ type: 'start' })
      else wanted = 'start'
      return await new Promise<boolean>(resolve => { startWaiters.push(resolve) })
    },
    async stop () {
      if (cfg == null) return
      // ask the frame to end its workers and give its leases back; wait at most 500 ms for its answer
      if (!frameReady) wanted = 'stop'
      await new Promise<void>(resolve => {
        stoppedWaiter = resolve
        post({ type: 'stop' })
        setTimeout(resolve, frameReady ? 500 : 0)
      })
      stoppedWaiter = null
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
    const reason = parsed.ok ? '' : parsed.reason
    console.error(`Spare Cycles embed is misconfigured: ${reason}. Nothing will run.`)
    emit('error', { code: 'misconfigured', message: reason })
  }
  document.dispatchEvent(new Event('sparecycles:ready'))
}

if (document.body == null) document.addEventListener('DOMContentLoaded', init, { once: true })
else init()
