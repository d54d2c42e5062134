/**
 * Fakes for the volunteer components' dependencies: a hub link that records requests and answers
 * from a script, a hub that signs credit receipts, leases, a state bus with defaults. The store is
 * the real VolunteerStore over fake-indexeddb (import 'fake-indexeddb/auto' first).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CreditEntry, GENESIS_HASH, Lease, encodePrimesInput, signReceipt } from '../src/protocol/index.ts'
import { Governor } from '../src/volunteer/governor.ts'
import { StateBus } from '../src/volunteer/state.ts'
import { VolunteerStore } from '../src/volunteer/store.ts'
import type { HubReceipt, ResultBatchRequest, ResultBatchResponse, ResultRequest, ResultResponse, WorkRequestV2, WorkResponse } from '../src/protocol/index.ts'
import { resultsOneByOne } from '../src/volunteer/hub-client.ts'
import type { HubLink } from '../src/volunteer/hub-client.ts'
import type { VolunteerState } from '../src/volunteer/state.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

let dbSeq = 0
/** A fresh database name (each test its own). */
export function dbName (): string { return `test-volunteer-${process.pid}-${++dbSeq}` }

export async function openStore (name = dbName()): Promise<VolunteerStore> {
  return await VolunteerStore.open(name)
}

export function newBus (update: Partial<VolunteerState> = {}): StateBus {
  const governor = new Governor(4, 2)
  return new StateBus({
    peerId: 'me', connection: 'connected', hubPeerId: null, hubMultiaddr: null, run: 'stopped', slots: 2, workers: 0,
    unitsDone: 0, resultsPending: 0, resultsValidated: 0, resultsRejected: 0, creditGranted: 0,
    numbersPerSecond: 0, flopsPerSecond: 0, unitsPerMinute: 0, running: [], lastError: null, gemm: null,
    governor: governor.state, cpuUse: 0, cpuBusyMs: 0, gpuUse: null, peers: 0, unitsByKernel: {}, history: [],
    ownContribution: null, traffic: { sentBytes: 0, receivedBytes: 0, runningMs: 0, bytesPerHour: null },
    p2p: { fromHubBytes: 0, fromPeersBytes: 0, servedBytes: 0, fromHubBlobs: 0, fromPeersBlobs: 0, badPeers: 0, peersConnected: 0, relayed: false },
    device: { cores: 4, memoryGiB: null, gpu: null, gpuProbed: true },
    hubs: [], recommendedHubs: [], perHub: {},
    ...update
  })
}

/** A lease of `kernel` that expires an hour from now. */
export function lease (replicaId: string, kernel = 'primes-sieve/1', update: Partial<Lease> = {}): Lease {
  return {
    replicaId, wuId: `wu-${replicaId}`, jobId: 'job-1', kernel, input: encodePrimesInput(0, 1000) as Uint8Array<ArrayBuffer>,
    estOps: 1000, memoryBytes: 0, deadlineMs: 60_000, leaseExpiresAtMs: Date.now() + 3_600_000, credit: 1, ...update
  }
}

/** A hub: its key signs credit receipts. */
export interface FakeHub { key: PrivateKey, peer: PeerId, publicKey: PrivateKey['publicKey'], receipt: (seq: number, peerId: string, replicaId: string, credit?: number) => Promise<HubReceipt> }

export async function fakeHub (): Promise<FakeHub> {
  const key = await generateKeyPair('Ed25519')
  const peer = peerIdFromPrivateKey(key)
  return {
    key, peer, publicKey: key.publicKey,
    receipt: async (seq, peerId, replicaId, credit = 1) => await signReceipt(CreditEntry.encode({
      seq, peerId, jobId: 'job-1', wuId: `wu-${replicaId}`, replicaId, credit, grantedAtMs: Date.now(), prevHash: GENESIS_HASH as Uint8Array<ArrayBuffer>
    }), key)
  }
}

/** A HubLink that records every request and answers with the given functions. */
export class FakeLink implements HubLink {
  readonly workRequests: WorkRequestV2[] = []
  readonly resultRequests: ResultRequest[] = []
  /** Size of each batch given to `results`. */
  readonly batchSizes: number[] = []
  onWork: (req: WorkRequestV2) => WorkResponse | Promise<WorkResponse> = () => ({ leases: [], retryAfterMs: 1000, error: '', message: '' })
  onResult: (req: ResultRequest) => ResultResponse | Promise<ResultResponse> = () => accepted()

  async work (request: WorkRequestV2, signal: AbortSignal): Promise<WorkResponse> {
    signal.throwIfAborted()
    this.workRequests.push(request)
    return await this.onWork(request)
  }

  async result (request: ResultRequest, signal: AbortSignal): Promise<ResultResponse> {
    signal.throwIfAborted()
    this.resultRequests.push(request)
    return await this.onResult(request)
  }

  /** A batch, answered as a hub without result/2.0.0 would be: each result through `result` (recorded there). */
  async results (request: ResultBatchRequest, signal: AbortSignal): Promise<ResultBatchResponse> {
    this.batchSizes.push(request.results.length)
    return await resultsOneByOne(async (req, sig) => await this.result(req, sig), request, signal)
  }
}

export function accepted (credits: HubReceipt[] = []): ResultResponse {
  return { status: 'accepted', error: '', message: '', credits, creditsUpTo: 0, ledgerSalt: new Uint8Array(0) }
}
