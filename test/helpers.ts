/** Shared test fixtures: temp dirs, a Node libp2p client (and a dialled peer), known answers from ../shared/reference. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { VOLUNTEER_PING_INTERVAL_MS } from '../src/protocol/wire.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

export const REPO_ROOT = new URL('..', import.meta.url).pathname
export const KNOWN_ANSWERS_PATH = join(REPO_ROOT, '..', 'shared', 'reference', 'known-answers.md')

export function tempDir (prefix = 'sparecycles-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** π(x) rows of the known-answers table, keyed by x. */
export function knownPi (): Map<number, number> {
  const text = readFileSync(KNOWN_ANSWERS_PATH, 'utf8')
  const table = new Map<number, number>()
  for (const m of text.matchAll(/^\|\s*(10(?:\^(\d+))?)\s*\|\s*([\d,]+)\s*\|$/gm)) {
    const x = m[2] != null ? 10 ** Number(m[2]) : 10
    table.set(x, Number(m[3].replace(/,/g, '')))
  }
  return table
}

/** A Node libp2p peer like the browser's (WebSockets, noise, yamux, identify). */
export async function createTestPeer (privateKey?: PrivateKey, listen: string[] = []): Promise<Libp2p> {
  return createLibp2p({
    privateKey: privateKey ?? await generateKeyPair('Ed25519'),
    addresses: { listen },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    // as a volunteer's page does (src/volunteer/node.ts)
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionMonitor: { pingInterval: VOLUNTEER_PING_INTERVAL_MS },
    services: { identify: identify() }
  })
}

/** A peer of its own (libp2p node and Ed25519 key) dialled to `address`; the caller stops its node. */
export async function dialledPeer (address: string): Promise<{ node: Libp2p, key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  const node = await createTestPeer(key)
  await node.dial(multiaddr(address))
  return { node, key, id: peerIdFromPrivateKey(key).toString() }
}
