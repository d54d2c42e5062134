/**
 * The reporter and its outbox: signs each result with the volunteer's key, moves it from the
 * stored lease into the outbox (IndexedDB, one transaction that also counts the unit), submits
 * the outbox to the hub and keeps the hub's acknowledgements. A result stays in the outbox until
 * the hub accepts or refuses it, so a reload or a lost connection re-sends it. A batch of them is
 * signed once more, as a batch, where the hub speaks result/3.0.0 (hub-client.ts): the stored
 * per-result signatures serve older hubs and results sent alone. Owns `unitsDone`,
 * `unitsByKernel` and `resultsRejected` of the state.
 */
import { HubReceipt, MAX_RESULTS_PER_BATCH, outcomeOf, MAX_SMALL_PAYLOAD_BYTES, MAX_RESULT_BATCH_BYTES, SignedResult, deviceClassOf, isDeviceClass, sha256Bytes, signResult } from '../protocol/index.ts'
import { Mutex } from './async.ts'
import type { GpuAdapter, Lease, ResultBatchResponse, ResultResponse } from '../protocol/index.ts'
import type { HubLink } from './hub-client.ts'
import type { StateSink, VolunteerState } from './state.ts'
import type { VolunteerStore } from './store.ts'
import type { RunReport } from './task-runner.ts'
import type { PrivateKey } from '@libp2p/interface'

export type OutboxStore = Pick<VolunteerStore, 'commitResult' | 'outbox' | 'acceptResult' | 'rejectResult' | 'getMeta'>

/** Where the credit receipts of a response go (receipts.ts). */
export interface ReceiptSink {
  /** Seq of the newest receipt held (the hub sends the ones after it). */
  readonly after: number
  /** Verify and keep the receipts of a response. */
  accept: (response: Pick<ResultResponse, 'credits' | 'ledgerSalt' | 'ledgerKey'>) => Promise<void>
  /** Results pending / validated and credit recounted from the store, as a state patch (not published). */
  figures: () => Promise<ReceiptFigures>
}

/** The state fields the receipts own (receipts.ts). */
export type ReceiptFigures = Pick<VolunteerState, 'resultsPending' | 'resultsValidated' | 'creditGranted' | 'perHub'>

export interface OutboxOptions {
  store: OutboxStore
  link: HubLink
  bus: StateSink
  key: PrivateKey
  /** The connected hub's peer id, or null while not connected. */
  hubPeerId: () => string | null
  receipts: ReceiptSink
  /** The page's WebGPU adapter (for the device class of webgpu results), or null. */
  adapter: () => Pick<GpuAdapter, 'vendor' | 'architecture'> | null
}

/** Largest encoded SignedResult that goes in a result/2.0.0 batch (its payload is then within MAX_SMALL_PAYLOAD_BYTES); larger ones go alone over result/1.1.0. */
const BATCHABLE_SIGNED_BYTES = MAX_SMALL_PAYLOAD_BYTES

/**
 * The outbox in request-sized groups, in order: at most MAX_RESULTS_PER_BATCH results and about
 * MAX_RESULT_BATCH_BYTES less 64 KiB of framing a group; a result too large for a batch is a group of its own.
 */
export function batchesOf<E extends { signed: Uint8Array }> (entries: readonly E[]): E[][] {
  const budget = MAX_RESULT_BATCH_BYTES - 64 * 1024
  const out: E[][] = []
  let group: E[] = []
  let bytes = 0
  const flush = (): void => {
    if (group.length > 0) out.push(group)
    group = []
    bytes = 0
  }
  for (const e of entries) {
    if (e.signed.length > BATCHABLE_SIGNED_BYTES) { flush(); out.push([e]); continue }
    if (group.length === MAX_RESULTS_PER_BATCH || bytes + e.signed.length + 16 > budget) flush()
    group.push(e)
    bytes += e.signed.length + 16
  }
  flush()
  return out
}

/** A result/1.x answer as the one-outcome batch answer it stands for. */
function asBatchResponse (res: ResultResponse): ResultBatchResponse {
  return { outcomes: [outcomeOf(res)], credits: res.credits, creditsUpTo: res.creditsUpTo, ledgerSalt: res.ledgerSalt, ledgerKey: res.ledgerKey }
}

export class Outbox {
  private readonly mutex = new Mutex()
  private lifetime = new AbortController()

  constructor (private readonly opts: OutboxOptions) {}

  start (): void {
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController()
  }

  /** Abort a submission in flight; whatever is in the outbox stays there. */
  async stop (): Promise<void> {
    this.lifetime.abort()
    await this.mutex.run(async () => {})
  }

  /**
   * Sign `report` for `lease` (a client error with empty output, whatever the report held), put it in the outbox (the stored lease goes in the same
   * transaction), update the counters, and start sending it.
   * @param hubPeerId the hub that leased it
   */
  async record (lease: Lease, report: RunReport, hubPeerId: string): Promise<void> {
    const backend = report.deviceClass == null || report.deviceClass === 'wasm' ? 'wasm' : 'webgpu'
    const deviceClass = report.deviceClass != null && report.deviceClass.startsWith('webgpu:') && isDeviceClass(report.deviceClass)
      ? report.deviceClass
      : deviceClassOf(backend, backend === 'webgpu' ? this.opts.adapter() : null)
    // a client error carries no output (the hub refuses one that does: schema.ts)
    const output = report.outcome === 'client-error' ? new Uint8Array(0) : report.output
    const signed = await signResult({
      replicaId: lease.replicaId,
      wuId: lease.wuId,
      outcome: report.outcome,
      output: output as Uint8Array<ArrayBuffer>,
      outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>,
      elapsedMs: report.elapsedMs,
      deviceClass,
      errorMessage: report.errorMessage
    }, this.opts.key)
    await this.opts.store.commitResult({ replicaId: lease.replicaId, hubPeerId, signed: SignedResult.encode(signed), createdAtMs: Date.now(), attempts: 0 }, lease.kernel)
    await this.refresh()
    void this.flush()
  }

  /**
   * Send every result in the outbox that belongs to the connected hub, several to a request
   * (result/3.0.0 or 2.0.0 batches: `batchesOf`); stop at the first network failure (reported in
   * lastError; the rest wait for the next flush).
   */
  async flush (): Promise<void> {
    await this.mutex.run(async () => {
      const hub = this.opts.hubPeerId()
      if (hub == null) return
      const entries = (await this.opts.store.outbox()).filter(e => e.hubPeerId === hub)
      for (const batch of batchesOf(entries)) {
        if (this.lifetime.signal.aborted) return
        const results = batch.map(e => SignedResult.decode(e.signed))
        let response: ResultBatchResponse
        try {
          response = batch.length === 1 && batch[0].signed.length > BATCHABLE_SIGNED_BYTES
            ? asBatchResponse(await this.opts.link.result({ result: results[0], receiptsAfter: this.opts.receipts.after }, this.lifetime.signal))
            : await this.opts.link.results({ results, receiptsAfter: this.opts.receipts.after }, this.lifetime.signal)
        } catch (err) {
          if (!this.lifetime.signal.aborted) this.opts.bus.error('submit', err)
          return
        }
        for (const [i, entry] of batch.entries()) {
          const outcome = response.outcomes[i]
          if (outcome.status === 'accepted' || outcome.status === 'duplicate') {
            await this.opts.store.acceptResult(entry.hubPeerId, entry.replicaId, outcome.ack != null ? { replicaId: entry.replicaId, hubPeerId: entry.hubPeerId, receipt: HubReceipt.encode(outcome.ack) } : null)
          } else {
            await this.opts.store.rejectResult(entry.hubPeerId, entry.replicaId)
            this.opts.bus.error('result refused', `${outcome.error}: ${outcome.message}`)
          }
        }
        await this.opts.receipts.accept(response)
      }
    })
    await this.refresh()
  }

  /**
   * Read this component's counters back from the store and publish them with the receipts' ones,
   * in one patch: a unit counted done is counted pending (or validated) in the same state.
   */
  async refresh (): Promise<void> {
    const { store } = this.opts
    const own = {
      unitsDone: await store.getMeta('unitsDone') ?? 0,
      resultsRejected: await store.getMeta('resultsRejected') ?? 0,
      unitsByKernel: await store.getMeta('unitsByKernel') ?? {}
    }
    this.opts.bus.patch({ ...own, ...await this.opts.receipts.figures() })
  }
}
