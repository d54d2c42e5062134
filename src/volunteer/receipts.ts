/**
 * Credit receipts: asks the hub for hub-signed credit receipts while results are pending, verifies
 * each against the deployment's ledger key — the one the hub vouches for with its delegation (in
 * the response, else from /hub.json; protocol/ledger-key.ts), checked against the hub's own key
 * from its peer id, never from the page; without a delegation the hub's own key — and that it
 * credits this volunteer, and keeps the good ones in IndexedDB (with the ledger key and the
 * delegation, for statements); a forged or foreign receipt, or a delegation the hub did not
 * sign (BadLedgerDelegationError), is refused and reported. Owns `resultsPending`, `resultsValidated` and `creditGranted` of the state, and the
 * seq of the newest receipt held.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { HubReceipt, creditOf, creditUnitsOf, decodeCreditEntry, fromCreditUnits, toCreditUnits, toHex } from '../protocol/index.ts'
import { ledgerKeyToJson, ledgerPeerIdOf, sameKey, verifyLedgerDelegation, verifyReceiptFrom } from '../protocol/ledger-key.ts'
import { LEDGER_SALT_BYTES, entryNames, saltFromHex } from '../protocol/pseudonym.ts'
import { sleep } from './async.ts'
import type { ResultResponse } from '../protocol/index.ts'
import type { ConnectedHub } from './connection.ts'
import type { HubLink } from './hub-client.ts'
import type { ReceiptFigures, ReceiptSink } from './outbox.ts'
import type { StoredCredit } from './db.ts'
import type { HubFigures, StateSink } from './state.ts'
import type { ReplicaKey, VolunteerStore } from './store.ts'

export type ReceiptStore = Pick<VolunteerStore, 'putCredit' | 'credits' | 'ackedReplicas' | 'outboxReplicas' | 'leaseReplicas' | 'getMeta' | 'putMeta'>

export interface ReceiptsOptions {
  store: ReceiptStore
  link: HubLink
  bus: StateSink
  /** This volunteer's peer id: a receipt crediting anyone else is refused. */
  peerId: string
  /** The connected hub (its ledger key verifies receipts; without one its own key), or null. */
  hub: () => (Pick<ConnectedHub, 'peer' | 'publicKey'> & Partial<Pick<ConnectedHub, 'ledgerKey' | 'delegation'>>) | null
  /** Submit the outbox before each poll (outbox.ts). */
  flushOutbox: () => Promise<void>
  /** Whether the page is computing (poll then even with nothing pending). */
  running: () => boolean
  /** Poll interval while results are pending, in ms (default 1500). */
  pollMs?: number
}

/** Most pages of receipts one sync asks for. */
const MAX_SYNC_PAGES = 10_000

export class Receipts implements ReceiptSink {
  private newest = 0
  private lifetime = new AbortController()
  private loop: Promise<void> | undefined

  constructor (private readonly opts: ReceiptsOptions) {}

  get after (): number { return this.newest }

  start (): void {
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController()
  }

  /** End the poll loop and abort a request in flight. */
  async stop (): Promise<void> {
    this.lifetime.abort()
    await this.loop
  }

  /** Start the poll loop unless it runs (it ends by itself when the hub disconnects). */
  kick (): void {
    if (this.loop != null || this.lifetime.signal.aborted) return
    this.loop = this.pollLoop(this.lifetime.signal).finally(() => { this.loop = undefined })
  }

  private async pollLoop (signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.opts.hub() != null) {
      if (this.opts.bus.get('resultsPending') > 0 || this.opts.running()) {
        await this.opts.flushOutbox()
        if (this.opts.bus.get('resultsPending') > 0) await this.poll()
      }
      await sleep(this.opts.pollMs ?? 1500, signal)
    }
  }

  /** Ask once for the receipts after the newest held. Failures go to lastError. */
  async poll (): Promise<void> {
    try {
      const response = await this.opts.link.result({ receiptsAfter: this.newest }, this.lifetime.signal)
      await this.accept(response)
      await this.refresh()
    } catch (err) {
      if (!this.lifetime.signal.aborted) this.opts.bus.error('receipts', err)
    }
  }

  /** Ask for every receipt after the newest held, page by page (all of them after a key import). */
  async sync (): Promise<void> {
    try {
      for (let page = 0; page < MAX_SYNC_PAGES; page++) {
        const before = this.newest
        const response = await this.opts.link.result({ receiptsAfter: before }, this.lifetime.signal)
        await this.accept(response)
        if (response.credits.length === 0 || this.newest <= before) break
      }
      await this.refresh()
    } catch (err) {
      if (!this.lifetime.signal.aborted) this.opts.bus.error('receipts', err)
    }
  }

  /**
   * Verify and keep the credit receipts of a response. Each must verify against the ledger key
   * (the response's delegation, else the connection's; a receipt from before ledger keys: the
   * hub's own key) and credit this volunteer; any other is refused (lastError) and not kept. A
   * delegation that does not verify refuses every receipt of the response.
   */
  async accept (response: Pick<ResultResponse, 'credits'> & Partial<Pick<ResultResponse, 'ledgerSalt' | 'ledgerKey'>>): Promise<void> {
    const hub = this.opts.hub()
    if (hub == null) return
    const hubId = hub.peer.toString()
    let ledgerKey = hub.ledgerKey ?? hub.publicKey
    let delegation = hub.delegation
    if (response.ledgerKey != null) {
      try {
        ledgerKey = await verifyLedgerDelegation(response.ledgerKey, hub.publicKey)
        delegation = sameKey(ledgerKey, hub.publicKey) ? undefined : response.ledgerKey
      } catch (err) {
        // refused by name: none of this response's receipts is checked against a key the hub did not vouch for
        if (response.credits.length > 0) this.opts.bus.error('receipts refused', `${(err as Error).name}: ${(err as Error).message}`)
        return
      }
    }
    if (delegation != null && response.credits.length > 0) {
      // kept per hub for statements: an auditor checks the delegation against the hub's peer id
      const keys = await this.opts.store.getMeta('ledgerKeys') ?? {}
      const json = ledgerKeyToJson(delegation)
      if (keys[hubId]?.ledgerKey !== json.ledgerKey || keys[hubId]?.ledgerDelegation !== json.ledgerDelegation) {
        keys[hubId] = json
        await this.opts.store.putMeta('ledgerKeys', keys)
      }
    }
    // the hub names this peer by a pseudonym in its public ledger: keep the salt that ties the two (statements show it)
    const salts = await this.opts.store.getMeta('ledgerSalts') ?? {}
    if (response.ledgerSalt != null && response.ledgerSalt.length === LEDGER_SALT_BYTES && salts[hubId] !== toHex(response.ledgerSalt)) {
      salts[hubId] = toHex(response.ledgerSalt)
      await this.opts.store.putMeta('ledgerSalts', salts)
    }
    const salt = saltFromHex(salts[hubId])
    for (const receipt of response.credits) {
      try {
        // the key that signed it: the ledger key, or the hub's own for a receipt from before ledger keys
        const ledgerPeerId = peerIdFromPublicKey(await verifyReceiptFrom(receipt, { ledgerKey, hubKey: hub.publicKey })).toString()
        const entry = decodeCreditEntry(receipt)
        if (!entryNames(entry.peerId, entry.version, this.opts.peerId, salt)) throw new Error(`receipt for another peer ${entry.peerId}`)
        await this.opts.store.putCredit({ hubPeerId: hub.peer.toString(), seq: entry.seq, replicaId: entry.replicaId, credit: creditOf(entry), creditUnits: creditUnitsOf(entry), receipt: HubReceipt.encode(receipt), ledgerPeerId })
        this.newest = Math.max(this.newest, entry.seq)
      } catch (err) {
        this.opts.bus.error('receipt refused', err)
      }
    }
  }

  /** Recompute pending / validated / credit, in all and per hub, from the store and publish them. */
  async refresh (): Promise<void> {
    this.opts.bus.patch(await this.figures())
  }

  /**
   * Pending / validated / credit, in all and per hub, recomputed from the store, as the state patch
   * {@link refresh} publishes: the outbox publishes it in one patch with its own counters, so a
   * reader never sees a unit counted done before its result counts as pending.
   */
  async figures (): Promise<ReceiptFigures> {
    const { store } = this.opts
    const credits = await store.credits()
    const figures = creditFigures({
      credits,
      acked: await store.ackedReplicas(),
      outbox: await store.outboxReplicas(),
      leases: await store.leaseReplicas(),
      ledgerKeys: await store.getMeta('ledgerKeys') ?? {}
    })
    const hub = this.opts.hub()?.peer.toString()
    for (const c of credits) if (hub == null || c.hubPeerId === hub) this.newest = Math.max(this.newest, c.seq)
    return { resultsPending: figures.pending, resultsValidated: figures.validated, creditGranted: figures.credit, perHub: figures.perHub }
  }
}

/** What the store holds, as creditFigures reads it. */
export interface CreditRecords {
  credits: StoredCredit[]
  acked: ReplicaKey[]
  outbox: ReplicaKey[]
  leases: ReplicaKey[]
  /** Per hub peer id, the ledger key it presented (meta `ledgerKeys`); hubs without one sign with their own key. */
  ledgerKeys: Record<string, { ledgerKey: string }>
}

/**
 * The counters of the page, in all and per hub peer id, from the stored records: a result is
 * pending while it is in the outbox or acknowledged without a credit receipt; validated results
 * are grants less reversals; credit sums the receipts' base units. One ledger entry fetched
 * through two hubs of one deployment counts once, by (ledger key, seq), and an ack is matched to
 * its receipt by (ledger key, replica id), since replica ids repeat across independent hubs.
 */
export function creditFigures (r: CreditRecords): { pending: number, validated: number, credit: number, perHub: Record<string, HubFigures> } {
  const ledgerOfHub = new Map<string, string>()
  const ledgerOf = (hub: string): string => {
    let ledger = ledgerOfHub.get(hub)
    if (ledger == null) {
      const k = r.ledgerKeys[hub]
      ledger = k == null ? hub : ledgerPeerIdOf(k.ledgerKey) ?? hub
      ledgerOfHub.set(hub, ledger)
    }
    return ledger
  }
  const byEntry = new Map(r.credits.map(c => [`${c.ledgerPeerId ?? c.hubPeerId}/${c.seq}`, c]))
  const credits = [...byEntry.values()]
  const credited = new Set(credits.map(c => `${c.ledgerPeerId ?? c.hubPeerId}/${c.replicaId}`))
  const perHub: Record<string, HubFigures> = {}
  const of = (hub: string): HubFigures => (perHub[hub] ??= { leases: 0, outbox: 0, pending: 0, validated: 0, credit: 0 })
  const creditUnits: Record<string, number> = {}
  for (const l of r.leases) of(l.hubPeerId).leases++
  for (const o of r.outbox) { of(o.hubPeerId).outbox++; of(o.hubPeerId).pending++ }
  for (const a of r.acked) if (!credited.has(`${ledgerOf(a.hubPeerId)}/${a.replicaId}`)) of(a.hubPeerId).pending++
  for (const c of credits) {
    const units = c.creditUnits ?? toCreditUnits(c.credit)
    // grants less reversals (each takes one back); entries with no amount (a payout binding) are no result
    of(c.hubPeerId).validated += Math.sign(units)
    creditUnits[c.hubPeerId] = (creditUnits[c.hubPeerId] ?? 0) + units
  }
  let pending = 0
  let validated = 0
  let units = 0
  for (const [hub, f] of Object.entries(perHub)) {
    // summed in base units (integers), shown as credit
    f.credit = fromCreditUnits(creditUnits[hub] ?? 0)
    pending += f.pending
    validated += f.validated
    units += creditUnits[hub] ?? 0
  }
  return { pending, validated, credit: fromCreditUnits(units), perHub }
}
