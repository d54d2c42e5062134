/**
 * Payout epochs (issue 16): the ledger up to a seq becomes a Merkle root on the distributor,
 * crash-safe and idempotent. An epoch moves through three stored states (`payout_epochs`, schema 9):
 *
 *   intent     written before anything is sent: epoch number, ledger seq, chain head, root, leaves
 *   posted     the postRoot transaction was sent; its hash recorded
 *   confirmed  the transaction is mined (block number recorded) and the chain holds the root
 *
 * A run first finishes an unconfirmed epoch, if there is one, and only then starts a new one, so a
 * crash at any point is followed by the same epoch, never a skipped or second one:
 * - crashed after the intent, before sending: the chain has no root for the epoch → it is sent;
 * - crashed after sending, before recording the hash: the chain already holds the root → the
 *   RootPosted event gives the hash and block, nothing is sent again;
 * - crashed after recording the hash: the receipt is awaited; a transaction that reverted or is
 *   unknown to the chain is sent again only when the chain has no root for the epoch; one still
 *   pending stops the run (PayoutChainError: run again later), and so does any operator
 *   transaction pending when a root is about to be sent (on a chain that does not mine at once, the
 *   root of a crashed run may be in it).
 * The distributor refuses a duplicate epoch (StaleEpoch) whatever the store says, so even two
 * operators racing cannot post an epoch twice.
 *
 * Test hook: SPARECYCLES_PAYOUT_CRASH_AT=after-intent|after-send|after-posted makes the process exit
 * (code PAYOUT_CRASH_EXIT_CODE) at that step, as a crash would.
 */
import type { Address, Hash, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ProtocolError } from '../protocol/errors.ts'
import type { ErrorName } from '../protocol/errors.ts'
import { computePayout, payoutTree } from '../protocol/payout.ts'
import type { PayoutComputation } from '../protocol/payout.ts'
import { PayoutChainError } from './payout-chain.ts'
import type { PayoutContracts } from './payout-chain.ts'
import type { HubRepository, PayoutEpochRow, RepoReader } from './repository.ts'

/** Steps at which the crash hook can end the process. */
export type PayoutCrashPoint = 'after-intent' | 'after-send' | 'after-posted'
/** Environment variable of the crash hook. */
export const PAYOUT_CRASH_ENV = 'SPARECYCLES_PAYOUT_CRASH_AT'
/** Exit code of a process the crash hook ended. */
export const PAYOUT_CRASH_EXIT_CODE = 86
const CRASH_POINTS: readonly PayoutCrashPoint[] = ['after-intent', 'after-send', 'after-posted']

/** No epoch can be made: nothing is bound to an address, or the seq is outside the ledger. */
export class PayoutEpochError extends ProtocolError {
  static override readonly name: ErrorName = 'PayoutEpochError'
  override readonly name: ErrorName = 'PayoutEpochError'
}

export interface RunEpochOptions {
  repo: HubRepository
  contracts: PayoutContracts
  /** The operator's secp256k1 key (payout-chain.ts loadOrCreateOperatorKey). */
  operatorKey: Hex
  /** Last ledger seq the epoch covers (default: the ledger's head). Ignored while an epoch is unconfirmed (that one is finished first). */
  upToSeq?: number
  /** Unix ms clock (default Date.now). */
  now?: () => number
  /** Crash hook (default: from PAYOUT_CRASH_ENV). */
  crashAt?: PayoutCrashPoint
  /** Most ms to wait for a receipt (default 60 000). */
  receiptTimeoutMs?: number
  /** Progress lines. */
  log?: (line: string) => void
}

/** What a run did. */
export interface RunEpochResult {
  /** 'posted': a new epoch; 'resumed': an unconfirmed one finished; 'unchanged': the latest confirmed epoch already has this root. */
  action: 'posted' | 'resumed' | 'unchanged'
  epoch: PayoutEpochRow
}

/** Leaves as stored (amounts decimal strings). */
export function leavesJson (leaves: ReadonlyArray<readonly [Address, bigint]>): string {
  return JSON.stringify(leaves.map(([a, v]) => [a, v.toString()]))
}

/** Leaves from their stored JSON. */
export function leavesOf (row: Pick<PayoutEpochRow, 'leaves'>): Array<[Address, bigint]> {
  return (JSON.parse(row.leaves) as Array<[Address, string]>).map(([a, v]) => [a, BigInt(v)])
}

/** Every ledger entry's bytes, seq 1..upToSeq (default: the head), in pages. */
export async function readLedger (tx: RepoReader, upToSeq?: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  const last = upToSeq ?? Infinity
  while (out.length < last) {
    const page = await tx.ledgerRows(out.length + 1, Math.min(1000, last - out.length))
    if (page.length === 0) break
    for (const row of page) {
      if (row.seq !== out.length + 1) throw new PayoutEpochError(`ledger entry ${out.length + 1} is missing`)
      out.push(row.entry)
    }
  }
  if (upToSeq != null && out.length < upToSeq) throw new PayoutEpochError(`the ledger ends at seq ${out.length}, before ${upToSeq}`)
  return out
}

/** What the store's ledger makes of an epoch up to `upToSeq` (default: the head). */
export async function computeStoredPayout (repo: HubRepository, upToSeq?: number): Promise<PayoutComputation> {
  const ledger = await repo.read(async tx => await readLedger(tx, upToSeq))
  return computePayout(ledger)
}

function crashHook (at: PayoutCrashPoint | undefined): (point: PayoutCrashPoint) => void {
  const env = process.env[PAYOUT_CRASH_ENV]
  const chosen = at ?? (CRASH_POINTS.includes(env as PayoutCrashPoint) ? env as PayoutCrashPoint : undefined)
  return point => {
    if (point === chosen) {
      process.stderr.write(`payout: crash hook: exiting at ${point}\n`)
      process.exit(PAYOUT_CRASH_EXIT_CODE)
    }
  }
}

/**
 * Make (or finish) one payout epoch: see the module comment.
 * @throws PayoutEpochError when there is nothing to pay or upToSeq is beyond the ledger
 * @throws PayoutChainError when the chain disagrees with the store (another root for the epoch, an epoch the store does not know)
 * @throws ContractRevertError when the distributor refuses the root (NotOperator for a key that is not the operator's)
 */
export async function runPayoutEpoch (opts: RunEpochOptions): Promise<RunEpochResult> {
  const now = opts.now ?? Date.now
  const crash = crashHook(opts.crashAt)
  const log = opts.log ?? (() => {})
  await opts.contracts.check()
  const rows = await opts.repo.read(async tx => await tx.payoutEpochs())
  const pending = rows.find(r => r.status !== 'confirmed')
  if (pending != null) {
    log(`payout: epoch ${pending.epoch} is ${pending.status}; finishing it first`)
    return { action: 'resumed', epoch: await finish(opts, pending, crash, now, log) }
  }
  const head = await opts.repo.read(async tx => (await tx.ledgerHead())?.seq ?? 0)
  const upTo = opts.upToSeq ?? head
  if (!Number.isSafeInteger(upTo) || upTo < 1 || upTo > head) throw new PayoutEpochError(`ledger seq ${upTo} is outside the ledger (1..${head})`)
  const last = rows.at(-1)
  if (last != null && upTo < last.ledger_seq) throw new PayoutEpochError(`epoch ${last.epoch} already covers seq ${last.ledger_seq}; an epoch cannot cover less (${upTo})`)
  const comp = await computeStoredPayout(opts.repo, upTo)
  if (comp.leaves.length === 0) throw new PayoutEpochError(`nothing to pay: no credit up to seq ${upTo} is bound to a payout address`)
  const root = payoutTree(comp.leaves).root as Hex
  if (last != null && last.root === root) {
    log(`payout: epoch ${last.epoch} already commits to this root (seq ${last.ledger_seq}); nothing new to post`)
    return { action: 'unchanged', epoch: last }
  }
  const epoch = (last?.epoch ?? 0) + 1
  const onChain = await opts.contracts.currentEpoch()
  if (onChain >= epoch) throw new PayoutChainError(`the distributor already holds epoch ${onChain}, which this store does not know (another store posted to it?)`)
  const intent: PayoutEpochRow = {
    epoch, ledger_seq: upTo, chain_head: comp.chainHead, root, total_token_units: comp.totalTokenUnits.toString(), total_credit_units: comp.boundCreditUnits.toString(),
    leaves: leavesJson(comp.leaves), chain_id: opts.contracts.deployment.chainId, distributor: opts.contracts.deployment.distributor,
    status: 'intent', tx_hash: null, block_number: null, created_at_ms: now(), posted_at_ms: null, confirmed_at_ms: null
  }
  await opts.repo.transaction(async tx => {
    const latest = (await tx.payoutEpochs()).at(-1)
    if ((latest?.epoch ?? 0) !== epoch - 1) throw new PayoutEpochError(`another run wrote epoch ${latest?.epoch ?? 0} meanwhile`)
    await tx.putPayoutEpoch(intent)
  })
  log(`payout: epoch ${epoch} intent written: seq ${upTo}, ${comp.leaves.length} addresses, ${comp.totalTokenUnits} token units, root ${root}`)
  crash('after-intent')
  return { action: 'posted', epoch: await finish(opts, intent, crash, now, log) }
}

/** Bring an intent or posted epoch to confirmed. */
async function finish (opts: RunEpochOptions, row: PayoutEpochRow, crash: (p: PayoutCrashPoint) => void, now: () => number, log: (line: string) => void): Promise<PayoutEpochRow> {
  const c = opts.contracts
  if (row.chain_id !== c.deployment.chainId || row.distributor.toLowerCase() !== c.deployment.distributor.toLowerCase()) {
    throw new PayoutChainError(`epoch ${row.epoch} was meant for distributor ${row.distributor} on chain ${row.chain_id}, not ${c.deployment.distributor} on ${c.deployment.chainId}`)
  }
  const save = async (patch: Partial<PayoutEpochRow>): Promise<PayoutEpochRow> => {
    const next = { ...row, ...patch }
    await opts.repo.transaction(async tx => { await tx.putPayoutEpoch(next) })
    row = next
    return next
  }
  const confirmFromChain = async (): Promise<PayoutEpochRow | undefined> => {
    const held = await c.epoch(row.epoch)
    if (held.root === `0x${'00'.repeat(32)}`) return undefined
    if (held.root !== row.root || held.ledgerSeq !== row.ledger_seq) throw new PayoutChainError(`the distributor holds root ${held.root} (seq ${held.ledgerSeq}) for epoch ${row.epoch}, not the store's ${row.root} (seq ${row.ledger_seq})`)
    const posted = await c.rootPostedEvent(row.epoch)
    log(`payout: epoch ${row.epoch} is already on chain (tx ${posted?.txHash ?? 'unknown'}); recording it`)
    return await save({ status: 'confirmed', tx_hash: posted?.txHash ?? row.tx_hash, block_number: posted != null ? Number(posted.blockNumber) : null, posted_at_ms: row.posted_at_ms ?? now(), confirmed_at_ms: now() })
  }
  if (row.status === 'posted' && row.tx_hash != null) {
    const receipt = await c.wait(row.tx_hash as Hash, opts.receiptTimeoutMs ?? 60_000).catch(() => undefined)
    if (receipt?.status === 'success') {
      log(`payout: epoch ${row.epoch} confirmed in block ${receipt.blockNumber}`)
      return await save({ status: 'confirmed', block_number: Number(receipt.blockNumber), confirmed_at_ms: now() })
    }
    // still waiting to be mined: sending again would only make a second transaction that reverts
    if (receipt == null && await c.pending(row.tx_hash as Hash)) throw new PayoutChainError(`the transaction of epoch ${row.epoch} (${row.tx_hash}) is not mined yet: run again later`)
    log(`payout: the transaction of epoch ${row.epoch} (${row.tx_hash}) ${receipt == null ? 'is unknown to the chain' : 'reverted'}`)
  }
  const done = await confirmFromChain()
  if (done != null) return done
  const current = await c.currentEpoch()
  if (current !== row.epoch - 1) throw new PayoutChainError(`the distributor is at epoch ${current}; epoch ${row.epoch} cannot be posted after it`)
  // a crash after sending, on a chain that does not mine at once: the root may be in a pending transaction
  const operator = privateKeyToAccount(opts.operatorKey).address
  if (await c.pendingCount(operator) > 0) throw new PayoutChainError(`the operator ${operator} has a transaction not mined yet (perhaps this epoch's root): run again once it is mined`)
  const hash = await c.postRoot(opts.operatorKey, { epoch: row.epoch, root: row.root as Hex, ledgerSeq: row.ledger_seq, chainHead: row.chain_head as Hex, totalCumulative: BigInt(row.total_token_units) })
  log(`payout: epoch ${row.epoch} root sent (tx ${hash})`)
  crash('after-send')
  await save({ status: 'posted', tx_hash: hash, posted_at_ms: now() })
  crash('after-posted')
  const receipt = await c.wait(hash, opts.receiptTimeoutMs ?? 60_000)
  if (receipt.status !== 'success') throw new PayoutChainError(`the postRoot transaction ${hash} of epoch ${row.epoch} reverted`)
  log(`payout: epoch ${row.epoch} confirmed in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`)
  return await save({ status: 'confirmed', block_number: Number(receipt.blockNumber), confirmed_at_ms: now() })
}
