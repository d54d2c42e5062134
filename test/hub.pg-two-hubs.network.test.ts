/**
 * Issue 14, several hubs on one PostgreSQL database: two hubs (startHub, each its own libp2p key
 * and data dir; one database, one shared dir with the deployment's ledger key) and Node libp2p
 * volunteers connected to BOTH, each asking either hub for work and sending each result to either
 * hub (often not the one that leased it), until a quorum-2 primes job is done. Then: every unit
 * validated and assimilated exactly once, with the count primecount gives; no replica handed out
 * twice, no unit with more replicas than its counters say; one ledger chain that verifies; both
 * hubs served leases and results. A real server (scripts/pg-cluster.sh), no mocks.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput, decodePrimesResult } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { StoreUrlError } from '../src/hub/pg-store.ts'
import type { PgHubRepository } from '../src/hub/pg-repository.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2, volunteer } from './hub-fixtures.ts'
import { startPgCluster } from './pg-cluster.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Lease, ResultResponse, WorkResponse } from '../src/protocol/index.ts'
import type { ReplicaRow, WorkUnitRow } from '../src/hub/repository.ts'

const UNITS = 40
const UNIT = 2000
const VOLUNTEERS = 6

let cluster: PgCluster
let url: string
const hubs: RunningHub[] = []
const nodes: Libp2p[] = []

beforeAll(async () => {
  cluster = startPgCluster()
  url = cluster.database()
  const sharedDir = tempDir('hub-shared-')
  // one after the other: the second finds the schema and the ledger key the first made
  for (let i = 0; i < 2; i++) {
    hubs.push(await startHub({ dataDir: tempDir(`hub-${i}-`), store: url, sharedDir, staticDir: join(REPO_ROOT, 'dist'), peerLimits: { workRate: { perSecond: 200, burst: 200 }, resultRate: { perSecond: 200, burst: 200 } } }))
  }
}, 60_000)

afterAll(async () => {
  await Promise.all(nodes.map(async n => { await n.stop() }))
  for (const h of hubs) await h.stop()
  await cluster?.stop()
}, 60_000)

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

describe('two hubs on one PostgreSQL database', () => {
  it('finish a primes job together: each unit validated once, no replica leased twice, one verified ledger chain', async () => {
    const [a, b] = hubs
    expect(a.peerId).not.toBe(b.peerId)
    const job = await a.core.createPrimesJob({ from: 0, to: UNITS * UNIT, unit: UNIT, quorum: 2 })
    const hubPeers: PeerId[] = hubs.map(h => peerIdFromString(h.peerId))
    const handedOut: Array<{ replicaId: string, peer: string, hub: number }> = []
    const served = { leases: [0, 0], results: [0, 0], crossed: 0 }
    const responses: Record<string, number> = {}
    const deadline = Date.now() + 150_000
    let done = false

    const run = async (seed: number): Promise<void> => {
      const v = await volunteer()
      const node = await createTestPeer(v.key)
      nodes.push(node)
      for (const h of hubs) await node.dial(multiaddr(h.multiaddrs[0]))
      let turn = seed
      // each round asks BOTH hubs for work at once (the same peer leasing at two hubs in one
      // instant), then sends every result to either hub at once
      while (!done && Date.now() < deadline) {
        turn++
        const got = await Promise.all([0, 1].map(async from => {
          const res: WorkResponse = await callProtocol(node, hubPeers[from], WORK_SPEC_V2, v2(caps(), 2), AbortSignal.timeout(20_000))
          served.leases[from] += res.leases.length
          return res.leases.map(l => ({ l, from }))
        }))
        const leases = got.flat()
        if (leases.length === 0) { await sleep(100); continue }
        await Promise.all(leases.map(async ({ l, from }, i) => {
          handedOut.push({ replicaId: l.replicaId, peer: v.id, hub: from })
          const { lo, hi } = decodePrimesInput(l.input)
          // about half the results go to the hub that did not lease them
          const to = (turn + seed + i) % 2
          const r: ResultResponse = await callProtocol(node, hubPeers[to], RESULT_SPEC, { result: await resultFor(v, l as Lease, countPrimes(lo, hi)), receiptsAfter: 0 }, AbortSignal.timeout(20_000))
          responses[r.status] = (responses[r.status] ?? 0) + 1
          if (r.status === 'accepted') served.results[to]++
          if (to !== from) served.crossed++
        }))
      }
    }
    const watcher = (async () => {
      while (!done && Date.now() < deadline) {
        await sleep(250)
        if ((await b.core.jobStatus(job.id))?.state === 'complete') done = true
      }
    })()
    await Promise.all([...Array.from({ length: VOLUNTEERS }, async (_, i) => { await run(i) }), watcher])
    done = true

    const status = await a.core.jobStatus(job.id)
    expect(status).toMatchObject({ state: 'complete', validated: UNITS, workUnits: UNITS })
    expect(responses.rejected ?? 0).toBe(0)
    // both hubs leased and stored results
    for (const i of [0, 1]) {
      expect(served.leases[i], `leases from hub ${i}`).toBeGreaterThan(0)
      expect(served.results[i], `results at hub ${i}`).toBeGreaterThan(0)
    }

    expect(served.crossed, 'results sent to the hub that did not lease them').toBeGreaterThan(0)
    // no replica handed out twice, each to the peer the table says
    const ids = handedOut.map(h => h.replicaId)
    expect(new Set(ids).size).toBe(ids.length)
    const replicas = await cluster.query<ReplicaRow>(url, 'SELECT * FROM replicas ORDER BY id')
    expect(replicas).toHaveLength(ids.length)
    const byId = new Map(replicas.map(r => [r.id, r]))
    for (const h of handedOut) expect(byId.get(h.replicaId)?.peer_id).toBe(h.peer)
    const units = await cluster.query<WorkUnitRow>(url, 'SELECT * FROM work_units ORDER BY idx')
    for (const u of units) {
      const mine = replicas.filter(r => r.wu_id === u.id)
      expect(u.replicas_issued, u.id).toBe(mine.length)
      expect(u.in_progress, u.id).toBe(mine.filter(r => r.state === 'in-progress').length)
      expect(new Set(mine.map(r => r.k)).size).toBe(mine.length)
      expect(new Set(mine.map(r => r.peer_id)).size).toBe(mine.length)
    }

    // every unit validated and assimilated once, its canonical count primecount's
    const [jobRow] = await cluster.query<{ wu_validated: number, wu_assimilated: number, wu_failed: number, output: string }>(url, 'SELECT * FROM jobs WHERE id = $1', [job.id])
    expect(jobRow).toMatchObject({ wu_validated: UNITS, wu_assimilated: UNITS, wu_failed: 0 })
    const ranges = units.map(u => decodePrimesInput(u.input))
    const expected = await primecountIntervals(ranges)
    const canon = await cluster.query<{ wu_id: string, output: Uint8Array }>(url, 'SELECT w.id AS wu_id, r.output FROM work_units w JOIN results r ON r.id = w.canonical_result_id ORDER BY w.idx')
    expect(canon).toHaveLength(UNITS)
    canon.forEach((c, i) => {
      expect(units[i].state).toBe('done')
      expect(units[i].assimilated).toBe(1)
      expect(BigInt(decodePrimesResult(new Uint8Array(c.output), ranges[i].lo, ranges[i].hi).count), `unit ${i} against primecount`).toBe(expected[i])
    })
    expect(status?.primes).toBe(Number(expected.reduce((x, y) => x + y, 0n)))

    // one ledger chain, one grant per valid result at most, verified by either hub
    const valid = await cluster.query<{ n: number }>(url, "SELECT count(*) AS n FROM results WHERE validate_state = 'valid'")
    const ledger = await cluster.query<{ n: number, replicas: number }>(url, 'SELECT count(*) AS n, count(DISTINCT replica_id) AS replicas FROM ledger')
    expect(ledger[0].n).toBe(ledger[0].replicas)
    expect(ledger[0].n).toBe(valid[0].n)
    expect(ledger[0].n).toBeGreaterThanOrEqual(UNITS * 2)
    for (const h of hubs) expect(await h.core.repo.read(async tx => await h.core.ledger.verifyChain(tx))).toEqual({ ok: true, entries: ledger[0].n })
    const retries = hubs.map(h => JSON.stringify((h.core.repo as PgHubRepository).retriesByCode))
    process.stderr.write(`two hubs: leases ${served.leases.join('/')}, results ${served.results.join('/')} (${served.crossed} at the other hub), responses ${JSON.stringify(responses)}, transactions retried ${retries.join('/')}\n`)
  }, 200_000)

  it('create jobs at both hubs at once without colliding ids', async () => {
    const jobs = await Promise.all(hubs.flatMap(h => [0, 1].map(async i => await h.core.createPrimesJob({ from: 0, to: 2000 * (i + 1), unit: 1000 }))))
    expect(new Set(jobs.map(j => j.id)).size).toBe(4)
    const rows = await cluster.query<{ id: string, seq: number, wu_count: number }>(url, 'SELECT id, seq, wu_count FROM jobs ORDER BY seq')
    expect(rows.map(r => r.seq)).toEqual([1, 2, 3, 4, 5])
    expect(rows.map(r => r.id)).toEqual(['job-1', 'job-2', 'job-3', 'job-4', 'job-5'])
  })

  it('refuses a hub of another deployment (another ledger key) on the database', async () => {
    await expect(startHub({ dataDir: tempDir('hub-stranger-'), store: url, sharedDir: tempDir('hub-other-shared-'), staticDir: join(REPO_ROOT, 'dist') })).rejects.toThrow(/belongs to hub/)
    await expect(startHub({ dataDir: tempDir('hub-stranger-'), store: 'postgres://postgres@/sparecycles?sslmode=prefer', staticDir: join(REPO_ROOT, 'dist') })).rejects.toThrow(StoreUrlError)
  })
})
