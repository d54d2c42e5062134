/**
 * `sparecycles payout claim`: fetch an address's proof from the hub (GET /api/payouts/proof/:address,
 * the latest confirmed epoch), check it against the root on chain, and send
 * `PayoutDistributor.claim(account, cumulativeAmount, proof)` with viem.
 */
import type { Address, Hash } from 'viem'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { RemoteError } from '../protocol/errors.ts'
import { PAYOUT_LEAF_ENCODING, checkPayoutAddress } from '../protocol/payout.ts'
import type { PayoutProof } from '../protocol/payout.ts'
import { PayoutChainError, PayoutContracts, loadArtifact, readKeyFile } from '../hub/payout-chain.ts'
import type { PublicPayoutEpoch } from '../hub/payout-api.ts'

export interface ClaimOptions {
  hub: string
  rpc: string
  /** The account claimed for. */
  address: string
  /** secp256k1 key file of the sender (pays the gas). */
  key: string
  signal?: AbortSignal
}

export interface ClaimResult {
  epoch: number
  account: Address
  txHash: Hash
  /** Token base units minted by this claim. */
  amount: bigint
  /** The account's token balance after it. */
  balance: bigint
  gasUsed: bigint
}

/**
 * Claim for `opts.address`.
 * @throws RemoteError naming NotInPayoutTreeError when the hub has no leaf for the address
 * @throws PayoutChainError when the hub's root is not the chain's
 * @throws ContractRevertError naming NothingToClaim (already claimed) or InvalidProof
 */
export async function claimFromHub (opts: ClaimOptions): Promise<ClaimResult> {
  const account = checkPayoutAddress(opts.address)
  const signal = opts.signal ?? AbortSignal.timeout(60_000)
  const res = await fetch(new URL(`/api/payouts/proof/${account}`, opts.hub), { signal })
  const body = await res.json() as (PayoutProof & { chainId?: number, distributor?: string }) | { error: string, message: string }
  if ('error' in body) throw new RemoteError(body.error, body.message)
  // the proof names its epoch's chain and distributor; an older hub's does not: then its epoch list
  let record: Pick<PublicPayoutEpoch, 'chainId' | 'distributor'> | undefined = typeof body.chainId === 'number' && typeof body.distributor === 'string' ? { chainId: body.chainId, distributor: checkPayoutAddress(body.distributor) } : undefined
  if (record == null) {
    const epochs = (await (await fetch(new URL('/api/payouts', opts.hub), { signal })).json() as { epochs: PublicPayoutEpoch[] }).epochs
    record = epochs.find(e => e.epoch === body.epoch)
  }
  if (record == null) throw new PayoutChainError(`the hub does not list epoch ${body.epoch}`)
  const probe = new PayoutContracts(opts.rpc, { chainId: record.chainId, distributor: record.distributor as Address, token: record.distributor as Address }, signal)
  const token = await probe.pub.readContract({ address: record.distributor as Address, abi: loadArtifact('PayoutDistributor').abi, functionName: 'token' }) as Address
  const c = new PayoutContracts(opts.rpc, { chainId: record.chainId, distributor: record.distributor as Address, token }, signal)
  await c.check()
  const held = await c.epoch(body.epoch)
  const amount = BigInt(body.cumulativeAmount)
  if (!StandardMerkleTree.verify(held.root, [...PAYOUT_LEAF_ENCODING], [account, amount], body.proof)) throw new PayoutChainError(`the hub's proof does not verify against epoch ${body.epoch}'s root on chain (${held.root})`)
  const before = await c.claimed(account)
  const txHash = await c.claim(readKeyFile(opts.key), account, amount, body.proof)
  const receipt = await c.wait(txHash)
  return { epoch: body.epoch, account, txHash, amount: amount - before, balance: await c.balanceOf(account), gasUsed: receipt.gasUsed }
}
