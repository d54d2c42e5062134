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
import {
  BLOB_CHUNK_BYTES, BLOB_PROVIDERS_SPEC, BLOB_SPEC, RESULT_PROTOCOL_V2, WORK_PROTOCOL_V2, callProtocol, cidFromHex, cidToHex, handleProtocol
} from '../../src/protocol/index.ts'
import { createVolunteerNode } from '../../src/volunteer/node.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

interface Asked { peer: string, cid: string, offset: number, atMs: number }

declare global {
  interface Window {
    startLiar: (hubAddr: string) => Promise<string>
    liarAnnounce: (blobs: Array<{ cid: string, bytes: number }>) => Promise<void>
    liarAsked: () => Asked[]
    liarProbe: (hubAddr: string, victim: string, cids: string[]) => Promise<ProbeReport>
  }
}

/** What the liar could get out of an honest tab (test/p2p.netns.test.ts expects none of it to work). */
export interface ProbeReport {
  /** A blob over a plain relayed connection (no WebRTC): 'served', or the error's name. */
  relayedBlob: string
  /** Whether that connection was a limited (relayed) one. */
  relayedLimited: boolean
  /** Errors of failed attempts to dial it (up to 3 attempts). */
  relayedDialErrors: string[]
  /** The hub's work and result protocols opened on the victim's direct connection. */
  workOnVictim: string
  resultOnVictim: string
  /** A blob the victim does not hold (random CID): the error name in the response. */
  unheldBlob: string
  /** Requests for a held 1 MiB block until the victim refused one, and the refusal's name. */
  heldBlobServed: number
  heldBlobRefusal: string
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

const nameOf = (err: unknown): string => err instanceof Error ? err.name : String(err)

window.liarProbe = async (hubAddr, victim, cids): Promise<ProbeReport> => {
  if (node == null) throw new Error('liar not started')
  const n = node
  const victimId = peerIdFromString(victim)
  const report: ProbeReport = { relayedBlob: 'served', relayedLimited: false, relayedDialErrors: [], workOnVictim: 'opened', resultOnVictim: 'opened', unheldBlob: 'served', heldBlobServed: 0, heldBlobRefusal: 'none' }
  // 1. a plain relayed connection to the victim (limited: the relay's bytes and time), then a blob
  for (const c of n.getConnections(victimId)) await c.close().catch(() => {})
  await new Promise(resolve => setTimeout(resolve, 500))
  try {
    let relayed: Connection | undefined
    for (let attempt = 0; relayed == null; attempt++) {
      try {
        // force: a new relayed connection, not one the victim may have opened to us meanwhile
        const c = await n.dial(multiaddr(`${hubAddr}/p2p-circuit/p2p/${victim}`), { signal: AbortSignal.timeout(10_000), force: true })
        if (c.limits != null) relayed = c
        else {
          report.relayedDialErrors.push('NotLimited')
          await c.close().catch(() => {})
          if (attempt >= 2) throw new Error('every relayed dial came back as a direct connection')
        }
      } catch (err) {
        if (relayed != null) break
        report.relayedDialErrors.push(nameOf(err))
        if (attempt >= 2) throw err
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    }
    report.relayedLimited = relayed.limits != null
    const viaRelay = { dialProtocol: async (_p: unknown, protocol: string, options?: { signal?: AbortSignal }) => await relayed.newStream(protocol, { ...options, runOnLimitedConnection: true }), handle: async () => {} }
    const res = await callProtocol(viaRelay, victimId, BLOB_SPEC, { cid: cidFromHex(cids[0]) as Uint8Array<ArrayBuffer>, offset: 0, maxBytes: BLOB_CHUNK_BYTES }, AbortSignal.timeout(5_000))
    report.relayedBlob = res.error === '' ? 'served' : res.error
  } catch (err) { report.relayedBlob = nameOf(err) }
  for (const c of n.getConnections(victimId)) await c.close().catch(() => {})
  // 2. a direct WebRTC connection: the hub's protocols are not served by a volunteer
  // WebRTC through the relay: a dial can time out on a busy machine; three tries
  let direct: Connection | undefined
  for (let attempt = 0; direct == null; attempt++) {
    try {
      direct = await n.dial(multiaddr(`${hubAddr}/p2p-circuit/webrtc/p2p/${victim}`), { signal: AbortSignal.timeout(15_000) })
    } catch (err) {
      if (attempt >= 2) throw err
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
  }
  const conn: Connection = direct
  try { await (await conn.newStream(WORK_PROTOCOL_V2, { signal: AbortSignal.timeout(5_000) })).close() } catch (err) { report.workOnVictim = nameOf(err) }
  try { await (await conn.newStream(RESULT_PROTOCOL_V2, { signal: AbortSignal.timeout(5_000) })).close() } catch (err) { report.resultOnVictim = nameOf(err) }
  const on = { dialProtocol: async (_p: unknown, protocol: string, options?: { signal?: AbortSignal }) => await conn.newStream(protocol, options), handle: async () => {} }
  // 3. a blob the victim does not hold
  const random = crypto.getRandomValues(new Uint8Array(32))
  const unheld = await callProtocol(on, victimId, BLOB_SPEC, { cid: random, offset: 0, maxBytes: BLOB_CHUNK_BYTES }, AbortSignal.timeout(5_000))
  report.unheldBlob = unheld.error === '' ? 'served' : unheld.error
  // 4. a held block again and again: the victim's per-peer serving budget (64 MiB a minute) ends it
  let held: string | undefined
  for (const cid of cids) {
    const res = await callProtocol(on, victimId, BLOB_SPEC, { cid: cidFromHex(cid) as Uint8Array<ArrayBuffer>, offset: 0, maxBytes: BLOB_CHUNK_BYTES }, AbortSignal.timeout(10_000))
    if (res.error === '') { held = cid; report.heldBlobServed++; break }
  }
  for (let i = 0; held != null && i < 80; i++) {
    const res = await callProtocol(on, victimId, BLOB_SPEC, { cid: cidFromHex(held) as Uint8Array<ArrayBuffer>, offset: 0, maxBytes: BLOB_CHUNK_BYTES }, AbortSignal.timeout(10_000))
    if (res.error !== '') { report.heldBlobRefusal = res.error; break }
    report.heldBlobServed++
  }
  return report
}
