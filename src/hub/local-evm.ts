/**
 * A local EVM for token payouts (issue 16): Hardhat's EDR (npm `@nomicfoundation/edr`, the Rust EVM
 * behind Hardhat's network) in process, with automine, served as JSON-RPC over HTTP (single and
 * batch requests).
 *
 * EDR keeps the chain in memory. With `journalFile` the chain outlives its process: the genesis
 * (chain id, genesis time, funded accounts) and every transaction that was mined (its raw signed
 * bytes, block number and timestamp) are appended to a JSON-lines file, fsynced before the
 * transaction's RPC answer is sent; `start` replays the file into a fresh EVM, each transaction into
 * the block and at the time it had, so a restart finds the same contracts, balances and claims.
 * The journal has one line per record:
 *
 *   {"kind":"genesis","version":1,"chainId":31337,"genesisBlockTime":<unix s>,"balanceWei":"<wei>","fund":["0x…",…]}
 *   {"kind":"tx","block":<n>,"timestamp":<unix s>,"hash":"0x…","status":"success"|"reverted","raw":"0x…"}
 *
 * A journaled chain answers only `eth_*`, `net_*`, `web3_*` and `debug_*` methods: Hardhat's state
 * setters (`hardhat_setBalance`, `evm_revert`, impersonation, …) change state outside transactions
 * and could not be replayed (LocalEvmMethodError). Without a journal they are all there.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getAddress, isHex, keccak256, parseEther } from 'viem'
import type { Address, Hex } from 'viem'
import { ProtocolError } from '../protocol/errors.ts'
import type { ErrorName } from '../protocol/errors.ts'
import { LOCAL_CHAIN_ID } from './payout-chain.ts'

/** The journal cannot be replayed: unreadable, another chain's, or a transaction that lands elsewhere than recorded. */
export class LocalEvmJournalError extends ProtocolError {
  static override readonly name: ErrorName = 'LocalEvmJournalError'
  override readonly name: ErrorName = 'LocalEvmJournalError'
}

/** A method a journaled chain does not answer (it would change state outside a transaction). */
export class LocalEvmMethodError extends ProtocolError {
  static override readonly name: ErrorName = 'LocalEvmMethodError'
  override readonly name: ErrorName = 'LocalEvmMethodError'
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
  /** The chain's journal (module comment): replayed by `start` when it exists, made when not. Default: none (the chain is gone on stop). */
  journalFile?: string
}

/** The journal's first line. */
interface GenesisRecord { kind: 'genesis', version: 1, chainId: number, genesisBlockTime: number, balanceWei: string, fund: Address[] }
/** One mined transaction. */
interface TxRecord { kind: 'tx', block: number, timestamp: number, hash: Hex, status: 'success' | 'reverted', raw: Hex }

/** Most bytes of one JSON-RPC request body. */
const MAX_RPC_BODY = 4 * 1024 * 1024
/** Method prefixes a journaled chain answers. */
const JOURNALED_METHODS = /^(eth|net|web3|debug)_/

type Provider = { handleRequest: (request: string) => Promise<{ data: string | unknown }> }
type RpcAnswer = { result?: unknown, error?: { code: number, message: string, data?: unknown } }

/**
 * The local EVM: see the module comment. `start` / `stop`; `rpc` calls the provider directly.
 */
export class LocalEvm {
  private server: Server | undefined
  private provider: Provider | undefined
  private address = ''
  private journalFd: number | undefined
  /** Raw transactions go through one at a time, so the journal's order is the blocks' order. */
  private sending: Promise<unknown> = Promise.resolve()
  private replayed = 0

  constructor (private readonly opts: LocalEvmOptions = {}) {}

  /** The JSON-RPC URL (after start). */
  get url (): string {
    if (this.server == null) throw new Error('the local EVM is not started')
    return this.address
  }

  /** Chain id. */
  get chainId (): number { return this.opts.chainId ?? LOCAL_CHAIN_ID }

  /** Transactions the last `start` replayed from the journal. */
  get replayedTransactions (): number { return this.replayed }

  /**
   * Start the EVM (replaying the journal, when there is one) and its HTTP server.
   * @returns the RPC URL
   * @throws LocalEvmJournalError when the journal is another chain's, unreadable, or does not replay as recorded
   */
  async start (): Promise<string> {
    if (this.server != null) return this.address
    const journal = this.opts.journalFile != null ? readJournal(this.opts.journalFile) : undefined
    const genesis = journal?.genesis ?? {
      kind: 'genesis', version: 1, chainId: this.chainId, genesisBlockTime: Math.floor(Date.now() / 1000),
      balanceWei: (this.opts.balanceWei ?? parseEther('1000')).toString(), fund: (this.opts.fund ?? []).map(a => getAddress(a))
    } satisfies GenesisRecord
    if (journal != null) checkGenesis(journal.genesis, this.chainId, this.opts.fund ?? [], this.opts.journalFile!)
    this.provider = await createProvider(genesis)
    if (this.opts.journalFile != null) {
      try {
        if (journal == null) this.appendRecords(this.opts.journalFile, [genesis])
        else await this.replay(journal.txs)
        this.journalFd = openSync(this.opts.journalFile, 'a', 0o600)
      } catch (err) {
        this.provider = undefined
        throw err
      }
    }
    const server = createServer((req, res) => { void this.serve(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
    }).catch(err => { this.closeJournal(); this.provider = undefined; throw err })
    this.server = server
    const a = server.address() as AddressInfo
    this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
    return this.address
  }

  /** Stop serving (without a journal, the chain's state is gone). */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await this.sending.catch(() => {})
    this.closeJournal()
    this.provider = undefined
  }

  /** One JSON-RPC call straight to the provider (no HTTP). @throws Error with the RPC error's message */
  async rpc (method: string, params: unknown[] = []): Promise<unknown> {
    const out = await this.handle({ jsonrpc: '2.0', id: 0, method, params }) as RpcAnswer
    if (out.error != null) throw new Error(`${method}: ${out.error.message}`)
    return out.result
  }

  private closeJournal (): void {
    if (this.journalFd != null) closeSync(this.journalFd)
    this.journalFd = undefined
  }

  /** Replay recorded transactions, each into its block at its time. */
  private async replay (txs: TxRecord[]): Promise<void> {
    this.replayed = 0
    for (const t of txs) {
      await this.call('evm_setNextBlockTimestamp', [t.timestamp])
      await this.call('eth_sendRawTransaction', [t.raw]).catch(() => undefined)
      const receipt = await this.call('eth_getTransactionReceipt', [t.hash]) as { blockNumber: Hex, status: Hex } | null
      const status = receipt == null ? undefined : (receipt.status === '0x1' ? 'success' : 'reverted')
      if (receipt == null || Number(receipt.blockNumber) !== t.block || status !== t.status) {
        throw new LocalEvmJournalError(`journal ${this.opts.journalFile}: transaction ${t.hash} replays ${receipt == null ? 'into no block' : `into block ${Number(receipt.blockNumber)} (${status})`}, not block ${t.block} (${t.status})`)
      }
      this.replayed++
    }
  }

  /** A provider call that must succeed (replay). */
  private async call (method: string, params: unknown[]): Promise<unknown> {
    const out = await this.raw(JSON.stringify({ jsonrpc: '2.0', id: 0, method, params }))
    if (out.error != null) throw new LocalEvmJournalError(`${method}: ${out.error.message}`)
    return out.result
  }

  private async raw (request: string): Promise<RpcAnswer> {
    if (this.provider == null) return { error: { code: -32603, message: 'the local EVM is stopped' } }
    const response = await this.provider.handleRequest(request)
    return (typeof response.data === 'string' ? JSON.parse(response.data) : response.data) as RpcAnswer
  }

  private appendRecords (file: string, records: Array<GenesisRecord | TxRecord>): void {
    const fd = this.journalFd ?? openSync(file, 'a', 0o600)
    try {
      writeSync(fd, records.map(r => JSON.stringify(r) + '\n').join(''))
      fsyncSync(fd)
    } finally {
      if (fd !== this.journalFd) closeSync(fd)
    }
  }

  private async handle (request: unknown): Promise<unknown> {
    const r = request as { id?: unknown, method?: unknown, params?: unknown }
    const id = r?.id ?? null
    if (this.provider == null) return { jsonrpc: '2.0', id, error: { code: -32603, message: 'the local EVM is stopped' } }
    if (typeof r?.method !== 'string') return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } }
    const journaled = this.opts.journalFile != null
    if (journaled && !JOURNALED_METHODS.test(r.method)) {
      const e = new LocalEvmMethodError(`${r.method} is not available on a journaled local EVM (it changes state outside a transaction)`)
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `${e.name}: ${e.message}` } }
    }
    // EDR wants `params` even where JSON-RPC lets it be left out
    const body = JSON.stringify({ params: [], ...(request as object) })
    const data = journaled && r.method === 'eth_sendRawTransaction'
      ? await this.sendJournaled(body, r.params)
      : await this.raw(body)
    // a revert as geth and anvil report it (code 3, the revert data as `data`), which is what
    // clients (viem) decode a contract's custom error from; EDR says -32000 with { data: revert data }
    const revert = (data.error?.data as { data?: unknown } | undefined)?.data
    if (data.error != null && typeof revert === 'string' && isHex(revert)) return { jsonrpc: '2.0', id, error: { code: 3, message: `execution reverted: ${data.error.message}`, data: revert } }
    return { ...data, jsonrpc: '2.0', id }
  }

  /** Send a raw transaction and, when it was mined, journal it (fsynced) before the answer goes out. */
  private async sendJournaled (body: string, params: unknown): Promise<RpcAnswer> {
    const raw = Array.isArray(params) ? params[0] : undefined
    const run = async (): Promise<RpcAnswer> => {
      const answer = await this.raw(body)
      if (typeof raw !== 'string' || !isHex(raw)) return answer
      const hash = keccak256(raw)
      const receipt = (await this.raw(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'eth_getTransactionReceipt', params: [hash] }))).result as { blockNumber: Hex, status: Hex } | null | undefined
      if (receipt == null) return answer
      const block = (await this.raw(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'eth_getBlockByNumber', params: [receipt.blockNumber, false] }))).result as { timestamp: Hex }
      this.appendRecords(this.opts.journalFile!, [{ kind: 'tx', block: Number(receipt.blockNumber), timestamp: Number(block.timestamp), hash, status: receipt.status === '0x1' ? 'success' : 'reverted', raw }])
      return answer
    }
    const p = this.sending.then(run, run)
    this.sending = p.catch(() => {})
    return await p
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

/**
 * The journal's records; a last line cut short by a crash mid-write is dropped (and cut off the file).
 * @throws LocalEvmJournalError for anything else that does not parse
 */
function readJournal (file: string): { genesis: GenesisRecord, txs: TxRecord[] } | undefined {
  if (!existsSync(file)) return undefined
  const text = readFileSync(file, 'utf8')
  const lines = text.split('\n')
  const records: unknown[] = []
  let goodBytes = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') { goodBytes += 1; continue }
    const last = i === lines.length - 1
    try {
      records.push(JSON.parse(line))
      goodBytes += line.length + 1
    } catch {
      if (!last) throw new LocalEvmJournalError(`journal ${file}: line ${i + 1} is not JSON`)
      truncateSync(file, Buffer.byteLength(text.slice(0, Math.min(goodBytes, text.length)), 'utf8'))
    }
  }
  if (records.length === 0) return undefined
  const [genesis, ...rest] = records as [GenesisRecord, ...TxRecord[]]
  if (genesis?.kind !== 'genesis' || genesis.version !== 1 || !Number.isSafeInteger(genesis.chainId) || !Number.isSafeInteger(genesis.genesisBlockTime) || !Array.isArray(genesis.fund) || !/^\d+$/.test(String(genesis.balanceWei))) {
    throw new LocalEvmJournalError(`journal ${file}: the first line is not a version-1 genesis record`)
  }
  rest.forEach((t, i) => {
    if (t?.kind !== 'tx' || !Number.isSafeInteger(t.block) || !Number.isSafeInteger(t.timestamp) || !isHex(t.raw) || !isHex(t.hash) || (t.status !== 'success' && t.status !== 'reverted')) {
      throw new LocalEvmJournalError(`journal ${file}: line ${i + 2} is not a transaction record`)
    }
  })
  return { genesis, txs: rest }
}

/** @throws LocalEvmJournalError when the journal's genesis is not the chain asked for */
function checkGenesis (g: GenesisRecord, chainId: number, fund: Address[], file: string): void {
  if (g.chainId !== chainId) throw new LocalEvmJournalError(`journal ${file} is chain ${g.chainId}, not ${chainId}`)
  const held = new Set(g.fund.map(a => a.toLowerCase()))
  const missing = fund.filter(a => !held.has(a.toLowerCase()))
  if (missing.length > 0) throw new LocalEvmJournalError(`journal ${file}: its genesis does not fund ${missing.join(', ')}; a chain's genesis cannot change (move the journal away to start a new chain)`)
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

/** An EDR provider with automine on the genesis of `g`. */
async function createProvider (g: GenesisRecord): Promise<Provider> {
  const edr = await import('@nomicfoundation/edr')
  const context = edrContext(edr)
  await context.ready
  const hardfork = edr.l1HardforkLatest()
  const funded = g.fund.map(a => ({ address: hexBytes(a), balance: BigInt(g.balanceWei) }))
  return await context.ctx.createProvider(edr.L1_CHAIN_TYPE, {
    allowBlocksWithSameTimestamp: false,
    allowUnlimitedContractSize: false,
    // a reverted call or transaction is a JSON-RPC error carrying the revert data (what viem decodes custom errors from)
    bailOnCallFailure: true,
    bailOnTransactionFailure: true,
    chainId: BigInt(g.chainId),
    coinbase: new Uint8Array(20),
    // at most EIP-7825's per-transaction gas cap (2^24 from Osaka on), or every eth_estimateGas fails
    defaultTransactionGasLimit: 16_777_216n,
    genesisState: [...edr.l1GenesisState(hardfork), ...funded],
    hardfork: edr.l1HardforkToString(hardfork),
    initialBaseFeePerGas: 1_000_000_000n,
    minGasPrice: 0n,
    mining: { autoMine: true, memPool: { order: edr.MineOrdering.Priority } },
    network: { genesisBlockGasLimit: 30_000_000n, genesisBlockTime: BigInt(g.genesisBlockTime) },
    networkId: BigInt(g.chainId),
    observability: {},
    ownedAccounts: [],
    precompileOverrides: []
  }, { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} }, { subscriptionCallback: () => {} }, new edr.ContractDecoder())
}
