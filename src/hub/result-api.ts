/**
 * The volunteer's results and credit receipts (/sparecycles/result/1.0.0 and 2.0.0,
 * /sparecycles/receipts): the peer's `result-rate` and `receipts-rate`, then the group commit of
 * submissions (group-commit.ts; each submission's checks and store in submission.ts) and the
 * ledger's receipt pages. A response is returned only after its transaction committed.
 */
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { RateLimitedError } from '../protocol/errors.ts'
import { GroupCommit } from './group-commit.ts'
import { submitBatch } from './submission.ts'
import type { Ledger } from './ledger.ts'
import type { HubMetrics } from './metrics.ts'
import type { PeerLimitName, PeerLimits, PeerRates } from './peer-limits.ts'
import type { Submission, SubmissionDeps } from './submission.ts'
import type { HubReceipt, ResultResponse, SignedResult, SubmitOutcome } from '../protocol/index.ts'

export interface ResultApiDeps extends Omit<SubmissionDeps, 'onAckSigned'> {
  ledger: Ledger
  /** The per-peer buckets; `result` is charged one token a result, `receipts` one a page. */
  rates: PeerRates
  limits: PeerLimits
  limitHit: (name: PeerLimitName, detail: string) => void
  metrics: HubMetrics
  /** A submission waits at most `maxDelayMs` (default 5 ms) for others; at most `maxResults` (default 64) a transaction. */
  groupCommit?: { maxDelayMs?: number, maxResults?: number }
  /** @throws Error when the hub is closed */
  assertOpen: () => void
}

export class ResultApi {
  /** Submissions, committed in groups; also the store's single writer at close. */
  private readonly submissions: GroupCommit<Submission, ResultResponse>

  constructor (private readonly d: ResultApiDeps) {
    const { metrics } = d
    const deps: SubmissionDeps = { ...d, onAckSigned: when => { metrics.receiptSigned('ack', when) } }
    this.submissions = new GroupCommit({
      maxDelayMs: d.groupCommit?.maxDelayMs ?? 5,
      maxItems: d.groupCommit?.maxResults ?? 64,
      commit: async batch => {
        d.assertOpen()
        return await submitBatch(deps, batch)
      },
      onGroup: (size, seconds) => { metrics.groupCommitted(size, seconds) }
    })
  }

  /** Submissions waiting for their group commit. */
  get queueLength (): number {
    return this.submissions.queueLength
  }

  /**
   * Submit one signed result from the authenticated `remotePeerId` (submission.ts has the checks).
   * `opts.maxOutputBytes`: the output cap of the protocol version it came over (default 1.0.0's).
   * It joins the next group commit: resolved only after that transaction commits.
   * @throws RateLimitedError over the peer's `result-rate` (the stream is reset; the page keeps the
   *   result and sends it again); otherwise only on internal failures (e.g. the database, a closed
   *   hub), never for a bad submission
   */
  async submit (remotePeerId: string, signed: SignedResult, opts: { maxOutputBytes?: number } = {}): Promise<ResultResponse> {
    const { metrics } = this.d
    return await metrics.timed('submit', async () => {
      try {
        this.chargeResults(remotePeerId, 1)
        this.d.assertOpen()
        const res = await this.submissions.add({ remotePeerId, signed, maxOutputBytes: opts.maxOutputBytes })
        metrics.resultReceived(res.status)
        if (res.status === 'accepted') metrics.resultAccepted()
        return res
      } catch (err) {
        metrics.resultReceived('error')
        throw err
      }
    })
  }

  /**
   * Submit many signed results from `remotePeerId` (result/2.0.0): each is checked and stored as
   * `submit` does, all join the same group commit (a rejected one is rolled back alone), and the
   * outcomes come back in order once committed. The peer's `result-rate` is charged one token per
   * result (a batch larger than the burst is admitted once, then the peer waits off the debt).
   * @throws RateLimitedError over the peer's `result-rate` (nothing of the batch is stored; the
   *   page sends it again); otherwise only on internal failures, never for a bad submission
   */
  async submitBatch (remotePeerId: string, signed: readonly SignedResult[]): Promise<SubmitOutcome[]> {
    if (signed.length === 0) return []
    const { metrics } = this.d
    let responses: ResultResponse[]
    try {
      this.chargeResults(remotePeerId, signed.length)
      this.d.assertOpen()
      responses = await metrics.timed('submit', async () => await Promise.all(signed.map(async s => await this.submissions.add({ remotePeerId, signed: s }))))
    } catch (err) {
      // nothing of the batch is answered: each of its results counts as an `error`
      for (let i = 0; i < signed.length; i++) metrics.resultReceived('error')
      throw err
    }
    return responses.map(res => {
      metrics.resultReceived(res.status)
      if (res.status === 'accepted') metrics.resultAccepted()
      return { status: res.status, error: res.error, message: res.message, ack: res.ack }
    })
  }

  /** @throws RateLimitedError when `n` results put the peer over its `result-rate` */
  private chargeResults (remotePeerId: string, n: number): void {
    const waitMs = this.d.rates.result.take(remotePeerId, n)
    if (waitMs === 0) return
    this.d.limitHit('result-rate', `${remotePeerId}: retry after ${waitMs} ms`)
    throw new RateLimitedError(`more than ${this.d.limits.resultRate.perSecond} results/s; retry after ${waitMs} ms`)
  }

  /**
   * Hub-signed credit receipts for `peerId` with seq > afterSeq, oldest first, at most `max`
   * (default and cap MAX_CREDITS_PER_RESPONSE). `upTo`: the seq of the last receipt returned, or
   * the peer's highest seq when none was — the next `afterSeq`. Receipts carry the signatures
   * stored at grant time; only entries older than schema 3 are signed, once each. Over the peer's
   * `receipts-rate` the page is empty and `upTo` is `afterSeq`.
   */
  async creditsFor (peerId: string, afterSeq: number, max = MAX_CREDITS_PER_RESPONSE): Promise<{ credits: HubReceipt[], upTo: number }> {
    this.d.assertOpen()
    const { ledger, repo } = this.d
    const waitMs = this.d.rates.receipts.take(peerId)
    if (waitMs > 0) {
      this.d.limitHit('receipts-rate', `${peerId}: retry after ${waitMs} ms`)
      return { credits: [], upTo: afterSeq }
    }
    let page = await repo.read(async tx => await ledger.receiptsFor(tx, peerId, afterSeq, max))
    if (page.rows.some(r => r.receipt_signature == null)) {
      page = await repo.transaction(async tx => {
        const p = await ledger.receiptsFor(tx, peerId, afterSeq, max)
        await ledger.signMissing(tx, p.rows)
        return p
      })
    }
    return { credits: ledger.receipts(page.rows), upTo: page.upTo }
  }

  /** Commit what is queued, wait for what is in flight, then run `fn` (closing the store) alone. */
  async drain<T> (fn: () => Promise<T>): Promise<T> {
    return await this.submissions.drain(fn)
  }
}
