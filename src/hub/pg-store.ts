/**
 * The PostgreSQL half of the hub's repository: the connection pool (the `postgres` package), the
 * store URL, the schema (pg-schema.ts) brought up to date, and the errors. pg-repository.ts holds
 * the transactions, pg-*-ops.ts the operations.
 *
 * Values: `bigint` and `numeric` come back as JS numbers (ms times, base units and counts stay
 * below 2^53), `bytea` as plain Uint8Array (not Buffer), as SQLite's rows do.
 */
import postgres from 'postgres'
import type { ErrorName } from '../protocol/errors.ts'
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './pg-schema.ts'

/** A store URL that is not a PostgreSQL connection URL, or that names no database. */
export class StoreUrlError extends Error {
  static override readonly name: ErrorName = 'StoreUrlError'
  override readonly name: ErrorName = 'StoreUrlError'
}

/** A database written by a newer hub (its schema_version is above this hub's). */
export class StoreSchemaError extends Error {
  static override readonly name: ErrorName = 'StoreSchemaError'
  override readonly name: ErrorName = 'StoreSchemaError'
}

/** A transaction that kept failing on serialization failures, deadlocks or racing inserts, after every retry. */
export class TransactionRetryError extends Error {
  static override readonly name: ErrorName = 'TransactionRetryError'
  override readonly name: ErrorName = 'TransactionRetryError'
}

/** An operation on a repository after `close`. */
export class StoreClosedError extends Error {
  static override readonly name: ErrorName = 'StoreClosedError'
  override readonly name: ErrorName = 'StoreClosedError'
}

/** Where to connect, parsed from a store URL. */
export interface PgTarget {
  /** A host name, or the directory of a unix socket (starts with '/'). */
  host: string
  port: number
  database: string
  user: string
  password?: string
  /** TLS to the server (`sslmode`, as libpq's: absent or `disable` none, `require` unverified, `verify-full` the certificate checked). */
  ssl?: 'require' | 'verify-full'
  /** The URL without its password, for messages. */
  display: string
}

/** `url` with the password in its user info replaced by `***` (for messages and logs). */
export function redactStoreUrl (url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@')
}

/** True for a `--store` value meaning PostgreSQL (`postgres://` or `postgresql://`). */
export function isPostgresUrl (store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store)
}

/**
 * Parse `postgres://[user[:password]@][host][:port]/database[?host=/socket/dir][&sslmode=MODE]`.
 * An empty host with `?host=/dir` (libpq's form) connects over the unix socket
 * `/dir/.s.PGSQL.<port>`; no host at all means `/var/run/postgresql`. `sslmode` is `disable`
 * (default), `require` (TLS, certificate not checked) or `verify-full` (TLS, certificate and host
 * name checked against the system's CAs). Without a password in the URL, PGPASSWORD is used (the
 * client's own fallback), so the password need not sit in the command line. Other query
 * parameters are refused. Messages never repeat the password.
 * @throws StoreUrlError for another scheme, a URL that does not parse, a missing database, an
 *   unknown parameter or a bad port
 */
export function parseStoreUrl (url: string): PgTarget {
  if (!isPostgresUrl(url)) throw new StoreUrlError(`store URL must start with postgres:// or postgresql://, got ${JSON.stringify(redactStoreUrl(url))}`)
  // URL() refuses credentials with an empty host: put a placeholder host in, remember it was empty
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*@)?([^/?#]*)(.*)$/i.exec(url)
  if (m == null) throw new StoreUrlError(`not a PostgreSQL URL: ${redactStoreUrl(url)}`)
  const emptyHost = m[3] === ''
  let u: URL
  try {
    u = new URL(`${m[1]}${m[2] ?? ''}${emptyHost ? 'placeholder.invalid' : m[3]}${m[4]}`)
  } catch {
    throw new StoreUrlError(`not a PostgreSQL URL: ${redactStoreUrl(url)}`)
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''))
  if (database === '' || database.includes('/')) throw new StoreUrlError(`store URL names no database (postgres://user@host/DATABASE): ${redactStoreUrl(url)}`)
  let socketDir: string | undefined
  let ssl: PgTarget['ssl']
  for (const [k, v] of u.searchParams) {
    if (k === 'host' && v.startsWith('/')) socketDir = v
    else if (k === 'sslmode' && (v === 'require' || v === 'verify-full')) ssl = v
    else if (k === 'sslmode' && v === 'disable') ssl = undefined
    else throw new StoreUrlError(`unsupported store URL parameter ${k}=${v} (only host=/socket/dir and sslmode=disable|require|verify-full)`)
  }
  const port = u.port === '' ? 5432 : Number(u.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StoreUrlError(`bad port in store URL: ${redactStoreUrl(url)}`)
  const host = socketDir ?? (emptyHost ? '/var/run/postgresql' : u.hostname)
  const user = u.username !== '' ? decodeURIComponent(u.username) : (process.env.PGUSER ?? 'postgres')
  const password = u.password !== '' ? decodeURIComponent(u.password) : undefined
  return { host, port, database, user, password, ssl, display: `postgres://${user}@${emptyHost ? '' : u.host}/${database}${socketDir != null ? `?host=${socketDir}` : ''}` }
}

export type Sql = postgres.Sql<Record<string, never>>
export type TxSql = postgres.TransactionSql<Record<string, never>>

/** A pool of `max` connections to the store URL's database, with the types converted as the row types want. */
export function connect (target: PgTarget, max: number): Sql {
  const hex = (x: Uint8Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')
  return postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    username: target.user,
    password: target.password,
    ssl: target.ssl ?? false,
    max,
    onnotice: () => {},
    // on whatever the server's default: COMMIT returns only after the commit record is flushed (an acked result survives a crash)
    connection: { application_name: 'sparecycles-hub', synchronous_commit: 'on' },
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      numeric: { to: 1700, from: [1700], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      bytea: { to: 17, from: [17], serialize: (x: Uint8Array) => `\\x${hex(x)}`, parse: (x: string) => new Uint8Array(Buffer.from(x.slice(2), 'hex')) }
    }
  }) as unknown as Sql
}

/** Advisory lock keys (pg_advisory_xact_lock), one per serialised thing of the deployment. */
export const LOCK_MIGRATE = 7_140_001
export const LOCK_LEDGER = 7_140_002
export const LOCK_JOB_SEQ = 7_140_003

/**
 * Bring the schema up to date, under an advisory lock (two hubs starting at once wait for each other).
 * @throws StoreSchemaError when the database has a newer schema than this hub's
 */
export async function migrate (sql: Sql, display: string): Promise<void> {
  await sql.begin(async tx => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(${LOCK_MIGRATE})`)
    await tx.unsafe('CREATE TABLE IF NOT EXISTS meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)')
    const rows = await tx.unsafe<Array<{ value: string }>>("SELECT value FROM meta WHERE key = 'schema_version'")
    const current = Number(rows[0]?.value ?? '0')
    if (current > PG_SCHEMA_VERSION) throw new StoreSchemaError(`${display} has schema version ${current}, newer than this hub's ${PG_SCHEMA_VERSION}`)
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue
      await tx.unsafe(m.sql)
      await tx.unsafe("INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [String(m.version)])
    }
  })
}

/**
 * Whether `err` says the server is gone or unreachable, not that the statement was wrong: the
 * `postgres` client's connection errors (CONNECTION_CLOSED, CONNECTION_ENDED, CONNECTION_DESTROYED,
 * CONNECT_TIMEOUT), the socket's (ECONNREFUSED, ENOENT for a unix socket that is gone, ECONNRESET,
 * EPIPE), and the server's shutdown and connection classes (SQLSTATE 57P01-57P03, class 08).
 * The client reconnects by itself on the next query.
 */
export function connectionLost (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return false
  return ['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE'].includes(code) ||
    code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08')
}

/**
 * SQLSTATEs after which a whole transaction may run again: serialization failure, deadlock, and a
 * unique violation (another hub inserted the same key first — a result of the same replica, a
 * ledger entry of the same replica: the next run sees that row and takes the duplicate path).
 */
export function retryable (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === '40001' || code === '40P01' || code === '23505'
}
