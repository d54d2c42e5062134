/**
 * Which store a store-heavy test file runs on: SQLite in its data dir (default), or PostgreSQL
 * with `SPARECYCLES_TEST_STORE=postgres` (a cluster started once per file by scripts/pg-cluster.sh,
 * a fresh database per store; call `stopTestStores` in afterAll). E.g.
 * `SPARECYCLES_TEST_STORE=postgres npx vitest run test/hub.group-commit.test.ts`.
 */
import { PgHubRepository } from '../src/hub/pg-repository.ts'
import { SqliteHubRepository } from '../src/hub/sqlite-repository.ts'
import { startPgCluster } from './pg-cluster.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { HubRepository } from '../src/hub/repository.ts'

/** `sqlite` or `postgres`, from SPARECYCLES_TEST_STORE. @throws Error for another value */
export function testStoreKind (): 'sqlite' | 'postgres' {
  const kind = process.env.SPARECYCLES_TEST_STORE ?? 'sqlite'
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`SPARECYCLES_TEST_STORE must be sqlite or postgres, got ${kind}`)
  return kind
}

let cluster: PgCluster | undefined

export interface TestStore {
  repo: HubRepository
  /** Another repository (another connection) on the same store, to see what was committed. */
  second: () => Promise<HubRepository>
}

/** A fresh store for a hub whose files live in `dataDir`. */
export async function openTestStore (dataDir: string): Promise<TestStore> {
  if (testStoreKind() === 'sqlite') return { repo: SqliteHubRepository.open(dataDir), second: async () => SqliteHubRepository.open(dataDir) }
  cluster ??= startPgCluster()
  const url = cluster.database()
  return { repo: await PgHubRepository.open(url, dataDir), second: async () => await PgHubRepository.open(url, dataDir) }
}

/** Stop the file's PostgreSQL cluster, if one was started. */
export async function stopTestStores (): Promise<void> {
  await cluster?.stop()
  cluster = undefined
}
