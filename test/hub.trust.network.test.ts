/**
 * Issue 10's attacks over real libp2p (WebSockets on loopback, noise, yamux) against a real hub
 * (startHub, SQLite in a temp dir), each attacker its own node and Ed25519 key, on the test kernel
 * `trust-test/1` with its fake spot check (trust-fixtures.ts), policy `adaptive`:
 * two colluding fresh keys hoarding at job start and answering prime-number-theorem estimates at
 * once get no canonical result and net 0 credit; a lone honest volunteer earns validated credit
 * once its passed spot checks make it trusted;
 * six fresh keys that lease everything and give it back `failed` or report client errors never
 * fail the job; honest steady state (peers trusted after a first job) stays at about one replica per
 * validated unit.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput, encodePrimesOutput, sha256Bytes, signResult, verifyReceipt } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { REPO_ROOT, tempDir, dialledPeer } from './helpers.ts'
import { caps, countPrimes, inspect, v2 } from './hub-fixtures.ts'
import { TRUST_KERNEL, createTrustJob, defineTrustKernel, estimate } from './trust-fixtures.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Lease, ResultResponse, WorkResponse } from '../src/protocol/index.ts'

interface Peer { node: Libp2p, key: PrivateKey, id: string }

let hub: RunningHub
let hubPeer: PeerId
const peers: Peer[] = []
const PAGE = caps({ kernels: [TRUST_KERNEL] })

beforeAll(async () => {
  // these simulated volunteers answer without computing, far faster than a page: the per-peer
  // request rates (tested in hub.limits.peers.test.ts) are opened up so trust is what is tested
  const rate = { perSecond: 10_000, burst: 10_000 }
  hub = await startHub({ dataDir: tempDir('hub-trust-net-'), staticDir: join(REPO_ROOT, 'dist'), peerLimits: { workRate: rate, resultRate: rate, receiptsRate: rate } })
  hubPeer = peerIdFromString(hub.peerId)
  defineTrustKernel(hub.core)
})

afterAll(async () => {
  await Promise.all(peers.map(async p => p.node.stop()))
  await hub?.stop()
})

/** A peer of its own: its own libp2p node and Ed25519 key, dialled to the hub (helpers.ts). */
async function peer (): Promise<Peer> {
  const p = await dialledPeer(hub.multiaddrs[0])
  peers.push(p)
  return p
}

async function work (p: Peer, n: number, release: Array<{ replicaId: string, reason: string }> = []): Promise<WorkResponse> {
  return await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(PAGE, n, release), AbortSignal.timeout(10_000))
}

async function submit (p: Peer, l: Lease, count: number | 'error'): Promise<ResultResponse> {
  const output = (count === 'error' ? new Uint8Array(0) : encodePrimesOutput(count)) as Uint8Array<ArrayBuffer>
  const signed = await signResult({
    replicaId: l.replicaId, wuId: l.wuId, outcome: count === 'error' ? 'client-error' : 'success', output,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: count === 'error' ? 'trap' : ''
  }, p.key)
  return await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
}

const truth = (l: Lease): number => { const { lo, hi } = decodePrimesInput(l.input); return countPrimes(lo, hi) }
const guess = (l: Lease): number => { const { lo, hi } = decodePrimesInput(l.input); return estimate(lo, hi) }

/** Honest peers lease and answer until the job is settled (or `rounds` run out). */
async function honestUntilDone (jobId: string, honest: Peer[], rounds = 200): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    if ((await hub.core.jobStatus(jobId))?.state !== 'running') return
    await Promise.all(honest.map(async h => {
      for (const l of (await work(h, 8)).leases) await submit(h, l, truth(l))
    }))
  }
}

/** Every canonical result of a job checked against the reference sieve: how many are wrong, and how many of those these peers sent. */
function wrongCanonical (jobId: string, ids: string[]): { wrong: number, wrongByThem: number } {
  const rows = inspect(hub.core).all<{ peer_id: string, output: Uint8Array, input: Uint8Array }>(
    'SELECT r.peer_id, r.output, w.input FROM work_units w JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ?', jobId)
  const wrong = rows.filter(r => {
    const { lo, hi } = decodePrimesInput(new Uint8Array(r.input))
    return Number(new DataView(new Uint8Array(r.output).buffer).getBigUint64(0, true)) !== countPrimes(lo, hi)
  })
  return { wrong: wrong.length, wrongByThem: wrong.filter(r => ids.includes(r.peer_id)).length }
}

describe('trust over libp2p (issue 10)', () => {
  it('two colluding fresh keys hoarding at job start with instant estimates: 0 canonical results, 0 net credit, honest credit whole', async () => {
    const jobId = await createTrustJob(hub.core, 200, 1000)
    const cheaters = [await peer(), await peer()]
    // they lease as much as they can at job start and answer at once with the estimate
    const first = await Promise.all(cheaters.map(async c => (await work(c, 16)).leases))
    // an attacker's submission may be refused or reset (result-rate limit): it just goes on
    const attempt = async (c: Peer, l: Lease): Promise<void> => { try { await submit(c, l, guess(l)) } catch {} }
    await Promise.all(cheaters.map(async (c, i) => { for (const l of first[i]) await attempt(c, l) }))
    const honest = [await peer(), await peer(), await peer()]
    // the cheaters keep asking while honest peers work
    const attack = (async () => {
      for (let r = 0; r < 20; r++) {
        for (const c of cheaters) for (const l of (await work(c, 16)).leases) await attempt(c, l)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()
    await honestUntilDone(jobId, honest)
    await attack
    const s = await hub.core.jobStatus(jobId)
    expect(s).toMatchObject({ state: 'complete', validated: 200, output: { primes: countPrimes(0, 200_000) } })
    const ids = cheaters.map(c => c.id)
    // per unit, not only the total: no canonical count is wrong (a cheater's estimate that happens to
    // be exact is a right answer; its credit is still reversed once the cheater is caught)
    expect(wrongCanonical(jobId, ids)).toEqual({ wrong: 0, wrongByThem: 0 })
    for (const id of ids) expect(await hub.core.ledgerBalance(id)).toBeCloseTo(0, 12)
    // no honest credit lost: no honest result was judged invalid, and every valid one is credited
    const honestIds = honest.map(h => h.id)
    const honestResults = inspect(hub.core).all<{ peer_id: string, validate_state: string | null }>(
      "SELECT peer_id, validate_state FROM results WHERE job_id = ? AND outcome = 'success'", jobId).filter(r => honestIds.includes(r.peer_id))
    expect(honestResults.filter(r => r.validate_state === 'invalid')).toEqual([])
    const validHonest = honestResults.filter(r => r.validate_state === 'valid').length
    expect(validHonest).toBeGreaterThanOrEqual(200)
    const byHonest = inspect(hub.core).all<{ peer_id: string }>('SELECT r.peer_id FROM work_units w JOIN results r ON r.id = w.canonical_result_id WHERE w.job_id = ?', jobId)
      .filter(r => honestIds.includes(r.peer_id)).length
    expect(byHonest).toBeGreaterThanOrEqual(190)
    const honestCredit = honest.reduce((n, h) => n + (s!.credit[h.id] ?? 0), 0)
    expect(honestCredit).toBeCloseTo(validHonest * 0.001, 9)
    expect(await hub.core.verifyLedger()).toMatchObject({ ok: true })
    console.log(`two cheaters: ${s!.spotCheckFailures} caught, ${s!.replicasIssued} replicas for 200 units (${s!.replicasPerValidated.toFixed(3)}), checking cost ${(100 * s!.checkingCost).toFixed(1)}%`)
  }, 120_000)

  it('a lone honest volunteer earns validated credit and a receipt that verifies', async () => {
    // its first results are spot-checked and wait for a replica (nobody else is here); each passed
    // check adds to its CV, so after the trust threshold its results stand alone and are credited
    const jobId = await createTrustJob(hub.core, 20, 1000)
    const lone = await peer()
    const credited: ResultResponse[] = []
    for (let r = 0; r < 6 && credited.length === 0; r++) {
      for (const l of (await work(lone, 8)).leases) {
        const res = await submit(lone, l, truth(l))
        expect(res.status).toBe('accepted')
        if (res.credits.length > 0) credited.push(res)
      }
    }
    expect(credited.length).toBeGreaterThan(0)
    for (const c of credited[0].credits) await verifyReceipt(c, peerIdFromString(hub.peerId).publicKey!)
    expect(await hub.core.ledgerBalance(lone.id)).toBeGreaterThan(0)
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ volunteers: 1 })
    // the units that wait for a replica are done once a second volunteer comes
    await honestUntilDone(jobId, [lone, await peer()])
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ state: 'complete', validated: 20 })
  }, 60_000)

  it('six fresh keys that lease every unit and give it back or report client errors never fail the job', async () => {
    const jobId = await createTrustJob(hub.core, 20, 1000)
    const sybils = await Promise.all(Array.from({ length: 6 }, async () => await peer()))
    const t0 = Date.now()
    for (let r = 0; r < 12; r++) {
      await Promise.all(sybils.map(async (s, i) => {
        const leases = (await work(s, 16)).leases
        if (i % 2 === 0) await work(s, 0, leases.map(l => ({ replicaId: l.replicaId, reason: 'failed' })))
        else for (const l of leases) await submit(s, l, 'error')
      }))
    }
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ state: 'running', failed: 0 })
    console.log(`six sybils: ${(await hub.core.jobStatus(jobId))!.replicasIssued} replicas burnt in ${Date.now() - t0} ms; job still running, 0 units failed`)
    await honestUntilDone(jobId, [await peer(), await peer()])
    expect(await hub.core.jobStatus(jobId)).toMatchObject({ state: 'complete', failed: 0, validated: 20 })
  }, 120_000)

  it('honest steady state: replicas per validated unit <= 1.1, checking cost < 5%', async () => {
    const honest = [await peer(), await peer(), await peer(), await peer()]
    // a first job is where the four earn trust (each untrusted result spot-checked and replicated)
    const warm = await createTrustJob(hub.core, 40, 1000)
    await honestUntilDone(warm, honest)
    const w = (await hub.core.jobStatus(warm))!
    expect(w).toMatchObject({ state: 'complete', validated: 40, invalidResults: 0 })
    const jobId = await createTrustJob(hub.core, 200, 1000)
    await honestUntilDone(jobId, honest)
    const s = (await hub.core.jobStatus(jobId))!
    expect(s).toMatchObject({ state: 'complete', validated: 200, invalidResults: 0 })
    expect(s.replicasPerValidated).toBeLessThanOrEqual(1.1)
    expect(s.checkingCost).toBeLessThan(0.05)
    console.log(`over libp2p: trust earned with ${w.replicasIssued} replicas for 40 units; steady state ${s.replicasIssued} replicas for 200 units (${s.replicasPerValidated.toFixed(3)}), ${s.spotChecks} spot checks, checking cost ${(100 * s.checkingCost).toFixed(2)}%`)
  }, 120_000)
})
