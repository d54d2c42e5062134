/**
 * The browser's libp2p node: WebSockets to the hub, and WebRTC to other volunteers (browser to
 * browser: js-libp2p's setup, `@libp2p/webrtc` with `@libp2p/circuit-relay-v2`'s transport).
 * It listens on `/p2p-circuit` (a reservation on the hub's relay, found through identify once the
 * hub is connected) and `/webrtc`, so other volunteers can dial it at
 * `<hub>/p2p-circuit/webrtc/p2p/<this peer>`: the relayed connection carries only the SDP and ICE
 * exchange (the hub limits it in bytes and time), the data then flows over a direct WebRTC
 * connection (noise-authenticated). STUN servers only where the hub names them (`/hub.json`
 * iceServers, the operator's choice); otherwise the page contacts nobody but its hub and peers and
 * ICE uses host candidates, so peers reach each other on one network or on public addresses. DCUtR is not used: it upgrades relayed connections to direct
 * TCP/QUIC ones, which browsers cannot open; WebRTC is the browser's direct path.
 *
 * The browser's default connection gater refuses `ws://` and private addresses; we allow `ws://`
 * to loopback only (a hub on this machine) and otherwise require secure WebSockets to public
 * addresses. Relayed connections are accepted only through `isRelayAllowed` (the hub).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { VOLUNTEER_PING_INTERVAL_MS } from '../protocol/wire.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PRIVATE_V4 = /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|0\.)/

/** true when the address must not be dialled from a browser. */
export function denyDialFromBrowser (ma: Multiaddr): boolean {
  const components = ma.getComponents()
  const hostPart = components[0]
  const host = hostPart?.value ?? ''
  const names = components.map(c => c.name)
  const loopback = (hostPart?.name === 'ip4' && host.startsWith('127.')) ||
    (hostPart?.name === 'ip6' && host === '::1') ||
    (hostPart?.name.startsWith('dns') === true && host === 'localhost')
  if (loopback) return false
  const secure = names.includes('wss') || (names.includes('tls') && names.includes('ws'))
  if (!secure) return true
  if (hostPart?.name === 'ip4' && PRIVATE_V4.test(host)) return true
  if (hostPart?.name === 'ip6' && /^(fc|fd|fe80)/i.test(host)) return true
  return false
}

/**
 * Whether this browser can gather any ICE candidate without STUN (an interface other than
 * loopback): without one no WebRTC connection can form, so a page that has none neither listens
 * for other volunteers nor dials them (each dial would only run into its timeout). Resolves at the
 * first candidate, at the end of gathering, or after `timeoutMs` (false); false without WebRTC.
 */
export async function canGatherIceCandidates (timeoutMs = 1500): Promise<boolean> {
  if (typeof globalThis.RTCPeerConnection !== 'function') return false
  const pc = new RTCPeerConnection({ iceServers: [] })
  try {
    const found = new Promise<boolean>(resolve => {
      pc.addEventListener('icecandidate', evt => { resolve(evt.candidate != null && evt.candidate.candidate !== '') })
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(false) })
      setTimeout(() => { resolve(false) }, timeoutMs)
    })
    pc.createDataChannel('probe')
    await pc.setLocalDescription(await pc.createOffer())
    return await found
  } catch {
    return false
  } finally {
    pc.close()
  }
}

export interface VolunteerNodeOptions {
  /** Accept relayed connections (WebRTC signalling) only through this relay; default any. */
  isRelayAllowed?: (relay: PeerId) => boolean
  /** Listen for other volunteers over WebRTC through the hub's relay (default true). */
  peerToPeer?: boolean
  /** STUN servers for WebRTC, read at each connection (the hub's `/hub.json` iceServers); default none. */
  iceServers?: () => string[]
}

/** The page's libp2p node (started). @throws Error when libp2p cannot start */
export async function createVolunteerNode (privateKey: PrivateKey, opts: VolunteerNodeOptions = {}): Promise<Libp2p> {
  const p2p = opts.peerToPeer !== false
  return createLibp2p({
    privateKey,
    addresses: { listen: p2p ? ['/p2p-circuit', '/webrtc'] : [] },
    transports: p2p
      ? [webSockets(), webRTC({ rtcConfiguration: () => { const urls = opts.iceServers?.() ?? []; return { iceServers: urls.length > 0 ? [{ urls }] : [] } } }), circuitRelayTransport({ reservationCompletionTimeout: 10_000 })]
      : [webSockets()],
    connectionEncrypters: [noise()],
    // no yamux keepalive frames (every 30 s, they abort nothing): the connection monitor's pings
    // below find a dead peer, and the hub answers one ping stream a minute instead of two frames
    streamMuxers: [yamux({ enableKeepAlive: false })],
    // a volunteer keeps few peers: the hub and the volunteers it fetches blobs from or serves
    connectionManager: { maxConnections: 64 },
    connectionMonitor: { pingInterval: VOLUNTEER_PING_INTERVAL_MS },
    services: { identify: identify() },
    connectionGater: {
      denyDialMultiaddr: denyDialFromBrowser,
      denyInboundRelayedConnection: (relay: PeerId) => opts.isRelayAllowed != null && !opts.isRelayAllowed(relay)
    }
  })
}
