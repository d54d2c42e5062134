/** Fixtures shared by the hub tests: volunteers with real Ed25519 keys, signed results, a reference sieve. */
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodePrimesOutput } from '../src/protocol/primes.ts'
import { sha256Bytes, signResult } from '../src/protocol/signing.ts'
import type { Lease, ResultPayload, SignedResult } from '../src/protocol/pb/messages.ts'
import type { PeerRow, ReplicaRow, ResultRow, WorkUnitRow } from '../src/hub/repository.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface Volunteer { key: PrivateKey, id: string }

export async function volunteer (): Promise<Volunteer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** A successful result claiming `count` primes for `lease`, signed by `v` (fields overridable). */
export async function resultFor (v: Volunteer, lease: Lease, count: number, extra: Partial<ResultPayload> = {}): Promise<SignedResult> {
  const output = encodePrimesOutput(count) as Uint8Array<ArrayBuffer>
  return await signResult({
    replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 10, deviceClass: 'wasm', errorMessage: '', ...extra
  }, v.key)
}

/** Primes in [lo, hi), by a plain sieve of Eratosthenes written here (independent of the kernel). */
export function countPrimes (lo: number, hi: number): number {
  const composite = new Uint8Array(hi)
  let count = 0
  for (let n = 2; n < hi; n++) {
    if (composite[n] === 1) continue
    if (n >= lo) count++
    for (let m = n * n; m < hi; m += n) composite[m] = 1
  }
  return count
}

/**
 * Raw SQL on a hub's SQLite file, for tests only (the hub itself reaches its store through the
 * repository): a second connection to `<dataDir>/hub.sqlite`, WAL lets it read what was committed.
 */
export class StoreInspector {
  readonly db: DatabaseSync
  constructor (dataDir: string) {
    this.db = new DatabaseSync(join(dataDir, 'hub.sqlite'), { timeout: 5_000 })
    this.db.exec('PRAGMA foreign_keys = ON')
  }

  get<T> (sql: string, ...params: Array<string | number | null | Uint8Array>): T | undefined {
    return this.db.prepare(sql).get(...params) as T | undefined
  }

  all<T> (sql: string, ...params: Array<string | number | null | Uint8Array>): T[] {
    return this.db.prepare(sql).all(...params) as T[]
  }

  run (sql: string, ...params: Array<string | number | null | Uint8Array>): number {
    return Number(this.db.prepare(sql).run(...params).changes)
  }

  getReplica (id: string): ReplicaRow | undefined { return this.get<ReplicaRow>('SELECT * FROM replicas WHERE id = ?', id) }
  getWorkUnit (id: string): WorkUnitRow | undefined { return this.get<WorkUnitRow>('SELECT * FROM work_units WHERE id = ?', id) }
  getPeer (id: string): PeerRow | undefined { return this.get<PeerRow>('SELECT * FROM peers WHERE peer_id = ?', id) }
  resultForReplica (id: string): ResultRow | undefined { return this.get<ResultRow>('SELECT * FROM results WHERE replica_id = ?', id) }
  ledgerSize (): number { return this.get<{ n: number }>('SELECT count(*) AS n FROM ledger')?.n ?? 0 }
}

const inspectors = new Map<string, StoreInspector>()
/** The inspector of a hub's data directory (one connection per directory). */
export function inspect (h: { dataDir: string }): StoreInspector {
  let i = inspectors.get(h.dataDir)
  if (i == null || !i.db.isOpen) { i = new StoreInspector(h.dataDir); inspectors.set(h.dataDir, i) }
  return i
}
