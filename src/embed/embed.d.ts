/**
 * TypeScript declarations of the Spare Cycles embed's JS API on a partner's page (window.SpareCycles).
 * Shipped beside the loader as `embed.d.ts`; copy it into your project, or reference it with
 * `/// <reference path="embed.d.ts" />`.
 *
 * The loader is an async script: listen for `sparecycles:ready` on `document` (or check
 * `window.SpareCycles`) before calling the API.
 */

/**
 * What the embed is doing in this tab, as the hub's frame reports it. The visitor's yes is given
 * and kept in that frame (a click on its own Yes button), never by the page.
 */
export type SpareCyclesRunState =
  /** no live yes: the frame asks (or the visitor folded or declined the question) */
  | 'consent'
  /** yes given in the frame, workers running there */
  | 'running'
  /** yes given, paused while this tab is hidden or the frame is hidden, covered, transparent, under ~1 cm or off-screen */
  | 'paused'
  /** yes given, stopped by stop() */
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
  /** 'misconfigured' (the tag) | 'frame' (the frame's errors, and a theme it refused) */
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
   * Ask to contribute. A request only: when the frame holds the visitor's live yes it resumes (after
   * stop()), else the frame shows its question and nothing runs until the visitor clicks Yes there.
   * Resolves true once the frame runs (or is paused while unseen), false when the visitor folds or
   * declines the question, and false at once for a misconfigured tag.
   */
  start: () => Promise<boolean>
  /** Stop every worker now (resolves once the frame confirms, or after 500 ms). The visitor's yes stays in the frame (start() resumes). */
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
