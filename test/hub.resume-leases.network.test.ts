/**
 * Issue 14's fault case over real libp2p: a volunteer whose work response was lost (the hub died
 * after committing the lease, the connection with it) reconnects with its key and gets its own
 * in-progress lease back first (same replica id), once per connection; a second request on the
 * same connection gets new work, so a page running several leases at once is not handed its own
 * again; another peer never gets it; a released lease is not resumed.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, createTestPeer, dialledPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2 } from './hub-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Lease, WorkResponse } from '../src/protocol/index.ts'

let hub: RunningHub
let hubPeer: PeerId
const nodes: Libp2p[] = []

beforeAll(async () => {
  hub = await startHub({ dataDir: tempDir('hub-resume-'), staticDir: join(REPO_ROOT, 'dist'), leaseOrder: 'sequential' })
  hubPeer = peerIdFromString(hub.peerId)
  await hub.core.createPrimesJob({ from: 0, to: 10_000, unit: 1000, quorum: 2 })
})

afterAll(async () => {
  await Promise.all(nodes.map(async n => { await n.stop() }))
  await hub?.stop()
})

async function work (node: Libp2p, n = 1, release: Array<{ replicaId: string, reason: string }> = []): Promise<WorkResponse> {
  return await callProtocol(node, hubPeer, WORK_SPEC_V2, v2(caps(), n, release), AbortSignal.timeout(10_000))
}

/** A new libp2p node with `key` dialled to the hub: the same volunteer on a new connection. */
async function reconnect (key: PrivateKey): Promise<Libp2p> {
  const node = await createTestPeer(key)
  nodes.push(node)
  await node.dial(multiaddr(hub.multiaddrs[0]))
  return node
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

describe('a peer asking for work gets its own in-progress leases back first', () => {
  it('after its connection died, once per connection; never to another peer', async () => {
    const a = await dialledPeer(hub.multiaddrs[0])
    nodes.push(a.node)
    const [lost] = (await work(a.node)).leases
    expect(lost).toBeDefined()
    // on the same connection a second request gets new work (a page running two leases at once)
    const [second] = (await work(a.node)).leases
    expect(second.replicaId).not.toBe(lost.replicaId)
    // the response "died": the volunteer's node goes, the volunteer comes back with its key
    await a.node.stop()
    await sleep(10)
    const again = await reconnect(a.key)
    const resumed = (await work(again, 3)).leases
    expect(resumed.slice(0, 2).map(l => l.replicaId)).toEqual([lost.replicaId, second.replicaId])
    expect(resumed[0]).toMatchObject({ wuId: lost.wuId, leaseExpiresAtMs: lost.leaseExpiresAtMs })
    expect(resumed).toHaveLength(3)
    // once per connection: the next request on this connection gets new work only
    const next = (await work(again, 2)).leases
    expect(next.map(l => l.replicaId)).not.toContain(lost.replicaId)
    expect(next.map(l => l.replicaId)).not.toContain(second.replicaId)
    // another peer never gets a's replicas
    const b = await dialledPeer(hub.multiaddrs[0])
    nodes.push(b.node)
    const bLeases = (await work(b.node, 8)).leases.map(l => l.replicaId)
    for (const l of [...resumed, ...next]) expect(bLeases).not.toContain(l.replicaId)
    // the resumed lease is a's to submit: accepted
    const { lo, hi } = decodePrimesInput(lost.input)
    const res = await callProtocol(again, hubPeer, RESULT_SPEC, { result: await resultFor({ key: a.key, id: a.id }, lost, countPrimes(lo, hi)), receiptsAfter: 0 }, AbortSignal.timeout(10_000))
    expect(res.status).toBe('accepted')
    // a submitted one and a released one are not resumed on a third connection
    await work(again, 0, [{ replicaId: second.replicaId, reason: 'stopped' }])
    await again.stop()
    await sleep(10)
    const third = await reconnect(a.key)
    const after = (await work(third, 8)).leases.map((l: Lease) => l.replicaId)
    expect(after).not.toContain(lost.replicaId)
    expect(after).not.toContain(second.replicaId)
    expect(after.slice(0, 3).sort()).toEqual([...resumed.slice(2), ...next].map(l => l.replicaId).sort())
  }, 60_000)
})
