/**
 * The payout_epochs table (schema 9) on both stores: SQLite and a real PostgreSQL cluster
 * (scripts/pg-cluster.sh). An intent is inserted, then moved to posted and confirmed by upserts;
 * the fields an epoch is made of (root, seq, leaves) never change on update.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PgHubRepository } from '../src/hub/pg-repository.ts'
import { SqliteHubRepository } from '../src/hub/sqlite-repository.ts'
import type { HubRepository, PayoutEpochRow } from '../src/hub/repository.ts'
import { startPgCluster } from './pg-cluster.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { privateKeyToAccount } from 'viem/accounts'
import { Ledger } from '../src/hub/ledger.ts'
import { CreditEntry } from '../src/protocol/pb/messages.ts'
import { pseudonymKeyOf } from '../src/protocol/pseudonym.ts'
import { PayoutContracts, deployPayoutContracts, loadOrCreateOperatorKey } from '../src/hub/payout-chain.ts'
import { LocalEvm } from '../src/hub/local-evm.ts'
import { runPayoutEpoch } from '../src/hub/payout-epochs.ts'
import { signPayoutBinding } from '../src/protocol/payout.ts'
import { ensureContracts, ethAccount, volunteer } from './payout-fixtures.ts'
import type { PgCluster } from './pg-cluster.ts'

let cluster: PgCluster
const dirs: string[] = []
beforeAll(() => { cluster = startPgCluster() })
afterAll(async () => {
  await cluster?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function dir (): string {
  const d = mkdtempSync(join(tmpdir(), 'payout-store-'))
  dirs.push(d)
  return d
}

const intent: PayoutEpochRow = {
  epoch: 1, ledger_seq: 7, chain_head: `0x${'ab'.repeat(32)}`, root: `0x${'cd'.repeat(32)}`, total_token_units: '123456789012345678901234567890', total_credit_units: '123456789012345678901',
  leaves: '[["0x0000000000000000000000000000000000000001","123456789012345678901234567890"]]', chain_id: 31337, distributor: '0x00000000000000000000000000000000000000d1',
  status: 'intent', tx_hash: null, block_number: null, created_at_ms: 1_700_000_000_000, posted_at_ms: null, confirmed_at_ms: null
}

const backends: Array<[string, () => Promise<HubRepository>]> = [
  ['sqlite', async () => SqliteHubRepository.open(dir())],
  ['postgres', async () => await PgHubRepository.open(cluster.database(), dir())]
]

describe.each(backends)('%s: payout_epochs', (_name, open) => {
  it('intent, then posted, then confirmed; the epoch\'s content is kept as first written', async () => {
    const repo = await open()
    try {
      expect(await repo.read(async tx => await tx.payoutEpochs())).toEqual([])
      await repo.transaction(async tx => { await tx.putPayoutEpoch(intent) })
      expect(await repo.read(async tx => await tx.payoutEpochs())).toEqual([intent])
      const posted = { ...intent, status: 'posted' as const, tx_hash: `0x${'ef'.repeat(32)}`, posted_at_ms: 1_700_000_000_100 }
      await repo.transaction(async tx => { await tx.putPayoutEpoch({ ...posted, root: `0x${'00'.repeat(32)}`, ledger_seq: 99 }) })
      expect(await repo.read(async tx => await tx.payoutEpochs())).toEqual([posted])
      const confirmed = { ...posted, status: 'confirmed' as const, block_number: 12, confirmed_at_ms: 1_700_000_000_200 }
      await repo.transaction(async tx => {
        await tx.putPayoutEpoch(confirmed)
        await tx.putPayoutEpoch({ ...intent, epoch: 2, ledger_seq: 9 })
      })
      expect(await repo.read(async tx => await tx.payoutEpochs())).toEqual([confirmed, { ...intent, epoch: 2, ledger_seq: 9 }])
      await expect(repo.transaction(async tx => { await tx.putPayoutEpoch({ ...intent, epoch: 3, status: 'lost' as never }) })).rejects.toThrow(/check/i)
    } finally { await repo.close() }
  })
})

describe.each(backends)('%s: a payout epoch end to end', (_name, open) => {
  it('grants and a binding in the store become a confirmed epoch on a local EVM', async () => {
    ensureContracts()
    const repo = await open()
    const evm = new LocalEvm()
    try {
      const key = await generateKeyPair('Ed25519')
      const ledger = new Ledger(key, pseudonymKeyOf(key.raw))
      const v = await volunteer()
      const address = ethAccount().address
      const { binding, signature } = await signPayoutBinding(v.key, { peerId: v.id, address, boundAtMs: 1, ledgerPeerId: v.id })
      await repo.transaction(async tx => {
        await ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 0.25, grantedAtMs: 1 })
        await ledger.appendPayoutBinding(tx, v.id, { address: binding.address, boundAtMs: binding.boundAtMs, signature }, 2)
        await ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/1', replicaId: 'j/1/r0', credit: 0.5, grantedAtMs: 3 })
      })
      // what a new binding is checked against: the latest binding entry and whether credit was granted
      const state = await repo.read(async tx => await tx.payoutBindingState(v.id))
      expect(state.granted).toBe(true)
      expect(CreditEntry.decode(state.lastBinding!)).toMatchObject({ seq: 2, payoutAddress: address, payoutBoundAtMs: 1 })
      expect(await repo.read(async tx => await tx.payoutBindingState('nobody'))).toEqual({ lastBinding: undefined, granted: false })
      const operatorKey = loadOrCreateOperatorKey(dir())
      const rpc = await evm.start()
      await evm.rpc('hardhat_setBalance', [privateKeyToAccount(operatorKey).address, '0x3635c9adc5dea00000'])
      const contracts = new PayoutContracts(rpc, await deployPayoutContracts(rpc, operatorKey))
      const r = await runPayoutEpoch({ repo, contracts, operatorKey })
      expect(r.epoch).toMatchObject({ epoch: 1, ledger_seq: 3, status: 'confirmed', total_token_units: (75n * 10n ** 16n).toString() })
      expect((await repo.read(async tx => await tx.payoutEpochs())).map(e => e.status)).toEqual(['confirmed'])
      expect((await contracts.epoch(1)).root).toBe(r.epoch.root)
    } finally {
      await evm.stop()
      await repo.close()
    }
  })
})
