/**
 * The volunteer's IndexedDB (via idb): identity key, leased replicas, the outbox of signed results
 * not yet acknowledged, hub acknowledgements, credit receipts and small counters. A reload resumes
 * from here.
 */
import { openDB } from 'idb'
import { isBase64 } from '../protocol/base64.ts'
import { MAX_HUBS, isHubUrl } from '../protocol/hub-urls.ts'
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb'
import type { GovernorSettings } from './governor.ts'

export const VOLUNTEER_DB_NAME = 'sparecycles-volunteer'
export const VOLUNTEER_DB_VERSION = 3

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
  /**
   * The hubs the visitor added besides the page's own (hub-set.ts), in the order added: each its
   * base URL (http(s), checked by protocol/hub-urls.ts) and when it was added (Unix ms).
   */
  hubs: Array<{ url: string, addedAtMs: number }>
}
export type MetaKey = keyof MetaValues

/** The volunteer database's stores: key and value types of each (idb's DBSchema). */
export interface VolunteerSchema extends DBSchema {
  blobs: { key: string, value: StoredBlob }
  identity: { key: string, value: { privateKey: Uint8Array } }
  /** Keyed by [hubPeerId, replicaId] (version 3): two hubs may both issue `job-1/wu-0/r0`. */
  leases: { key: [string, string], value: StoredLease }
  outbox: { key: [string, string], value: OutboxEntry }
  acks: { key: [string, string], value: StoredAck }
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
    Object.values(v).every(k => k != null && typeof k === 'object' && isBase64(k.ledgerKey) && isBase64(k.ledgerDelegation)),
  hubs: (v): v is MetaValues['hubs'] => Array.isArray(v) && v.length <= MAX_HUBS &&
    v.every(h => h != null && typeof h === 'object' && isHubUrl(h.url) && typeof h.addedAtMs === 'number')
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

/** The stores keyed by [hubPeerId, replicaId] since version 3 (before: by replicaId alone). */
const HUB_KEYED = ['leases', 'outbox', 'acks'] as const

/**
 * Version 2 → 3: the leases, outbox and acks stores keyed by replicaId become keyed by
 * [hubPeerId, replicaId]. IndexedDB cannot change a store's key path, so each store's records are
 * read, the store is dropped and made again, and the records go back — all in the upgrade's one
 * transaction (a crash leaves version 2 as it was).
 */
function rekeyByHub (tx: IDBPTransaction<VolunteerSchema, Array<StoreNames<VolunteerSchema>>, 'versionchange'>): void {
  const db = tx.db
  for (const name of HUB_KEYED) {
    // the old store's key type differs from the schema's: read it untyped
    const old = tx.objectStore(name) as unknown as { getAll: () => Promise<Array<StoredLease | OutboxEntry | StoredAck>> }
    void old.getAll().then(async records => {
      db.deleteObjectStore(name)
      const store = db.createObjectStore(name, { keyPath: ['hubPeerId', 'replicaId'] })
      for (const r of records) await (store as unknown as { put: (v: unknown) => Promise<unknown> }).put(r)
    })
  }
}

export async function openVolunteerDb (name = VOLUNTEER_DB_NAME): Promise<VolunteerDb> {
  return openDB<VolunteerSchema>(name, VOLUNTEER_DB_VERSION, {
    upgrade (db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        const credits = db.createObjectStore('credits', { keyPath: ['hubPeerId', 'seq'] })
        credits.createIndex('byReplica', 'replicaId')
        db.createObjectStore('meta')
      }
      if (oldVersion < 2) db.createObjectStore('blobs', { keyPath: 'cid' })
      if (oldVersion >= 1 && oldVersion < 3) rekeyByHub(tx)
      else if (oldVersion < 1) for (const name of HUB_KEYED) db.createObjectStore(name, { keyPath: ['hubPeerId', 'replicaId'] })
    }
  })
}
