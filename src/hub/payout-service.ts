/**
 * The hub's payout service (issue 16): the chain next to the hub and the epoch schedule.
 *
 * - `chain: { kind: 'local' }` (what `npm start` runs): a local EVM (local-evm.ts) in the hub's
 *   process, journaled in `<dataDir>/payout-chain-journal.jsonl` so a restart finds the same chain;
 *   the token and distributor are deployed by the operator key on first start and recorded in
 *   `<dataDir>/payout-chain.json` (payout-chain.ts).
 * - `chain: { kind: 'rpc', rpcUrl }`: another chain; the contracts must have been deployed there
 *   (`sparecycles payout deploy`), so `payout-chain.json` names them, and the operator key must hold gas.
 *
 * Every `epochIntervalMs` (and once at start, so an epoch a crash left unconfirmed is finished) the
 * service runs payout-epochs.ts runPayoutEpoch when the ledger has grown since the last epoch. One
 * run at a time; a run that fails is logged and tried again at the next tick. With several hubs on
 * one database, give the schedule to one of them (the distributor refuses a second root for an
 * epoch in any case).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { LocalEvm } from './local-evm.ts'
import { PayoutChainError, PayoutContracts, deployPayoutContracts, loadDeployment, loadOrCreateOperatorKey, readKeyFile, saveDeployment } from './payout-chain.ts'
import type { PayoutDeployment } from './payout-chain.ts'
import { PayoutEpochError, runPayoutEpoch } from './payout-epochs.ts'
import type { RunEpochResult } from './payout-epochs.ts'
import type { HubRepository } from './repository.ts'
import type { HubLogger } from './log.ts'

/** File of the local chain's journal inside the data dir. */
export const LOCAL_CHAIN_JOURNAL_FILE = 'payout-chain-journal.jsonl'
/** Default local EVM JSON-RPC port (Hardhat's and anvil's). */
export const DEFAULT_LOCAL_EVM_PORT = 8545

/** Which chain the payouts go to. */
export type PayoutChainConfig =
  | { kind: 'local', host?: string, port?: number, fund?: Address[] }
  | { kind: 'rpc', rpcUrl: string, chainId?: number }

export interface PayoutServiceOptions {
  /** The hub's data dir: operator key, payout-chain.json, the local chain's journal. */
  dataDir: string
  repo: HubRepository
  chain: PayoutChainConfig
  /** The operator's secp256k1 key file (default `<dataDir>/payout-operator.key`, made when absent). */
  operatorKeyFile?: string
  /** Ms between epoch runs; 0 or absent: no schedule (`sparecycles payout epoch` by hand). */
  epochIntervalMs?: number
  /** Most ms a run waits for its root transaction to be mined (default 60 000). */
  receiptTimeoutMs?: number
  logger?: HubLogger
}

/** What the service serves on `GET /api/payouts` as `chain`. */
export interface PayoutChainInfo {
  /** 'local': the EVM in the hub's process; 'rpc': another chain. */
  kind: 'local' | 'rpc'
  chainId: number
  rpcUrl: string
  distributor: Address
  token: Address
  operator: Address
  /** Ms between scheduled epochs (0: none). */
  epochIntervalMs: number
  /** Unix ms of the next scheduled run, or null. */
  nextEpochAtMs: number | null
}

/** What the HTTP API asks of the payout chain (payout-api.ts). */
export interface PayoutChainView {
  /** The chain as served on `GET /api/payouts`, or undefined when none runs. */
  info: () => PayoutChainInfo | undefined
  /** Token base units `account` has claimed on the distributor (read at most every CLAIMED_CACHE_MS per account), or undefined without a chain. */
  claimed: (account: Address) => Promise<bigint | undefined>
}

/** How long a read of an account's claimed amount is reused (anyone may ask: each read is a chain call). */
export const CLAIMED_CACHE_MS = 5_000
/** Most accounts whose claimed amount is kept. */
const CLAIMED_CACHE_ENTRIES = 10_000

/** The chain and the epoch schedule: see the module comment. */
export class PayoutService implements PayoutChainView {
  private readonly claimedCache = new Map<string, { atMs: number, value: Promise<bigint> }>()
  private evm: LocalEvm | undefined
  private contracts: PayoutContracts | undefined
  private deployment: PayoutDeployment | undefined
  private operatorKey: `0x${string}` | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private running: Promise<RunEpochResult | undefined> | undefined
  private nextAtMs: number | null = null
  private abort: AbortController | undefined

  constructor (private readonly opts: PayoutServiceOptions) {}

  /**
   * Start the local EVM (or check the RPC chain), deploy on a fresh local chain, start the schedule.
   * @throws PayoutChainError when an RPC chain has no deployment in payout-chain.json, or the chain is not the deployment's
   * @throws LocalEvmJournalError when the local chain's journal cannot be replayed
   */
  async start (): Promise<PayoutChainInfo> {
    if (this.contracts != null) return this.info()!
    const o = this.opts
    mkdirSync(o.dataDir, { recursive: true })
    this.abort = new AbortController()
    const key = o.operatorKeyFile != null ? readKeyFile(o.operatorKeyFile) : loadOrCreateOperatorKey(o.dataDir)
    this.operatorKey = key
    const operator = privateKeyToAccount(key).address
    const log = o.logger
    let deployment: ReturnType<typeof loadDeployment>
    try {
      if (o.chain.kind === 'local') {
        // openLocalChain reads (and, when needed, rewrites) payout-chain.json itself
        const local = await openLocalChain({ dataDir: o.dataDir, operatorKey: key, host: o.chain.host, port: o.chain.port, fund: o.chain.fund, logger: log, signal: this.abort.signal })
        this.evm = local.evm
        deployment = local.deployment
      } else {
        deployment = loadDeployment(o.dataDir)
        if (deployment == null) throw new PayoutChainError(`no payout-chain.json in ${o.dataDir}: deploy the contracts first (sparecycles payout deploy --data-dir ${o.dataDir} --rpc ${o.chain.rpcUrl})`)
        if (o.chain.chainId != null && deployment.chainId !== o.chain.chainId) throw new PayoutChainError(`payout-chain.json names chain ${deployment.chainId}, not --chain-id ${o.chain.chainId}`)
        deployment = { ...deployment, rpcUrl: o.chain.rpcUrl }
      }
      if (deployment.operator.toLowerCase() !== operator.toLowerCase()) throw new PayoutChainError(`payout-chain.json's operator is ${deployment.operator}, the operator key is ${operator}'s`)
      this.deployment = deployment
      this.contracts = new PayoutContracts(deployment.rpcUrl, deployment, this.abort.signal)
      await this.contracts.check()
    } catch (err) {
      await this.stop()
      throw err
    }
    const every = o.epochIntervalMs ?? 0
    // once at start: finishes an epoch a crash left unconfirmed, or posts what the ledger holds
    this.schedule(every > 0 ? 0 : null)
    return this.info()!
  }

  /** Stop the schedule (a run in flight is awaited), then the local EVM. */
  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    this.nextAtMs = null
    const running = this.running
    this.contracts = undefined
    await running?.catch(() => {})
    this.abort?.abort(new Error('payout service stopping'))
    await this.evm?.stop()
    this.evm = undefined
  }

  /** The chain as served, or undefined before start. */
  info (): PayoutChainInfo | undefined {
    const d = this.deployment
    if (d == null || this.contracts == null) return undefined
    return { kind: this.opts.chain.kind, chainId: d.chainId, rpcUrl: d.rpcUrl, distributor: d.distributor, token: d.token, operator: d.operator, epochIntervalMs: this.opts.epochIntervalMs ?? 0, nextEpochAtMs: this.nextAtMs }
  }

  /** PayoutChainView.claimed. @throws whatever the chain call throws (the failed read is not kept) */
  async claimed (account: Address): Promise<bigint | undefined> {
    const c = this.contracts
    if (c == null) return undefined
    const key = account.toLowerCase()
    const now = Date.now()
    const hit = this.claimedCache.get(key)
    if (hit != null && now - hit.atMs < CLAIMED_CACHE_MS) return await hit.value
    if (this.claimedCache.size >= CLAIMED_CACHE_ENTRIES) this.claimedCache.clear()
    const value = c.claimed(account)
    this.claimedCache.set(key, { atMs: now, value })
    try {
      return await value
    } catch (err) {
      this.claimedCache.delete(key)
      throw err
    }
  }

  /**
   * Run an epoch now unless one is running (then that run's result).
   * @returns undefined when there was nothing new to pay
   */
  async runEpoch (): Promise<RunEpochResult | undefined> {
    if (this.running != null) return await this.running
    const contracts = this.contracts
    if (contracts == null || this.operatorKey == null) throw new PayoutChainError('the payout service is not started')
    const log = this.opts.logger
    const run = (async () => {
      const [rows, head] = await this.opts.repo.read(async tx => [await tx.payoutEpochs(), (await tx.ledgerHead())?.seq ?? 0] as const)
      const last = rows.at(-1)
      if (last != null && last.status === 'confirmed' && last.ledger_seq >= head) return undefined
      try {
        const r = await runPayoutEpoch({ repo: this.opts.repo, contracts, operatorKey: this.operatorKey!, receiptTimeoutMs: this.opts.receiptTimeoutMs, log: line => { log?.info(line) } })
        if (r.action !== 'unchanged') log?.info({ epoch: r.epoch.epoch, ledgerSeq: r.epoch.ledger_seq, root: r.epoch.root }, `payout: epoch ${r.epoch.epoch} ${r.action}: seq ${r.epoch.ledger_seq}, ${r.epoch.total_token_units} token units`)
        return r
      } catch (err) {
        // no address bound yet: not an error of the hub's
        if (err instanceof PayoutEpochError) { log?.debug(`payout: ${err.message}`); return undefined }
        throw err
      }
    })()
    this.running = run
    try {
      return await run
    } finally {
      this.running = undefined
    }
  }

  private schedule (delayMs: number | null): void {
    if (delayMs == null) {
      // no schedule: still finish an unconfirmed epoch once
      void this.resumeOnly()
      return
    }
    this.nextAtMs = Date.now() + delayMs
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.runEpoch().catch(err => { this.opts.logger?.warn({ error: (err as Error).name }, `payout: epoch run failed: ${(err as Error).name}: ${(err as Error).message}`) })
        .finally(() => { if (this.contracts != null) this.schedule(this.opts.epochIntervalMs ?? 0) })
    }, delayMs)
    this.timer.unref?.()
  }

  private async resumeOnly (): Promise<void> {
    try {
      const rows = await this.opts.repo.read(async tx => await tx.payoutEpochs())
      if (rows.some(r => r.status !== 'confirmed')) await this.runEpoch()
    } catch (err) {
      this.opts.logger?.warn({ error: (err as Error).name }, `payout: finishing an unconfirmed epoch failed: ${(err as Error).message}`)
    }
  }
}

/**
 * The journaled local EVM of a data dir (`<dataDir>/payout-chain-journal.jsonl`), started, with the
 * token and distributor deployed by `operatorKey` unless payout-chain.json names contracts the
 * chain holds; payout-chain.json written with the RPC URL. Used by the hub and `payout chain`.
 * @throws LocalEvmJournalError when the journal cannot be replayed
 * @throws PayoutChainError when the port is taken
 */
export async function openLocalChain (opts: { dataDir: string, operatorKey: `0x${string}`, host?: string, port?: number, fund?: Address[], logger?: HubLogger, signal?: AbortSignal }): Promise<{ evm: LocalEvm, deployment: PayoutDeployment }> {
  const log = opts.logger
  const journalFile = join(opts.dataDir, LOCAL_CHAIN_JOURNAL_FILE)
  const fresh = !existsSync(journalFile)
  const evm = new LocalEvm({ host: opts.host, port: opts.port ?? DEFAULT_LOCAL_EVM_PORT, fund: [privateKeyToAccount(opts.operatorKey).address, ...(opts.fund ?? [])], journalFile })
  let rpcUrl: string
  try {
    rpcUrl = await evm.start()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PayoutChainError(`the local EVM's port ${opts.port ?? DEFAULT_LOCAL_EVM_PORT} on ${opts.host ?? '127.0.0.1'} is in use (another local chain, or a hub on this data dir?): give --evm-port another port, or --payout off`)
    throw err
  }
  try {
    log?.info({ rpcUrl, replayed: evm.replayedTransactions }, `payout: local EVM at ${rpcUrl} (chain ${evm.chainId}), ${fresh ? 'a new chain' : `${evm.replayedTransactions} transactions replayed from ${journalFile}`}`)
    let deployment = loadDeployment(opts.dataDir)
    const onChain = deployment != null && deployment.chainId === evm.chainId && await hasCode(rpcUrl, deployment)
    if (!onChain) {
      if (deployment != null) log?.warn({ distributor: deployment.distributor }, `payout: the distributor of payout-chain.json (${deployment.distributor}) is not on this local chain; deploying again`)
      deployment = await deployPayoutContracts(rpcUrl, opts.operatorKey, opts.signal)
      log?.info({ distributor: deployment.distributor, token: deployment.token }, `payout: deployed distributor ${deployment.distributor}, token ${deployment.token}, operator ${deployment.operator}`)
    }
    deployment = { ...deployment!, rpcUrl }
    saveDeployment(opts.dataDir, deployment)
    return { evm, deployment }
  } catch (err) {
    await evm.stop()
    throw err
  }
}

async function hasCode (rpcUrl: string, d: PayoutDeployment): Promise<boolean> {
  try {
    await new PayoutContracts(rpcUrl, d).check()
    return true
  } catch (err) {
    if (err instanceof PayoutChainError) return false
    throw err
  }
}
