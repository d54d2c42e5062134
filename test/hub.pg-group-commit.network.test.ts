/**
 * PostgreSQL's group commit reads a group's rows once (issue 14, PgTx.lockForSubmissions): the
 * locked replicas, their units, the acks of results already stored for them, and for every replica
 * of those units its committed ledger entry and partner-site lease, kept for the transaction
 * (kept-rows.ts) instead of one round trip each a submission. Over real libp2p against a hub on a
 * real PostgreSQL server (a throwaway cluster), volunteers and an attacker as Node peers with their
 * own keys speaking result/2.0.0:
 *
 * - volunteer A's one batch holds its 8 results, two of them twice (one repeat right after its
 *   first, one at the end) and, between them, B's replica signed by A (refused: its savepoint rolls
 *   back, dropping what the transaction kept): the 8 accepted, each repeat answered "duplicate"
 *   with the first one's ack, the stolen one ReplicaNotLeasedError;
 * - B's batch then validates every unit (crediting A's replicas too, whose ledger rows were read
 *   with B's group), and B's batch again is all duplicates with the same acks, no credit twice:
 *   16 ledger entries, one a replica, every replica over, every canonical count = primecount's.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodePrimesInput, decodePrimesOutput, encodePrimesOutput, sha256Bytes, signResult } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { batchClient } from './hub-fixtures.ts'
import { startPgCluster } from './pg-cluster.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { ResultBatchResponse } from '../src/protocol/index.ts'
import type { DialledVolunteer } from './hub-fixtures.ts'

const UNITS = 8
let cluster: PgCluster
let url: string
let hub: RunningHub
let client: ReturnType<typeof batchClient>
const peers: DialledVolunteer[] = []

beforeAll(async () => {
  cluster = startPgCluster()
  url = cluster.database()
  hub = await startHub({
    dataDir: tempDir('hub-pg-group-'),
    store: url,
    sharedDir: tempDir('hub-pg-group-shared-'),
    staticDir: join(REPO_ROOT, 'dist'),
    leaseOrder: 'sequential',
    limits: { maxConnectionsPerAddress: 100, maxPendingUpgradesPerAddress: 100, inboundConnectionsPerSecond: 1000 },
    peerLimits: { workRate: { perSecond: 100, burst: 100 }, resultRate: { perSecond: 100, burst: 100 } }
  })
  client = batchClient(peerIdFromString(hub.peerId))
}, 60_000)

afterAll(async () => {
  await Promise.all(peers.map(async p => { await p.node.stop() }))
  await hub?.stop()
  await cluster?.stop()
}, 60_000)

async function peer (): Promise<DialledVolunteer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

const ackHex = (o: ResultBatchResponse['outcomes'][number]): string => Buffer.from(o.ack?.body ?? new Uint8Array(0)).toString('hex')

describe('PostgreSQL group commit: a group\'s rows read once', () => {
  it('repeats, a refusal mid-batch and a second batch: the right outcomes, credit once a replica, counts = primecount', async () => {
    const { lease, batch, honest } = client
    const job = await hub.core.createPrimesJob({ from: 10_000, to: 10_000 + UNITS * 1000, unit: 1000, quorum: 2 })
    const [a, b] = [await peer(), await peer()]
    const la = await lease(a, UNITS)
    const lb = await lease(b, UNITS)
    expect(la).toHaveLength(UNITS)
    expect(lb.map(l => l.wuId).sort()).toEqual(la.map(l => l.wuId).sort())

    const ra = await Promise.all(la.map(async l => await honest(a, l)))
    const output = encodePrimesOutput(0) as Uint8Array<ArrayBuffer>
    // B's replica, signed by A: passes the signature checks, refused by the store (savepoint rolled back)
    const stolen = await signResult({ replicaId: lb[0].replicaId, wuId: lb[0].wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, a.key)
    // a repeat before the refusal (read from what the transaction kept) and one after it (kept rows dropped with the savepoint)
    const resA = await batch(a, [ra[0], ra[0], ra[1], stolen, ...ra.slice(2), ra[1]])
    expect(resA.outcomes.map(o => [o.status, o.error])).toEqual([
      ['accepted', ''], ['duplicate', ''], ['accepted', ''], ['rejected', 'ReplicaNotLeasedError'],
      ...Array(UNITS - 2).fill(['accepted', '']), ['duplicate', '']
    ])
    // each repeat gets the first one's ack
    expect(ackHex(resA.outcomes[1])).toBe(ackHex(resA.outcomes[0]))
    expect(ackHex(resA.outcomes[UNITS + 2])).toBe(ackHex(resA.outcomes[2]))

    const rb = await Promise.all(lb.map(async l => await honest(b, l)))
    const resB = await batch(b, rb)
    expect(resB.outcomes.map(o => o.status)).toEqual(Array(UNITS).fill('accepted'))
    // B's results validated every unit: B's credit receipts came with the answer, A's with its next poll
    expect(resB.credits).toHaveLength(UNITS)
    expect((await batch(a, [])).credits).toHaveLength(UNITS)
    const again = await batch(b, rb, resB.creditsUpTo)
    expect(again.outcomes.map(o => o.status)).toEqual(Array(UNITS).fill('duplicate'))
    expect(again.outcomes.map(ackHex)).toEqual(resB.outcomes.map(ackHex))
    expect(again.credits).toHaveLength(0)

    expect(await hub.core.jobStatus(job.id)).toMatchObject({ state: 'complete', validated: UNITS, workUnits: UNITS })
    const ledger = await cluster.query<{ replica_id: string, peer_id: string }>(url, 'SELECT replica_id, peer_id FROM ledger WHERE job_id = $1', [job.id])
    expect(ledger).toHaveLength(2 * UNITS)
    expect(new Set(ledger.map(e => e.replica_id)).size).toBe(2 * UNITS)
    expect(ledger.map(e => e.replica_id).sort()).toEqual([...la, ...lb].map(l => l.replicaId).sort())
    const replicas = await cluster.query<{ id: string, state: string, outcome: string }>(url, 'SELECT id, state, outcome FROM replicas WHERE job_id = $1', [job.id])
    expect(replicas).toHaveLength(2 * UNITS)
    expect(replicas.every(r => r.state === 'over' && r.outcome === 'success')).toBe(true)
    // results: A's 8 and B's 8, nothing of the stolen one
    const stored = await cluster.query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM results WHERE job_id = $1', [job.id])
    expect(stored[0].n).toBe(2 * UNITS)
    const canon = await cluster.query<{ input: Uint8Array, output: Uint8Array }>(url, `SELECT w.input, r.output FROM work_units w JOIN results r ON r.id = w.canonical_result_id
      WHERE w.job_id = $1 ORDER BY w.idx`, [job.id])
    expect(canon).toHaveLength(UNITS)
    const expected = await primecountIntervals(canon.map(c => decodePrimesInput(c.input)))
    canon.forEach((c, i) => { expect(BigInt(decodePrimesOutput(c.output))).toBe(expected[i]) })
  }, 90_000)
})
