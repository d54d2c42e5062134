/**
 * `sparecycles hub` / `start` flags for the hub's transport and connection limits (src/hub/limits.ts,
 * README "Limits"), and a log of limit hits that says each limit's count at most every 10 s.
 */
import { parsePositiveInt } from './flags.ts'
import { DEFAULT_HUB_LIMITS } from '../hub/limits.ts'
import type { Command } from 'commander'
import type { HubLimits, LimitHitListener, LimitName } from '../hub/limits.ts'

export interface LimitFlags {
  maxConnections?: number
  maxConnectionsPerAddress?: number
  maxPendingUpgrades?: number
  pruneAbove?: number
  upgradeTimeoutMs?: number
  maxRequestMemory?: number
  maxStagedBytes?: number
  maxRelayReservations?: number
  relayConnectionsPerMinute?: number
  allow: string[]
}

/** Add the limit flags to a hub command. */
export function addLimitFlags (cmd: Command): Command {
  const d = DEFAULT_HUB_LIMITS
  return cmd
    .option('--max-connections <n>', `connections (open + pending) in all (default ${d.maxConnections})`, parsePositiveInt)
    .option('--max-connections-per-address <n>', `connections from one IP address (default ${d.maxConnectionsPerAddress})`, parsePositiveInt)
    .option('--max-pending-upgrades <n>', `unfinished noise/yamux upgrades in all (default ${d.maxPendingUpgrades})`, parsePositiveInt)
    .option('--prune-above <n>', 'prune idle connections holding no lease from this many connections (default 90% of --max-connections)', parsePositiveInt)
    .option('--upgrade-timeout-ms <ms>', `time to finish noise + yamux (default ${d.upgradeTimeoutMs})`, parsePositiveInt)
    .option('--max-request-memory <bytes>', `request bytes all streams may buffer at once (default ${d.maxRequestMemoryBytes})`, parsePositiveInt)
    .option('--max-staged-bytes <bytes>', `bytes of unfinished blob uploads one researcher may stage (default ${d.maxStagedBytesPerResearcher})`, parsePositiveInt)
    .option('--max-relay-reservations <n>', `circuit relay reservations held at once, one per volunteer sharing blobs over WebRTC (default ${d.maxRelayReservations})`, parsePositiveInt)
    .option('--relay-connections-per-minute <n>', `relayed connections (WebRTC signalling) one peer may open or receive a minute (default ${d.relayedConnectionsPerPeerPerMinute})`, parsePositiveInt)
    .option('--allow <ip|cidr|peer-id>', "the operator's own addresses or peers, exempt from connection limits and pruning (repeatable)", (v: string, prev: string[]) => [...prev, v], [])
}

/** The HubLimits overrides given on the command line (unset flags keep their defaults). */
export function limitsFromFlags (f: LimitFlags): Partial<HubLimits> {
  return {
    maxConnections: f.maxConnections,
    maxConnectionsPerAddress: f.maxConnectionsPerAddress,
    maxPendingUpgrades: f.maxPendingUpgrades,
    pruneAboveConnections: f.pruneAbove,
    upgradeTimeoutMs: f.upgradeTimeoutMs,
    maxRequestMemoryBytes: f.maxRequestMemory,
    maxStagedBytesPerResearcher: f.maxStagedBytes,
    maxRelayReservations: f.maxRelayReservations,
    relayedConnectionsPerPeerPerMinute: f.relayConnectionsPerMinute,
    allow: f.allow
  }
}

/** An onLimitHit that logs each limit's first hit at once and then its count every `everyMs` (default 10 s) at most. */
export function limitHitLog (log: (line: string) => void, everyMs = 10_000): LimitHitListener {
  const pending = new Map<LimitName, number>()
  const last = new Map<LimitName, number>()
  return (name, detail) => {
    pending.set(name, (pending.get(name) ?? 0) + 1)
    const now = Date.now()
    if (now - (last.get(name) ?? 0) < everyMs) return
    log(`limit ${name}: ${pending.get(name) ?? 1} hit(s), last from ${detail.peer ?? detail.address ?? '?'}${detail.message != null ? `: ${detail.message}` : ''}`)
    pending.set(name, 0)
    last.set(name, now)
  }
}
