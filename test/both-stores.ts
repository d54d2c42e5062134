/**
 * Both real stores side by side in one test file (the issue-14 commit-point tests): SQLite in a
 * fresh data dir, PostgreSQL in a fresh database of a throwaway cluster (scripts/pg-cluster.sh),
 * each with a second repository (another connection) on the same store. Call `bothStores()` at the
 * top of the file: it starts the cluster before the file's tests and stops it after.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { PgHubRepository } from '../src/hub/pg-repository.ts'
import { SqliteHubRepository } from '../src/hub/sqlite-repository.ts'
import { startPgCluster } from './pg-cluster.ts'
import type { PgCluster } from './pg-cluster.ts'
import type { HubRepository } from '../src/hub/repository.ts'

/** A store opened for a test: its repository and a second one on the same store. */
export interface OpenedStore {
  repo: HubRepository
  second: () => Promise<HubRepository>
}

/** `[kind, open]` for SQLite and PostgreSQL; `open` makes a fresh store each call. */
export function bothStores (prefix: string): Array<['sqlite' | 'postgres', () => Promise<OpenedStore>]> {
  let cluster: PgCluster | undefined
  const dirs: string[] = []
  beforeAll(() => { cluster = startPgCluster() })
  afterAll(async () => {
    await cluster?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), prefix))
    dirs.push(d)
    return d
  }
  return [
    ['sqlite', async () => {
      const d = dir()
      return { repo: SqliteHubRepository.open(d), second: async () => SqliteHubRepository.open(d) }
    }],
    ['postgres', async () => {
      if (cluster == null) throw new Error('the PostgreSQL cluster is not started (call bothStores at the top of the file)')
      const url = cluster.database()
      const d = dir()
      return { repo: await PgHubRepository.open(url, d), second: async () => await PgHubRepository.open(url, d) }
    }]
  ]
}
