/**
 * The hub's payout surface (issue 16), kept out of hub-core.ts: payout address bindings (a ledger
 * entry each), the epochs the store holds and a volunteer's claim proof. HTTP routes:
 *
 *   POST /api/payouts/bind   { "binding": PayoutBindingFields, "signature": "<base64 Ed25519>" }
 *        → 200 { "seq": n, "receipt": "<base64 HubReceipt of the binding entry>" }
 *        → 400 { "error": "MalformedPayoutAddressError" | "PayoutBindingSignatureError" | "PayoutBindingReplayError" | "PayoutBindingRefusedError" | "MalformedMessageError", "message" }
 *   GET  /api/payouts        → { "chain": PayoutChainInfo | null, "epochs": [PublicPayoutEpoch, …] } epochs oldest first;
 *                              chain: where the hub posts roots and its schedule (payout-service.ts), null when it runs none
 *   GET  /api/payouts/proof/:address → ServedPayoutProof of the latest confirmed epoch (the proof, the epoch's chain
 *                              id and distributor, and what the address has claimed and can claim when the hub
 *                              runs the chain), 404 when it has no leaf
 *
 * Wiring: one line in http-server.ts (`registerPayoutApi(server, opts.core)`).
 */
import type { FastifyInstance } from 'fastify'
import type { Address } from 'viem'
import { fromBase64, isBase64, toBase64 } from '../protocol/base64.ts'
import { MalformedMessageError, ProtocolError, SignerMismatchError } from '../protocol/errors.ts'
import type { ErrorName } from '../protocol/errors.ts'
import { CreditEntry, HubReceipt } from '../protocol/pb/messages.ts'
import { PAYOUT_BINDING_MIN_INTERVAL_MS, PayoutBindingRefusedError, PayoutBindingReplayError, checkPayoutAddress, payoutTree, proofFor, verifyPayoutBinding } from '../protocol/payout.ts'
import type { PayoutBindingFields, PayoutProof } from '../protocol/payout.ts'
import { leavesOf } from './payout-epochs.ts'
import type { HubCore } from './hub-core.ts'
import type { PayoutChainView } from './payout-service.ts'
import type { PayoutEpochRow, PayoutEpochStatus, RepoReader } from './repository.ts'

/** How far in the future a binding's boundAtMs may be (clock skew). */
export const BINDING_CLOCK_SKEW_MS = 10 * 60_000

/** The address has no leaf in the latest confirmed epoch (nothing to claim yet). */
export class NotInPayoutTreeError extends ProtocolError {
  static override readonly name: ErrorName = 'NotInPayoutTreeError'
  override readonly name: ErrorName = 'NotInPayoutTreeError'
}

/** An epoch as `GET /api/payouts` shows it. */
export interface PublicPayoutEpoch {
  epoch: number
  status: PayoutEpochStatus
  ledgerSeq: number
  chainHead: string
  root: string
  /** Token base units committed (sum of the leaves), decimal string. */
  totalTokenUnits: string
  /** Credit base units bound to addresses up to ledgerSeq, decimal string. */
  boundCreditUnits: string
  addresses: number
  chainId: number
  distributor: string
  txHash: string | null
  blockNumber: number | null
  createdAtMs: number
  confirmedAtMs: number | null
}

/** A stored epoch row as served. */
export function publicEpoch (r: PayoutEpochRow): PublicPayoutEpoch {
  return {
    epoch: r.epoch, status: r.status, ledgerSeq: r.ledger_seq, chainHead: r.chain_head, root: r.root, totalTokenUnits: r.total_token_units,
    boundCreditUnits: r.total_credit_units, addresses: (JSON.parse(r.leaves) as unknown[]).length, chainId: r.chain_id, distributor: r.distributor,
    txHash: r.tx_hash, blockNumber: r.block_number, createdAtMs: r.created_at_ms, confirmedAtMs: r.confirmed_at_ms
  }
}

/** A proof with the epoch's chain and distributor (where the claim goes). */
export interface EpochPayoutProof extends PayoutProof {
  chainId: number
  /** The distributor the epoch's root is on: the claim transaction's `to`. */
  distributor: Address
}

/** A proof as `GET /api/payouts/proof/:address` serves it. */
export interface ServedPayoutProof extends EpochPayoutProof {
  /** Token base units the account has claimed on the distributor (decimal string), or null when the hub runs no chain. */
  claimed: string | null
  /** cumulativeAmount − claimed (never below 0), or null with `claimed`. */
  claimable: string | null
}

/** The result of a binding: the ledger entry's seq and its receipt. */
export interface BindResult { seq: number, receipt: HubReceipt }

/** The payout operations over one hub. */
export class PayoutApi {
  /** The latest confirmed epoch's tree, built once (a proof request from anyone would otherwise hash every leaf again). */
  private tree: { epoch: number, root: string, tree: ReturnType<typeof payoutTree> } | undefined

  constructor (private readonly core: Pick<HubCore, 'repo' | 'ledger' | 'ledgerPeerId' | 'now'>) {}

  /**
   * Append a payout binding to the ledger after checking it.
   * @param remotePeer the authenticated peer that sent it, when the transport has one (libp2p)
   * @throws MalformedPayoutAddressError for an address viem's strict isAddress refuses
   * @throws PayoutBindingSignatureError when the signature is not the named peer's
   * @throws PayoutBindingReplayError for a binding meant for another ledger, or not newer than the peer's last
   * @throws PayoutBindingRefusedError when the peer has no credit here yet, or bound less than PAYOUT_BINDING_MIN_INTERVAL_MS ago
   * @throws SignerMismatchError when `remotePeer` is given and is not the binding's peer
   * @throws MalformedMessageError for a boundAtMs that is not a time or is in the future
   */
  async bind (binding: PayoutBindingFields, signature: Uint8Array, remotePeer?: string): Promise<BindResult> {
    if (remotePeer != null && remotePeer !== binding.peerId) throw new SignerMismatchError(`the binding names ${binding.peerId}, the connection is ${remotePeer}`)
    await verifyPayoutBinding(binding, signature)
    if (binding.ledgerPeerId !== this.core.ledgerPeerId) throw new PayoutBindingReplayError(`the binding is for ledger ${binding.ledgerPeerId}, this hub's is ${this.core.ledgerPeerId}`)
    const nowMs = this.core.now()
    if (!Number.isSafeInteger(binding.boundAtMs) || binding.boundAtMs <= 0 || binding.boundAtMs > nowMs + BINDING_CLOCK_SKEW_MS) throw new MalformedMessageError(`boundAtMs ${binding.boundAtMs} is not a time up to now`)
    const queued = await this.core.repo.transaction(async tx => {
      const { last, granted } = await this.bindingState(tx, binding.peerId)
      if (last != null && binding.boundAtMs <= last.payoutBoundAtMs) throw new PayoutBindingReplayError(`the peer's binding at seq ${last.seq} is as new or newer (boundAtMs ${last.payoutBoundAtMs} ≥ ${binding.boundAtMs})`)
      // a fresh key costs nothing: only a peer with credit here may add entries to the ledger, at most one a minute
      if (!granted) throw new PayoutBindingRefusedError(`${binding.peerId} has no credit on this hub yet: bind after the first validated result`)
      if (last != null && binding.boundAtMs - last.payoutBoundAtMs < PAYOUT_BINDING_MIN_INTERVAL_MS) throw new PayoutBindingRefusedError(`the peer bound an address less than ${PAYOUT_BINDING_MIN_INTERVAL_MS / 1000} s before this binding`)
      return this.core.ledger.appendPayoutBinding(tx, binding.peerId, { address: binding.address, boundAtMs: binding.boundAtMs, signature }, nowMs)
    })
    // appended just before the commit
    if (queued.entry == null) throw new Error(`the payout binding of ${binding.peerId} was not appended`)
    const { seq } = queued.entry
    const row = await this.core.repo.read(async tx => (await tx.ledgerEntriesFor(binding.peerId, seq - 1, 1))[0])
    return { seq, receipt: this.core.ledger.receipts([row])[0] }
  }

  /** The peer's latest binding entry (or undefined), and whether it was ever granted credit here (two index lookups). */
  private async bindingState (tx: RepoReader, peerId: string): Promise<{ last: CreditEntry | undefined, granted: boolean }> {
    const { lastBinding, granted } = await tx.payoutBindingState(peerId)
    return { last: lastBinding == null ? undefined : CreditEntry.decode(lastBinding), granted }
  }

  /** The address a peer's latest binding names, or undefined. */
  async boundAddress (peerId: string): Promise<Address | undefined> {
    const e = (await this.core.repo.read(async tx => await this.bindingState(tx, peerId))).last
    return e != null ? checkPayoutAddress(e.payoutAddress) : undefined
  }

  /** The stored epochs, oldest first. */
  async epochs (): Promise<PayoutEpochRow[]> {
    return await this.core.repo.read(async tx => await tx.payoutEpochs())
  }

  /**
   * The claim proof of `address` under the latest confirmed epoch.
   * @throws MalformedPayoutAddressError
   * @throws NotInPayoutTreeError when no confirmed epoch has a leaf for it
   */
  async proof (address: string): Promise<EpochPayoutProof> {
    const a = checkPayoutAddress(address)
    const latest = (await this.epochs()).filter(e => e.status === 'confirmed').at(-1)
    if (latest == null) throw new NotInPayoutTreeError('no payout epoch is confirmed yet')
    if (this.tree?.epoch !== latest.epoch || this.tree.root !== latest.root) this.tree = { epoch: latest.epoch, root: latest.root, tree: payoutTree(leavesOf(latest)) }
    const proof = proofFor(this.tree.tree, latest.epoch, a)
    if (proof == null) throw new NotInPayoutTreeError(`${a} has no leaf in epoch ${latest.epoch}`)
    return { ...proof, chainId: latest.chain_id, distributor: checkPayoutAddress(latest.distributor) }
  }
}

/** Parse a POST /api/payouts/bind body. @throws MalformedMessageError */
export function parseBindRequest (body: unknown): { binding: PayoutBindingFields, signature: Uint8Array } {
  const b = body as { binding?: Partial<PayoutBindingFields>, signature?: unknown } | null
  const f = b?.binding
  if (f == null || typeof f !== 'object' || typeof f.peerId !== 'string' || typeof f.address !== 'string' || typeof f.boundAtMs !== 'number' || typeof f.ledgerPeerId !== 'string') {
    throw new MalformedMessageError('binding must be { peerId, address, boundAtMs, ledgerPeerId }')
  }
  if (typeof b?.signature !== 'string' || !isBase64(b.signature)) throw new MalformedMessageError('signature must be base64')
  return { binding: { peerId: f.peerId, address: f.address, boundAtMs: f.boundAtMs, ledgerPeerId: f.ledgerPeerId }, signature: fromBase64(b.signature, 'signature') }
}

/** The routes of the module comment. */
export function registerPayoutApi (server: FastifyInstance, core: HubCore, chain: PayoutChainView = { info: () => undefined, claimed: async () => undefined }): void {
  const api = new PayoutApi(core)
  server.post('/api/payouts/bind', async (req, reply) => {
    try {
      const { binding, signature } = parseBindRequest(req.body)
      const r = await api.bind(binding, signature)
      return { seq: r.seq, receipt: toBase64(HubReceipt.encode(r.receipt)) }
    } catch (err) {
      if (err instanceof ProtocolError) return await reply.code(400).send({ error: err.name, message: err.message })
      throw err
    }
  })
  server.get('/api/payouts', async (_req, reply) => {
    void reply.header('cache-control', 'no-store')
    return { chain: chain.info() ?? null, epochs: (await api.epochs()).map(publicEpoch) }
  })
  server.get<{ Params: { address: string } }>('/api/payouts/proof/:address', async (req, reply) => {
    void reply.header('cache-control', 'no-store')
    try {
      const proof = await api.proof(req.params.address)
      // a chain that cannot be read shows as "unknown" (null) on the page, and is logged for the operator
      const claimed = await chain.claimed(proof.account).catch((err: unknown) => {
        req.log.warn({ err, account: proof.account }, `payout: reading claimed of ${proof.account} from the distributor failed`)
        return undefined
      })
      const cumulative = BigInt(proof.cumulativeAmount)
      const served: ServedPayoutProof = { ...proof, claimed: claimed?.toString() ?? null, claimable: claimed == null ? null : (cumulative > claimed ? cumulative - claimed : 0n).toString() }
      return served
    } catch (err) {
      if (err instanceof NotInPayoutTreeError) return await reply.code(404).send({ error: err.name, message: err.message })
      if (err instanceof ProtocolError) return await reply.code(400).send({ error: err.name, message: err.message })
      throw err
    }
  })
}
