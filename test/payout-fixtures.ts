/**
 * Shared set-up of the payout tests: a hub with credit, a real local EVM (EDR) with the contracts
 * deployed by a fresh operator key, and helpers to bind and to read custom errors.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { Address, Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { HubCore } from '../src/hub/hub-core.ts'
import { startHubHttp } from '../src/hub/http-server.ts'
import { CONTRACTS_DIR, ContractRevertError, PayoutContracts, deployPayoutContracts, loadOrCreateOperatorKey, saveDeployment } from '../src/hub/payout-chain.ts'
import { LocalEvm } from '../src/hub/local-evm.ts'
import type { PayoutDeployment } from '../src/hub/payout-chain.ts'
import { PayoutApi } from '../src/hub/payout-api.ts'
import { signPayoutBinding } from '../src/protocol/payout.ts'
import { decodePrimesInput } from '../src/protocol/primes.ts'
import { REPO_ROOT, tempDir } from './helpers.ts'
import { type Volunteer, countPrimes, resultFor, volunteer } from './hub-fixtures.ts'

/** Compile the contracts once when build/contracts is missing (npm test builds them anyway). */
export function ensureContracts (): void {
  if (existsSync(join(CONTRACTS_DIR, 'PayoutDistributor.json'))) return
  execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'build-contracts.ts')], { stdio: 'inherit', cwd: REPO_ROOT })
}

/** An Ethereum account made for a test. */
export interface EthAccount { key: Hex, address: Address }
export function ethAccount (): EthAccount {
  const key = generatePrivateKey()
  return { key, address: privateKeyToAccount(key).address }
}

export interface PayoutWorld {
  dir: string
  hubKey: PrivateKey
  core: HubCore
  api: PayoutApi
  evm: LocalEvm
  deployment: PayoutDeployment
  contracts: PayoutContracts
  operatorKey: Hex
  /** Pays gas for claims (funded at genesis). */
  relayer: EthAccount
  clock: { now: number }
  httpUrl?: string
  close: () => Promise<void>
}

/** A hub in a temp dir, a local EVM funding the operator and a relayer, the contracts deployed. */
export async function payoutWorld (opts: { http?: boolean, fund?: Address[] } = {}): Promise<PayoutWorld> {
  ensureContracts()
  const dir = tempDir('sparecycles-payout-')
  const hubKey = await generateKeyPair('Ed25519')
  const clock = { now: 1_700_000_000_000 }
  const core = await HubCore.open({ dataDir: dir, hubKey, now: () => clock.now, defaultPolicy: 'replicate', leaseOrder: 'sequential' })
  const operatorKey = loadOrCreateOperatorKey(dir)
  const relayer = ethAccount()
  const evm = new LocalEvm({ fund: [privateKeyToAccount(operatorKey).address, relayer.address, ...(opts.fund ?? [])] })
  const url = await evm.start()
  const deployment = await deployPayoutContracts(url, operatorKey)
  saveDeployment(dir, deployment)
  let httpUrl: string | undefined
  let server: { close: () => Promise<unknown> } | undefined
  if (opts.http === true) {
    const staticDir = join(dir, 'static')
    mkdirSync(staticDir)
    const http = await startHubHttp({ core, staticDir, host: '127.0.0.1', port: 0, hubInfo: () => ({ peerId: core.peerId, multiaddrs: [] }) })
    httpUrl = http.url
    server = http.server
  }
  return {
    dir, hubKey, core, api: new PayoutApi(core), evm, deployment, contracts: new PayoutContracts(url, deployment), operatorKey, relayer, clock, httpUrl,
    close: async () => {
      await server?.close()
      await core.close()
      await evm.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Lease and submit correct results until the job has nothing left for `vs`. */
export async function workAll (core: HubCore, vs: Volunteer[], clock: { now: number }): Promise<void> {
  for (;;) {
    let n = 0
    for (const v of vs) {
      const leases = (await core.lease(v.id, { maxUnits: 2, release: [], deviceClass: 'wasm' })).leases
      for (const l of leases) {
        const { lo, hi } = decodePrimesInput(l.input)
        const res = await core.submit(v.id, await resultFor(v, l, countPrimes(lo, hi)))
        if (res.status !== 'accepted') throw new Error(`submission refused: ${res.status}`)
        n++
      }
    }
    clock.now += 1000
    if (n === 0) return
  }
}

/** Sign and append a binding of `v`'s credit to `address` at the hub's clock (then a minute passes). */
export async function bind (w: PayoutWorld, v: Volunteer, address: string): Promise<number> {
  const { binding, signature } = await signPayoutBinding(v.key, { peerId: v.id, address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId })
  const seq = (await w.api.bind(binding, signature)).seq
  // the next binding of a peer may come a minute later (PAYOUT_BINDING_MIN_INTERVAL_MS)
  w.clock.now += 60_000
  return seq
}

/** The Solidity custom error a call was refused with (fails the test when it was not refused that way). */
export async function revertName (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof ContractRevertError) return err.errorName
    throw err
  }
  throw new Error('the call was not refused')
}

export { volunteer }
export type { Volunteer }
