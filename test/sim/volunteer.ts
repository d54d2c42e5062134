/**
 * simVolunteer: one simulated volunteer = a js-libp2p node with its own Ed25519 key (seeded),
 * dialled to a real hub over WebSockets on loopback, speaking /sparecycles/work/2.0.0 (with the
 * page's capabilities) and /sparecycles/result/1.0.0 (results signed with its key), driven by a
 * Strategy. `run` loops until its signal aborts or it made `maxRequests` work requests; every
 * call has a timeout, so a run always ends.
 *
 * Honest compute: before `strategy.act` on a unit (unless the strategy says `usesTruth: false`),
 * the loop runs the real kernel ONCE on the whole unit with its checkpoints (HonestCounter.unit);
 * `tools.truth` answers every range of block boundaries of that unit from it. The peer is billed
 * (`sieved` += the unit's numbers, `computeMs` += the run's wall ms) only when act actually calls
 * truth for the unit, once; a range that is not of the unit's block boundaries is a synchronous
 * kernel call, billed by itself. A cheater that never calls truth is billed nothing.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  MAX_RELEASES_PER_REQUEST, PRIMES_KERNEL_ID, RESULT_SPEC, WORK_SPEC_V2, callProtocol, decodePrimesInput, sha256Bytes, signResult
} from '../../src/protocol/index.ts'
import { createTestPeer } from '../helpers.ts'
import { seededBytes, seededRandom } from './rng.ts'
import { SIM_OUTPUT } from './output.ts'
import type { HonestCounter, UnitRun } from './kernel.ts'
import type { OutputFormat } from './output.ts'
import type { Strategy, Tools, UnitView } from './strategy.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Capabilities, ResultResponse, WorkRequestV2, WorkResponse } from '../../src/protocol/index.ts'

/** The visitor page's work/2.0.0 capabilities (as test/hub-fixtures.ts `caps`, with the page's memory). */
export const PAGE_CAPS: Capabilities = { backends: ['wasm'], kernels: [PRIMES_KERNEL_ID], kernelAbis: [], memoryBytes: 256 * 1024 * 1024 }

/** One result this volunteer sent, and what the hub answered. */
export interface SentResult {
  wuId: string
  replicaId: string
  lo: number
  hi: number
  /** The lease's pre-assigned credit. */
  credit: number
  outcome: 'success' | 'client-error'
  /** The count the output claims (success only). */
  claimed?: bigint
  /** Hub's answer: accepted | duplicate | rejected, or `error` when every try failed at the stream. */
  status: string
  error?: string
}

export interface VolunteerStats {
  workRequests: number
  leases: number
  released: number
  held: number
  /** Work requests answered with no leases. */
  emptyResponses: number
  /** Calls that threw (stream resets, timeouts), and by error name. */
  callErrors: number
  errorNames: Record<string, number>
}

export interface SimVolunteerOptions {
  /** The hub's peer id and one of its multiaddrs. */
  hub: { peerId: PeerId, multiaddr: string }
  /** The shared WASM kernels (honest work). */
  counter: HonestCounter
  /** Seed of this peer's key and randomness. */
  seed: number
  /** Output format (default SIM_OUTPUT). */
  format?: OutputFormat
  /** Most work requests in one run (default 2,000). */
  maxRequests?: number
  /** Longest wait after an empty work response, ms (the page waits up to 10 s; a sim is compressed; default 300). */
  maxIdleWaitMs?: number
  /** Per-call timeout, ms (default 10 s). */
  callTimeoutMs?: number
}

export interface SimVolunteer {
  readonly id: string
  readonly key: PrivateKey
  readonly strategy: Strategy
  readonly node: Libp2p
  readonly sent: SentResult[]
  readonly stats: VolunteerStats
  /** Numbers this peer sieved with the kernel (the units whose kernel run its strategy used). */
  readonly sieved: number
  /** Wall ms of those kernel runs (performance.now around each). */
  readonly computeMs: number
  /** Loop until `signal` aborts or maxRequests; never throws. */
  run: (signal: AbortSignal) => Promise<void>
  stop: () => Promise<void>
}

const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => await new Promise(resolve => {
  const t = setTimeout(done, ms)
  function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
  signal?.addEventListener('abort', done, { once: true })
})

/** A simulated volunteer with a strategy, dialled to the hub (not yet running). */
export async function simVolunteer (strategy: Strategy, opts: SimVolunteerOptions): Promise<SimVolunteer> {
  const random = seededRandom(opts.seed)
  const key = await generateKeyPairFromSeed('Ed25519', seededBytes(random, 32))
  const id = peerIdFromPrivateKey(key).toString()
  const node = await createTestPeer(key)
  await node.dial(multiaddr(opts.hub.multiaddr))
  const format = opts.format ?? SIM_OUTPUT
  const maxRequests = opts.maxRequests ?? 2_000
  const maxIdleWaitMs = opts.maxIdleWaitMs ?? 300
  const callTimeoutMs = opts.callTimeoutMs ?? 10_000
  const sent: SentResult[] = []
  const stats: VolunteerStats = { workRequests: 0, leases: 0, released: 0, held: 0, emptyResponses: 0, callErrors: 0, errorNames: {} }
  const self = { sieved: 0, computeMs: 0 }
  /** The unit being handled and its precomputed kernel run (null: none made, or it failed). */
  let current: { run: UnitRun | null, billed: boolean } | null = null
  const tools: Tools = {
    truth: (a, b) => {
      const c = current?.run?.countOf(a, b)
      if (c != null && current?.run != null) {
        if (!current.billed) {
          current.billed = true
          self.sieved += current.run.hi - current.run.lo
          self.computeMs += current.run.ms
        }
        return c
      }
      const { count, ms } = opts.counter.count(a, b)
      self.sieved += b - a
      self.computeMs += ms
      return count
    },
    random
  }

  // calls in flight are not aborted by the run's signal (only by their timeout): a result is never
  // left half-sent, so what the hub answered is always known
  async function work (req: WorkRequestV2): Promise<WorkResponse> {
    return await callProtocol(node, opts.hub.peerId, WORK_SPEC_V2, req, AbortSignal.timeout(callTimeoutMs))
  }

  /** Sign and send one result; a stream error (a rate limit resets the stream) is retried, as the page's outbox does. */
  async function submit (unit: UnitView, outcome: 'success' | 'client-error', output: Uint8Array, message: string): Promise<void> {
    const { lease } = unit
    const signed = await signResult({
      replicaId: lease.replicaId, wuId: lease.wuId, outcome, output: output as Uint8Array<ArrayBuffer>,
      outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 10, deviceClass: 'wasm', errorMessage: message
    }, key)
    const record: SentResult = {
      wuId: lease.wuId, replicaId: lease.replicaId, lo: unit.lo, hi: unit.hi, credit: lease.credit, outcome,
      ...(outcome === 'success' ? { claimed: format.total(output) } : {}), status: 'error'
    }
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const res: ResultResponse = await callProtocol(node, opts.hub.peerId, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(callTimeoutMs))
        record.status = res.status
        if (res.error !== '') record.error = res.error
        break
      } catch (err) {
        stats.callErrors++
        record.error = (err as Error).name
        stats.errorNames[record.error] = (stats.errorNames[record.error] ?? 0) + 1
        await sleep(100 * attempt)
      }
    }
    sent.push(record)
  }

  async function run (signal: AbortSignal): Promise<void> {
    let release: WorkRequestV2['release'] = []
    while (!signal.aborted && stats.workRequests < maxRequests) {
      stats.workRequests++
      let res: WorkResponse
      try {
        res = await work({ maxUnits: strategy.maxUnits, release: release.slice(0, MAX_RELEASES_PER_REQUEST), capabilities: PAGE_CAPS, siteKey: '', siteOrigin: '', paused: [], holding: [], reportsHolding: false })
      } catch (err) {
        stats.callErrors++
        stats.errorNames[(err as Error).name] = (stats.errorNames[(err as Error).name] ?? 0) + 1
        await sleep(100, signal)
        continue
      }
      // give-backs are kept until a response brings leases (a rate-limited request does nothing; repeats are ignored)
      if (res.leases.length === 0) {
        stats.emptyResponses++
        await sleep(Math.max(20, Math.min(res.retryAfterMs || 200, maxIdleWaitMs)), signal)
        continue
      }
      release = []
      stats.leases += res.leases.length
      for (const lease of res.leases) {
        if (signal.aborted) break
        const { lo, hi } = decodePrimesInput(lease.input)
        const unit = { lease, lo, hi }
        const run = strategy.usesTruth === false ? null : await opts.counter.unit(lo, hi).catch(() => null)
        if (signal.aborted) break
        current = { run, billed: false }
        const action = strategy.act(unit, tools)
        // the count function is asked here, synchronously, while `current` is this unit
        const output = action.kind === 'result' ? format.encode(lo, hi, action.count) : null
        current = null
        switch (action.kind) {
          case 'result': await submit(unit, 'success', output!, ''); break
          case 'raw-result': await submit(unit, 'success', action.output, ''); break
          case 'client-error': await submit(unit, 'client-error', new Uint8Array(0), action.message); break
          case 'release': release.push({ replicaId: lease.replicaId, reason: action.reason }); stats.released++; break
          case 'hold': stats.held++; break
        }
      }
      if ((strategy.pauseMs ?? 0) > 0) await sleep(strategy.pauseMs!, signal)
    }
  }

  return {
    id, key, strategy, node, sent, stats,
    get sieved () { return self.sieved },
    get computeMs () { return self.computeMs },
    run: async signal => { try { await run(signal) } catch { /* a run never throws */ } },
    stop: async () => { await node.stop() }
  }
}
