/**
 * Issue 14's fault case: a hub process killed at random points (SIGKILL, 20 times, SQLite and
 * PostgreSQL) loses no acknowledged result, grants no credit twice, and the job's answer is right.
 *
 * The hub is the real CLI (`sparecycles start`: its demo primes job, resumed on every restart) in
 * a child process on fixed ports and one data dir; three volunteers are Node libp2p peers with
 * their own keys, speaking work/2.0.0 and result/2.0.0 (batches of up to 8), redialling whenever
 * the hub is gone. Every ack a volunteer gets is checked against the hub's key and remembered. A
 * seeded killer SIGKILLs the hub 20 times, 0.3-1.5 s after each start, and starts it again. Then:
 * every acknowledged result is in the store with the acked digest; no replica was credited twice;
 * the ledger chain verifies; every unit's canonical count equals primecount's, and so the total.
 * Each store is read back through a hub (startHub) on it, so both are checked the same way; the
 * PostgreSQL one is a throwaway cluster on a unix socket (scripts/pg-cluster.sh).
 * Bounded: about a minute per store; everything stops by itself.
 */
import { join } from 'node:path'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC_V2, WORK_SPEC_V2, callProtocol, decodePrimesInput, decodePrimesOutput, decodeResultAck, verifyReceipt } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { freePort, kill, sleep, startHubProcess } from './hub-process.ts'
import type { RunningChild } from './hub-process.ts'
import { ledgerKeyFromJson, ledgerKeyOf, sameKey } from '../src/protocol/ledger-key.ts'
import { workUnitId } from '../src/hub/create-work.ts'
import { startPgCluster } from './pg-cluster.ts'
import type { PgCluster } from './pg-cluster.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, resultFor, v2 } from './hub-fixtures.ts'
import { seededRandom } from './seeded-random.ts'
import { primecountIntervals } from './sim/oracle.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const KILLS = 20
const FROM = 0
const TO = 600_000
const UNIT = 2_000

let current: RunningChild | undefined
let cluster: PgCluster | undefined
const nodes: Libp2p[] = []
afterAll(async () => {
  if (current != null) await kill(current)
  await Promise.all(nodes.map(async n => { try { await n.stop() } catch {} }))
  await cluster?.stop()
})

describe.each(['sqlite', 'postgres'] as const)('a hub killed 20 times (SIGKILL, %s)', (kind) => {
  it('loses no acknowledged result, credits nothing twice, and the answer is primecount\'s', async () => {
    const dataDir = tempDir('hub-crash-')
    const sharedDir = join(dataDir, 'shared')
    let storeUrl: string | undefined
    if (kind === 'postgres') {
      cluster ??= startPgCluster()
      storeUrl = cluster.database()
    }
    const storeFlags = storeUrl == null ? [] : ['--store', storeUrl, '--shared-dir', sharedDir]
    const [port, wsPort] = [await freePort(), await freePort()]
    current = await startHubProcess(['start', '--payout', 'off', '--data-dir', dataDir, '--port', String(port), '--ws-port', String(wsPort), '--from', String(FROM), '--to', String(TO), '--unit', String(UNIT), '--max-connections-per-address', '1000', ...storeFlags])
    const hubPeer = peerIdFromString(current.peerId)
    const address = current.multiaddr
    // acks are signed by the deployment's ledger key: the hub's own key, or (PostgreSQL with a
    // shared dir) the shared one, which the hub vouches for in /hub.json (protocol/ledger-key.ts)
    const info = await (await fetch(`http://127.0.0.1:${port}/hub.json`, { signal: AbortSignal.timeout(5_000) })).json() as { ledgerKey?: unknown, ledgerDelegation?: unknown }
    const ledgerKey = await ledgerKeyOf(hubPeer.publicKey!, ledgerKeyFromJson(info))
    if (kind === 'postgres') expect(sameKey(ledgerKey, hubPeer.publicKey!)).toBe(false)
    const acked = new Map<string, { wuId: string, peerId: string, outputSha256: string }>()
    let stopping = false
    let ackErrors = 0

    const volunteer = async (key: PrivateKey): Promise<void> => {
      const id = peerIdFromPrivateKey(key).toString()
      let node: Libp2p | undefined
      while (!stopping) {
        try {
          if (node == null) {
            node = await createTestPeer(key)
            nodes.push(node)
          }
          if (node.getConnections(hubPeer).length === 0) await node.dial(multiaddr(address), { signal: AbortSignal.timeout(3_000) })
          // between rounds it holds nothing (what failed is dropped): the hub resends every lease of
          // its own that is still in progress, so none strands when an answer was lost
          const { leases } = await callProtocol(node, hubPeer, WORK_SPEC_V2, { ...v2(caps(), 8), holding: [], reportsHolding: true }, AbortSignal.timeout(5_000))
          if (leases.length === 0) { await sleep(200); continue }
          const results = await Promise.all(leases.map(async l => {
            const { lo, hi } = decodePrimesInput(l.input)
            return await resultFor({ key, id }, l, countPrimes(lo, hi))
          }))
          const res = await callProtocol(node, hubPeer, RESULT_SPEC_V2, { results, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
          for (const o of res.outcomes) {
            if (o.ack == null) continue
            try {
              await verifyReceipt(o.ack, ledgerKey)
              const ack = decodeResultAck(o.ack)
              acked.set(ack.replicaId, { wuId: ack.wuId, peerId: ack.peerId, outputSha256: Buffer.from(ack.outputSha256).toString('hex') })
            } catch {
              ackErrors++
            }
          }
        } catch {
          // the hub is gone (killed) or restarting: try again soon
          await sleep(100)
        }
      }
    }
    const keys = await Promise.all([0, 1, 2].map(async () => await generateKeyPair('Ed25519')))
    const loops = keys.map(volunteer)

    const random = seededRandom(14)
    for (let k = 0; k < KILLS; k++) {
      await sleep(300 + Math.floor(random() * 1200))
      await kill(current)
      current = await startHubProcess(['start', '--payout', 'off', '--data-dir', dataDir, '--port', String(port), '--ws-port', String(wsPort), '--from', String(FROM), '--to', String(TO), '--unit', String(UNIT), '--max-connections-per-address', '1000', ...storeFlags])
      expect(current.peerId).toBe(hubPeer.toString())
    }
    // let the volunteers finish on the last hub process (`start` posts its demo job again on a
    // restart after the previous one completed: every job must complete)
    const startedWaiting = Date.now()
    let states: string[] = []
    let lastJobs: unknown
    while (Date.now() - startedWaiting < 120_000) {
      const body = await (await fetch(`http://127.0.0.1:${port}/api/jobs`, { signal: AbortSignal.timeout(5_000) })).json() as Array<{ state: string }> | { jobs: Array<{ state: string }> }
      lastJobs = body
      states = (Array.isArray(body) ? body : body.jobs).map(j => j.state)
      if (states.length > 0 && states.every(st => st === 'complete')) break
      await sleep(500)
    }
    stopping = true
    await Promise.all(loops)
    await kill(current)
    current = undefined
    expect(states.length).toBeGreaterThan(0)
    // on failure, say where the jobs stood (which units were left, and why)
    expect(states.every(st => st === 'complete'), JSON.stringify(lastJobs).slice(0, 4000)).toBe(true)
    expect(ackErrors).toBe(0)

    // read the store back through a hub on it (not listening for volunteers' work: none left)
    const hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), ...(storeUrl == null ? {} : { store: storeUrl, sharedDir }) })
    try {
      const jobs = await hub.core.listJobs()
      const units = await hub.core.repo.read(async tx => {
        // every acknowledged result is in the store, with the digest its ack named
        const lost: string[] = []
        for (const [replicaId, a] of acked) {
          const r = await tx.resultForReplica(replicaId)
          if (r == null || r.peer_id !== a.peerId || Buffer.from(r.output_sha256).toString('hex') !== a.outputSha256) lost.push(replicaId)
        }
        expect(lost).toEqual([])
        // no replica credited twice (grants only; a reversal names the entry it reverses)
        const grants = new Map<string, number>()
        for (const row of await tx.ledgerRows(0, 1_000_000)) if ((row.credit_units ?? 0) > 0 || (row.credit_units == null && row.credit > 0)) grants.set(row.replica_id, (grants.get(row.replica_id) ?? 0) + 1)
        expect([...grants].filter(([, n]) => n > 1)).toEqual([])
        expect(grants.size).toBeGreaterThanOrEqual(jobs.length * TO / UNIT)
        const out: Array<{ input: Uint8Array, output: Uint8Array | null }> = []
        for (const job of jobs) {
          for (let i = 0; i < TO / UNIT; i++) {
            const wu = await tx.getWorkUnit(workUnitId(job.id, i))
            expect(wu).toBeDefined()
            const canonical = wu?.canonical_result_id == null ? undefined : await tx.getResult(wu.canonical_result_id)
            out.push({ input: wu!.input, output: canonical?.output ?? null })
          }
        }
        return out
      })
      expect(acked.size).toBeGreaterThan(TO / UNIT)
      // the ledger chain, and every unit's canonical count against primecount
      expect((await hub.core.verifyLedger()).ok).toBe(true)
      const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.input)))
      const wrong = units.filter((u, i) => u.output == null || BigInt(decodePrimesOutput(u.output)) !== expected[i])
      expect(wrong).toEqual([])
      const total = expected.slice(0, TO / UNIT).reduce((a, b) => a + b, 0n)
      for (const job of jobs) expect(BigInt(job.primes ?? -1)).toBe(total)
      console.log(`${kind}: ${KILLS} SIGKILLs: ${acked.size} acknowledged results all stored, ${jobs.length} jobs, ${units.length} units = primecount, ledger verified`)
    } finally {
      await hub.stop()
    }
  }, 300_000)
})
