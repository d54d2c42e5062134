/**
 * The chain side of token payouts (issue 16): the operator key, deployment of the token and
 * distributor, and every chain call — all through viem (no hand-written RLP, ABI or signing). The
 * local EVM these run against by default is local-evm.ts.
 *
 * Contracts come from build/contracts/*.json (scripts/build-contracts.ts, `npm run build:contracts`).
 * The operator key is a secp256k1 private key in `<dataDir>/payout-operator.key` (0x-hex, mode
 * 0600), made on first use; it is the only key the distributor accepts roots from.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ContractFunctionRevertedError, BaseError, createPublicClient, createWalletClient, defineChain, getAddress, http, isHex
} from 'viem'
import type { Abi, Address, Chain, Hash, Hex, PublicClient, WalletClient, Transport, Account } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { ProtocolError } from '../protocol/errors.ts'
import type { ErrorName } from '../protocol/errors.ts'

/** File of the operator key inside the data dir. */
export const OPERATOR_KEY_FILE = 'payout-operator.key'
/** File of the deployment record (chain id, RPC URL, contract addresses) inside the data dir. */
export const DEPLOYMENT_FILE = 'payout-chain.json'
/** Chain id of the local EVM (Hardhat's default; local-evm.ts). */
export const LOCAL_CHAIN_ID = 31337
/** Where build-contracts.ts writes the artifacts. */
export const CONTRACTS_DIR = fileURLToPath(new URL('../../build/contracts', import.meta.url))

/** The chain is not what the payout expects (no contract at the address, another chain id, a root that differs from the store's). */
export class PayoutChainError extends ProtocolError {
  static override readonly name: ErrorName = 'PayoutChainError'
  override readonly name: ErrorName = 'PayoutChainError'
}

/** A compiled contract: ABI and creation bytecode. */
export interface ContractArtifact { contractName: string, abi: Abi, bytecode: Hex }

/**
 * A contract's artifact from build/contracts.
 * @throws Error when it was not built (`npm run build:contracts`)
 */
export function loadArtifact (name: 'PayoutDistributor' | 'SpareCyclesToken', dir: string = CONTRACTS_DIR): ContractArtifact {
  const file = join(dir, `${name}.json`)
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build:contracts\``)
  return JSON.parse(readFileSync(file, 'utf8')) as ContractArtifact
}

/**
 * The operator's secp256k1 private key from `<dataDir>/payout-operator.key`, made (mode 0600) when absent.
 * @throws Error when the file holds no 32-byte hex key
 */
export function loadOrCreateOperatorKey (dataDir: string): Hex {
  const file = join(dataDir, OPERATOR_KEY_FILE)
  if (!existsSync(file)) {
    try {
      writeFileSync(file, generatePrivateKey() + '\n', { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    chmodSync(file, 0o600)
  }
  return readKeyFile(file)
}

/** A secp256k1 key file: one 0x-hex 32-byte key. @throws Error for anything else */
export function readKeyFile (file: string): Hex {
  const key = readFileSync(file, 'utf8').trim()
  if (!isHex(key) || key.length !== 66) throw new Error(`${file} does not hold a 0x-hex 32-byte secp256k1 key`)
  return key
}

/** Where the contracts are (written to DEPLOYMENT_FILE). */
export interface PayoutDeployment {
  chainId: number
  rpcUrl: string
  distributor: Address
  token: Address
  operator: Address
}

/** A viem chain for an RPC URL and chain id. */
export function chainFor (chainId: number, rpcUrl: string): Chain {
  return defineChain({ id: chainId, name: chainId === LOCAL_CHAIN_ID ? 'Spare Cycles local EVM' : `chain ${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } })
}

/** A viem public client for `rpcUrl`; `signal` aborts its requests. */
export function publicClientFor (rpcUrl: string, chainId?: number, signal?: AbortSignal): PublicClient {
  return createPublicClient({ chain: chainId != null ? chainFor(chainId, rpcUrl) : undefined, transport: http(rpcUrl, { fetchOptions: { signal }, retryCount: 0, timeout: 30_000 }) })
}

/** A viem wallet client sending from `key`'s account. */
export function walletClientFor (rpcUrl: string, chainId: number, key: Hex, signal?: AbortSignal): WalletClient<Transport, Chain, Account> {
  return createWalletClient({ account: privateKeyToAccount(key), chain: chainFor(chainId, rpcUrl), transport: http(rpcUrl, { fetchOptions: { signal }, retryCount: 0, timeout: 30_000 }) })
}

/**
 * Deploy the distributor (which deploys its token) with `operatorKey` as the operator, and wait for it.
 * @throws PayoutChainError when the deployment reverts
 */
export async function deployPayoutContracts (rpcUrl: string, operatorKey: Hex, signal?: AbortSignal): Promise<PayoutDeployment> {
  const chainId = await publicClientFor(rpcUrl, undefined, signal).getChainId()
  const pub = publicClientFor(rpcUrl, chainId, signal)
  const wallet = walletClientFor(rpcUrl, chainId, operatorKey, signal)
  const art = loadArtifact('PayoutDistributor')
  const hash = await wallet.deployContract({ abi: art.abi, bytecode: art.bytecode, args: [wallet.account.address] })
  const receipt = await pub.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || receipt.contractAddress == null) throw new PayoutChainError(`deploying the distributor failed (tx ${hash})`)
  const distributor = getAddress(receipt.contractAddress)
  const token = await pub.readContract({ address: distributor, abi: art.abi, functionName: 'token' }) as Address
  return { chainId, rpcUrl, distributor, token, operator: wallet.account.address }
}

/** Write the deployment record into the data dir. */
export function saveDeployment (dataDir: string, d: PayoutDeployment): void {
  writeFileSync(join(dataDir, DEPLOYMENT_FILE), JSON.stringify(d, null, 2) + '\n')
}

/** The deployment record of the data dir, or undefined. */
export function loadDeployment (dataDir: string): PayoutDeployment | undefined {
  const file = join(dataDir, DEPLOYMENT_FILE)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as PayoutDeployment : undefined
}

/** An epoch as the distributor holds it. */
export interface OnChainEpoch { root: Hex, ledgerSeq: number, chainHead: Hex, totalCumulative: bigint }

/**
 * The distributor and its token on one chain, through viem. Reads need no key; `postRoot` needs
 * the operator's, `claim` any funded key (the tokens always go to the claimed account).
 */
export class PayoutContracts {
  readonly pub: PublicClient
  private readonly distributorAbi = loadArtifact('PayoutDistributor').abi
  private readonly tokenAbi = loadArtifact('SpareCyclesToken').abi

  constructor (readonly rpcUrl: string, readonly deployment: Pick<PayoutDeployment, 'chainId' | 'distributor' | 'token'>, private readonly signal?: AbortSignal) {
    this.pub = publicClientFor(rpcUrl, deployment.chainId, signal)
  }

  /**
   * Check that the chain is the deployment's (chain id, code at the distributor).
   * @throws PayoutChainError
   */
  async check (): Promise<void> {
    const chainId = await this.pub.getChainId()
    if (chainId !== this.deployment.chainId) throw new PayoutChainError(`${this.rpcUrl} is chain ${chainId}, not ${this.deployment.chainId}`)
    const code = await this.pub.getCode({ address: this.deployment.distributor })
    if (code == null || code === '0x') throw new PayoutChainError(`no distributor at ${this.deployment.distributor} on ${this.rpcUrl} (a local EVM restarted is a new chain)`)
  }

  /** The latest epoch posted (0 when none). */
  async currentEpoch (): Promise<number> {
    return Number(await this.pub.readContract({ address: this.deployment.distributor, abi: this.distributorAbi, functionName: 'currentEpoch' }) as bigint)
  }

  /** Epoch `n` on chain (root 0x00… when not posted). */
  async epoch (n: number): Promise<OnChainEpoch> {
    const [root, ledgerSeq, chainHead, totalCumulative] = await this.pub.readContract({ address: this.deployment.distributor, abi: this.distributorAbi, functionName: 'epochs', args: [BigInt(n)] }) as [Hex, bigint, Hex, bigint]
    return { root, ledgerSeq: Number(ledgerSeq), chainHead, totalCumulative }
  }

  /** The RootPosted event of epoch `n` (its transaction and block), or undefined when none was emitted. */
  async rootPostedEvent (n: number): Promise<{ txHash: Hash, blockNumber: bigint } | undefined> {
    const logs = await this.pub.getContractEvents({ address: this.deployment.distributor, abi: this.distributorAbi, eventName: 'RootPosted', args: { epoch: BigInt(n) }, fromBlock: 0n, toBlock: 'latest' })
    const log = logs[0]
    return log?.transactionHash != null && log.blockNumber != null ? { txHash: log.transactionHash, blockNumber: log.blockNumber } : undefined
  }

  /** Token base units `account` has claimed. */
  async claimed (account: Address): Promise<bigint> {
    return await this.pub.readContract({ address: this.deployment.distributor, abi: this.distributorAbi, functionName: 'claimed', args: [account] }) as bigint
  }

  /** Token balance of `account`, base units. */
  async balanceOf (account: Address): Promise<bigint> {
    return await this.pub.readContract({ address: this.deployment.token, abi: this.tokenAbi, functionName: 'balanceOf', args: [account] }) as bigint
  }

  /** Total token supply, base units. */
  async totalSupply (): Promise<bigint> {
    return await this.pub.readContract({ address: this.deployment.token, abi: this.tokenAbi, functionName: 'totalSupply' }) as bigint
  }

  /**
   * Send `postRoot` from `key` (simulated first, so a refusal throws before anything is sent).
   * @returns the transaction hash (not yet mined)
   * @throws ContractRevertError naming the distributor's custom error (NotOperator, StaleEpoch, StaleLedgerSeq, EmptyRoot)
   */
  async postRoot (key: Hex, e: { epoch: number, root: Hex, ledgerSeq: number, chainHead: Hex, totalCumulative: bigint }): Promise<Hash> {
    return await this.send(key, 'postRoot', [BigInt(e.epoch), e.root, BigInt(e.ledgerSeq), e.chainHead, e.totalCumulative])
  }

  /**
   * Send `claim(account, cumulativeAmount, proof)` from `key` (simulated first).
   * @returns the transaction hash
   * @throws ContractRevertError naming InvalidProof, NothingToClaim or NoRoot
   */
  async claim (key: Hex, account: Address, cumulativeAmount: bigint, proof: Hex[]): Promise<Hash> {
    return await this.send(key, 'claim', [account, cumulativeAmount, proof])
  }

  /** Wait for a transaction's receipt. @returns its status, block and gas used */
  async wait (hash: Hash, timeoutMs = 60_000): Promise<{ status: 'success' | 'reverted', blockNumber: bigint, gasUsed: bigint }> {
    const r = await this.pub.waitForTransactionReceipt({ hash, timeout: timeoutMs })
    return { status: r.status, blockNumber: r.blockNumber, gasUsed: r.gasUsed }
  }

  /** The receipt of `hash`, or undefined while it is unknown or pending. */
  async receipt (hash: Hash): Promise<{ status: 'success' | 'reverted', blockNumber: bigint } | undefined> {
    try {
      const r = await this.pub.getTransactionReceipt({ hash })
      return { status: r.status, blockNumber: r.blockNumber }
    } catch { return undefined }
  }

  /** Whether the chain knows the transaction but has not mined it yet. */
  async pending (hash: Hash): Promise<boolean> {
    try {
      const tx = await this.pub.getTransaction({ hash })
      return tx.blockNumber == null
    } catch { return false }
  }

  /** Transactions of `account` sent but not mined yet (pending nonce − latest nonce). */
  async pendingCount (account: Address): Promise<number> {
    const [pending, latest] = await Promise.all([
      this.pub.getTransactionCount({ address: account, blockTag: 'pending' }),
      this.pub.getTransactionCount({ address: account, blockTag: 'latest' })
    ])
    return pending - latest
  }

  private async send (key: Hex, functionName: 'postRoot' | 'claim', args: unknown[]): Promise<Hash> {
    const wallet = walletClientFor(this.rpcUrl, this.deployment.chainId, key, this.signal)
    try {
      const { request } = await this.pub.simulateContract({ account: wallet.account, address: this.deployment.distributor, abi: this.distributorAbi, functionName, args })
      return await wallet.writeContract(request)
    } catch (err) {
      throw ContractRevertError.from(err) ?? err
    }
  }
}

/** A contract call refused by the contract: `errorName` is its Solidity custom error (e.g. 'InvalidProof'), `args` the error's arguments. */
export class ContractRevertError extends ProtocolError {
  static override readonly name: ErrorName = 'ContractRevertError'
  override readonly name: ErrorName = 'ContractRevertError'
  constructor (readonly errorName: string, readonly args: readonly unknown[] = [], message = `the contract refused the call: ${errorName}`) {
    super(message)
  }

  /** The custom error inside a viem error, or undefined when it is not a revert with one. */
  static from (err: unknown): ContractRevertError | undefined {
    if (!(err instanceof BaseError)) return undefined
    const revert = err.walk(e => e instanceof ContractFunctionRevertedError)
    if (!(revert instanceof ContractFunctionRevertedError) || revert.data?.errorName == null) return undefined
    return new ContractRevertError(revert.data.errorName, revert.data.args ?? [], `the contract refused the call: ${revert.data.errorName}(${(revert.data.args ?? []).map(String).join(', ')})`)
  }
}
