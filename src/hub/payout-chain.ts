/**
 * The chain side of token payouts (issue 16): a local EVM (Hardhat's EDR, in process, served as
 * JSON-RPC over HTTP), the operator key, deployment of the token and distributor, and every chain
 * call — all through viem (no hand-written RLP, ABI or signing).
 *
 * Contracts come from build/contracts/*.json (scripts/build-contracts.ts, `npm run build:contracts`).
 * The operator key is a secp256k1 private key in `<dataDir>/payout-operator.key` (0x-hex, mode
 * 0600), made on first use; it is the only key the distributor accepts roots from.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ContractFunctionRevertedError, BaseError, createPublicClient, createWalletClient, defineChain, getAddress, http, isHex, parseEther
} from 'viem'
import type { Abi, Address, Chain, Hash, Hex, PublicClient, WalletClient, Transport, Account } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { ProtocolError } from '../protocol/errors.ts'
import type { ErrorName } from '../protocol/errors.ts'

/** File of the operator key inside the data dir. */
export const OPERATOR_KEY_FILE = 'payout-operator.key'
/** File of the deployment record (chain id, RPC URL, contract addresses) inside the data dir. */
export const DEPLOYMENT_FILE = 'payout-chain.json'
/** Chain id of the local EVM (Hardhat's default). */
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

export interface LocalEvmOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string
  /** TCP port (default 0: any free one). */
  port?: number
  /** Chain id (default LOCAL_CHAIN_ID). */
  chainId?: number
  /** Accounts given `balanceWei` at genesis (e.g. the operator and volunteers who send their own claims). */
  fund?: Address[]
  /** Genesis balance of each funded account (default 1000 ETH). */
  balanceWei?: bigint
}

/** Most bytes of one JSON-RPC request body. */
const MAX_RPC_BODY = 4 * 1024 * 1024

/**
 * A local EVM: an EDR provider (Hardhat's Rust EVM, npm `@nomicfoundation/edr`) with automine,
 * served as JSON-RPC over HTTP (single and batch requests). Its state lives in memory: a restart is
 * a new chain (contracts must be deployed again). Also answers Hardhat's dev methods
 * (`hardhat_setBalance`, `evm_snapshot`, …).
 */
export class LocalEvm {
  private server: Server | undefined
  private provider: { handleRequest: (request: string) => Promise<{ data: string | unknown }> } | undefined
  private address = ''
  constructor (private readonly opts: LocalEvmOptions = {}) {}

  /** The JSON-RPC URL (after start). */
  get url (): string {
    if (this.server == null) throw new Error('the local EVM is not started')
    return this.address
  }

  /** Chain id. */
  get chainId (): number { return this.opts.chainId ?? LOCAL_CHAIN_ID }

  /** Start the EVM and its HTTP server. @returns the RPC URL */
  async start (): Promise<string> {
    if (this.server != null) return this.address
    const edr = await import('@nomicfoundation/edr')
    const context = edrContext(edr)
    await context.ready
    const hardfork = edr.l1HardforkLatest()
    const balance = this.opts.balanceWei ?? parseEther('1000')
    const funded = (this.opts.fund ?? []).map(a => ({ address: hexBytes(a), balance }))
    this.provider = await context.ctx.createProvider(edr.L1_CHAIN_TYPE, {
      allowBlocksWithSameTimestamp: false,
      allowUnlimitedContractSize: false,
      // a reverted call or transaction is a JSON-RPC error carrying the revert data (what viem decodes custom errors from)
      bailOnCallFailure: true,
      bailOnTransactionFailure: true,
      chainId: BigInt(this.chainId),
      coinbase: new Uint8Array(20),
      // at most EIP-7825's per-transaction gas cap (2^24 from Osaka on), or every eth_estimateGas fails
      defaultTransactionGasLimit: 16_777_216n,
      genesisState: [...edr.l1GenesisState(hardfork), ...funded],
      hardfork: edr.l1HardforkToString(hardfork),
      initialBaseFeePerGas: 1_000_000_000n,
      minGasPrice: 0n,
      mining: { autoMine: true, memPool: { order: edr.MineOrdering.Priority } },
      network: { genesisBlockGasLimit: 30_000_000n },
      networkId: BigInt(this.chainId),
      observability: {},
      ownedAccounts: [],
      precompileOverrides: []
    }, { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} }, { subscriptionCallback: () => {} }, new edr.ContractDecoder())
    const server = createServer((req, res) => { void this.serve(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const a = server.address() as AddressInfo
    this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
    return this.address
  }

  /** Stop serving (the chain's state is gone). */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    this.provider = undefined
  }

  /** One JSON-RPC call straight to the provider (no HTTP). @throws Error with the RPC error's message */
  async rpc (method: string, params: unknown[] = []): Promise<unknown> {
    const out = await this.handle({ jsonrpc: '2.0', id: 0, method, params }) as { result?: unknown, error?: { message: string } }
    if (out.error != null) throw new Error(`${method}: ${out.error.message}`)
    return out.result
  }

  private async handle (request: unknown): Promise<unknown> {
    const provider = this.provider
    const r = request as { id?: unknown, method?: unknown }
    const id = r?.id ?? null
    if (provider == null) return { jsonrpc: '2.0', id, error: { code: -32603, message: 'the local EVM is stopped' } }
    if (typeof r?.method !== 'string') return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } }
    // EDR wants `params` even where JSON-RPC lets it be left out
    const response = await provider.handleRequest(JSON.stringify({ params: [], ...(request as object) }))
    const data = (typeof response.data === 'string' ? JSON.parse(response.data) : response.data) as { result?: unknown, error?: { code: number, message: string, data?: unknown } }
    // a revert as geth and anvil report it (code 3, the revert data as `data`), which is what
    // clients (viem) decode a contract's custom error from; EDR says -32000 with { data: revert data }
    const revert = (data.error?.data as { data?: unknown } | undefined)?.data
    if (data.error != null && typeof revert === 'string' && isHex(revert)) return { jsonrpc: '2.0', id, error: { code: 3, message: `execution reverted: ${data.error.message}`, data: revert } }
    return { ...data, jsonrpc: '2.0', id }
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'POST') { reply(405, { error: 'POST JSON-RPC requests' }); return }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of req) {
      size += (chunk as Buffer).length
      if (size > MAX_RPC_BODY) { reply(413, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'request too large' } }); return }
      chunks.push(chunk as Buffer)
    }
    let body: unknown
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { reply(400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }); return }
    try {
      reply(200, Array.isArray(body) ? await Promise.all(body.map(async b => await this.handle(b))) : await this.handle(body))
    } catch (err) {
      reply(500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: (err as Error).message } })
    }
  }
}

type Edr = typeof import('@nomicfoundation/edr')
let sharedContext: { ctx: InstanceType<Edr['EdrContext']>, ready: Promise<void> } | undefined
/** EDR wants one context per process, with the L1 provider factory registered once. */
function edrContext (edr: Edr): { ctx: InstanceType<Edr['EdrContext']>, ready: Promise<void> } {
  if (sharedContext == null) {
    const ctx = new edr.EdrContext()
    sharedContext = { ctx, ready: ctx.registerProviderFactory(edr.L1_CHAIN_TYPE, edr.l1ProviderFactory()) }
  }
  return sharedContext
}

function hexBytes (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'))
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
