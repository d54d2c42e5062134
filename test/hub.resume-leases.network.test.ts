/**
 * Issue 14's fault case over real libp2p: a volunteer whose work response was lost (the hub died
 * after committing the lease, the connection with it) reconnects with its key and gets its own
 * in-progress lease back first (same replica id), once per connection; a second request on the
 * same connection gets new work, so a page running several leases at once is not handed its own
 * again; another peer never gets it; a released lease is not resumed.
 *
 * A page that lists what it holds (work/2.0.0 `reportsHolding`, `holding`) gets back every other
 * in-progress lease of its own on the SAME connection, each time it is missing from the list: a
 * work response that timed out while the connection lived on is not stranded until the lease
 * runs out (BOINC's resend of lost results).
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, createTestPeer, dialledPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, inspect, resultFor, v2 } from './hub-fixtures.ts'
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

describe('a page that lists the leases it holds', () => {
  it('gets the ones missing from its list back on the same connection, every time they are missing; never another peer\'s', async () => {
    await hub.core.createPrimesJob({ from: 0, to: 40_000, unit: 1000, quorum: 2 })
    const a = await dialledPeer(hub.multiaddrs[0])
    nodes.push(a.node)
    const holding = async (n: number, held: string[], release: Array<{ replicaId: string, reason: string }> = []): Promise<Lease[]> =>
      (await callProtocol(a.node, hubPeer, WORK_SPEC_V2, { ...v2(caps(), n, release), holding: held, reportsHolding: true }, AbortSignal.timeout(10_000))).leases
    const first = await holding(3, [])
    expect(first).toHaveLength(3)
    // the page kept only the first (the response "timed out" for the others): they come back first, same ids
    const again = await holding(3, [first[0].replicaId])
    expect(again.slice(0, 2).map(l => l.replicaId)).toEqual([first[1].replicaId, first[2].replicaId])
    expect(again[1]).toMatchObject({ wuId: first[2].wuId, leaseExpiresAtMs: first[2].leaseExpiresAtMs })
    const fresh = again[2]
    expect(first.map(l => l.replicaId)).not.toContain(fresh.replicaId)
    // still missing from the list: sent again (not once per connection)
    const third = await holding(1, [first[0].replicaId, first[2].replicaId, fresh.replicaId])
    expect(third.map(l => l.replicaId)).toEqual([first[1].replicaId])
    // all held: new work only
    const all = [...first, fresh].map(l => l.replicaId)
    const fourth = await holding(2, all)
    expect(fourth.map(l => l.replicaId).filter(id => all.includes(id))).toEqual([])
    // a submitted lease and a released one are not sent again
    const { lo, hi } = decodePrimesInput(first[1].input)
    expect((await callProtocol(a.node, hubPeer, RESULT_SPEC, { result: await resultFor({ key: a.key, id: a.id }, first[1], countPrimes(lo, hi)), receiptsAfter: 0 }, AbortSignal.timeout(10_000))).status).toBe('accepted')
    const after = await holding(8, [], [{ replicaId: first[0].replicaId, reason: 'stopped' }])
    const ids = after.map(l => l.replicaId)
    expect(ids).not.toContain(first[0].replicaId)
    expect(ids).not.toContain(first[1].replicaId)
    expect(ids.slice(0, 4).sort()).toEqual([first[2].replicaId, fresh.replicaId, ...fourth.map(l => l.replicaId)].sort())
    // another peer listing nothing gets none of a's
    const b = await dialledPeer(hub.multiaddrs[0])
    nodes.push(b.node)
    const bLeases = (await callProtocol(b.node, hubPeer, WORK_SPEC_V2, { ...v2(caps(), 8), holding: [], reportsHolding: true }, AbortSignal.timeout(10_000))).leases.map(l => l.replicaId)
    for (const id of ids) expect(bLeases).not.toContain(id)
    // a list over the cap is refused (the stream reset by the schema check), nothing leased
    const inProgress = (): number => inspect(hub.core).get<{ n: number }>("SELECT count(*) AS n FROM replicas WHERE peer_id = ? AND state = 'in-progress'", a.id)!.n
    const held = inProgress()
    await expect(callProtocol(a.node, hubPeer, WORK_SPEC_V2, { ...v2(caps(), 1), holding: Array.from({ length: 257 }, (_, i) => `r${i}`), reportsHolding: true }, AbortSignal.timeout(10_000))).rejects.toThrow()
    expect(inProgress()).toBe(held)
  }, 60_000)
})
