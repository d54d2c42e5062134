/**
 * A real hub (startHub, SQLite in a temp dir) with one allowed researcher key and the Collatz
 * example kernel built, for tests that speak the wire protocols as independent peers: the
 * researcher posts and controls jobs over /sparecycles/job/1.0.0, volunteers are Node libp2p
 * peers with their own keys on work/2.0.0 and result/1.0.0. Per-peer request rates are opened up
 * (simulated volunteers answer at once; hub.limits.peers.test.ts tests the rates).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { RESULT_SPEC, SignedManifest, WORK_SPEC_V2, buildManifest, callProtocol, sha256Bytes, signManifest, signResult } from '../src/protocol/index.ts'
import { startHub } from '../src/hub/hub.ts'
import { connectToHub } from '../src/cli/researcher-node.ts'
import { buildKernel, readKernelDir } from '../src/cli/kernel.ts'
import { REPO_ROOT, dialledPeer, tempDir } from './helpers.ts'
import { caps, v2 } from './hub-fixtures.ts'
import type { HubOptions, RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { JobInfo, JobRequest, Lease, PostJob, ResultResponse } from '../src/protocol/index.ts'

export interface Peer { node: Libp2p, key: PrivateKey, id: string }

/** What a page running researcher kernels of ABI 1 offers. */
export const KERNEL_PAGE = caps({ kernels: [], kernelAbis: [1] })

/** A Collatz unit's input: lo, hi as u64 LE. */
export function unitInput (lo: number, hi: number): Uint8Array {
  const b = new Uint8Array(16)
  const view = new DataView(b.buffer)
  view.setBigUint64(0, BigInt(lo), true)
  view.setBigUint64(8, BigInt(hi), true)
  return b
}

export function rangeOf (input: Uint8Array): { lo: number, hi: number } {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength)
  return { lo: Number(view.getBigUint64(0, true)), hi: Number(view.getBigUint64(8, true)) }
}

export interface CollatzHub {
  hub: RunningHub
  hubPeer: PeerId
  researcher: PrivateKey
  collatzDir: string
  kernel: Uint8Array
  /** A new volunteer peer of its own, dialled to the hub. */
  peer: () => Promise<Peer>
  /** A job request as the researcher (its own connection). @throws RemoteError for a refusal */
  request: (req: JobRequest) => Promise<JobInfo>
  /** Post the Collatz kernel with these inputs (quorum 2, policy replicate unless given). */
  post: (inputs: Uint8Array[], extra?: Partial<Pick<PostJob, 'ringers' | 'policy'>>) => Promise<JobInfo>
  status: (jobId: string, outputsMax?: number) => Promise<JobInfo>
  work: (p: Peer, n: number) => Promise<Lease[]>
  report: (p: Peer, l: Lease, result: { output: Uint8Array } | { error: string }) => Promise<ResultResponse>
  stop: () => Promise<void>
}

export async function startCollatzHub (opts: Partial<HubOptions> = {}): Promise<CollatzHub> {
  const collatzDir = join(tempDir(), 'collatz')
  cpSync(join(REPO_ROOT, 'examples/collatz'), collatzDir, { recursive: true, filter: src => !src.includes('/build') })
  await buildKernel(collatzDir)
  const kernel = new Uint8Array(readFileSync(join(collatzDir, 'build/kernel.wasm')))
  const researcher = await generateKeyPair('Ed25519')
  const dataDir = tempDir('hub-collatz-')
  writeFileSync(join(dataDir, 'researchers.json'), JSON.stringify({ allowed: [peerIdFromPrivateKey(researcher).toString()] }))
  const rate = { perSecond: 10_000, burst: 10_000 }
  // every peer here (volunteers, and a new researcher session per request) dials from 127.0.0.1:
  // the per-address defaults (20 new connections a second) are for the open internet, and a fast
  // run of the job tests opened 21 in one second (the 21st dial was closed before noise)
  const limits = { maxConnectionsPerAddress: 1000, maxPendingUpgradesPerAddress: 1000, inboundConnectionsPerSecond: 1000 }
  const onLimitHit = (name: string, detail: unknown): void => { console.warn(`collatz hub limit hit: ${name} ${JSON.stringify(detail)}`) }
  const hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist'), limits, onLimitHit, peerLimits: { workRate: rate, resultRate: rate, receiptsRate: rate }, ...opts })
  const hubPeer = peerIdFromString(hub.peerId)
  const peers: Peer[] = []
  const request = async (req: JobRequest): Promise<JobInfo> => {
    const session = await connectToHub(hub.multiaddrs[0], researcher)
    try {
      return await session.request(req)
    } finally {
      await session.close()
    }
  }
  return {
    hub, hubPeer, researcher, collatzDir, kernel, request,
    peer: async () => {
      const p = await dialledPeer(hub.multiaddrs[0])
      peers.push(p)
      return p
    },
    post: async (inputs, extra = {}) => {
      const signed = await signManifest(buildManifest(readKernelDir(collatzDir), kernel, researcher), researcher)
      return await request({ post: { signedManifest: SignedManifest.encode(signed), kernel: kernel as Uint8Array<ArrayBuffer>, inputs: inputs as Array<Uint8Array<ArrayBuffer>>, quorum: 2, creditPerUnit: 1, policy: 'replicate', ringers: [], ...extra } })
    },
    status: async (jobId, outputsMax = 0) => await request({ query: { jobId, outputsFrom: 0, outputsMax } }),
    work: async (p, n) => (await callProtocol(p.node, hubPeer, WORK_SPEC_V2, v2(KERNEL_PAGE, n), AbortSignal.timeout(10_000))).leases,
    report: async (p, l, result) => {
      const output = ('output' in result ? result.output : new Uint8Array(0)) as Uint8Array<ArrayBuffer>
      const signed = await signResult({
        replicaId: l.replicaId, wuId: l.wuId, outcome: 'output' in result ? 'success' : 'client-error', output,
        outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: 'error' in result ? result.error : ''
      }, p.key)
      return await callProtocol(p.node, hubPeer, RESULT_SPEC, { result: signed, receiptsAfter: 0 }, AbortSignal.timeout(10_000))
    },
    stop: async () => {
      await Promise.all(peers.map(async p => p.node.stop()))
      await hub.stop()
    }
  }
}
