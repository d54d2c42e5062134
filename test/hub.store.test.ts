/**
 * Issue 14, the repository seam: the same cases against SQLite and against PostgreSQL (a real
 * server, started here with scripts/pg-cluster.sh; missing PostgreSQL fails the file, never skips
 * it): the ledger's append-only rule, leasing, savepoint rollback, result uniqueness, a small
 * primes job through HubCore with every count checked against primecount, and both stores ending
 * a deterministic job with the same rows. Then PostgreSQL with two repositories (two hubs) on one
 * database: SKIP LOCKED leases, a work unit locked before its results are read, one ledger
 * appender, a deadlock retried (also one a savepoint caught); and the store URL checks.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { PgHubRepository } from '../src/hub/pg-repository.ts'
import { StoreSchemaError, StoreUrlError, parseStoreUrl } from '../src/hub/pg-store.ts'
import { SqliteHubRepository } from '../src/hub/sqlite-repository.ts'
import { decodePrimesInput, decodePrimesResult } from '../src/protocol/primes.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import { resultFor, volunteer } from './hub-fixtures.ts'
import { startPgCluster } from './pg-cluster.ts'
import { primecountIntervals } from './sim/oracle.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { HubRepository, LedgerRow, NewReplica, NewResult, RepoReader, RepoTx } from '../src/hub/repository.ts'
import type { PrivateKey } from '@libp2p/interface'

let cluster: PgCluster
const dirs: string[] = []

beforeAll(() => { cluster = startPgCluster() })
afterAll(async () => {
  await cluster?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tempDir (): string {
  const d = mkdtempSync(join(tmpdir(), 'hub-store-'))
  dirs.push(d)
  return d
}

/** One backend: a fresh repository, and raw SQL on it (to try what the repository never does). */
interface Backend {
  open: () => Promise<{ repo: HubRepository, dir: string, raw: (sql: string) => Promise<unknown> }>
  /** A bytes literal in the backend's SQL. */
  blob: (hex: string) => string
}

const backends: Array<[string, Backend]> = [
  ['sqlite', {
    open: async () => {
      const dir = tempDir()
      const repo = SqliteHubRepository.open(dir)
      const { DatabaseSync } = await import('node:sqlite')
      return { repo, dir, raw: async sql => { const db = new DatabaseSync(join(dir, 'hub.sqlite'), { timeout: 5000 }); try { return db.exec(sql) } finally { db.close() } } }
    },
    blob: hex => `x'${hex}'`
  }],
  ['postgres', {
    open: async () => {
      const url = cluster.database()
      const dir = tempDir()
      return { repo: await PgHubRepository.open(url, dir), dir, raw: async sql => await cluster.query(url, sql) }
    },
    blob: hex => `'\\x${hex}'::bytea`
  }]
]

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b)

/** A job of two units, inserted through the repository. */
async function seed (tx: RepoTx): Promise<void> {
  await tx.insertJob({ id: 'job-1', seq: 1, kernel: 'primes-sieve/1', quorum: 2, credit_per_ops: 1e-6, state: 'running', created_at_ms: 1_700_000_000_000, spec: '{"from":0,"to":2000,"unit":1000}', output: '{"primes":0}', policy: 'replicate' })
  await tx.insertWorkUnits([0, 1].map(i => ({
    id: `job-1/wu-${i}`, job_id: 'job-1', job_seq: 1, idx: i, kernel: 'primes-sieve/1', input: bytes(i, 255, 0), est_ops: 1000, credit: 0.001,
    memory_bytes: 1 << 27, deadline_ms: 61_000, quorum: 2, target_nresults: 2, wanted: 2
  })))
}

const replica = (wu: number, peer: string, k: number): NewReplica => ({
  id: `job-1/wu-${wu}/r${k}`, wu_id: `job-1/wu-${wu}`, job_id: 'job-1', peer_id: peer, k, device_class: 'wasm', issued_at_ms: 1_700_000_000_000 + k, expires_at_ms: 1_800_000_000_000, remote_addr: null
})

const result = (wu: number, peer: string, k: number): NewResult => ({
  replica_id: `job-1/wu-${wu}/r${k}`, wu_id: `job-1/wu-${wu}`, job_id: 'job-1', peer_id: peer, outcome: 'success', output: bytes(1, 2, 3), output_sha256: bytes(9, 9),
  elapsed_ms: 12, device_class: 'wasm', error_message: '', received_at_ms: 1_700_000_000_500, signed: bytes(4), ack: bytes(5), ack_signature: null
})

const ledgerRow = (seq: number, signature: Uint8Array | null): LedgerRow => ({
  seq, peer_id: 'peer-a', job_id: 'job-1', wu_id: 'job-1/wu-0', replica_id: `job-1/wu-0/r${seq}`, credit: 0.001, credit_units: toCreditUnits(0.001), granted_at_ms: 1_700_000_000_000,
  reverses: 0, prev_hash: new Uint8Array(32), entry: bytes(seq), entry_hash: bytes(seq, seq), receipt_signature: signature
})

describe.each(backends)('%s repository', (_name, backend) => {
  it('keeps the ledger append-only: no update, no delete; a NULL receipt signature is filled once', async () => {
    const { repo, raw } = await backend.open()
    try {
      await repo.transaction(async tx => {
        await seed(tx)
        await tx.ledgerAppend(ledgerRow(1, bytes(7)))
        await tx.ledgerAppend(ledgerRow(2, null))
      })
      await expect(raw('UPDATE ledger SET credit = 5 WHERE seq = 1')).rejects.toThrow(/append-only/)
      await expect(raw('DELETE FROM ledger WHERE seq = 2')).rejects.toThrow(/append-only/)
      await expect(raw(`UPDATE ledger SET receipt_signature = ${backend.blob('01')}, credit = 9 WHERE seq = 2`)).rejects.toThrow(/append-only/)
      await expect(raw(`UPDATE ledger SET receipt_signature = ${backend.blob('01')} WHERE seq = 1`)).rejects.toThrow(/append-only/)
      await repo.transaction(async tx => { await tx.setReceiptSignature(2, bytes(8, 8)) })
      await repo.transaction(async tx => { await tx.setReceiptSignature(2, bytes(6)) })
      await expect(raw(`UPDATE ledger SET receipt_signature = ${backend.blob('02')} WHERE seq = 2`)).rejects.toThrow(/append-only/)
      const rows = await repo.read(async tx => await tx.ledgerRows(1, 10))
      expect(rows.map(r => [r.seq, r.receipt_signature])).toEqual([[1, bytes(7)], [2, bytes(8, 8)]])
      expect(rows[0]).toEqual(ledgerRow(1, bytes(7)))
      await expect(repo.transaction(async tx => { await tx.ledgerAppend({ ...ledgerRow(3, null), replica_id: 'job-1/wu-0/r1' }) })).rejects.toThrow(/unique/i)
      expect(await repo.read(async tx => [await tx.ledgerSize(), await tx.ledgerHead(), await tx.balance('peer-a')])).toEqual([2, { seq: 2, entry_hash: bytes(2, 2) }, 0.002])
    } finally { await repo.close() }
  })

  it('leases: candidates in order, never a second replica of a unit to one peer, counters on the unit', async () => {
    const { repo } = await backend.open()
    try {
      await repo.transaction(seed)
      const q = { peerId: 'peer-a', kernels: 'any' as const, maxMemoryBytes: 0, maxReplicas: 8, sequential: true, limit: 5 }
      const first = await repo.transaction(async tx => await tx.candidateUnitsFor(q))
      expect(first.map(w => [w.id, w.lease_device_class, w.wanted, typeof w.deadline_ms])).toEqual([['job-1/wu-0', 'wasm', 2, 'number'], ['job-1/wu-1', 'wasm', 2, 'number']])
      expect(first[0].input).toEqual(bytes(0, 255, 0))
      await repo.transaction(async tx => {
        await tx.insertReplica(replica(0, 'peer-a', 0))
        await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 1)
        await tx.addToWorkUnit('job-1/wu-0', 'replicas_issued', 1)
      })
      await expect(repo.transaction(async tx => { await tx.insertReplica(replica(0, 'peer-a', 1)) })).rejects.toThrow(/unique/i)
      expect((await repo.read(async tx => await tx.candidateUnitsFor(q))).map(w => w.id)).toEqual(['job-1/wu-1'])
      expect((await repo.read(async tx => await tx.candidateUnitsFor({ ...q, peerId: 'peer-b', kernels: [{ kernel: 'primes-sieve/1', deviceClass: 'webgpu' }] }))).map(w => [w.id, w.lease_device_class])).toEqual([['job-1/wu-0', 'webgpu'], ['job-1/wu-1', 'webgpu']])
      expect(await repo.read(async tx => await tx.candidateUnitsFor({ ...q, peerId: 'peer-b', kernels: [{ kernel: 'other/1', deviceClass: 'wasm' }] }))).toEqual([])
      const random = await repo.transaction(async tx => await tx.candidateUnitsFor({ ...q, peerId: 'peer-b', sequential: false, limit: 1 }))
      expect(random).toHaveLength(1)
      const r = await repo.read(async tx => ({ wu: await tx.getWorkUnit('job-1/wu-0'), held: await tx.heldBy('peer-a'), rep: await tx.getReplica('job-1/wu-0/r0'), top: await tx.topHolders(5), expired: await tx.expiredReplicas(1_900_000_000_000) }))
      expect(r.wu).toMatchObject({ in_progress: 1, replicas_issued: 1, state: 'open', device_class: null, canonical_result_id: null, known_output_sha256: null, done_at_ms: null })
      expect(r.held).toBe(1)
      expect(r.rep).toMatchObject({ state: 'in-progress', released: 0, outcome: null, over_at_ms: null, issued_at_ms: 1_700_000_000_000 })
      expect(r.top).toEqual([{ peerId: 'peer-a', held: 1 }])
      expect(r.expired.map(e => e.id)).toEqual(['job-1/wu-0/r0'])
    } finally { await repo.close() }
  })

  it('leases past many units the peer already holds: the next fitting ones, in order and at random', async () => {
    const { repo } = await backend.open()
    try {
      // 300 units; peer-a holds a replica of each of the first 250; the first 100 and every other
      // one after 250 have a result (units with a result go first): the 100 held ones fill more
      // than one window of PostgreSQL's windowed pick (64 rows here) before a fitting one comes
      await repo.transaction(async tx => {
        await tx.insertJob({ id: 'job-1', seq: 1, kernel: 'primes-sieve/1', quorum: 2, credit_per_ops: 1e-6, state: 'running', created_at_ms: 1_700_000_000_000, spec: '{"from":0,"to":300000,"unit":1000}', output: '{"primes":0}', policy: 'replicate' })
        await tx.insertWorkUnits(Array.from({ length: 300 }, (_, i) => ({
          id: `job-1/wu-${i}`, job_id: 'job-1', job_seq: 1, idx: i, kernel: 'primes-sieve/1', input: bytes(i % 256), est_ops: 1000, credit: 0.001,
          memory_bytes: 1 << 27, deadline_ms: 61_000, quorum: 2, target_nresults: 2, wanted: 2
        })))
        for (let i = 0; i < 250; i++) await tx.insertReplica(replica(i, 'peer-a', 0))
        for (let i = 0; i < 300; i++) if (i < 100 || (i > 250 && i % 2 === 1)) await tx.patchWorkUnit(`job-1/wu-${i}`, { has_result: 1 })
      })
      const q = { peerId: 'peer-a', kernels: 'any' as const, maxMemoryBytes: 0, maxReplicas: 8, sequential: true, limit: 5 }
      const inOrder = await repo.transaction(async tx => await tx.candidateUnitsFor(q))
      expect(inOrder.map(w => w.id)).toEqual([251, 253, 255, 257, 259].map(i => `job-1/wu-${i}`))
      expect(inOrder[0]).not.toHaveProperty('fits')
      const random = await repo.transaction(async tx => await tx.candidateUnitsFor({ ...q, sequential: false, limit: 20 }))
      expect(random).toHaveLength(20)
      for (const w of random) expect(w.idx).toBeGreaterThanOrEqual(250)
      expect(new Set(random.map(w => w.id)).size).toBe(20)
    } finally { await repo.close() }
  })

  it('leases past a job the peer may take nothing of (a full fresh-peers cap): the next job\'s units, in order and at random', async () => {
    const { repo } = await backend.open()
    try {
      // job-1 (seq 1, first in either order) has 300 open units, more than four windows; job-2 has 30
      await repo.transaction(async tx => {
        for (const [job, seq, n] of [['job-1', 1, 300], ['job-2', 2, 30]] as const) {
          await tx.insertJob({ id: job, seq, kernel: 'primes-sieve/1', quorum: 2, credit_per_ops: 1e-6, state: 'running', created_at_ms: 1_700_000_000_000, spec: '{}', output: '{"primes":0}', policy: 'replicate' })
          await tx.insertWorkUnits(Array.from({ length: n }, (_, i) => ({
            id: `${job}/wu-${i}`, job_id: job, job_seq: seq, idx: i, kernel: 'primes-sieve/1', input: bytes(i % 256), est_ops: 1000, credit: 0.001,
            memory_bytes: 1 << 27, deadline_ms: 61_000, quorum: 2, target_nresults: 2, wanted: 2
          })))
        }
      })
      const q = { peerId: 'peer-a', kernels: 'any' as const, maxMemoryBytes: 0, maxReplicas: 8, sequential: true, limit: 5, excludeJobs: ['job-1'] }
      const inOrder = await repo.transaction(async tx => await tx.candidateUnitsFor(q))
      expect(inOrder.map(w => w.id)).toEqual([0, 1, 2, 3, 4].map(i => `job-2/wu-${i}`))
      const random = await repo.transaction(async tx => await tx.candidateUnitsFor({ ...q, sequential: false, limit: 20 }))
      expect(random).toHaveLength(20)
      for (const w of random) expect(w.job_id).toBe('job-2')
      // not excluded, job-1 comes first again
      expect((await repo.read(async tx => await tx.candidateUnitsFor({ ...q, excludeJobs: [] })))[0].id).toBe('job-1/wu-0')
    } finally { await repo.close() }
  })

  it('a row read, changed and read again in one transaction is the row a fresh read sees after commit (also after a savepoint rolled back)', async () => {
    const { repo } = await backend.open()
    try {
      await repo.transaction(seed)
      const read = async (tx: RepoReader): Promise<unknown[]> => [await tx.getWorkUnit('job-1/wu-0'), await tx.getJob('job-1'), await tx.getTrust('peer-a', 'primes-sieve/1')]
      const inside = await repo.transaction(async tx => {
        await read(tx)
        await tx.addToTrust('peer-a', 'primes-sieve/1', { valid_results: 1 }, 'inc', 1_700_000_000_500)
        await read(tx)
        await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 2)
        await tx.patchWorkUnit('job-1/wu-0', { state: 'done', wanted: 0, max_group: 2, done_at_ms: 1_700_000_000_900, known_output_sha256: bytes(1, 2, 3) })
        await tx.addToJob('job-1', 'wu_validated', 1)
        await tx.patchJob('job-1', { output: '{"primes":"4"}', hold: 'paused' })
        await tx.addToTrust('peer-a', 'primes-sieve/1', { valid_results: 2, spot_checks: 1 }, 'inc', 1_700_000_000_400)
        await expect(tx.savepoint(async () => {
          await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 100)
          await tx.addToTrust('peer-a', 'primes-sieve/1', {}, 'reset', 1_800_000_000_000)
          expect((await tx.getWorkUnit('job-1/wu-0'))?.in_progress).toBe(102)
          throw new Error('rolled back')
        })).rejects.toThrow('rolled back')
        await tx.addToJob('job-1', 'replicas_issued', 3)
        // columns set and counters added in one statement (a lease's writes of its unit)
        await tx.changeWorkUnit('job-1/wu-0', { set: { device_class: 'wasm', has_result: 1 }, add: { replicas_issued: 2, replicas_excused: 0 } })
        await expect(tx.changeWorkUnit('job-1/wu-0', { set: { 'id = id; --': 1 } as never })).rejects.toThrow('not a column')
        await expect(tx.changeWorkUnit('job-1/wu-0', { add: { wanted: 1 } as never })).rejects.toThrow('not a counter')
        // and a copy handed out is not the kept row
        const wu = await tx.getWorkUnit('job-1/wu-0') as unknown as Record<string, unknown>
        wu.in_progress = 999
        return await read(tx)
      })
      const fresh = await repo.read(read)
      expect(inside).toEqual(fresh)
      expect(fresh[0]).toMatchObject({ in_progress: 2, state: 'done', wanted: 0, max_group: 2, done_at_ms: 1_700_000_000_900, device_class: 'wasm', has_result: 1, replicas_issued: 2, replicas_excused: 0 })
      expect(fresh[1]).toMatchObject({ wu_validated: 1, replicas_issued: 3, output: '{"primes":"4"}', hold: 'paused' })
      expect(fresh[2]).toMatchObject({ valid_results: 3, spot_checks: 1, consecutive_valid: 2, updated_at_ms: 1_700_000_000_500 })
    } finally { await repo.close() }
  })

  it('rolls a savepoint back alone; the rest of the transaction commits; a rejected transaction leaves nothing', async () => {
    const { repo } = await backend.open()
    try {
      await repo.transaction(async tx => {
        await tx.setMeta('a', '1')
        await expect(tx.savepoint(async () => { await tx.setMeta('b', '2'); throw new RangeError('no') })).rejects.toThrow(RangeError)
        expect(await tx.savepoint(async () => { await tx.setMeta('c', '3'); return 7 })).toBe(7)
        await expect(tx.savepoint(async () => {
          await tx.setMeta('d', '4')
          await tx.savepoint(async () => { await tx.setMeta('e', '5') })
          throw new Error('outer')
        })).rejects.toThrow('outer')
      })
      await expect(repo.transaction(async tx => { await tx.setMeta('f', '6'); throw new Error('rollback') })).rejects.toThrow('rollback')
      expect(await repo.read(async tx => await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(async k => await tx.getMeta(k))))).toEqual(['1', undefined, '3', undefined, undefined, undefined])
    } finally { await repo.close() }
  })

  it('stores results once per replica, with ids in arrival order and the replica\'s device class', async () => {
    const { repo } = await backend.open()
    try {
      const ids = await repo.transaction(async tx => {
        await seed(tx)
        for (const [wu, peer, k] of [[0, 'peer-a', 0], [0, 'peer-b', 1], [1, 'peer-a', 0]] as const) await tx.insertReplica(replica(wu, peer, k))
        return [await tx.insertResult(result(0, 'peer-a', 0)), await tx.insertResult(result(0, 'peer-b', 1))]
      })
      expect(ids[1]).toBeGreaterThan(ids[0])
      await expect(repo.transaction(async tx => await tx.insertResult(result(0, 'peer-a', 0)))).rejects.toThrow(/unique/i)
      // a unique violation caught by a savepoint leaves the transaction usable
      await repo.transaction(async tx => {
        await expect(tx.savepoint(async () => await tx.insertResult(result(0, 'peer-b', 1)))).rejects.toThrow(/unique/i)
        await tx.setValidateState(ids[0], 'valid')
        await tx.setHubCheck(ids[0], 'trusted')
        await tx.setAckSignature('job-1/wu-0/r0', bytes(3, 3))
        await tx.setAckSignature('job-1/wu-0/r0', bytes(4, 4))
      })
      const rows = await repo.read(async tx => await tx.resultsForWorkUnit('job-1/wu-0'))
      expect(rows.map(r => [r.id, r.peer_id, r.replica_device_class, r.validate_state, r.hub_check])).toEqual([[ids[0], 'peer-a', 'wasm', 'valid', 'trusted'], [ids[1], 'peer-b', 'wasm', null, null]])
      expect(rows[0]).toMatchObject({ output: bytes(1, 2, 3), elapsed_ms: 12, received_at_ms: 1_700_000_000_500, ack_signature: bytes(3, 3) })
      expect(await repo.read(async tx => await tx.ackFor('job-1/wu-0/r0', 'peer-a'))).toEqual({ ack: bytes(5), ack_signature: bytes(3, 3) })
      expect(await repo.read(async tx => await tx.jobProgress('job-1'))).toEqual({ unsent: 4, inProgress: 3, volunteers: 1, invalidResults: 0, reportedMs: 24 })
    } finally { await repo.close() }
  })

  it('runs a small primes job through HubCore to the end, every count checked against primecount', async () => {
    const { repo, dir } = await backend.open()
    const h = await HubCore.open({ dataDir: dir, hubKey: await generateKeyPair('Ed25519'), repository: repo, defaultPolicy: 'replicate' })
    try {
      const job = await h.createPrimesJob({ from: 0, to: 12_000, unit: 1000, quorum: 2 })
      const vs = await Promise.all([volunteer(), volunteer(), volunteer()])
      for (let round = 0; round < 20; round++) {
        for (const v of vs) {
          const { leases } = await h.lease(v.id, { maxUnits: 4, release: [], deviceClass: 'wasm' })
          for (const l of leases) {
            const { lo, hi } = decodePrimesInput(l.input)
            const [n] = await primecountIntervals([{ lo, hi }])
            expect((await h.submit(v.id, await resultFor(v, l, Number(n)))).status).toBe('accepted')
          }
        }
        if ((await h.jobStatus(job.id))?.state === 'complete') break
      }
      const status = await h.jobStatus(job.id)
      expect(status).toMatchObject({ state: 'complete', validated: 12 })
      expect(status?.primes).toBe(Number((await primecountIntervals([{ lo: 0, hi: 12_000 }]))[0]))
      const units = await repo.read(async tx => await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        const wu = await tx.getWorkUnit(`${job.id}/wu-${i}`)
        return { wu, canonical: await tx.getResult(wu?.canonical_result_id as number) }
      })))
      const expected = await primecountIntervals(units.map(u => decodePrimesInput(u.wu!.input)))
      units.forEach((u, i) => {
        const { lo, hi } = decodePrimesInput(u.wu!.input)
        expect(BigInt(decodePrimesResult(u.canonical!.output, lo, hi).count), `unit ${i}`).toBe(expected[i])
      })
      expect(await repo.read(async tx => await h.ledger.verifyChain(tx))).toEqual({ ok: true, entries: 24 })
    } finally { await h.close() }
  })
})

describe('SQLite and PostgreSQL agree', () => {
  /** One deterministic job (sequential order, fixed clock and key) on `repo`: what the store holds after it. */
  async function scenario (repo: HubRepository, dir: string, hubKey: PrivateKey, vs: Awaited<ReturnType<typeof volunteer>>[]): Promise<unknown> {
    let clock = 1_700_000_000_000
    const h = await HubCore.open({ dataDir: dir, hubKey, repository: repo, defaultPolicy: 'replicate', leaseOrder: 'sequential', now: () => clock })
    try {
      const job = await h.createPrimesJob({ from: 0, to: 5000, unit: 1000, quorum: 2 })
      for (let round = 0; round < 3; round++) {
        for (const [i, v] of vs.entries()) {
          clock += 1000
          const { leases } = await h.lease(v.id, { maxUnits: 2, release: [], deviceClass: 'wasm' })
          for (const l of leases) {
            const { lo, hi } = decodePrimesInput(l.input)
            const [n] = await primecountIntervals([{ lo, hi }])
            // volunteer 2 lies on its first unit: an invalid result, a third replica
            await h.submit(v.id, await resultFor(v, l, Number(n) + (i === 2 && round === 0 ? 1 : 0)))
          }
        }
      }
      clock += 10_000_000
      await h.lease(vs[0].id, { maxUnits: 1, release: [], deviceClass: 'wasm' })
      return await repo.read(async tx => ({
        jobs: await tx.listJobs(),
        units: await Promise.all(Array.from({ length: 5 }, async (_, i) => { const { rand_key: _r, ...w } = await tx.getWorkUnit(`${job.id}/wu-${i}`) as unknown as Record<string, unknown>; return w })),
        results: await Promise.all(Array.from({ length: 5 }, async (_, i) => await tx.resultsForWorkUnit(`${job.id}/wu-${i}`))),
        ledger: await tx.ledgerRows(1, 100),
        balances: await tx.balances(),
        peers: await Promise.all(vs.map(async v => [await tx.getPeer(v.id), await tx.trustOf(v.id)])),
        totals: await tx.peerTotals(0),
        progress: await tx.jobProgress(job.id),
        fresh: await tx.freshHeldByJob(),
        errors: await tx.clientErrorKinds(job.id, 5),
        sites: await tx.listSites()
      }))
    } finally { await h.close() }
  }

  it('hold the same rows after the same job', async () => {
    const hubKey = await generateKeyPair('Ed25519')
    const vs = await Promise.all([volunteer(), volunteer(), volunteer()])
    const sqliteDir = tempDir()
    const a = await scenario(SqliteHubRepository.open(sqliteDir), sqliteDir, hubKey, vs)
    const pgDir = tempDir()
    const b = await scenario(await PgHubRepository.open(cluster.database(), pgDir), pgDir, hubKey, vs)
    expect(b).toEqual(a)
    expect((a as { ledger: unknown[] }).ledger.length).toBeGreaterThan(5)
  })
})

describe('PostgreSQL: two repositories (two hubs) on one database', () => {
  const deferred = (): { promise: Promise<void>, resolve: () => void } => { let resolve!: () => void; const promise = new Promise<void>(r => { resolve = r }); return { promise, resolve } }
  const sleep = async (ms: number): Promise<void> => await new Promise(r => setTimeout(r, ms))

  async function two (): Promise<[PgHubRepository, PgHubRepository]> {
    const url = cluster.database()
    const a = await PgHubRepository.open(url, tempDir())
    return [a, await PgHubRepository.open(url, tempDir())]
  }

  it('a write sent without waiting that fails, its error caught by the caller outside a savepoint, fails the whole transaction (nothing of it commits)', async () => {
    const [a, b] = await two()
    try {
      await a.transaction(async tx => { await seed(tx); await tx.insertReplica(replica(0, 'peer-a', 0)) })
      // the second insert of a replica id is a unique violation; the caller swallows it, outside any savepoint
      const attempt = a.transaction(async tx => {
        await tx.addToWorkUnit('job-1/wu-1', 'in_progress', 5)
        try {
          await tx.insertReplica(replica(0, 'peer-a', 0))
          await tx.getWorkUnit('job-1/wu-1')
        } catch {}
        return 'committed'
      })
      await expect(attempt).rejects.toThrow(/unique|duplicate/i)
      expect((await b.read(async tx => await tx.getWorkUnit('job-1/wu-1')))?.in_progress).toBe(0)
      // the same failure inside a savepoint rolls back only the savepoint; the rest commits
      const inSavepoint = await a.transaction(async tx => {
        await tx.addToWorkUnit('job-1/wu-1', 'in_progress', 5)
        await tx.savepoint(async () => { await tx.insertReplica(replica(0, 'peer-a', 0)) }).catch(() => {})
        return 'committed'
      })
      expect(inSavepoint).toBe('committed')
      expect((await b.read(async tx => await tx.getWorkUnit('job-1/wu-1')))?.in_progress).toBe(5)
    } finally { await a.close(); await b.close() }
  })

  it('a lease skips the units another hub has locked, never waits for them', async () => {
    const [a, b] = await two()
    try {
      await a.transaction(seed)
      const q = { kernels: 'any' as const, maxMemoryBytes: 0, maxReplicas: 8, sequential: true, limit: 1 }
      const holding = deferred()
      const release = deferred()
      const first = a.transaction(async tx => { const got = await tx.candidateUnitsFor({ ...q, peerId: 'peer-a' }); holding.resolve(); await release.promise; return got.map(w => w.id) })
      await holding.promise
      const second = await b.transaction(async tx => (await tx.candidateUnitsFor({ ...q, peerId: 'peer-b' })).map(w => w.id))
      release.resolve()
      expect(await first).toEqual(['job-1/wu-0'])
      expect(second).toEqual(['job-1/wu-1'])
    } finally { await a.close(); await b.close() }
  })

  it('two groups of submissions sharing units in opposite orders take them in one order (lockForSubmissions): the second waits, neither deadlocks; a foreign replica id locks nothing', async () => {
    const [a, b] = await two()
    try {
      await a.transaction(async tx => { await seed(tx); for (const i of [0, 1]) await tx.insertReplica(replica(i, 'peer-a', 0)) })
      const holding = deferred()
      const release = deferred()
      const order: string[] = []
      const first = a.transaction(async tx => {
        await tx.lockForSubmissions([{ replicaId: 'job-1/wu-0/r0', peerId: 'peer-a' }, { replicaId: 'job-1/wu-1/r0', peerId: 'peer-a' }])
        // the units are kept as locked: no further read
        expect((await tx.getWorkUnit('job-1/wu-1'))?.id).toBe('job-1/wu-1')
        holding.resolve()
        await release.promise
        await tx.addToWorkUnit('job-1/wu-1', 'in_progress', 1)
        await tx.addToWorkUnit('job-1/wu-0', 'in_progress', 1)
        order.push('first')
      })
      await holding.promise
      // a result naming another peer's replica, or none, locks nothing: this one does not wait
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        b.transaction(async tx => { await tx.lockForSubmissions([{ replicaId: 'job-1/wu-0/r0', peerId: 'peer-b' }, { replicaId: 'no-such/r0', peerId: 'peer-a' }]) }),
        new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('a foreign replica id locked the unit')) }, 10_000) })
      ]).finally(() => { clearTimeout(timer) })
      // the other hub's group names them the other way round; it waits for the first to commit
      const second = b.transaction(async tx => {
        await tx.lockForSubmissions([{ replicaId: 'job-1/wu-1/r0', peerId: 'peer-a' }, { replicaId: 'job-1/wu-0/r0', peerId: 'peer-a' }, { replicaId: 'no-such/r0', peerId: 'peer-a' }])
        order.push('second')
        return (await tx.getWorkUnit('job-1/wu-0'))?.in_progress
      })
      await sleep(300)
      expect(order).toEqual([])
      release.resolve()
      await first
      expect(await second).toBe(1)
      expect(order).toEqual(['first', 'second'])
    } finally { await a.close(); await b.close() }
  })

  it('a work unit read for a write waits for the other hub\'s transaction on it, then sees its writes', async () => {
    const [a, b] = await two()
    try {
      await a.transaction(async tx => { await seed(tx); await tx.insertReplica(replica(0, 'peer-a', 0)); await tx.insertReplica(replica(0, 'peer-b', 1)) })
      const locked = deferred()
      const events: string[] = []
      const first = a.transaction(async tx => {
        await tx.getWorkUnit('job-1/wu-0')
        locked.resolve()
        await sleep(300)
        await tx.insertResult(result(0, 'peer-a', 0))
        events.push('a commits')
      })
      await locked.promise
      const seen = await b.transaction(async tx => {
        await tx.getWorkUnit('job-1/wu-0')
        events.push('b has the unit')
        return (await tx.resultsForWorkUnit('job-1/wu-0')).map(r => r.peer_id)
      })
      await first
      expect(events).toEqual(['a commits', 'b has the unit'])
      expect(seen).toEqual(['peer-a'])
    } finally { await a.close(); await b.close() }
  })

  it('one ledger appender at a time: the second reads the head after the first committed', async () => {
    const [a, b] = await two()
    try {
      await a.transaction(seed)
      const locked = deferred()
      const first = a.transaction(async tx => { await tx.ledgerHead(); locked.resolve(); await sleep(200); await tx.ledgerAppend(ledgerRow(1, null)) })
      await locked.promise
      const head = await b.transaction(async tx => await tx.ledgerHead())
      await first
      expect(head?.seq).toBe(1)
    } finally { await a.close(); await b.close() }
  })

  it('a deadlock between two hubs rolls one transaction back and runs it again, also when a savepoint caught it', async () => {
    for (const caught of [false, true]) {
      const [a, b] = await two()
      try {
        const wrote = [deferred(), deferred()]
        const runs = [0, 0]
        const cross = async (repo: PgHubRepository, i: number): Promise<void> => {
          await repo.transaction(async tx => {
            runs[i]++
            await tx.setMeta(`k${i}`, `${i}`)
            wrote[i].resolve()
            await wrote[1 - i].promise
            const other = async (): Promise<void> => { await tx.setMeta(`k${1 - i}`, `by ${i}`) }
            if (caught) await tx.savepoint(other).catch(() => {})
            else await other()
          })
        }
        await Promise.all([cross(a, 0), cross(b, 1)])
        expect(a.retries + b.retries).toBeGreaterThanOrEqual(1)
        expect(a.retriesByCode['40P01'] ?? b.retriesByCode['40P01']).toBeGreaterThanOrEqual(1)
        expect(runs[0] + runs[1]).toBe(2 + a.retries + b.retries)
        const meta = await a.read(async tx => [await tx.getMeta('k0'), await tx.getMeta('k1')])
        // the transaction that ran again committed last: both keys are its writes
        expect([['by 1', '1'], ['0', 'by 0']]).toContainEqual(meta)
      } finally { await a.close(); await b.close() }
    }
  })
})

describe('store URLs', () => {
  it('parse unix-socket and TCP forms; refuse what is not a database URL', async () => {
    expect(parseStoreUrl('postgres://postgres@/sparecycles?host=/tmp/pg-dir')).toMatchObject({ host: '/tmp/pg-dir', port: 5432, database: 'sparecycles', user: 'postgres' })
    expect(parseStoreUrl('postgresql://u:p%40ss@db.example:6543/hubs')).toMatchObject({ host: 'db.example', port: 6543, database: 'hubs', user: 'u', password: 'p@ss' })
    expect(parseStoreUrl('postgres://u@db.example/hubs?sslmode=verify-full')).toMatchObject({ host: 'db.example', ssl: 'verify-full' })
    expect(parseStoreUrl('postgres://u@db.example/hubs?sslmode=require').ssl).toBe('require')
    expect(parseStoreUrl('postgres://u@db.example/hubs?sslmode=disable').ssl).toBeUndefined()
    for (const bad of ['mysql://x/y', 'postgres://host', 'postgres://u@/db?sslmode=prefer', 'postgres://u@/db?application_name=x', 'postgres://u@h:99999/db', 'data/dir']) {
      expect(() => parseStoreUrl(bad), bad).toThrow(StoreUrlError)
    }
    // a password never comes back in a message
    for (const bad of ['postgres://u:hunter2@h:99999/db', 'postgres://u:hunter2@h/db?sslmode=prefer', 'mysql://u:hunter2@h/db', 'postgres://u:hunter2@h']) {
      expect(() => parseStoreUrl(bad), bad).toThrow(StoreUrlError)
      try { parseStoreUrl(bad) } catch (err) { expect((err as Error).message).not.toContain('hunter2') }
    }
  })

  it('refuses a database with a newer schema', async () => {
    const url = cluster.database()
    await (await PgHubRepository.open(url, tempDir())).close()
    await cluster.query(url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    await expect(PgHubRepository.open(url, tempDir())).rejects.toThrow(StoreSchemaError)
  })
})
