/**
 * The browser's libp2p node: WebSockets, noise, yamux, identify. The browser's default connection
 * gater refuses `ws://` and private addresses; we allow `ws://` to loopback only (a hub on this
 * machine) and otherwise require secure WebSockets to public addresses.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
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

export async function createVolunteerNode (privateKey: PrivateKey): Promise<Libp2p> {
  return createLibp2p({
    privateKey,
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    connectionGater: { denyDialMultiaddr: denyDialFromBrowser }
  })
}
