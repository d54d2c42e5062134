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
 * - `sparecycles_receipt_signatures_total{receipt, when}`: hub-key signatures of receipts
 *   (`credit` or `ack`; `grant`: when the credit or result was stored, `lazy`: an old row signed
 *   once on first fetch) — receipt fetches themselves sign nothing.
 */
import { Counter, Gauge, Registry } from 'prom-client'

/** Most peers shown by `sparecycles_leases_held`. */
export const TOP_HOLDERS = 10

export class HubMetrics {
  readonly registry = new Registry()
  private readonly resets: Counter<'protocol' | 'error'>
  private readonly limits: Counter<'limit'>
  private readonly bytes: Counter<'protocol'>
  private readonly results: Counter
  private readonly signatures: Counter<'receipt' | 'when'>
  private connections: () => number = () => 0
  private holders: () => Promise<Array<{ peerId: string, held: number }>> = async () => []

  constructor () {
    const registers = [this.registry]
    this.resets = new Counter({ name: 'sparecycles_stream_resets_total', help: 'Streams reset, by protocol id and error name', labelNames: ['protocol', 'error'], registers })
    this.limits = new Counter({ name: 'sparecycles_limit_hits_total', help: 'Requests cut short or refused by a limit, by limit name', labelNames: ['limit'], registers })
    this.bytes = new Counter({ name: 'sparecycles_bytes_in_total', help: 'Bytes received on protocol streams, by protocol id', labelNames: ['protocol'], registers })
    this.results = new Counter({ name: 'sparecycles_results_accepted_total', help: 'Results accepted (stored and acknowledged)', registers })
    this.signatures = new Counter({ name: 'sparecycles_receipt_signatures_total', help: 'Receipt signatures made with the hub key', labelNames: ['receipt', 'when'], registers })
    const self = this
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

  /** The hub key signed a receipt. */
  receiptSigned (receipt: 'credit' | 'ack', when: 'grant' | 'lazy'): void {
    this.signatures.inc({ receipt, when })
  }

  /** Where the open-connection count comes from (read at each scrape). */
  countConnections (fn: () => number): void {
    this.connections = fn
  }

  /** Where the top holders come from (read at each scrape, at most TOP_HOLDERS). */
  listHolders (fn: () => Promise<Array<{ peerId: string, held: number }>>): void {
    this.holders = fn
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
