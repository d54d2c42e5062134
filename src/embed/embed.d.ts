/**
 * TypeScript declarations of the Spare Cycles embed's JS API on a partner's page (window.SpareCycles).
 * Shipped beside the loader as `embed.d.ts`; copy it into your project, or reference it with
 * `/// <reference path="embed.d.ts" />`.
 *
 * The loader is an async script: listen for `sparecycles:ready` on `document` (or check
 * `window.SpareCycles`) before calling the API.
 */

/** What the embed is doing in this tab. */
export type SpareCyclesRunState =
  /** waiting for the visitor to say yes (or they said no) */
  | 'consent'
  /** consent given, workers running in the hub's frame */
  | 'running'
  /** consent given, paused while this tab is hidden */
  | 'paused'
  /** consent given, stopped by stop() or by the visitor */
  | 'stopped'
  /** the script tag is misconfigured (missing or malformed data-site): nothing runs */
  | 'misconfigured'

export interface SpareCyclesProgress {
  run: 'running' | 'paused' | 'stopped'
  /** the frame's connection to the hub is up */
  connected: boolean
  /** Web Workers computing right now */
  workers: number
  /** work units this visitor's browser computed on this site (all time) */
  unitsDone: number
  /** results waiting for validation */
  resultsPending: number
  /** numbers sieved per second, last few seconds */
  numbersPerSecond: number
  /** the same figure as numbersPerSecond, under its first name (kept for compatibility) */
  throughput: number
}

export interface SpareCyclesCredit {
  /** the visitor's credit proven by hub-signed receipts (the same amount is attributed to the site) */
  credit: number
  resultsValidated: number
}

export interface SpareCyclesError {
  /** 'misconfigured' | 'frame' | 'consent' */
  code: string
  message: string
}

export interface SpareCyclesEvents {
  progress: SpareCyclesProgress
  credit: SpareCyclesCredit
  error: SpareCyclesError
}

export interface SpareCyclesEmbed {
  /** the data-site key of the script tag (null when missing or malformed) */
  readonly siteKey: string | null
  /** the current state */
  readonly state: SpareCyclesRunState
  /**
   * Start contributing. Without the visitor's remembered consent this only shows the consent
   * widget: nothing runs until the visitor clicks yes. Resolves true when work was started.
   */
  start: () => Promise<boolean>
  /** Stop every worker now. The visitor's consent stays remembered (start() resumes). */
  stop: () => Promise<void>
  /** Subscribe to an event; returns the unsubscribe function. */
  on: <K extends keyof SpareCyclesEvents>(type: K, listener: (detail: SpareCyclesEvents[K]) => void) => () => void
  off: <K extends keyof SpareCyclesEvents>(type: K, listener: (detail: SpareCyclesEvents[K]) => void) => void
}

declare global {
  interface Window {
    SpareCycles?: SpareCyclesEmbed
  }
  interface DocumentEventMap {
    /** dispatched once the loader has set window.SpareCycles */
    'sparecycles:ready': Event
  }
}
