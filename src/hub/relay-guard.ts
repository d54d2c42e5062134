/**
 * Limits of the hub's circuit relay v2 server beyond the ones libp2p applies itself (each relayed
 * connection reset after `relayConnectionDurationMs` or `relayConnectionDataBytes`, at most
 * `maxRelayReservations` reservations, none over a relayed connection): how many relayed
 * connections one peer may open, or be the destination of, a minute. So the relay carries WebRTC
 * signalling between volunteers and cannot be used as free transit: at 128 KiB and 60 s a
 * connection and 30 connections a minute, one peer moves at most ~3.8 MiB a minute through it.
 * Each refusal is reported to `onLimitHit` ('relayed-connection-rate', 'relay-reservation').
 */
import { RateLimiter } from '@libp2p/utils'
import type { HubLimits, LimitHitListener } from './limits.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'

export class RelayGuard {
  private readonly rate: RateLimiter
  private relay?: CircuitRelayService
  private node?: Libp2p

  constructor (private readonly limits: HubLimits, private readonly onLimitHit: LimitHitListener) {
    this.rate = new RateLimiter({ points: limits.relayedConnectionsPerPeerPerMinute, duration: 60 })
  }

  /** The relay whose reservations are counted (after createLibp2p). */
  attach (node: Libp2p, relay: CircuitRelayService): void {
    this.node = node
    this.relay = relay
  }

  /** Gater methods to merge into the hub's connection gater. */
  readonly gater: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'> = {
    denyInboundRelayReservation: (source: PeerId): boolean => {
      const held = this.relay?.reservations
      if (held != null && !held.has(source) && held.size >= this.limits.maxRelayReservations) {
        this.onLimitHit('relay-reservation', { peer: source.toString(), message: `${this.limits.maxRelayReservations} relay reservations already held` })
        return true
      }
      return false
    },
    denyOutboundRelayedConnection: (source: PeerId, destination: PeerId): boolean => {
      for (const peer of [source, destination]) {
        try {
          this.rate.consume(peer.toString(), 1)
        } catch {
          this.onLimitHit('relayed-connection-rate', { peer: peer.toString(), message: `more than ${this.limits.relayedConnectionsPerPeerPerMinute} relayed connections a minute` })
          return true
        }
      }
      // a destination must be connected to this hub directly (its reservation is on this connection)
      return this.node != null && this.node.getConnections(destination).every(c => c.limits != null)
    }
  }
}
