/**
 * A lying volunteer, run in its own Chromium tab (bundled by esbuild for the browser): the page's
 * own libp2p node setup (WebSockets to the hub, WebRTC through its relay), its own key. It tells
 * the hub it holds every blob it is given (`blob-providers/1.0.0` with `have`), and answers every
 * blob request with the right size and random bytes. It records who asked for what, so the test
 * can check that a peer it lied to never asks again.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { BLOB_CHUNK_BYTES, BLOB_PROVIDERS_SPEC, BLOB_SPEC, callProtocol, cidFromHex, cidToHex, handleProtocol } from '../../src/protocol/index.ts'
import { createVolunteerNode } from '../../src/volunteer/node.ts'
import type { Libp2p } from '@libp2p/interface'

interface Asked { peer: string, cid: string, offset: number, atMs: number }

declare global {
  interface Window {
    startLiar: (hubAddr: string) => Promise<string>
    liarAnnounce: (blobs: Array<{ cid: string, bytes: number }>) => Promise<void>
    liarAsked: () => Asked[]
  }
}

let node: Libp2p | undefined
const asked: Asked[] = []
const sizes = new Map<string, number>()

window.startLiar = async (hubAddr: string): Promise<string> => {
  node = await createVolunteerNode(await generateKeyPair('Ed25519'))
  await handleProtocol(node, BLOB_SPEC, async (req, connection) => {
    const cid = cidToHex(req.cid)
    asked.push({ peer: connection.remotePeer.toString(), cid, offset: req.offset, atMs: Date.now() })
    const total = sizes.get(cid) ?? BLOB_CHUNK_BYTES
    const data = new Uint8Array(Math.max(0, Math.min(total - req.offset, req.maxBytes, BLOB_CHUNK_BYTES)))
    for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(data.length, i + 65536)))
    return { error: '', message: '', offset: req.offset, totalBytes: total, data }
  })
  await node.dial(multiaddr(hubAddr), { signal: AbortSignal.timeout(10_000) })
  // wait for the relay reservation (other volunteers dial us through the hub)
  const deadline = Date.now() + 20_000
  while (!node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))) {
    if (Date.now() > deadline) throw new Error('liar: no relay reservation within 20 s')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return node.peerId.toString()
}

window.liarAnnounce = async (blobs): Promise<void> => {
  if (node == null) throw new Error('liar not started')
  const hub = node.getConnections().find(c => c.limits == null && !c.remoteAddr.toString().includes('webrtc'))
  if (hub == null) throw new Error('liar: not connected to the hub')
  for (const b of blobs) {
    sizes.set(b.cid, b.bytes)
    await callProtocol(node, peerIdFromString(hub.remotePeer.toString()), BLOB_PROVIDERS_SPEC, { cid: cidFromHex(b.cid) as Uint8Array<ArrayBuffer>, have: true }, AbortSignal.timeout(5_000))
  }
}

window.liarAsked = () => asked
