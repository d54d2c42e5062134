/**
 * Issue 14's fault case: "a PostgreSQL that goes away makes the hub refuse new work with a named
 * error and reconnect, never ack what was not committed". A real hub (startHub on a throwaway
 * PostgreSQL cluster, scripts/pg-cluster.sh) and a volunteer as its own libp2p peer speaking
 * work/2.0.0 and result/2.0.0:
 * - while the server is stopped, a work request is answered with StoreUnavailableError and no
 *   lease, and a batch of results is not acknowledged (the stream is reset; the page keeps them);
 * - once the server is back, the hub reconnects by itself: work is leased again, and the results
 *   sent during the outage are accepted as new (nothing of them was stored), those acked before it
 *   answer "duplicate" with their first ack;
 * - the refusal names nothing of the store (host, socket, user, database); the operator's log has
 *   one line when the server went and one when it came back;
 * - peers connecting during the outage make the hub prune idle connections, which asks the store
 *   who holds leases: unanswerable then, so every connection is kept (and the hub stays up).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC_V2, WORK_SPEC_V2, callProtocol, decodePrimesInput } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2 } from './hub-fixtures.ts'
import { startPgCluster } from './pg-cluster.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Lease, ResultBatchResponse, SignedResult, WorkResponse } from '../src/protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'

const SCRIPT = join(REPO_ROOT, 'scripts', 'pg-cluster.sh')

let cluster: PgCluster
let url: string
let hub: RunningHub
let hubPeer: PeerId
let v: { node: Libp2p, key: PrivateKey, id: string }
const logLines: string[] = []
const extra: Libp2p[] = []

beforeAll(async () => {
  cluster = startPgCluster()
  url = cluster.database()
  const dataDir = tempDir('hub-pg-outage-')
  hub = await startHub({
    dataDir, sharedDir: join(dataDir, 'shared'), store: url, staticDir: join(REPO_ROOT, 'dist'), leaseOrder: 'sequential',
    // pruning starts at 2 connections, for any connection however young
    limits: { pruneAboveConnections: 2, pruneGraceMs: 1 }, log: line => { logLines.push(line) }
  })
  hubPeer = peerIdFromString(hub.peerId)
  await hub.core.createPrimesJob({ from: 0, to: 20_000, unit: 1000, quorum: 2 })
  v = await dialledPeer(hub.multiaddrs[0])
}, 60_000)

afterAll(async () => {
  await v?.node.stop()
  for (const n of extra) await n.stop()
  await hub?.stop()
  await cluster?.stop()
})

const work = async (n: number): Promise<WorkResponse> => await callProtocol(v.node, hubPeer, WORK_SPEC_V2, v2(caps(), n), AbortSignal.timeout(10_000))
const submit = async (results: SignedResult[]): Promise<ResultBatchResponse> => await callProtocol(v.node, hubPeer, RESULT_SPEC_V2, { results, receiptsAfter: 0 }, AbortSignal.timeout(15_000))
const honest = async (l: Lease): Promise<SignedResult> => {
  const { lo, hi } = decodePrimesInput(l.input)
  return await resultFor(v, l, countPrimes(lo, hi))
}

describe('the PostgreSQL server goes away and comes back', () => {
  it('work is refused by name and nothing is acked while it is gone; the hub reconnects by itself', async () => {
    const { leases } = await work(4)
    expect(leases).toHaveLength(4)
    const results = await Promise.all(leases.map(honest))
    const before = await submit(results.slice(0, 2))
    expect(before.outcomes.map(o => o.status)).toEqual(['accepted', 'accepted'])

    execFileSync(SCRIPT, ['stop', cluster.dir])
    const refused = await work(1)
    expect(refused).toMatchObject({ leases: [], error: 'StoreUnavailableError' })
    expect(refused.message).toMatch(/unreachable/)
    for (const secret of [cluster.dir, 'postgres', /^postgres:\/\/[^/]*\/([^?]+)/.exec(url)![1]]) expect(refused.message).not.toContain(secret)
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    expect(logLines.filter(l => l.includes('is unreachable'))).toHaveLength(1)
    expect(logLines.find(l => l.includes('is unreachable'))).toContain(cluster.dir)
    // two more peers: 3 connections, over pruneAboveConnections; nobody's leases can be read
    for (let i = 0; i < 2; i++) extra.push((await dialledPeer(hub.multiaddrs[0])).node)
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(v.node.getConnections(hubPeer)).toHaveLength(1)
    for (const n of extra) expect(n.getConnections(hubPeer)).toHaveLength(1)
    // results are not acknowledged (the stream is reset: a page keeps them in its outbox)
    await expect(submit(results.slice(2))).rejects.toThrow()

    const database = /^postgres:\/\/[^/]*\/([^?]+)/.exec(url)![1]
    execFileSync(SCRIPT, ['start', cluster.dir, database])
    // the client reconnects on its next query: the first request may still meet the old connection
    let again: WorkResponse = refused
    for (let i = 0; i < 20 && again.error !== ''; i++) {
      again = await work(1)
      if (again.error !== '') await new Promise(resolve => setTimeout(resolve, 250))
    }
    expect(again.error).toBe('')
    expect(again.leases).toHaveLength(1)
    expect(logLines.filter(l => l.includes('is reachable again'))).toHaveLength(1)
    // what was sent during the outage was not stored: accepted now; what was acked before: a duplicate, same ack
    const after = await submit(results)
    expect(after.outcomes.map(o => o.status)).toEqual(['duplicate', 'duplicate', 'accepted', 'accepted'])
    expect(Buffer.from(after.outcomes[0].ack!.body)).toEqual(Buffer.from(before.outcomes[0].ack!.body))
    const stored = await hub.core.repo.read(async tx => await Promise.all(leases.map(async l => (await tx.resultForReplica(l.replicaId))?.peer_id)))
    expect(stored).toEqual(Array(4).fill(v.id))
  }, 90_000)
})
