/**
 * The researcher CLI's libp2p node: WebSockets, noise, yamux, identify, with the researcher's key
 * as its identity, so the hub authenticates the researcher through the noise handshake.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { JOB_SPEC, RemoteError, callProtocol } from '../protocol/index.ts'
import type { JobInfo, JobRequest } from '../protocol/index.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { ErrorName } from '../protocol/index.ts'

/** The hub could not be reached at the given multiaddr. */
export class HubUnreachableError extends Error {
  static override readonly name: ErrorName = 'HubUnreachableError'
  override readonly name: ErrorName = 'HubUnreachableError'
  constructor (message: string) { super(message) }
}

export interface HubSession {
  node: Libp2p
  hub: PeerId
  /** Send one job request; a refusal is thrown as RemoteError naming the hub's error class. */
  request: (req: JobRequest, signal?: AbortSignal) => Promise<JobInfo>
  close: () => Promise<void>
}

/** @throws HubUnreachableError */
export async function connectToHub (hubAddr: string, key: PrivateKey, timeoutMs = 10_000): Promise<HubSession> {
  let ma
  try {
    ma = multiaddr(hubAddr)
  } catch {
    throw new HubUnreachableError(`--hub: not a multiaddr: '${hubAddr}'`)
  }
  const node = await createLibp2p({
    privateKey: key,
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  let hub: PeerId
  try {
    hub = (await node.dial(ma, { signal: AbortSignal.timeout(timeoutMs) })).remotePeer
  } catch (err) {
    await node.stop()
    // the WebSocket transport may reject with a bare ErrorEvent that carries no message
    const e = err as Partial<Error> & { errors?: Error[] }
    const reason = (typeof e.message === 'string' && e.message !== '') ? e.message : (e.errors?.map(x => x.message).filter(Boolean).join('; ') || 'connection failed (nothing listening, or not a Spare Cycles hub)')
    throw new HubUnreachableError(`--hub: unreachable at ${hubAddr}: ${reason}`)
  }
  return {
    node,
    hub,
    async request (req, signal) {
      const res = await callProtocol(node, hub, JOB_SPEC, req, signal)
      if (res.error !== '') throw new RemoteError(res.error, res.message)
      if (res.job == null) throw new RemoteError('MalformedMessageError', 'the hub answered without a job')
      return res.job
    },
    close: async () => { await node.stop() }
  }
}
