/**
 * The volunteer's IndexedDB (via idb): identity key, leased replicas, the outbox of signed results
 * not yet acknowledged, hub acknowledgements, credit receipts and small counters. A reload resumes
 * from here.
 */
import { openDB } from 'idb'
import type { DBSchema, IDBPDatabase } from 'idb'

export const VOLUNTEER_DB_NAME = 'sparecycles-volunteer'
export const VOLUNTEER_DB_VERSION = 2

export interface StoredLease {
  replicaId: string
  hubPeerId: string
  /** protobuf-encoded Lease as the hub sent it. */
  lease: Uint8Array
  storedAtMs: number
}

export interface OutboxEntry {
  replicaId: string
  hubPeerId: string
  /** protobuf-encoded SignedResult. */
  signed: Uint8Array
  createdAtMs: number
  attempts: number
}

export interface StoredAck {
  replicaId: string
  hubPeerId: string
  /** protobuf-encoded HubReceipt whose body is a ResultAck. */
  receipt: Uint8Array
}

export interface StoredCredit {
  hubPeerId: string
  seq: number
  replicaId: string
  credit: number
  /** protobuf-encoded HubReceipt whose body is a CreditEntry. */
  receipt: Uint8Array
}

/** A verified content-addressed blob (researcher kernel or kernel ticket), keyed by sha-256 hex. */
export interface StoredBlob {
  cid: string
  bytes: Uint8Array
  storedAtMs: number
}

interface VolunteerSchema extends DBSchema {
  blobs: { key: string, value: StoredBlob }
  identity: { key: string, value: { privateKey: Uint8Array } }
  leases: { key: string, value: StoredLease }
  outbox: { key: string, value: OutboxEntry }
  acks: { key: string, value: StoredAck }
  credits: { key: [string, number], value: StoredCredit, indexes: { byReplica: string } }
  meta: { key: string, value: unknown }
}

export type VolunteerDb = IDBPDatabase<VolunteerSchema>

export async function openVolunteerDb (name = VOLUNTEER_DB_NAME): Promise<VolunteerDb> {
  return openDB<VolunteerSchema>(name, VOLUNTEER_DB_VERSION, {
    upgrade (db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        db.createObjectStore('leases', { keyPath: 'replicaId' })
        db.createObjectStore('outbox', { keyPath: 'replicaId' })
        db.createObjectStore('acks', { keyPath: 'replicaId' })
        const credits = db.createObjectStore('credits', { keyPath: ['hubPeerId', 'seq'] })
        credits.createIndex('byReplica', 'replicaId')
        db.createObjectStore('meta')
      }
      if (oldVersion < 2) db.createObjectStore('blobs', { keyPath: 'cid' })
    }
  })
}
