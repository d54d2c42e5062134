/**
 * The volunteer's results and credit receipts (/sparecycles/result/1.x, 2.0.0 and 3.0.0,
 * /sparecycles/receipts): the peer's `result-rate` and `receipts-rate`, then the group commit of
 * submissions (group-commit.ts; each submission's checks and store in submission.ts) and the
 * ledger's receipt pages. A response is returned only after its transaction committed.
 */
import { MAX_CREDITS_PER_RESPONSE } from '../protocol/ids.ts'
import { ProtocolError, RateLimitedError, SignerMismatchError } from '../protocol/errors.ts'
import { verifySignedResultBatch } from '../protocol/result-batch.ts'
import { outcomeOf } from '../protocol/schema.ts'
import { GroupCommit } from './group-commit.ts'
import { submitBatch } from './submission.ts'
import type { Ledger } from './ledger.ts'
import type { HubMetrics } from './metrics.ts'
import type { PeerLimitName, PeerLimits, PeerRates } from './peer-limits.ts'
import type { Submission, SubmissionDeps } from './submission.ts'
import type { HubReceipt, ResultResponse, SignedResult, SignedResultBatchRequest, SubmitOutcome } from '../protocol/index.ts'

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
    const deps: SubmissionDeps = { ...d, onAckSigned: when => { metrics.receiptSigned('ack', when) }, onRedo: () => { metrics.groupRedone() } }
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
        metrics.resultSignaturesChecked('result', 1)
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
    return await this.submitAll(remotePeerId, signed.length, async () => {
      this.d.metrics.resultSignaturesChecked('result', signed.length)
      return signed.map(s => ({ remotePeerId, signed: s }))
    })
  }

  /**
   * Submit results signed once a batch from `remotePeerId` (result/3.0.0): the batch's signature is
   * checked once (protocol/result-batch.ts), then each result is checked and stored as in
   * `submitBatch`, and kept with its Merkle proof. A batch whose signature does not verify, or
   * whose signer is not `remotePeerId`, has every result refused (BadSignatureError,
   * SignerMismatchError, MalformedMessageError for a key that does not decode) and stores nothing;
   * a payload that does not decode is refused alone. The acks of the accepted ones are signed
   * once for the batch, just before the commit (submission.ts); their rows keep no signature (a
   * duplicate gets one of its own, signed then).
   * Charged as `submitBatch`.
   * @throws RateLimitedError over the peer's `result-rate`; otherwise only on internal failures
   */
  async submitSignedBatch (remotePeerId: string, req: Pick<SignedResultBatchRequest, 'payloads' | 'publicKey' | 'signature'>): Promise<SubmitOutcome[]> {
    if (req.payloads.length === 0) return []
    let refused: ProtocolError | undefined
    const outcomes = await this.submitAll(remotePeerId, req.payloads.length, async () => {
      this.d.metrics.resultSignaturesChecked('batch', 1)
      try {
        const { signerPeerId, members } = await verifySignedResultBatch(req, this.d.checkSignature)
        if (signerPeerId !== remotePeerId) throw new SignerMismatchError(`batch signed by ${signerPeerId}, not by the remote peer ${remotePeerId}`)
        return members.map(member => ({ remotePeerId, member, signerPeerId }))
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        refused = err
        return []
      }
    })
    if (refused == null) return outcomes
    const { name, message } = refused as ProtocolError
    return req.payloads.map(() => {
      this.d.metrics.resultReceived('rejected')
      return { status: 'rejected', error: name, message }
    })
  }

  /**
   * Charge `n` results, make the submissions (`prepare`; none: nothing is stored), join them to
   * the group commit and count the outcomes.
   * @throws RateLimitedError over the result rate; what `prepare` throws; internal failures
   */
  private async submitAll (remotePeerId: string, n: number, prepare: () => Promise<Submission[]>): Promise<SubmitOutcome[]> {
    const { metrics } = this.d
    let responses: ResultResponse[]
    try {
      this.chargeResults(remotePeerId, n)
      this.d.assertOpen()
      responses = await metrics.timed('submit', async () => await Promise.all((await prepare()).map(async s => await this.submissions.add(s))))
    } catch (err) {
      // nothing of the batch is answered: each of its results counts as an `error`
      for (let i = 0; i < n; i++) metrics.resultReceived('error')
      throw err
    }
    return responses.map(res => {
      metrics.resultReceived(res.status)
      if (res.status === 'accepted') metrics.resultAccepted()
      return outcomeOf(res)
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
