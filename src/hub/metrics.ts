/**
 * The hub's Prometheus metrics (prom-client, one Registry per hub, never the global one, so
 * several hubs in one process keep their counts apart), served as text by `GET /metrics`
 * (http-server.ts). Every counter counts events as they happen, never configured values:
 *
 * - `sparecycles_connections_open` gauge: libp2p connections open now;
 * - `sparecycles_stream_resets_total{protocol, error}`: streams reset, by protocol id and error name;
 * - `sparecycles_bytes_in_total{protocol}`: bytes received on protocol streams (libp2pMetrics);
 * - `sparecycles_leases_held{peer}` gauge: in-progress replicas of the 10 peers holding most;
 * - `sparecycles_results_accepted_total`: results accepted (`rate()` gives results/s);
 * - `sparecycles_limit_hits_total{limit}`: requests cut short or refused by a named limit;
 * - `sparecycles_receipt_signatures_total{receipt, when}`: ledger-key signatures of receipts
 *   (`credit` or `ack`; `grant`: when the credit or result was stored, `lazy`: an old row signed
 *   once on first fetch) — receipt fetches themselves sign nothing;
 * - `sparecycles_result_signatures_checked_total{envelope}`: volunteers' signatures the hub
 *   checked (`result`: one a result, result/1.x and 2.0.0; `batch`: one a batch signed once,
 *   result/3.0.0);
 * - `sparecycles_group_commit_redos_total`: group commits run again with a savepoint a submission
 *   (one of the group failed after it wrote, or the transaction failed: submission.ts);
 * - `sparecycles_results_received_total{status}`: submissions answered, by response status
 *   (`accepted`, `duplicate`, `rejected`; `error` when the stream was reset, e.g. over the result
 *   rate) — `rate()` of it is results received per second;
 * - `sparecycles_results_received_per_second` gauge: submissions received per second, the mean
 *   over the last RATE_WINDOW_SECONDS;
 * - `sparecycles_group_commit_size` histogram: submissions per group commit (one transaction);
 * - `sparecycles_group_commit_duration_seconds` histogram: time to commit one group, seconds;
 * - `sparecycles_group_commit_queue_length` gauge: submissions waiting for their group now;
 * - `sparecycles_requests_in_flight{protocol}` gauge: protocol streams being handled now;
 * - `sparecycles_request_duration_seconds{protocol, outcome}` histogram: one protocol exchange,
 *   from its stream's opening to its answer or reset, seconds (`outcome` ok or error);
 * - `sparecycles_operation_duration_seconds{operation}` summary: HubCore's `lease` (work/*) and
 *   `submit` (result/*, the group commit's wait included), seconds, with the 0.5, 0.9 and 0.99
 *   quantiles over the last QUANTILE_WINDOW_SECONDS;
 * - `sparecycles_probes_queued` gauge: units queued for the failure probe (counted up to MAX_PROBES_COUNTED).
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client'

/** Most peers shown by `sparecycles_leases_held`. */
export const TOP_HOLDERS = 10

/** Window of `sparecycles_results_received_per_second`, in seconds. */
export const RATE_WINDOW_SECONDS = 60

/** Sliding window of the quantiles of `sparecycles_operation_duration_seconds`, in seconds. */
export const QUANTILE_WINDOW_SECONDS = 300

/** Most queued probes `sparecycles_probes_queued` counts (one bounded read per scrape). */
export const MAX_PROBES_COUNTED = 100

/** Buckets of the latency histograms, in seconds (1 ms to 30 s: the longest protocol deadline is 60 s). */
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Buckets of the group size histogram, in submissions (the default group holds at most 64). */
const GROUP_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256]

/** What the hub times with `sparecycles_operation_duration_seconds`. */
export type TimedOperation = 'lease' | 'submit'

/** A count per whole second of the last `windowSeconds`, for a recent mean rate. */
class RateWindow {
  private readonly counts: number[]
  private readonly seconds: number[]

  constructor (private readonly windowSeconds: number, private readonly nowMs: () => number) {
    this.counts = new Array<number>(windowSeconds).fill(0)
    this.seconds = new Array<number>(windowSeconds).fill(-1)
  }

  add (n = 1): void {
    const second = Math.floor(this.nowMs() / 1000)
    const i = second % this.windowSeconds
    if (this.seconds[i] !== second) { this.seconds[i] = second; this.counts[i] = 0 }
    this.counts[i] += n
  }

  /** Events per second, the mean over the last `windowSeconds` (the current second included). */
  perSecond (): number {
    const now = Math.floor(this.nowMs() / 1000)
    let sum = 0
    for (let i = 0; i < this.windowSeconds; i++) if (now - this.seconds[i] < this.windowSeconds) sum += this.counts[i]
    return sum / this.windowSeconds
  }
}

export class HubMetrics {
  readonly registry = new Registry()
  private readonly resets: Counter<'protocol' | 'error'>
  private readonly limits: Counter<'limit'>
  private readonly bytes: Counter<'protocol'>
  private readonly results: Counter
  private readonly signatures: Counter<'receipt' | 'when'>
  private readonly signatureChecks: Counter<'envelope'>
  private readonly redos: Counter
  private readonly received: Counter<'status'>
  private readonly receivedRate: RateWindow
  private readonly groupSizes: Histogram
  private readonly groupSeconds: Histogram
  private readonly inFlight: Gauge<'protocol'>
  private readonly requestSeconds: Histogram<'protocol' | 'outcome'>
  private readonly operationSeconds: Summary<'operation'>
  private connections: () => number = () => 0
  private holders: () => Promise<Array<{ peerId: string, held: number }>> = async () => []
  private queueLength: () => number = () => 0
  private probesQueued: () => Promise<number> = async () => 0

  /** @param nowMs clock of the recent-rate gauge, Unix ms (default Date.now) */
  constructor (nowMs: () => number = Date.now) {
    const registers = [this.registry]
    this.receivedRate = new RateWindow(RATE_WINDOW_SECONDS, nowMs)
    this.resets = new Counter({ name: 'sparecycles_stream_resets_total', help: 'Streams reset, by protocol id and error name', labelNames: ['protocol', 'error'], registers })
    this.limits = new Counter({ name: 'sparecycles_limit_hits_total', help: 'Requests cut short or refused by a limit, by limit name', labelNames: ['limit'], registers })
    this.bytes = new Counter({ name: 'sparecycles_bytes_in_total', help: 'Bytes received on protocol streams, by protocol id', labelNames: ['protocol'], registers })
    this.results = new Counter({ name: 'sparecycles_results_accepted_total', help: 'Results accepted (stored and acknowledged)', registers })
    this.signatures = new Counter({ name: 'sparecycles_receipt_signatures_total', help: 'Receipt signatures made with the ledger key (the hub key of a single hub)', labelNames: ['receipt', 'when'], registers })
    this.signatureChecks = new Counter({ name: 'sparecycles_result_signatures_checked_total', help: 'Volunteer signatures checked: one a result (envelope=result, result/1.x and 2.0.0) or one a batch signed once (envelope=batch, result/3.0.0)', labelNames: ['envelope'], registers })
    this.redos = new Counter({ name: 'sparecycles_group_commit_redos_total', help: 'Group commits run again with a savepoint a submission (one failed after it wrote, or the transaction failed)', registers })
    this.received = new Counter({ name: 'sparecycles_results_received_total', help: 'Submissions answered, by response status (accepted, duplicate, rejected; error: the stream was reset); rate() gives results/s', labelNames: ['status'], registers })
    this.groupSizes = new Histogram({ name: 'sparecycles_group_commit_size', help: 'Submissions per group commit (one store transaction), in submissions', buckets: GROUP_SIZE_BUCKETS, registers })
    this.groupSeconds = new Histogram({ name: 'sparecycles_group_commit_duration_seconds', help: 'Time to commit one group of submissions, in seconds', buckets: LATENCY_BUCKETS_SECONDS, registers })
    this.inFlight = new Gauge({ name: 'sparecycles_requests_in_flight', help: 'Protocol streams being handled now, by protocol id', labelNames: ['protocol'], registers })
    this.requestSeconds = new Histogram({ name: 'sparecycles_request_duration_seconds', help: 'One protocol exchange from stream opening to answer or reset, in seconds, by protocol id and outcome (ok, error)', labelNames: ['protocol', 'outcome'], buckets: LATENCY_BUCKETS_SECONDS, registers })
    this.operationSeconds = new Summary({
      name: 'sparecycles_operation_duration_seconds',
      help: `Hub-side time of a lease (work requests) or a submit (results, group commit wait included), in seconds; quantiles over the last ${QUANTILE_WINDOW_SECONDS} s`,
      labelNames: ['operation'], percentiles: [0.5, 0.9, 0.99], maxAgeSeconds: QUANTILE_WINDOW_SECONDS, ageBuckets: 5, registers
    })
    const self = this
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'sparecycles_results_received_per_second', help: `Submissions received per second, the mean over the last ${RATE_WINDOW_SECONDS} s`, registers,
      collect () { this.set(self.receivedRate.perSecond()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'sparecycles_group_commit_queue_length', help: 'Submissions waiting for their group commit now', registers,
      collect () { this.set(self.queueLength()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'sparecycles_probes_queued', help: `Work units queued for the hub's failure probe (counted up to ${MAX_PROBES_COUNTED})`, registers,
      async collect () { this.set(await self.probesQueued()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'sparecycles_connections_open', help: 'libp2p connections open', registers,
      collect () { this.set(self.connections()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'sparecycles_leases_held', help: `In-progress replicas held, for the ${TOP_HOLDERS} peers holding most`, labelNames: ['peer'], registers,
      async collect () {
        this.reset()
        for (const h of await self.holders()) this.set({ peer: h.peerId }, h.held)
      }
    })
  }

  /** A limit cut a request short or refused it. */
  limitHit (name: string, _detail?: unknown): void {
    this.limits.inc({ limit: name })
  }

  /** A stream on `protocol` was reset with an error named `errName`. */
  streamReset (protocol: string, errName: string): void {
    this.resets.inc({ protocol, error: errName })
  }

  /** `bytes` arrived on a stream of `protocol`. */
  bytesIn (protocol: string, bytes: number): void {
    if (bytes > 0) this.bytes.inc({ protocol }, bytes)
  }

  /** A result was accepted. */
  resultAccepted (): void {
    this.results.inc()
  }

  /** A submission was answered with `status` (or its stream reset: `error`). */
  resultReceived (status: string): void {
    this.received.inc({ status })
    this.receivedRate.add()
  }

  /** A group of `size` submissions was committed in `seconds`. */
  groupCommitted (size: number, seconds: number): void {
    this.groupSizes.observe(size)
    this.groupSeconds.observe(seconds)
  }

  /** A stream of `protocol` is being handled; call the returned function once it ended, with its outcome. */
  requestStarted (protocol: string): (outcome: 'ok' | 'error', seconds: number) => void {
    this.inFlight.inc({ protocol })
    return (outcome, seconds) => {
      this.inFlight.dec({ protocol })
      this.requestSeconds.observe({ protocol, outcome }, seconds)
    }
  }

  /** HubCore's `operation` took `seconds`. */
  operationTook (operation: TimedOperation, seconds: number): void {
    this.operationSeconds.observe({ operation }, seconds)
  }

  /** Run `fn`, its duration observed as `operation` in `sparecycles_operation_duration_seconds` (thrown or not). */
  async timed<T> (operation: TimedOperation, fn: () => Promise<T>): Promise<T> {
    const startedMs = performance.now()
    try {
      return await fn()
    } finally {
      this.operationTook(operation, (performance.now() - startedMs) / 1000)
    }
  }

  /** The ledger key (the hub's own key on a single hub) signed a receipt. */
  receiptSigned (receipt: 'credit' | 'ack', when: 'grant' | 'lazy'): void {
    this.signatures.inc({ receipt, when })
  }

  /** A group commit runs again, with a savepoint a submission. */
  groupRedone (): void {
    this.redos.inc()
  }

  /** The hub is checking `n` volunteer signatures: one a result (`result`) or one a signed batch (`batch`). */
  resultSignaturesChecked (envelope: 'result' | 'batch', n: number): void {
    this.signatureChecks.inc({ envelope }, n)
  }

  /** Where the open-connection count comes from (read at each scrape). */
  countConnections (fn: () => number): void {
    this.connections = fn
  }

  /** Where the top holders come from (read at each scrape, at most TOP_HOLDERS). */
  listHolders (fn: () => Promise<Array<{ peerId: string, held: number }>>): void {
    this.holders = fn
  }

  /** Where the group commit's queue length comes from (read at each scrape). */
  countQueued (fn: () => number): void {
    this.queueLength = fn
  }

  /** Where the failure probe's queue length comes from (read at each scrape). */
  countProbesQueued (fn: () => Promise<number>): void {
    this.probesQueued = fn
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
