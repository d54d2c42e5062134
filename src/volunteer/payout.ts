/**
 * The volunteer's side of token payouts (issue 16), for the page and the CLI: bind this key's credit
 * to an Ethereum address (a signed PayoutBinding POSTed to the hub's /api/payouts/bind), and the
 * claim of an address under the hub's latest confirmed epoch as a transaction (to, data) any wallet
 * can send, or sent here through an EIP-1193 wallet (window.ethereum) with viem.
 */
import { createPublicClient, createWalletClient, custom, encodeFunctionData } from 'viem'
import type { Address, EIP1193Provider, Hash, Hex } from 'viem'
import type { PrivateKey } from '@libp2p/interface'
import { toBase64 } from '../protocol/base64.ts'
import { RemoteError } from '../protocol/errors.ts'
import { TOKEN_DECIMALS, checkPayoutAddress, signPayoutBinding } from '../protocol/payout.ts'
import type { PayoutBindingFields, PayoutProof } from '../protocol/payout.ts'

/** The distributor's `claim` and `claimed`, as viem encodes them (contracts/PayoutDistributor.sol). */
export const DISTRIBUTOR_CLAIM_ABI = [
  { type: 'function', name: 'claim', stateMutability: 'nonpayable', inputs: [{ name: 'account', type: 'address' }, { name: 'cumulativeAmount', type: 'uint256' }, { name: 'proof', type: 'bytes32[]' }], outputs: [{ name: 'amount', type: 'uint256' }] },
  { type: 'function', name: 'claimed', stateMutability: 'view', inputs: [{ name: 'account', type: 'address' }], outputs: [{ type: 'uint256' }] }
] as const

/**
 * POST a signed binding to a hub.
 * @returns the binding entry's ledger seq and its receipt (base64 HubReceipt)
 * @throws RemoteError whose `remoteName` is the hub's refusal (MalformedPayoutAddressError, PayoutBindingSignatureError, PayoutBindingReplayError, PayoutBindingRefusedError, MalformedMessageError)
 */
export async function postPayoutBinding (hubUrl: string, binding: PayoutBindingFields, signature: Uint8Array, signal?: AbortSignal): Promise<{ seq: number, receipt: string }> {
  const response = await fetch(new URL('/api/payouts/bind', hubUrl), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ binding, signature: toBase64(signature) }), signal: signal ?? AbortSignal.timeout(30_000)
  })
  const body = await response.json() as { seq: number, receipt: string } | { error: string, message: string }
  if ('error' in body) throw new RemoteError(body.error, body.message)
  return body
}

/**
 * Sign and send a binding of `key`'s credit to `address`, made now.
 * @param ledgerPeerId the peer id of the hub's ledger key (its own peer id when it presents none)
 * @throws MalformedPayoutAddressError before anything is sent; RemoteError for the hub's refusal
 */
export async function bindPayoutAddress (opts: { hubUrl: string, key: PrivateKey, peerId: string, ledgerPeerId: string, address: string, nowMs?: number, signal?: AbortSignal }): Promise<{ seq: number, address: Address }> {
  const { binding, signature } = await signPayoutBinding(opts.key, { peerId: opts.peerId, address: opts.address, boundAtMs: opts.nowMs ?? Date.now(), ledgerPeerId: opts.ledgerPeerId })
  const r = await postPayoutBinding(opts.hubUrl, binding, signature, opts.signal)
  return { seq: r.seq, address: binding.address as Address }
}

/** A claim ready to send: the proof and the transaction it makes. */
export interface PayoutClaimTx extends PayoutProof {
  /** Cumulative amount in whole tokens, for display ("1.5"). */
  tokens: string
  chainId: number
  /** The distributor: the transaction's `to`. */
  distributor: Address
  /** The transaction's calldata: claim(account, cumulativeAmount, proof). */
  data: Hex
  /** Whole tokens the account has claimed on chain, as the hub read it; undefined when the hub runs no chain. */
  claimedTokens?: string
  /** Whole tokens a claim would transfer now (cumulative − claimed); undefined with `claimedTokens`. */
  claimableTokens?: string
}

/** Token base units as a decimal token amount ("1.000000000000000001" → trimmed). */
export function formatTokens (units: bigint): string {
  const scale = 10n ** BigInt(TOKEN_DECIMALS)
  const whole = units / scale
  const frac = (units % scale).toString().padStart(TOKEN_DECIMALS, '0').replace(/0+$/, '')
  return frac === '' ? whole.toString() : `${whole}.${frac}`
}

/**
 * The claim of `address` under the hub's latest confirmed epoch.
 * @throws MalformedPayoutAddressError; RemoteError naming NotInPayoutTreeError when the epoch has no leaf for it
 */
export async function payoutClaimTx (hubUrl: string, address: string, signal?: AbortSignal): Promise<PayoutClaimTx> {
  const account = checkPayoutAddress(address)
  const s = signal ?? AbortSignal.timeout(30_000)
  const proof = await (await fetch(new URL(`/api/payouts/proof/${account}`, hubUrl), { signal: s })).json() as (PayoutProof & { chainId?: number, distributor?: Address, claimed?: string | null, claimable?: string | null }) | { error: string, message: string }
  if ('error' in proof) throw new RemoteError(proof.error, proof.message)
  // the proof names its epoch's chain and distributor; an older hub's does not: then its epoch list
  let epoch: { chainId: number, distributor: Address } | undefined = typeof proof.chainId === 'number' && typeof proof.distributor === 'string' ? { chainId: proof.chainId, distributor: checkPayoutAddress(proof.distributor) } : undefined
  if (epoch == null) {
    const epochs = (await (await fetch(new URL('/api/payouts', hubUrl), { signal: s })).json() as { epochs: Array<{ epoch: number, chainId: number, distributor: Address }> }).epochs
    epoch = epochs.find(e => e.epoch === proof.epoch)
  }
  if (epoch == null) throw new RemoteError('NotInPayoutTreeError', `the hub lists no epoch ${proof.epoch}`)
  const data = encodeFunctionData({ abi: DISTRIBUTOR_CLAIM_ABI, functionName: 'claim', args: [proof.account, BigInt(proof.cumulativeAmount), proof.proof] })
  const onChain = typeof proof.claimed === 'string' && typeof proof.claimable === 'string' && /^\d+$/.test(proof.claimed) && /^\d+$/.test(proof.claimable)
  return {
    epoch: proof.epoch, account: proof.account, cumulativeAmount: proof.cumulativeAmount, proof: proof.proof,
    tokens: formatTokens(BigInt(proof.cumulativeAmount)), chainId: epoch.chainId, distributor: epoch.distributor, data,
    ...(onChain ? { claimedTokens: formatTokens(BigInt(proof.claimed!)), claimableTokens: formatTokens(BigInt(proof.claimable!)) } : {})
  }
}

/**
 * Send a claim through an EIP-1193 wallet (e.g. window.ethereum), from its first account.
 * @returns the transaction hash and what the account had claimed before (token base units)
 * @throws Error when the wallet refuses or is on another chain
 */
export async function claimWithWallet (tx: PayoutClaimTx, ethereum: EIP1193Provider): Promise<{ hash: Hash, claimedBefore: bigint }> {
  const wallet = createWalletClient({ transport: custom(ethereum) })
  const [from] = await wallet.requestAddresses()
  const chainId = await wallet.getChainId()
  if (chainId !== tx.chainId) throw new Error(`the wallet is on chain ${chainId}; the payout is on chain ${tx.chainId}`)
  const pub = createPublicClient({ transport: custom(ethereum) })
  const claimedBefore = await pub.readContract({ address: tx.distributor, abi: DISTRIBUTOR_CLAIM_ABI, functionName: 'claimed', args: [tx.account] })
  const hash = await wallet.sendTransaction({ account: from, chain: null, to: tx.distributor, data: tx.data })
  return { hash, claimedBefore }
}
