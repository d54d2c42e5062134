/**
 * Issue 14's fault case: a hub process killed at random points (SIGKILL, 20 times, SQLite) loses
 * no acknowledged result, grants no credit twice, and the job's answer is right.
 *
 * The hub is the real CLI (`sparecycles start`: its demo primes job, resumed on every restart) in
 * a child process on fixed ports and one data dir; three volunteers are Node libp2p peers with
 * their own keys, speaking work/2.0.0 and result/2.0.0 (batches of up to 8), redialling whenever
 * the hub is gone. Every ack a volunteer gets is checked against the hub's key and remembered. A
 * seeded killer SIGKILLs the hub 20 times, 0.3-1.5 s after each start, and starts it again. Then:
 * every acknowledged result is in the store with the acked digest; no replica was credited twice;
 * the ledger chain verifies; every unit's canonical count equals primecount's, and so the total.
 * Bounded: about a minute; everything stops by itself.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC_V2, WORK_SPEC_V2, callProtocol, decodePrimesInput, decodePrimesOutput, decodeResultAck, verifyReceipt } from '../src/protocol/index.ts'
import { HubCore } from '../src/hub/hub-core.ts'
import { loadOrCreateHubKey } from '../src/hub/hub-key.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import { caps, countPrimes, inspect, resultFor, v2 } from './hub-fixtures.ts'
import { seededRandom } from './seeded-random.ts'
import { primecountIntervals } from './sim/oracle.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const KILLS = 20
const FROM = 0
const TO = 600_000
const UNIT = 2_000

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

interface RunningChild { child: ChildProcess, peerId: string, multiaddr: string }

/** Start `sparecycles start` on the data dir and ports; resolves once it listens. */
async function startHubProcess (dataDir: string, port: number, wsPort: number): Promise<RunningChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'start',
    '--data-dir', dataDir, '--port', String(port), '--ws-port', String(wsPort),
    '--from', String(FROM), '--to', String(TO), '--unit', String(UNIT),
    '--max-connections-per-address', '1000'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hub did not start in 30 s: ${out.slice(-2000)}`)) }, 30_000)
    const onData = (d: Buffer): void => {
      out += d.toString()
      const started = /hub (\S+) started: page \S+, libp2p (\S+)/.exec(out)
      const id = started?.[1]
      const ma = started?.[2]
      if (id != null && ma != null && out.includes('Open http')) {
        clearTimeout(timer)
        resolve({ child, peerId: id, multiaddr: ma })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`hub exited with ${code} before it listened: ${out.slice(-2000)}`)) })
  })
}

async function kill (c: RunningChild): Promise<void> {
  if (c.child.exitCode != null || c.child.signalCode != null) return
  const exited = new Promise(resolve => c.child.once('exit', resolve))
  c.child.kill('SIGKILL')
  await exited
}

let current: RunningChild | undefined
const nodes: Libp2p[] = []
afterAll(async () => {
  if (current != null) await kill(current)
  await Promise.all(nodes.map(async n => { try { await n.stop() } catch {} }))
})

describe('a hub killed 20 times (SIGKILL, SQLite)', () => {
  it('loses no acknowledged result, credits nothing twice, and the answer is primecount\'s', async () => {
    const dataDir = tempDir('hub-crash-')
    const [port, wsPort] = [await freePort(), await freePort()]
    current = await startHubProcess(dataDir, port, wsPort)
    const hubPeer = peerIdFromString(current.peerId)
    const address = current.multiaddr
    const hubKey = hubPeer.publicKey!
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
          const { leases } = await callProtocol(node, hubPeer, WORK_SPEC_V2, v2(caps(), 8), AbortSignal.timeout(5_000))
          if (leases.length === 0) { await sleep(200); continue }
          const results = await Promise.all(leases.map(async l => {
            const { lo, hi } = decodePrimesInput(l.input)
            return await resultFor({ key, id }, l, countPrimes(lo, hi))
          }))
          const res = await callProtocol(node, hubPeer, RESULT_SPEC_V2, { results, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
          for (const o of res.outcomes) {
            if (o.ack == null) continue
            try {
              await verifyReceipt(o.ack, hubKey)
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
      current = await startHubProcess(dataDir, port, wsPort)
      expect(current.peerId).toBe(hubPeer.toString())
    }
    // let the volunteers finish on the last hub process (`start` posts its demo job again on a
    // restart after the previous one completed: every job must complete)
    const startedWaiting = Date.now()
    let states: string[] = []
    while (Date.now() - startedWaiting < 60_000) {
      const body = await (await fetch(`http://127.0.0.1:${port}/api/jobs`)).json() as Array<{ state: string }> | { jobs: Array<{ state: string }> }
      states = (Array.isArray(body) ? body : body.jobs).map(j => j.state)
      if (states.length > 0 && states.every(st => st === 'complete')) break
      await sleep(500)
    }
    stopping = true
    await Promise.all(loops)
    await kill(current)
    current = undefined
    expect(states.length).toBeGreaterThan(0)
    expect(states.every(st => st === 'complete')).toBe(true)
    expect(ackErrors).toBe(0)

    // every acknowledged result is in the store, with the digest its ack named
    const store = inspect({ dataDir })
    const stored = new Map(store.all<{ replica_id: string, peer_id: string, output_sha256: Uint8Array }>('SELECT replica_id, peer_id, output_sha256 FROM results')
      .map(r => [r.replica_id, { peerId: r.peer_id, outputSha256: Buffer.from(r.output_sha256).toString('hex') }]))
    expect(acked.size).toBeGreaterThan(TO / UNIT)
    const lost = [...acked].filter(([replicaId, a]) => stored.get(replicaId)?.outputSha256 !== a.outputSha256 || stored.get(replicaId)?.peerId !== a.peerId)
    expect(lost).toEqual([])
    // no replica credited twice (grants only; a reversal names the entry it reverses)
    const twice = store.all<{ replica_id: string, n: number }>('SELECT replica_id, count(*) AS n FROM ledger WHERE credit_units > 0 GROUP BY replica_id HAVING n > 1')
    expect(twice).toEqual([])
    store.db.close()

    // the ledger chain, and every unit's canonical count against primecount
    const core = await HubCore.open({ dataDir, hubKey: await loadOrCreateHubKey(dataDir) })
    try {
      expect((await core.verifyLedger()).ok).toBe(true)
      const units = inspect({ dataDir }).all<{ job_id: string, input: Uint8Array, output: Uint8Array | null }>('SELECT w.job_id, w.input, r.output FROM work_units w LEFT JOIN results r ON r.id = w.canonical_result_id ORDER BY w.job_seq, w.idx')
      const jobs = await core.listJobs()
      expect(units).toHaveLength(jobs.length * TO / UNIT)
      const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.input)))
      const wrong = units.filter((u, i) => u.output == null || BigInt(decodePrimesOutput(u.output)) !== expected[i])
      expect(wrong).toEqual([])
      const total = expected.slice(0, TO / UNIT).reduce((a, b) => a + b, 0n)
      for (const job of jobs) expect(BigInt(job.primes ?? -1)).toBe(total)
      console.log(`${KILLS} SIGKILLs: ${acked.size} acknowledged results all stored, ${jobs.length} jobs, ${units.length} units each = primecount, ledger verified`)
    } finally {
      await core.close()
    }
  }, 240_000)
})
