/**
 * `sparecycles payout verify --hub URL --rpc URL`: an audit that trusts neither the hub's store nor
 * its page. It re-walks the hub's public ledger (GET /api/ledger: hash links from genesis), and for
 * every epoch the distributor holds on chain recomputes the tree from the ledger up to the epoch's
 * seq (protocol/payout.ts computePayout, the same pure function the hub uses) and checks:
 * - the root, ledger seq and chain head on chain are the recomputed ones (and the hub's
 *   /api/payouts record, when it lists the epoch);
 * - total committed = credit bound to addresses × TOKEN_UNITS_PER_CREDIT_UNIT, exactly;
 * - nothing paid twice: the token's total supply equals the sum of the distributor's Claimed
 *   events, each account's claimed amount equals its last Claimed event's cumulative amount, and
 *   no account claimed more than the largest cumulative amount any epoch gave it;
 * - reversals honoured: a reversal in the ledger lowers the recomputed cumulative amount, so an
 *   epoch posted after it that ignored it fails the root check; an account that claimed before its
 *   credit was reversed is listed as overpaid (tokens already minted cannot be taken back).
 */
import type { Address, Hex } from 'viem'
import { GENESIS_HASH, bytesEqual, sha256Bytes } from '../protocol/signing.ts'
import { CreditEntry } from '../protocol/pb/messages.ts'
import { TOKEN_UNITS_PER_CREDIT_UNIT, computePayout, payoutTree } from '../protocol/payout.ts'
import { fetchLedger } from '../hub/statement-api.ts'
import { PayoutContracts, loadArtifact, publicClientFor } from '../hub/payout-chain.ts'
import type { PublicPayoutEpoch } from '../hub/payout-api.ts'

export interface PayoutAuditEpoch {
  epoch: number
  ledgerSeq: number
  root: Hex
  ok: boolean
  addresses: number
  totalTokenUnits: bigint
  /** Net credit units granted up to ledgerSeq: bound to an address (paid), and not (no binding yet). */
  boundCreditUnits: bigint
  unboundCreditUnits: bigint
}

export interface PayoutAudit {
  ok: boolean
  ledgerEntries: number
  epochs: PayoutAuditEpoch[]
  /** Token supply (all claims). */
  totalSupply: bigint
  /** Sum of Claimed event amounts. */
  claimedTotal: bigint
  /** Accounts whose claims exceed what the latest epoch gives them (credit reversed after they claimed), token units over. */
  overpaid: Array<{ account: Address, claimed: bigint, latestCumulative: bigint }>
  problems: string[]
}

/**
 * Run the audit.
 * @param hub the hub's HTTP URL
 * @param rpc the chain's JSON-RPC URL
 * @param opts.distributor the distributor to audit (default: the one the hub's latest epoch names; pin it to trust the hub for nothing)
 * @throws Error when the hub or the chain cannot be read; PayoutChainError when there is no distributor at the address
 */
export async function auditPayouts (hub: string, rpc: string, signal?: AbortSignal, opts: { distributor?: Address } = {}): Promise<PayoutAudit> {
  const problems: string[] = []
  const ledger = await fetchLedger(hub, signal)
  let prev: Uint8Array = GENESIS_HASH
  for (let i = 0; i < ledger.length; i++) {
    const e = CreditEntry.decode(ledger[i])
    if (e.seq !== i + 1 || !bytesEqual(e.prevHash, prev)) { problems.push(`ledger chain broken at seq ${i + 1}`); break }
    prev = sha256Bytes(ledger[i])
  }
  const response = await fetch(new URL('/api/payouts', hub), { signal: signal ?? AbortSignal.timeout(30_000) })
  if (!response.ok) throw new Error(`${hub} /api/payouts: HTTP ${response.status}`)
  const listed = (await response.json() as { epochs: PublicPayoutEpoch[] }).epochs
  const latest = listed.at(-1)
  // no epoch yet: nothing on chain to check (and nothing paid)
  if (latest == null && opts.distributor == null) return { ok: problems.length === 0, ledgerEntries: ledger.length, epochs: [], totalSupply: 0n, claimedTotal: 0n, overpaid: [], problems }
  // the distributor the auditor names (--distributor), else the one the hub's latest epoch names
  const chainId = latest?.chainId ?? await publicClientFor(rpc, undefined, signal).getChainId()
  const deployment = { chainId, distributor: opts.distributor ?? latest?.distributor as Address }
  if (opts.distributor != null && latest != null && latest.distributor.toLowerCase() !== opts.distributor.toLowerCase()) problems.push(`the hub names distributor ${latest.distributor}, not ${opts.distributor}`)
  const pub = new PayoutContracts(rpc, { chainId: deployment.chainId, distributor: deployment.distributor, token: '0x0000000000000000000000000000000000000000' }, signal)
  const token = await pub.pub.readContract({ address: deployment.distributor as Address, abi: loadArtifact('PayoutDistributor').abi, functionName: 'token' }) as Address
  const chain = new PayoutContracts(rpc, { chainId: deployment.chainId, distributor: deployment.distributor as Address, token }, signal)
  await chain.check()
  const current = await chain.currentEpoch()
  const epochs: PayoutAuditEpoch[] = []
  const maxCumulative = new Map<string, bigint>()
  let latestLeaves = new Map<string, bigint>()
  for (let n = 1; n <= current; n++) {
    const held = await chain.epoch(n)
    const record = listed.find(l => l.epoch === n)
    if (held.ledgerSeq > ledger.length) { problems.push(`epoch ${n} covers seq ${held.ledgerSeq}, beyond the ledger's ${ledger.length}`); continue }
    const comp = computePayout(ledger, held.ledgerSeq)
    const root = payoutTree(comp.leaves).root as Hex
    let ok = true
    const fail = (why: string): void => { ok = false; problems.push(`epoch ${n}: ${why}`) }
    if (held.root !== root) fail(`root on chain ${held.root} is not the ledger's ${root}`)
    if (held.chainHead !== comp.chainHead) fail(`chain head on chain ${held.chainHead} is not entry ${held.ledgerSeq}'s hash ${comp.chainHead}`)
    if (held.totalCumulative !== comp.totalTokenUnits) fail(`total on chain ${held.totalCumulative} is not the leaves' ${comp.totalTokenUnits}`)
    if (comp.totalTokenUnits !== comp.boundCreditUnits * TOKEN_UNITS_PER_CREDIT_UNIT) fail(`committed ${comp.totalTokenUnits} is not bound credit ${comp.boundCreditUnits} × ${TOKEN_UNITS_PER_CREDIT_UNIT}`)
    if (record != null && (record.root !== held.root || record.ledgerSeq !== held.ledgerSeq)) fail(`the hub's record (root ${record.root}, seq ${record.ledgerSeq}) differs from the chain`)
    for (const [a, v] of comp.leaves) {
      const k = a.toLowerCase()
      if (v > (maxCumulative.get(k) ?? 0n)) maxCumulative.set(k, v)
    }
    latestLeaves = new Map(comp.leaves.map(([a, v]) => [a.toLowerCase(), v]))
    epochs.push({ epoch: n, ledgerSeq: held.ledgerSeq, root: held.root, ok, addresses: comp.leaves.length, totalTokenUnits: comp.totalTokenUnits, boundCreditUnits: comp.boundCreditUnits, unboundCreditUnits: comp.unboundCreditUnits })
  }
  const claims = await chain.pub.getContractEvents({ address: chain.deployment.distributor, abi: loadArtifact('PayoutDistributor').abi, eventName: 'Claimed', fromBlock: 0n, toBlock: 'latest' })
  let claimedTotal = 0n
  const lastCumulative = new Map<string, { account: Address, cumulative: bigint }>()
  for (const log of claims) {
    const args = (log as unknown as { args: { account: Address, amount: bigint, cumulativeAmount: bigint } }).args
    claimedTotal += args.amount
    const before = lastCumulative.get(args.account.toLowerCase())?.cumulative ?? 0n
    if (args.cumulativeAmount - before !== args.amount) problems.push(`claim by ${args.account}: amount ${args.amount} is not cumulative ${args.cumulativeAmount} minus earlier ${before}`)
    lastCumulative.set(args.account.toLowerCase(), { account: args.account, cumulative: args.cumulativeAmount })
  }
  const totalSupply = await chain.totalSupply()
  if (totalSupply !== claimedTotal) problems.push(`token supply ${totalSupply} is not the sum of claims ${claimedTotal}`)
  const overpaid: PayoutAudit['overpaid'] = []
  for (const [k, { account, cumulative }] of lastCumulative) {
    const onChain = await chain.claimed(account)
    if (onChain !== cumulative) problems.push(`${account}: claimed ${onChain} on chain, its Claimed events say ${cumulative}`)
    const max = maxCumulative.get(k) ?? 0n
    if (onChain > max) problems.push(`${account} claimed ${onChain}, more than any epoch gave it (${max}): paid twice`)
    const latest = latestLeaves.get(k) ?? 0n
    if (onChain > latest) overpaid.push({ account, claimed: onChain, latestCumulative: latest })
  }
  return { ok: problems.length === 0 && epochs.every(e => e.ok), ledgerEntries: ledger.length, epochs, totalSupply, claimedTotal, overpaid, problems }
}

/** The audit as text lines. */
export function formatPayoutAudit (a: PayoutAudit): string {
  const lines = [`ledger: ${a.ledgerEntries} entries walked from genesis`]
  if (a.epochs.length === 0) lines.push('  no payout epoch is posted yet')
  for (const e of a.epochs) lines.push(`  epoch ${e.epoch} ${e.ok ? 'ok  ' : 'FAIL'} seq ${e.ledgerSeq}, ${e.addresses} addresses, ${e.totalTokenUnits} token units = ${e.boundCreditUnits} credit units bound × ${TOKEN_UNITS_PER_CREDIT_UNIT} (${e.unboundCreditUnits} credit units not bound to an address), root ${e.root}`)
  lines.push(`claims: ${a.claimedTotal} token units claimed, token supply ${a.totalSupply}`)
  for (const o of a.overpaid) lines.push(`  overpaid: ${o.account} claimed ${o.claimed}, latest epoch gives ${o.latestCumulative} (credit reversed after the claim)`)
  for (const p of a.problems) lines.push(`  problem: ${p}`)
  lines.push(a.ok ? 'VERIFIED: every posted root is the ledger\'s, nothing paid twice' : 'NOT VERIFIED')
  return lines.join('\n')
}
