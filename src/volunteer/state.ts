/**
 * The volunteer's observable state (what the page and the embed frame render) and the bus that
 * holds it. Each field has one owner component, named beside it; only the owner patches it.
 */
import type { GovernorState } from './governor.ts'
import type { GpuSlotStatus } from './gpu-slot.ts'
import type { PeerBlobStats } from './peer-blobs.ts'

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected'
export type RunState = 'stopped' | 'running'

export interface SlotState {
  replicaId: string
  /** Kernel id of the unit. */
  kernel: string
  /** Operations done so far in this unit (primes-sieve: numbers sieved), of `total` (the lease's estOps). */
  done: number
  total: number
}

/** One dashboard sample (one a second). */
export interface HistorySample {
  /** Unix time, seconds. */
  t: number
  /** Numbers sieved per second (primes-sieve/1). */
  numbersPerSecond: number
  /** Floating-point operations per second (matmul-f32/1 tiles). */
  flopsPerSecond: number
  /** Workers' compute time as a share of the machine's cores, 0-1. */
  cpuUse: number
}

/** The page's own measured network traffic (traffic.ts; metrics.ts samples it once a second). */
export interface TrafficState {
  /** Bytes of the requests this page sent on its protocol streams since it loaded. */
  sentBytes: number
  /** Bytes of the responses it received on them since it loaded. */
  receivedBytes: number
  /** Milliseconds this page has been contributing (run 'running') since it loaded. */
  runningMs: number
  /** (sentBytes + receivedBytes) per hour of runningMs; null before 10 s of running (traffic.ts bytesPerHour). */
  bytesPerHour: number | null
}

export interface DeviceInfo {
  /** Logical cores (navigator.hardwareConcurrency). */
  cores: number
  /** navigator.deviceMemory in GiB (coarse; null where absent). */
  memoryGiB: number | null
  /** WebGPU adapter (null: no navigator.gpu or no adapter, or not probed yet). */
  gpu: { vendor: string, architecture: string, description: string, fallback: boolean } | null
  /** Whether the adapter probe has finished (before it, `gpu` null means "not known yet"). */
  gpuProbed: boolean
}

/** One hub's share of this volunteer's work, from IndexedDB (receipts.ts). */
export interface HubFigures {
  /** Leases stored (not yet run, or running). */
  leases: number
  /** Results signed and waiting to be sent. */
  outbox: number
  /** Results in the outbox or acknowledged, without a credit receipt yet. */
  pending: number
  /** Results with a credit receipt (grants less reversals). */
  validated: number
  /** Sum of its verified credit receipts, in credit units. */
  credit: number
}

/** A hub this page works for (hub-set.ts): the page's own first, then those the visitor added. */
export interface HubView {
  /** Base URL of the hub's HTTP side (its page and /hub.json). */
  url: string
  /** The hub's peer id once a connection authenticated it, else null. */
  peerId: string | null
  connection: ConnectionState
  /** The page's own hub (the one it was served from): it cannot be removed. */
  primary: boolean
  /** The last error of this hub's connection, leases or results, or null. */
  lastError: string | null
}

export interface VolunteerState {
  /** This volunteer's libp2p peer id (factory). */
  peerId: string
  /** connection.ts */
  connection: ConnectionState
  /** connection.ts */
  hubPeerId: string | null
  /** connection.ts */
  hubMultiaddr: string | null
  /** runner-pool.ts */
  run: RunState
  /** Worker slots configured (runner-pool.ts). */
  slots: number
  /** Workers alive right now (runner-pool.ts). */
  workers: number
  /** Work units this browser has computed (all time, kept across reloads; outbox.ts). */
  unitsDone: number
  /** Results computed but not yet validated (in the outbox, or acknowledged and awaiting quorum; receipts.ts). */
  resultsPending: number
  /** Results with a hub-signed credit receipt (receipts.ts). */
  resultsValidated: number
  /** Results the hub refused (outbox.ts). */
  resultsRejected: number
  /** Sum of verified credit receipts, in credit units (receipts.ts). */
  creditGranted: number
  /** Numbers sieved per second (primes-sieve/1) over the last ~5 s (metrics.ts). */
  numbersPerSecond: number
  /** Floating-point operations per second (matmul-f32/1 tiles) over the last ~5 s (metrics.ts). */
  flopsPerSecond: number
  /** Work units finished per minute, any kernel, over the last minute (metrics.ts). */
  unitsPerMinute: number
  /** Units running now (runner-pool.ts). */
  running: SlotState[]
  /** The last error any component reported, with its context ("connect: …"), or null. */
  lastError: string | null
  /**
   * The GEMM (matmul-f32/1) slot: backend ('webgpu', or 'wasm' without WebGPU or after a device
   * loss, with the reason), adapter, whether it is a fallback adapter, last tile's GFLOP/s.
   * null when the page made no GPU worker (runner-pool.ts).
   */
  gemm: GpuSlotStatus | null
  /** CPU/GPU shares, worker plan and pause reasons (governor.ts, wired by runner-pool.ts). */
  governor: GovernorState
  /** Workers' compute time as a share of the machine's cores over the last ~5 s, 0-1 (metrics.ts). */
  cpuUse: number
  /** Workers' compute time since the page loaded, in ms (all slots; metrics.ts). */
  cpuBusyMs: number
  /** GPU busy time as a share of wall time over the last ~5 s, 0-1 (null: no GPU tile yet; metrics.ts). */
  gpuUse: number | null
  /**
   * This page's own share of the CPU pressure, 0-1, as the browser estimates it (Compute Pressure's
   * PressureRecord.ownContributionEstimate, latest record); null where the browser does not report
   * it (metrics.ts, fed by governor.ts's pressure sensor).
   */
  ownContribution: number | null
  /** libp2p peers connected now (metrics.ts). */
  peers: number
  /** Browser to browser: blob bytes from the hub and from peers, served to peers (peer-blobs.ts; metrics.ts samples it). */
  p2p: PeerBlobStats
  /** Work units computed by this browser, per kernel id (all time; outbox.ts). */
  unitsByKernel: Record<string, number>
  /** Bytes this page exchanged with the hub and peers, and per hour of running (metrics.ts, from traffic.ts). */
  traffic: TrafficState
  /** One sample a second, newest last (at most 600; metrics.ts). */
  history: HistorySample[]
  /** What this device offers (device.ts). */
  device: DeviceInfo
  /** Every hub this page works for, the page's own first (hub-set.ts). */
  hubs: HubView[]
  /** Hubs the page's own hub recommends (its /hub.json `recommendedHubs`) and that are not added yet (hub-set.ts). */
  recommendedHubs: string[]
  /** Leases, outbox, pending, validated and credit per hub peer id (receipts.ts). */
  perHub: Record<string, HubFigures>
}

/** What a component needs of the bus: patch its own fields, read any, report an error (StateBus, or a hub's scoped view of it). */
export type StateSink = Pick<StateBus, 'patch' | 'get' | 'error'>

export type StateListener = (state: VolunteerState) => void

/** Holds the state; components patch their own fields, listeners get a fresh snapshot each time. */
export class StateBus {
  private readonly listeners = new Set<StateListener>()

  constructor (private readonly state: VolunteerState) {}

  /** A copy of the state (arrays copied too). */
  get snapshot (): VolunteerState {
    return { ...this.state, running: this.state.running.map(s => ({ ...s })), history: [...this.state.history], hubs: this.state.hubs.map(h => ({ ...h })), perHub: { ...this.state.perHub } }
  }

  /** Read one field without copying the whole state. */
  get<K extends keyof VolunteerState> (key: K): VolunteerState[K] { return this.state[key] }

  /** Change some fields and tell every listener. */
  patch (update: Partial<VolunteerState>): void {
    Object.assign(this.state, update)
    if (this.listeners.size === 0) return
    const snap = this.snapshot
    for (const fn of this.listeners) fn(snap)
  }

  /** Report an error: `context: message` becomes lastError. */
  error (context: string, err: unknown): void {
    this.patch({ lastError: `${context}: ${(err as Error)?.message ?? String(err)}` })
  }

  /** Call `fn` now and on every change; returns the unsubscribe function. */
  subscribe (fn: StateListener): () => void {
    this.listeners.add(fn)
    fn(this.snapshot)
    return () => { this.listeners.delete(fn) }
  }

  /** Drop every listener (close()). */
  clear (): void { this.listeners.clear() }

  get listenerCount (): number { return this.listeners.size }
}
