/**
 * Every transport and connection limit of a hub in one place: what a stranger can make the hub
 * hold (connections, pending upgrades, WebSocket frames, stream bytes, buffered request memory) and
 * for how long. Each has a default here, an override in `startHub({ limits })` and, where an
 * operator would change it, a `sparecycles hub` flag (README, "Run a hub" → "Limits").
 *
 * Anchors: js-libp2p's doc/LIMITS.md (connection manager, upgrade timeout, per-protocol stream
 * caps) and go-libp2p's resource manager (limits per scope: system, per address, per peer,
 * per stream; memory reserved before it is used).
 */

/** Stable names of the limits, as reported to `onLimitHit` (and counted by /metrics). */
export type LimitName =
  /** A stream's request did not arrive (or was not answered) within the protocol's timeout. */
  | 'stream-deadline'
  /** A stream sent more bytes than one capped message (its read buffer overflowed). */
  | 'stream-bytes'
  /** A length prefix longer than any capped message needs (e.g. endless 0xff bytes). */
  | 'length-prefix'
  /** A length prefix declared more bytes than the protocol (or the peer's authorisation) allows. */
  | 'message-bytes'
  /** A job request from a peer outside the researcher allowlist above `maxUnauthorisedJobRequestBytes`. */
  | 'unauthorised-job-bytes'
  /** A blob-put chunk from a peer outside the researcher allowlist (refused before its body is read). */
  | 'unauthorised-blob-bytes'
  /** An upload that would take a researcher's staged (unfinished) uploads above `maxStagedBytesPerResearcher`. */
  | 'staged-bytes'
  /** An unfinished upload older than `stagedUploadTimeoutMs`, deleted. */
  | 'staged-upload-deadline'
  /** The hub-wide budget of request bytes being buffered was spent. */
  | 'request-memory'
  /** More than `maxConnectionsPerAddress` connections (pending or open) from one IP address. */
  | 'connections-per-address'
  /** More than `maxPendingUpgradesPerAddress` unfinished upgrades from one IP address. */
  | 'pending-upgrades-per-address'
  /** More than `maxPendingUpgrades` unfinished upgrades in all. */
  | 'pending-upgrades'
  /** More than `inboundConnectionsPerSecond` new connections from one IP address in a second. */
  | 'connection-rate'
  /** `maxConnections` reached and nothing could be pruned. */
  | 'connections'
  /** An inbound connection did not finish noise + yamux within `upgradeTimeoutMs`. */
  | 'upgrade-timeout'
  /** A WebSocket frame above `maxWsFrameBytes` (the socket is closed with 1009). */
  | 'ws-frame'
  /** An open connection did not answer the hub's liveness ping within `pingTimeoutMs` (it was closed). */
  | 'ping-timeout'
  /** An idle connection holding no lease was closed to make room. */
  | 'idle-pruned'
  /** A peer asked the relay for more than `relayedConnectionsPerPeerPerMinute` relayed connections (as source or destination). */
  | 'relayed-connection-rate'
  /** A relay reservation refused: asked over a relayed connection, or `maxRelayReservations` held already. */
  | 'relay-reservation'

/** One limit hit: what was refused or closed, and from whom. */
export interface LimitHitDetail {
  /** Remote IP address, when known. */
  address?: string
  /** Remote peer id, when known (after noise). */
  peer?: string
  /** Protocol id, for stream limits. */
  protocol?: string
  /** Human-readable detail (the refusal's message). */
  message?: string
}

export type LimitHitListener = (name: LimitName, detail: LimitHitDetail) => void

export interface HubLimits {
  /**
   * Open + pending connections in all; above it inbound connections are refused. Default 4,096
   * (one per volunteer; each costs the hub a file descriptor and some 100 KiB: the process's
   * open-file limit, `ulimit -n`, must allow it). Flag `--max-connections`.
   */
  maxConnections: number
  /**
   * Idle connections holding no lease are pruned once this many connections are open (default
   * 90% of maxConnections, rounded down), oldest first, down to 80%. Flag `--prune-above`.
   */
  pruneAboveConnections: number
  /** A connection younger than this is never pruned (time to send its first request), in ms. Default 3,000. */
  pruneGraceMs: number
  /**
   * How often the hub pings each open connection, in ms (liveness.ts: spread over the interval,
   * each connection on the anniversary of its opening; a connection whose ping fails is closed).
   * Only for volunteers that vanished without closing: a volunteer pings the hub once a minute
   * itself. Default 300,000 (5 min: 33 pings/s at 10,000 connections; libp2p's own monitor pings
   * every 10 s, all connections in the same instant).
   */
  pingIntervalMs: number
  /** A hub ping not answered within this long closes its connection ('ping-timeout'), in ms. Default 10,000. */
  pingTimeoutMs: number
  /** Connections (pending or open) from one IP address. Default 64 (volunteers behind one NAT). Flag `--max-connections-per-address`. */
  maxConnectionsPerAddress: number
  /** Unfinished upgrades (WebSocket open, noise/yamux not done) in all. Default 64. Flag `--max-pending-upgrades`. */
  maxPendingUpgrades: number
  /** Unfinished upgrades from one IP address. Default 8. */
  maxPendingUpgradesPerAddress: number
  /** New inbound connections per IP address per second. Default 20. */
  inboundConnectionsPerSecond: number
  /** Time an inbound connection has to finish noise + yamux, in ms. Default 5,000. Flag `--upgrade-timeout-ms`. */
  upgradeTimeoutMs: number
  /** Largest WebSocket frame accepted, in bytes (libp2p sends ≤ 64 KiB noise frames). Default 256 KiB. */
  maxWsFrameBytes: number
  /** Request bytes that all streams together may be buffering at once, in bytes. Default 192 MiB. Flag `--max-request-memory`. */
  maxRequestMemoryBytes: number
  /** Largest job request from a peer not in the researcher allowlist (a query), in bytes. Default 64 KiB. */
  maxUnauthorisedJobRequestBytes: number
  /**
   * Bytes of unfinished blob uploads (blob-put/1.0.0) one allowed researcher may have staged on disk
   * at once, counted by each upload's declared totalBytes from its first chunk. Default 64 MiB
   * (an 8 MiB kernel and 32 MiB of packed inputs fit). Flag `--max-staged-bytes`.
   */
  maxStagedBytesPerResearcher: number
  /** Time an unfinished upload is kept from its first chunk, in ms; then it is deleted. Default 600,000 (10 min). */
  stagedUploadTimeoutMs: number
  /**
   * The operator's own addresses (CIDRs such as `10.0.0.0/8` or single IPs: exempt from every
   * connection limit and never pruned) and peer ids (never pruned; a peer id is known only after
   * noise, so it cannot lift the pre-noise limits). Default none. Flag `--allow` (repeatable).
   */
  allow: string[]
  /**
   * Circuit relay v2 (browser to browser): reservations held at once, one per volunteer that
   * shares blobs over WebRTC. Default 1,024.
   */
  maxRelayReservations: number
  /** How long a reservation lasts before the volunteer must renew it, in ms. Default 1,800,000 (30 min). */
  relayReservationTtlMs: number
  /**
   * A relayed connection carries only WebRTC's signalling (SDP offer, answer, ICE candidates) and
   * is reset after this long, in ms. Default 60,000.
   */
  relayConnectionDurationMs: number
  /** ... or after this many bytes in each direction, whichever comes first. Default 131,072 (128 KiB). */
  relayConnectionDataBytes: number
  /** Relayed connections a peer may open, or be the destination of, a minute. Default 30. */
  relayedConnectionsPerPeerPerMinute: number
}

export const DEFAULT_HUB_LIMITS: Readonly<HubLimits> = Object.freeze({
  maxConnections: 4096,
  pruneAboveConnections: Math.floor(4096 * 0.9),
  pingIntervalMs: 300_000,
  pingTimeoutMs: 10_000,
  pruneGraceMs: 3_000,
  maxConnectionsPerAddress: 64,
  maxPendingUpgrades: 64,
  maxPendingUpgradesPerAddress: 8,
  inboundConnectionsPerSecond: 20,
  upgradeTimeoutMs: 5_000,
  maxWsFrameBytes: 256 * 1024,
  maxRequestMemoryBytes: 192 * 1024 * 1024,
  maxUnauthorisedJobRequestBytes: 64 * 1024,
  maxStagedBytesPerResearcher: 64 * 1024 * 1024,
  stagedUploadTimeoutMs: 600_000,
  allow: [],
  maxRelayReservations: 1024,
  relayReservationTtlMs: 1_800_000,
  relayConnectionDurationMs: 60_000,
  relayConnectionDataBytes: 128 * 1024,
  relayedConnectionsPerPeerPerMinute: 30
})

/**
 * Defaults with the given overrides; `pruneAboveConnections` follows `maxConnections` unless given.
 * @throws RangeError for a limit that is not a positive integer (or prune threshold above max)
 */
export function resolveHubLimits (overrides: Partial<HubLimits> = {}): HubLimits {
  const maxConnections = overrides.maxConnections ?? DEFAULT_HUB_LIMITS.maxConnections
  const limits: HubLimits = {
    ...DEFAULT_HUB_LIMITS,
    pruneAboveConnections: Math.floor(maxConnections * 0.9),
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    maxConnections
  }
  for (const [key, value] of Object.entries(limits)) {
    if (key === 'allow') continue
    if (!Number.isInteger(value) || (value as number) < 1) throw new RangeError(`limit ${key} must be a positive integer, got ${String(value)}`)
  }
  if (limits.pruneAboveConnections > limits.maxConnections) throw new RangeError('limit pruneAboveConnections must not exceed maxConnections')
  return limits
}
