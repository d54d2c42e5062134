/**
 * The volunteer's storage as named operations over its IndexedDB (db.ts): the components (work
 * fetch, outbox, receipts, account) each use the few operations they need, never the raw stores,
 * and each multi-store change is one transaction. Tests drive the same class over fake-indexeddb.
 */
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { getMeta, openVolunteerDb, putMeta } from './db.ts'
import type { MetaKey, MetaValues, OutboxEntry, StoredAck, StoredCredit, StoredLease, VolunteerDb } from './db.ts'
import type { PrivateKey } from '@libp2p/interface'

/** Counts behind the page's counters. */
export interface StoreCounts {
  /** Results in the outbox (signed, not yet acknowledged). */
  outbox: number
  /** Replicas the hubs acknowledged. */
  acked: ReplicaKey[]
}

/** A replica as the stores key it: the hub that leased it and its replica id (two hubs may issue the same id). */
export interface ReplicaKey { hubPeerId: string, replicaId: string }

export class VolunteerStore {
  constructor (readonly db: VolunteerDb) {}

  /** Open (or create) the database `name`. */
  static async open (name?: string): Promise<VolunteerStore> {
    return new VolunteerStore(await openVolunteerDb(name))
  }

  /** Close the database connection (pending transactions finish first). */
  close (): void { this.db.close() }

  async getMeta<K extends MetaKey> (key: K): Promise<MetaValues[K] | undefined> {
    return await getMeta(this.db.transaction('meta').store, key)
  }

  async putMeta<K extends MetaKey> (key: K, value: MetaValues[K]): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite')
    await putMeta(tx.store, key, value)
    await tx.done
  }

  // ---- leases ----

  async leases (): Promise<StoredLease[]> { return await this.db.getAll('leases') }
  async putLease (lease: StoredLease): Promise<void> { await this.db.put('leases', lease) }
  /** Forget the stored leases `replicaIds` of hub `hubPeerId`. */
  async deleteLeases (hubPeerId: string, replicaIds: readonly string[]): Promise<void> {
    if (replicaIds.length === 0) return
    const tx = this.db.transaction('leases', 'readwrite')
    for (const id of replicaIds) await tx.store.delete([hubPeerId, id])
    await tx.done
  }

  // ---- outbox ----

  /**
   * A result is computed: put it in the outbox, forget its lease and count the unit (total and by
   * kernel id), all in one transaction.
   */
  async commitResult (entry: OutboxEntry, kernel: string): Promise<void> {
    const tx = this.db.transaction(['leases', 'outbox', 'meta'], 'readwrite')
    const meta = tx.objectStore('meta')
    const unitsDone = (await getMeta(meta, 'unitsDone') ?? 0) + 1
    const byKernel = { ...await getMeta(meta, 'unitsByKernel') }
    byKernel[kernel] = (byKernel[kernel] ?? 0) + 1
    await tx.objectStore('outbox').put(entry)
    await tx.objectStore('leases').delete([entry.hubPeerId, entry.replicaId])
    await putMeta(meta, 'unitsDone', unitsDone)
    await putMeta(meta, 'unitsByKernel', byKernel)
    await tx.done
  }

  async outbox (): Promise<OutboxEntry[]> { return await this.db.getAll('outbox') }
  /** The outbox's replicas, without their signed bytes. */
  async outboxReplicas (): Promise<ReplicaKey[]> {
    return (await this.db.getAllKeys('outbox')).map(([hubPeerId, replicaId]) => ({ hubPeerId, replicaId }))
  }
  /** The stored leases' replicas, without the leases. */
  async leaseReplicas (): Promise<ReplicaKey[]> {
    return (await this.db.getAllKeys('leases')).map(([hubPeerId, replicaId]) => ({ hubPeerId, replicaId }))
  }
  async outboxCount (): Promise<number> { return await this.db.count('outbox') }

  /** The hub accepted a result: keep its acknowledgement (when it sent one), drop it from the outbox. */
  async acceptResult (hubPeerId: string, replicaId: string, ack: StoredAck | null): Promise<void> {
    const tx = this.db.transaction(['outbox', 'acks'], 'readwrite')
    if (ack != null) await tx.objectStore('acks').put(ack)
    await tx.objectStore('outbox').delete([hubPeerId, replicaId])
    await tx.done
  }

  /** The hub refused a result: drop it from the outbox and count the refusal. */
  async rejectResult (hubPeerId: string, replicaId: string): Promise<void> {
    const tx = this.db.transaction(['outbox', 'meta'], 'readwrite')
    const meta = tx.objectStore('meta')
    const rejected = (await getMeta(meta, 'resultsRejected') ?? 0) + 1
    await tx.objectStore('outbox').delete([hubPeerId, replicaId])
    await putMeta(meta, 'resultsRejected', rejected)
    await tx.done
  }

  // ---- receipts ----

  async putCredit (credit: StoredCredit): Promise<void> { await this.db.put('credits', credit) }
  async credits (): Promise<StoredCredit[]> { return await this.db.getAll('credits') }
  /** Every replica a hub acknowledged (its ack kept until the receipt, and after). */
  async ackedReplicas (): Promise<ReplicaKey[]> {
    return (await this.db.getAllKeys('acks')).map(([hubPeerId, replicaId]) => ({ hubPeerId, replicaId }))
  }

  // ---- identity ----

  /** Replace the identity key and forget the old identity's acks, receipts and leases (one transaction). */
  async replaceIdentity (key: PrivateKey): Promise<void> {
    const tx = this.db.transaction(['identity', 'acks', 'credits', 'leases'], 'readwrite')
    await tx.objectStore('identity').put({ privateKey: privateKeyToProtobuf(key) }, 'self')
    await tx.objectStore('acks').clear()
    await tx.objectStore('credits').clear()
    await tx.objectStore('leases').clear()
    await tx.done
  }
}
