/**
 * Issue 14, group commit: submissions that arrive together are stored in ONE transaction; a
 * rejected submission writes nothing and costs no second try; one whose storing fails after it
 * wrote makes the group run again with a savepoint a submission, so it is rolled back alone, the
 * others commit, and each is answered only after the commit (what it acked is on disk).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HubCore } from '../src/hub/hub-core.ts'
import { countPrimes, resultFor, volunteer } from './hub-fixtures.ts'
import { openTestStore, stopTestStores } from './test-store.ts'
import type { TestStore } from './test-store.ts'
import type { Volunteer } from './hub-fixtures.ts'
import type { Lease } from '../src/protocol/pb/messages.ts'

let dir: string
let h: HubCore
let transactions: number
let peers: Volunteer[]
let store: TestStore

/** A hub on a fresh dir whose transactions are counted; 8 units of 1000 numbers, quorum 1 (each accepted result validates its unit). */
async function openHub (maxResults: number): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'hub-group-'))
  store = await openTestStore(dir)
  const repo = store.repo
  const transaction = repo.transaction.bind(repo)
  transactions = 0
  repo.transaction = async fn => { transactions++; return await transaction(fn) }
  h = await HubCore.open({ dataDir: dir, hubKey: await generateKeyPair('Ed25519'), repository: repo, leaseOrder: 'sequential', groupCommit: { maxDelayMs: 20, maxResults } })
  await h.createPrimesJob({ from: 0, to: 8000, unit: 1000, quorum: 1 })
}

beforeEach(async () => {
  peers = await Promise.all(Array.from({ length: 8 }, async () => await volunteer()))
})

afterEach(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

afterAll(stopTestStores)

async function leaseEach (): Promise<Lease[]> {
  const leases: Lease[] = []
  for (const p of peers) leases.push(...(await h.lease(p.id, { maxUnits: 1, release: [], deviceClass: 'wasm' })).leases)
  return leases
}

const honest = (l: Lease): number => { const lo = Number(new DataView(l.input.buffer, l.input.byteOffset).getBigUint64(0, true)); return countPrimes(lo, lo + 1000) }

describe('group commit of submissions', () => {
  it('submissions arriving together: one transaction; a rejection and a failure roll back alone', async () => {
    await openHub(64)
    const leases = await leaseEach()
    expect(leases).toHaveLength(8)
    // peer 6 stores fine until its validation throws (an internal failure): its writes roll back alone
    const validate = h.validator.validate.bind(h.validator)
    h.validator.validate = async (tx, wuId, now) => {
      if (wuId === leases[6].wuId) throw new Error('validator broke')
      return await validate(tx, wuId, now)
    }
    const before = transactions
    const settled = await Promise.allSettled(leases.map(async (l, i) => {
      // peer 3 sends peer 4's replica, signed by itself: ReplicaNotLeasedError
      if (i === 3) return await h.submit(peers[3].id, await resultFor(peers[3], leases[4], honest(leases[4])))
      return await h.submit(peers[i].id, await resultFor(peers[i], l, honest(l)))
    }))
    // the first try, ended by the failure, then the group again with savepoints
    expect(transactions - before).toBe(2)
    expect(await h.metrics.text()).toContain('sparecycles_group_commit_redos_total 1\n')
    const statuses = settled.map(s => s.status === 'fulfilled' ? s.value.status : (s.reason as Error).message)
    expect(statuses).toEqual(['accepted', 'accepted', 'accepted', 'rejected', 'accepted', 'accepted', 'validator broke', 'accepted'])
    expect(settled[3]).toMatchObject({ value: { error: 'ReplicaNotLeasedError' } })
    // what was acked is committed: a second connection sees it; the failed one left nothing
    const other = await store.second()
    try {
      await other.read(async tx => {
        const stored = (await Promise.all(leases.map(async l => await tx.resultForReplica(l.replicaId)))).filter(r => r != null).map(r => r.replica_id)
        expect(stored.sort()).toEqual([0, 1, 2, 4, 5, 7].map(i => leases[i].replicaId).sort())
        expect(await tx.ledgerSize()).toBe(6)
        expect(await tx.getReplica(leases[6].replicaId)).toMatchObject({ state: 'in-progress' })
        expect(await tx.getReplica(leases[3].replicaId)).toMatchObject({ state: 'in-progress' })
      })
    } finally {
      await other.close()
    }
    // the owners of the rolled-back ones can still submit
    h.validator.validate = validate
    expect((await h.submit(peers[6].id, await resultFor(peers[6], leases[6], honest(leases[6])))).status).toBe('accepted')
    expect((await h.submit(peers[3].id, await resultFor(peers[3], leases[3], honest(leases[3])))).status).toBe('accepted')
    expect(await h.verifyLedger()).toMatchObject({ ok: true })
  })

  it('rejections alone: one transaction, no second try, the others stored', async () => {
    await openHub(64)
    const leases = await leaseEach()
    const before = transactions
    const out = await Promise.all(leases.map(async (l, i) => {
      // peers 2 and 5 send a neighbour's replica: ReplicaNotLeasedError, before any write of theirs
      if (i === 2 || i === 5) return await h.submit(peers[i].id, await resultFor(peers[i], leases[i + 1], honest(leases[i + 1])))
      return await h.submit(peers[i].id, await resultFor(peers[i], l, honest(l)))
    }))
    expect(out.map(r => r.error)).toEqual(['', '', 'ReplicaNotLeasedError', '', '', 'ReplicaNotLeasedError', '', ''])
    expect(transactions - before).toBe(1)
    expect(await h.metrics.text()).toContain('sparecycles_group_commit_redos_total 0\n')
    expect(await h.verifyLedger()).toMatchObject({ ok: true, entries: 6 })
  })

  it('a duplicate inside one group gets the first ack back; at most maxResults go in one transaction', async () => {
    await openHub(3)
    const leases = await leaseEach()
    const before = transactions
    const signed = await Promise.all(leases.map(async (l, i) => await resultFor(peers[i], l, honest(l))))
    const out = await Promise.all([...leases.map(async (_, i) => await h.submit(peers[i].id, signed[i])), h.submit(peers[0].id, signed[0])])
    expect(out.map(r => r.status)).toEqual([...leases.map(() => 'accepted'), 'duplicate'])
    expect(out[8].ack).toEqual(out[0].ack)
    // 9 submissions, at most 3 a transaction; a duplicate writes nothing: no group ran twice
    expect(transactions - before).toBe(3)
    expect(await h.metrics.text()).toContain('sparecycles_group_commit_redos_total 0\n')
    // /metrics: three groups of three (sparecycles_group_commit_size), each timed
    const text = await h.metrics.text()
    expect(text).toContain('sparecycles_group_commit_size_count 3\n')
    expect(text).toContain('sparecycles_group_commit_size_sum 9\n')
    expect(text).toContain('sparecycles_group_commit_size_bucket{le="2"} 0\n')
    expect(text).toContain('sparecycles_group_commit_size_bucket{le="4"} 3\n')
    expect(text).toContain('sparecycles_group_commit_duration_seconds_count 3\n')
    expect(text).toContain('sparecycles_results_received_total{status="duplicate"} 1\n')
    expect(text).toContain('sparecycles_group_commit_queue_length 0\n')
    await expect(async () => await HubCore.open({ dataDir: mkdtempSync(join(tmpdir(), 'hub-group-bad-')), hubKey: await generateKeyPair('Ed25519'), groupCommit: { maxResults: 0 } })).rejects.toThrow(RangeError)
  })
})
