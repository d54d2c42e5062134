/**
 * Token payout (issue 16): how ledger credit becomes ERC-20 tokens that leave the hub.
 *
 * - **Binding.** A volunteer binds its credit to an Ethereum address by signing a PayoutBinding
 *   (peer id, EIP-55 address, boundAtMs, the ledger key's peer id) with its Ed25519 key; the hub
 *   appends it to the ledger as an entry whose `payoutAddress` is set (creditUnits 0). Changing the
 *   address is a new entry. The binding appears in the volunteer's credit statement like any entry.
 * - **Attribution.** A grant goes to the address its name (the entry's `peerId`: a ledger pseudonym
 *   for version-3 entries, else the legacy peer id) had bound when it was granted; grants made
 *   before the name's first binding go to that first binding. A reversal goes wherever the grant it
 *   takes back went. A rebinding therefore never moves credit already attributed, and an address's
 *   cumulative amount only falls through reversals.
 * - **Amounts.** Integers end to end: credit base units (credit.ts, 10^9 a credit) times
 *   TOKEN_UNITS_PER_CREDIT_UNIT (10^9) are token base units (18 decimals): one credit is one token.
 * - **Epochs.** Epoch n covers the ledger up to `ledgerSeq`: a StandardMerkleTree
 *   (['address', 'uint256']) of (address, cumulative token units) over everything attributed up to
 *   that seq; its root is posted to the PayoutDistributor contract with the seq and the chain head
 *   (the entryHash of entry `ledgerSeq`). `computePayout` is a pure function of the public ledger
 *   (GET /api/ledger), so anyone can recompute every epoch's root (`sparecycles payout verify`).
 *
 * Browser-safe: no Node imports.
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { peerIdFromString } from '@libp2p/peer-id'
import { getAddress, isAddress, zeroAddress } from 'viem'
import type { Address, Hex } from 'viem'
import type { PrivateKey } from '@libp2p/interface'
import { creditUnitsOf } from './credit.ts'
import { ProtocolError } from './errors.ts'
import type { ErrorName } from './errors.ts'
import { CreditEntry, PayoutBinding } from './pb/messages.ts'
import { sha256Bytes, signingBytes, toHex } from './signing.ts'

/**
 * Token base units per credit base unit: the fixed payout rate. 10^9 credit units are one credit
 * (credit.ts) and 10^18 token units one token (TOKEN_DECIMALS), so one credit pays one token.
 */
export const TOKEN_UNITS_PER_CREDIT_UNIT = 1_000_000_000n
/** Decimals of the SPARE token (ERC-20 default, contracts/SpareCyclesToken.sol). */
export const TOKEN_DECIMALS = 18
/** Domain-separation prefix of a payout binding signature. */
export const PAYOUT_BINDING_DOMAIN = 'sparecycles-payout-binding-v1'
/** Leaf encoding of the payout tree (contracts/PayoutDistributor.sol hashes the same). */
export const PAYOUT_LEAF_ENCODING = ['address', 'uint256'] as const

/** The address is not an Ethereum address (viem `isAddress`, strict EIP-55 checksum for mixed case), or is the zero address. */
export class MalformedPayoutAddressError extends ProtocolError {
  static override readonly name: ErrorName = 'MalformedPayoutAddressError'
  override readonly name: ErrorName = 'MalformedPayoutAddressError'
}
/** The binding's signature does not verify against the key of the peer id it names (signed by another key, or edited). */
export class PayoutBindingSignatureError extends ProtocolError {
  static override readonly name: ErrorName = 'PayoutBindingSignatureError'
  override readonly name: ErrorName = 'PayoutBindingSignatureError'
}
/** The binding is for another ledger, or not newer than the peer's last binding (a replay). */
export class PayoutBindingReplayError extends ProtocolError {
  static override readonly name: ErrorName = 'PayoutBindingReplayError'
  override readonly name: ErrorName = 'PayoutBindingReplayError'
}

/**
 * The hub does not take this binding now: the peer has no credit on this hub yet (a key with none
 * could fill the ledger with bindings), or its last binding is less than PAYOUT_BINDING_MIN_INTERVAL_MS old.
 */
export class PayoutBindingRefusedError extends ProtocolError {
  static override readonly name: ErrorName = 'PayoutBindingRefusedError'
  override readonly name: ErrorName = 'PayoutBindingRefusedError'
}

/** Least time between two bindings of one peer (by their boundAtMs): one a minute. */
export const PAYOUT_BINDING_MIN_INTERVAL_MS = 60_000

/** What a volunteer signs (the PayoutBinding message). */
export interface PayoutBindingFields {
  /** The volunteer's peer id (the signer). */
  peerId: string
  /** EIP-55 checksummed address. */
  address: string
  /** When the binding was made, Unix ms. */
  boundAtMs: number
  /** Peer id of the hub deployment's ledger key (`/hub.json`'s ledger key, else the hub's peer id). */
  ledgerPeerId: string
}

/**
 * The checksummed form of a payout address.
 * @throws MalformedPayoutAddressError for anything viem's strict `isAddress` refuses (a mixed-case address with a wrong checksum included) and for the zero address
 */
export function checkPayoutAddress (address: string): Address {
  if (typeof address !== 'string' || !isAddress(address, { strict: true })) throw new MalformedPayoutAddressError(`"${String(address)}" is not an Ethereum address (40 hex digits after 0x; mixed case must be its EIP-55 checksum)`)
  const checksummed = getAddress(address)
  if (checksummed === zeroAddress) throw new MalformedPayoutAddressError('the zero address cannot receive a payout')
  return checksummed
}

/** The exact bytes a binding signature covers: PAYOUT_BINDING_DOMAIN || 0x00 || protobuf PayoutBinding. */
export function payoutBindingSigningBytes (b: PayoutBindingFields): Uint8Array {
  return signingBytes(PAYOUT_BINDING_DOMAIN, PayoutBinding.encode(b))
}

/**
 * Sign a binding with the volunteer's key (its address checksummed first).
 * @returns the binding as signed and its Ed25519 signature (64 bytes)
 * @throws MalformedPayoutAddressError
 */
export async function signPayoutBinding (key: PrivateKey, b: PayoutBindingFields): Promise<{ binding: PayoutBindingFields, signature: Uint8Array }> {
  const binding = { ...b, address: checkPayoutAddress(b.address) }
  return { binding, signature: await key.sign(payoutBindingSigningBytes(binding)) }
}

/**
 * Check a binding's address and that its signature is the named peer's.
 * @throws MalformedPayoutAddressError for a bad address (also a valid one not in checksummed form: the signed text must be exact)
 * @throws PayoutBindingSignatureError when the signature is not `b.peerId`'s over these fields
 */
export async function verifyPayoutBinding (b: PayoutBindingFields, signature: Uint8Array): Promise<void> {
  if (checkPayoutAddress(b.address) !== b.address) throw new MalformedPayoutAddressError(`"${b.address}" is not in EIP-55 checksummed form`)
  let ok = false
  try {
    const key = peerIdFromString(b.peerId).publicKey
    ok = key != null && await key.verify(payoutBindingSigningBytes(b), signature)
  } catch { ok = false }
  if (!ok) throw new PayoutBindingSignatureError(`the binding's signature is not ${b.peerId}'s`)
}

/** Credit base units as token base units, exactly. @throws RangeError for a non-integer amount */
export function tokenUnitsOf (creditUnits: number | bigint): bigint {
  if (typeof creditUnits === 'number' && !Number.isSafeInteger(creditUnits)) throw new RangeError(`credit units must be a safe integer, got ${creditUnits}`)
  return BigInt(creditUnits) * TOKEN_UNITS_PER_CREDIT_UNIT
}

/** One epoch's content, recomputable from the public ledger. */
export interface PayoutComputation {
  /** The last ledger seq covered. */
  ledgerSeq: number
  /** entryHash (sha-256 of the encoded entry) of entry `ledgerSeq`, 0x-hex (32 zero bytes for seq 0). */
  chainHead: Hex
  /** (address, cumulative token units) with a positive amount, sorted by address. */
  leaves: Array<[Address, bigint]>
  /** Sum of the leaves' amounts, token units. */
  totalTokenUnits: bigint
  /** Net credit units of every grant and reversal up to ledgerSeq. */
  totalCreditUnits: bigint
  /** Net credit units attributed to an address (totalTokenUnits = this × rate). */
  boundCreditUnits: bigint
  /** Net credit units of names that never bound an address (up to ledgerSeq), not paid. */
  unboundCreditUnits: bigint
  /** Payout binding entries seen. */
  bindings: number
}

/**
 * An epoch's leaves from the ledger (see the module comment for the attribution rule).
 * @param ledger encoded CreditEntry bytes of seq 1, 2, … (at least up to `upToSeq`)
 * @param upToSeq the last seq covered (default: all of `ledger`)
 * @throws RangeError when `ledger` is shorter than upToSeq or an entry's seq is out of place
 */
export function computePayout (ledger: readonly Uint8Array[], upToSeq: number = ledger.length): PayoutComputation {
  if (!Number.isSafeInteger(upToSeq) || upToSeq < 0 || upToSeq > ledger.length) throw new RangeError(`upToSeq ${upToSeq} is outside the ledger (0..${ledger.length})`)
  const current = new Map<string, Address>()
  const first = new Map<string, Address>()
  const grantOf = new Map<number, { name: string, address: Address | undefined }>()
  const items: Array<{ name: string, units: bigint, address: Address | undefined, reverses: number }> = []
  let bindings = 0
  for (let i = 0; i < upToSeq; i++) {
    const e = CreditEntry.decode(ledger[i])
    if (e.seq !== i + 1) throw new RangeError(`ledger entry ${i + 1} carries seq ${e.seq}`)
    if (e.payoutAddress !== '') {
      const a = checkPayoutAddress(e.payoutAddress)
      current.set(e.peerId, a)
      if (!first.has(e.peerId)) first.set(e.peerId, a)
      bindings++
      continue
    }
    const units = BigInt(creditUnitsOf(e))
    if (e.reverses === 0) grantOf.set(e.seq, { name: e.peerId, address: current.get(e.peerId) })
    items.push({ name: e.peerId, units, address: current.get(e.peerId), reverses: e.reverses })
  }
  const resolve = (name: string, address: Address | undefined): Address | undefined => address ?? first.get(name)
  const sums = new Map<Address, bigint>()
  let total = 0n
  let bound = 0n
  for (const it of items) {
    total += it.units
    const g = it.reverses !== 0 ? grantOf.get(it.reverses) : undefined
    const address = g != null ? resolve(g.name, g.address) : resolve(it.name, it.address)
    if (address == null) continue
    bound += it.units
    sums.set(address, (sums.get(address) ?? 0n) + it.units)
  }
  const leaves: Array<[Address, bigint]> = [...sums].filter(([, u]) => u > 0n).map(([a, u]) => [a, tokenUnitsOf(u)] as [Address, bigint])
  leaves.sort((x, y) => x[0].toLowerCase() < y[0].toLowerCase() ? -1 : 1)
  return {
    ledgerSeq: upToSeq,
    chainHead: `0x${upToSeq === 0 ? '00'.repeat(32) : toHex(sha256Bytes(ledger[upToSeq - 1]))}`,
    leaves,
    totalTokenUnits: leaves.reduce((s, [, v]) => s + v, 0n),
    totalCreditUnits: total,
    boundCreditUnits: bound,
    unboundCreditUnits: total - bound,
    bindings
  }
}

/** The payout tree of an epoch's leaves (OpenZeppelin StandardMerkleTree, leaves sorted by it). */
export function payoutTree (leaves: ReadonlyArray<readonly [Address, bigint]>): StandardMerkleTree<[Address, bigint]> {
  return StandardMerkleTree.of(leaves.map(([a, v]) => [a, v] as [Address, bigint]), [...PAYOUT_LEAF_ENCODING])
}

/** A claim's inputs: what `PayoutDistributor.claim(account, cumulativeAmount, proof)` takes. */
export interface PayoutProof {
  epoch: number
  account: Address
  /** Cumulative token base units, decimal string (JSON carries no bigint). */
  cumulativeAmount: string
  proof: Hex[]
}

/** The proof of `account`'s leaf, or undefined when the tree has none. */
export function proofFor (tree: StandardMerkleTree<[Address, bigint]>, epoch: number, account: string): PayoutProof | undefined {
  const a = account.toLowerCase()
  for (const [i, [leafAddress, amount]] of tree.entries()) {
    if (leafAddress.toLowerCase() === a) return { epoch, account: leafAddress, cumulativeAmount: amount.toString(), proof: tree.getProof(i) as Hex[] }
  }
  return undefined
}
