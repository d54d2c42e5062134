/**
 * A throwaway PostgreSQL cluster for tests (scripts/pg-cluster.sh): started in a fresh directory
 * under `$SPARECYCLES_PG_DIR_PREFIX` (default `<tmpdir>/sparecycles-pg-`), one database per
 * `database()` call, stopped and removed by `stop()`. No mocks: a real server on a unix socket.
 * When PostgreSQL is not installed, `startPgCluster` throws (the tests fail; they never skip).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { parseStoreUrl } from '../src/hub/pg-store.ts'
import { REPO_ROOT } from './helpers.ts'

const SCRIPT = join(REPO_ROOT, 'scripts', 'pg-cluster.sh')

export interface PgCluster {
  dir: string
  /** A new empty database; @returns its store URL */
  database: () => string
  /** Raw SQL on a database (tests only): its rows, bigint and bytea as the repository reads them. */
  query: <T = Record<string, unknown>>(url: string, sql: string, params?: unknown[]) => Promise<T[]>
  stop: () => Promise<void>
}

/** @throws Error when PostgreSQL is missing or the cluster does not start */
export function startPgCluster (): PgCluster {
  const dir = mkdtempSync(process.env.SPARECYCLES_PG_DIR_PREFIX ?? join(tmpdir(), 'sparecycles-pg-'))
  const start = (db: string): string => execFileSync(SCRIPT, ['start', dir, db], { encoding: 'utf8' }).trim().split('\n').pop() as string
  start('sparecycles')
  let n = 0
  const conns = new Map<string, postgres.Sql>()
  return {
    dir,
    database: () => start(`t${++n}`),
    query: async <T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> => {
      let c = conns.get(url)
      if (c == null) {
        const t = parseStoreUrl(url)
        c = postgres({ host: t.host, port: t.port, database: t.database, username: t.user, max: 1, onnotice: () => {}, types: { int8: { to: 20, from: [20], serialize: String, parse: Number } } as never })
        conns.set(url, c)
      }
      return [...await c.unsafe(sql, params as never[])] as T[]
    },
    stop: async () => {
      for (const c of conns.values()) await c.end({ timeout: 5 })
      execFileSync(SCRIPT, ['stop', dir])
      rmSync(dir, { recursive: true, force: true })
      rmSync(`${dir}.initdb.log`, { force: true })
    }
  }
}
