/**
 * `sparecycles payout …` (issue 16): token payouts on an EVM chain (a local one by default).
 *
 *   payout chain  --data-dir D [--port P]     run the journaled local EVM of D (what `start` runs in the
 *                                             hub; local-evm.ts), deploying token + distributor with the
 *                                             operator key of D on its first start; until Ctrl-C
 *   payout deploy --data-dir D --rpc URL      deploy to another chain (the operator key must hold gas)
 *   payout epoch  --data-dir D [--rpc URL] [--up-to SEQ] [--store postgres://…]
 *                                             the hub store's ledger → an epoch root on chain (payout-epochs.ts)
 *   payout bind   --hub URL --address A [--key FILE]
 *                                             bind a CLI volunteer key's credit to an address
 *   payout claim  --hub URL --rpc URL --address A --key SECP256K1_FILE
 *                                             claim A's tokens (the key pays the gas; tokens go to A)
 *   payout verify --hub URL --rpc URL [--distributor A]
 *                                             audit every epoch against the ledger (payout-verify.ts)
 *
 * The store is the SQLite store of --data-dir (a running hub may hold it: WAL lets both in), or the
 * PostgreSQL store of `--store`.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { privateKeyToAccount } from 'viem/accounts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FlagError, parsePort, parsePositiveInt, parseStoreFlag } from './flags.ts'

/** Default file of a CLI volunteer's Ed25519 key (libp2p protobuf, mode 0600). */
export const DEFAULT_VOLUNTEER_KEY = join(homedir(), '.sparecycles', 'volunteer.key')

const out = (line: string): void => { process.stdout.write(`${line}\n`) }
const err = (line: string): void => { process.stderr.write(`${line}\n`) }

function parseSeq (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new FlagError('--up-to', `must be a ledger seq ≥ 1, got "${value}"`)
  return n
}

function requireStore (dataDir: string): void {
  if (!existsSync(join(dataDir, 'hub.sqlite'))) throw new FlagError('--data-dir', `no hub store (hub.sqlite) in ${dataDir}`)
}

/** Register the `payout` commands on `program`. */
export function registerPayoutCommands (program: Command): void {
  const payout = program.command('payout').description('token payouts: ERC-20 claims backed by the ledger, on a local EVM by default')

  payout.command('chain')
    .description('run a local EVM (Hardhat EDR) with the token and distributor deployed by the operator key of --data-dir, until Ctrl-C')
    .option('--data-dir <dir>', 'the hub data directory (operator key, payout-chain.json)', 'data')
    .option('--host <host>', 'interface of the JSON-RPC server', '127.0.0.1')
    .option('--port <port>', 'JSON-RPC port', parsePort, 8545)
    .option('--fund <address...>', "more accounts to give 1000 ETH at genesis (volunteers who send their own claims; only on the chain's first start)")
    .action(async (opts: { dataDir: string, host: string, port: number, fund?: string[] }) => {
      const { loadOrCreateOperatorKey } = await import('../hub/payout-chain.ts')
      const { openLocalChain } = await import('../hub/payout-service.ts')
      const { lineLogger } = await import('../hub/log.ts')
      const { checkPayoutAddress } = await import('../protocol/payout.ts')
      const { mkdirSync } = await import('node:fs')
      mkdirSync(opts.dataDir, { recursive: true })
      const key = loadOrCreateOperatorKey(opts.dataDir)
      const operator = privateKeyToAccount(key).address
      const { evm, deployment: d } = await openLocalChain({ dataDir: opts.dataDir, operatorKey: key, host: opts.host, port: opts.port, fund: (opts.fund ?? []).map(checkPayoutAddress), logger: lineLogger(err) })
      out(JSON.stringify({ rpcUrl: d.rpcUrl, chainId: d.chainId, distributor: d.distributor, token: d.token, operator }))
      err(`payout chain: local EVM at ${d.rpcUrl}; distributor ${d.distributor}, token ${d.token}; operator ${operator}. Journaled in ${opts.dataDir}: the same command starts the same chain again. Ctrl-C stops it.`)
      await new Promise<void>(resolve => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve) })
      await evm.stop()
    })

  payout.command('deploy')
    .description('deploy the token and distributor to a chain with the operator key of --data-dir (it must hold gas)')
    .option('--data-dir <dir>', 'the hub data directory', 'data')
    .requiredOption('--rpc <url>', 'JSON-RPC URL of the chain')
    .action(async (opts: { dataDir: string, rpc: string }) => {
      const { deployPayoutContracts, loadOrCreateOperatorKey, saveDeployment } = await import('../hub/payout-chain.ts')
      const d = await deployPayoutContracts(opts.rpc, loadOrCreateOperatorKey(opts.dataDir))
      saveDeployment(opts.dataDir, d)
      out(JSON.stringify(d))
    })

  payout.command('epoch')
    .description("turn the store's ledger into the next payout epoch: intent, post the root, confirm (resumes an unfinished one first)")
    .option('--data-dir <dir>', 'the hub data directory (store, operator key, payout-chain.json)', 'data')
    .option('--rpc <url>', 'JSON-RPC URL (default: the one in payout-chain.json)')
    .option('--up-to <seq>', 'last ledger seq the epoch covers (default: the head)', parseSeq)
    .option('--receipt-timeout-s <s>', 'most seconds to wait for the root transaction to be mined', parsePositiveInt, 60)
    .option('--store <url>', 'the PostgreSQL store the hubs share, e.g. postgres://postgres@/sparecycles?host=/tmp/pg (default: SQLite in --data-dir)', parseStoreFlag)
    .action(async (opts: { dataDir: string, rpc?: string, upTo?: number, store?: string, receiptTimeoutS: number }) => {
      if (opts.store == null) requireStore(opts.dataDir)
      const { PayoutContracts, loadDeployment, loadOrCreateOperatorKey } = await import('../hub/payout-chain.ts')
      const { runPayoutEpoch } = await import('../hub/payout-epochs.ts')
      const { publicEpoch } = await import('../hub/payout-api.ts')
      const { SqliteHubRepository } = await import('../hub/sqlite-repository.ts')
      const d = loadDeployment(opts.dataDir)
      if (d == null) throw new FlagError('--data-dir', `no payout-chain.json in ${opts.dataDir}: run \`sparecycles payout chain\` or \`payout deploy\` first`)
      const repo = opts.store != null ? await (await import('../hub/pg-repository.ts')).PgHubRepository.open(opts.store, opts.dataDir) : SqliteHubRepository.open(opts.dataDir)
      try {
        const r = await runPayoutEpoch({ repo, contracts: new PayoutContracts(opts.rpc ?? d.rpcUrl, d), operatorKey: loadOrCreateOperatorKey(opts.dataDir), upToSeq: opts.upTo, receiptTimeoutMs: opts.receiptTimeoutS * 1000, log: err })
        out(JSON.stringify({ action: r.action, ...publicEpoch(r.epoch) }))
      } finally {
        await repo.close()
      }
    })

  payout.command('bind')
    .description("bind a CLI volunteer key's credit to an Ethereum address (a signed ledger entry on the hub)")
    .requiredOption('--hub <url>', 'the hub HTTP URL')
    .requiredOption('--address <address>', 'Ethereum address (EIP-55 checksum when mixed case)')
    .option('--key <file>', 'the volunteer Ed25519 key (libp2p protobuf; made when absent)', DEFAULT_VOLUNTEER_KEY)
    .action(async (opts: { hub: string, address: string, key: string }) => {
      const { initResearcherKey, loadResearcherKey } = await import('./researcher-key.ts')
      const { signPayoutBinding } = await import('../protocol/payout.ts')
      const { postPayoutBinding } = await import('../volunteer/payout.ts')
      await initResearcherKey(opts.key)
      const key = loadResearcherKey(opts.key)
      const info = await (await fetch(new URL('/hub.json', opts.hub), { signal: AbortSignal.timeout(10_000) })).json() as { peerId: string, ledgerKey?: string }
      const { ledgerPeerIdOf } = await import('../protocol/ledger-key.ts')
      const ledgerPeerId = (info.ledgerKey != null ? ledgerPeerIdOf(info.ledgerKey) : undefined) ?? info.peerId
      const { binding, signature } = await signPayoutBinding(key, { peerId: peerIdFromPrivateKey(key).toString(), address: opts.address, boundAtMs: Date.now(), ledgerPeerId })
      const r = await postPayoutBinding(opts.hub, binding, signature)
      out(JSON.stringify({ peerId: binding.peerId, address: binding.address, seq: r.seq, receipt: r.receipt }))
    })

  payout.command('claim')
    .description("claim an address's tokens under the hub's latest confirmed epoch")
    .requiredOption('--hub <url>', 'the hub HTTP URL (serves the proof)')
    .requiredOption('--rpc <url>', 'JSON-RPC URL of the chain')
    .requiredOption('--address <address>', 'the account to claim for (tokens go there)')
    .requiredOption('--key <file>', 'secp256k1 key file (0x-hex) of the account that sends the claim and pays its gas')
    .action(async (opts: { hub: string, rpc: string, address: string, key: string }) => {
      const { claimFromHub } = await import('./payout-claim.ts')
      const r = await claimFromHub(opts)
      out(JSON.stringify({ ...r, amount: r.amount.toString(), balance: r.balance.toString(), gasUsed: r.gasUsed.toString() }))
    })

  payout.command('verify')
    .description('audit the payouts: recompute every epoch on chain from the hub ledger; nothing paid twice, reversals honoured')
    .requiredOption('--hub <url>', 'the hub HTTP URL')
    .requiredOption('--rpc <url>', 'JSON-RPC URL of the chain')
    .option('--distributor <address>', "the distributor to audit (default: the one the hub's epochs name)")
    .action(async (opts: { hub: string, rpc: string, distributor?: string }) => {
      const { auditPayouts, formatPayoutAudit } = await import('./payout-verify.ts')
      const { checkPayoutAddress } = await import('../protocol/payout.ts')
      const a = await auditPayouts(opts.hub, opts.rpc, undefined, { distributor: opts.distributor != null ? checkPayoutAddress(opts.distributor) : undefined })
      out(formatPayoutAudit(a))
      process.exitCode = a.ok ? 0 : 1
    })
}
