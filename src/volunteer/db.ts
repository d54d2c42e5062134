/**
 * The volunteer's IndexedDB (via idb): identity key, leased replicas, the outbox of signed results
 * not yet acknowledged, hub acknowledgements, credit receipts and small counters. A reload resumes
 * from here.
 */
import { openDB } from 'idb'
import { isBase64 } from '../protocol/base64.ts'
import type { DBSchema, IDBPDatabase } from 'idb'
import type { GovernorSettings } from './governor.ts'

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
  /** The amount as credit (display). */
  credit: number
  /** The amount in base units (protocol/credit.ts); absent in records kept before integer credit. */
  creditUnits?: number
  /** protobuf-encoded HubReceipt whose body is a CreditEntry. */
  receipt: Uint8Array
  /**
   * Peer id of the ledger key that signed it (protocol/ledger-key.ts); absent in records kept
   * before ledger keys (then the hub's own key). One entry fetched through two hubs of a
   * deployment is kept twice and counted once, by (ledger key, seq).
   */
  ledgerPeerId?: string
}

/** A verified content-addressed blob (researcher kernel or kernel ticket), keyed by sha-256 hex. */
export interface StoredBlob {
  cid: string
  bytes: Uint8Array
  storedAtMs: number
}

/**
 * The small values kept in the `meta` store, by key: each key's value type, so reads need no casts.
 * `running`: the visitor pressed Start and not Stop; `runUntil`: until when that Start holds (Unix
 * ms; null = "always on this device"): a reload resumes only while it holds; `unitsDone`: work units
 * computed here, all time; `resultsRejected`: results the hub refused; `governor`: the CPU/GPU
 * shares (each 0.1-1); `unitsByKernel`: work units computed, by kernel id.
 */
export interface MetaValues {
  running: boolean
  runUntil: number | null
  unitsDone: number
  resultsRejected: number
  governor: GovernorSettings
  unitsByKernel: Record<string, number>
  /** Ledger salt (hex, 16 bytes) per hub peer id: names this peer's pseudonym in the hub's public ledger (protocol/pseudonym.ts). */
  ledgerSalts: Record<string, string>
  /**
   * Per hub peer id, the ledger key it presented and its delegation to it (base64,
   * protocol/ledger-key.ts LedgerKeyJson): kept for statements. Hubs whose own key is the ledger
   * key have none.
   */
  ledgerKeys: Record<string, { ledgerKey: string, ledgerDelegation: string }>
}
export type MetaKey = keyof MetaValues

/** The volunteer database's stores: key and value types of each (idb's DBSchema). */
export interface VolunteerSchema extends DBSchema {
  blobs: { key: string, value: StoredBlob }
  identity: { key: string, value: { privateKey: Uint8Array } }
  leases: { key: string, value: StoredLease }
  outbox: { key: string, value: OutboxEntry }
  acks: { key: string, value: StoredAck }
  credits: { key: [string, number], value: StoredCredit, indexes: { byReplica: string } }
  meta: { key: MetaKey, value: MetaValues[MetaKey] }
}

export type VolunteerDb = IDBPDatabase<VolunteerSchema>

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isRecordOfCounts = (v: unknown): v is Record<string, number> =>
  v != null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isCount)

/** Shape checks of each `meta` value: a value that fails one reads back as undefined. */
const META_CHECKS: { [K in MetaKey]: (v: unknown) => v is MetaValues[K] } = {
  running: (v): v is boolean => typeof v === 'boolean',
  runUntil: (v): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v)),
  unitsDone: isCount,
  resultsRejected: isCount,
  governor: (v): v is GovernorSettings => v != null && typeof v === 'object' &&
    'cpuShare' in v && typeof v.cpuShare === 'number' && 'gpuShare' in v && typeof v.gpuShare === 'number',
  unitsByKernel: isRecordOfCounts,
  ledgerSalts: (v): v is Record<string, string> => v != null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(s => typeof s === 'string' && /^[0-9a-f]{32}$/.test(s)),
  ledgerKeys: (v): v is MetaValues['ledgerKeys'] => v != null && typeof v === 'object' && !Array.isArray(v) &&
    Object.values(v).every(k => k != null && typeof k === 'object' && isBase64(k.ledgerKey) && isBase64(k.ledgerDelegation))
}

/** Read one `meta` value with its own type (undefined when never written or not of that shape). */
export async function getMeta<K extends MetaKey> (meta: MetaReader, key: K): Promise<MetaValues[K] | undefined> {
  const value: unknown = await meta.get(key)
  const check: (v: unknown) => v is MetaValues[K] = META_CHECKS[key]
  return check(value) ? value : undefined
}

/** Write one `meta` value, type-checked against its key. */
export async function putMeta<K extends MetaKey> (meta: MetaWriter, key: K, value: MetaValues[K]): Promise<void> {
  await meta.put(value, key)
}

/** The `meta` object store (of a transaction), as far as getMeta reads it. */
export interface MetaReader { get: (key: MetaKey) => Promise<unknown> }
/** The `meta` object store of a readwrite transaction, as far as putMeta writes it. */
export interface MetaWriter { put: (value: MetaValues[MetaKey], key: MetaKey) => Promise<unknown> }

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
