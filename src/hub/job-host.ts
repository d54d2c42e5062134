/**
 * The hub's researcher API over libp2p: `/sparecycles/job/1.0.0` (post a small kernel job inline,
 * query its status and outputs; big posts: upload-host.ts). Posts are refused with a named error — and nothing is written — unless the
 * connection's peer signed the manifest and is in the allowed-researchers file. Everything goes
 * through HubCore's API (its store, clock and key).
 */
import { JOB_SPEC, ProtocolError, handleProtocol, streamLimitOf } from '../protocol/index.ts'
import type { JobResponse } from '../protocol/index.ts'
import { isAllowedResearcher, loadAllowedResearchers } from './researchers.ts'
import type { HubCore } from './hub-core.ts'
import type { HubHost } from './libp2p-host.ts'
import type { HubLimits, LimitHitListener } from './limits.ts'
import { currentLogger, silentLogger } from './log.ts'
import type { HubLogger } from './log.ts'
import type { ProtocolNode } from '../protocol/index.ts'

export interface JobHostOptions {
  core: HubCore
  /** Path of the allowed-researchers JSON file (re-read on every post). */
  researchersFile: string
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
  /** The operator's log: posts, controls and refusals (warn), each line with the request's reqId, peer and protocol. */
  logger?: HubLogger
  /** The host's shared request budget and limit reporting; without it posts are only capped by JOB_LIMITS. */
  host?: Pick<HubHost, 'budget' | 'reportStreamError'>
  limits?: Pick<HubLimits, 'maxUnauthorisedJobRequestBytes'>
  onLimitHit?: LimitHitListener
}

/** A refusal naming the error's class (anything unexpected: InternalError, without internals). */
export function refusal (err: unknown): { error: string, message: string } {
  const e = err as Error
  // a refusal names its error class; anything unexpected is reported without internals
  const named = e instanceof ProtocolError || /Error$/.test(e?.name ?? '')
  return { error: named ? e.name : 'InternalError', message: named ? e.message : 'the hub could not handle the request' }
}

/**
 * Serve `/sparecycles/job/1.0.0`. A peer outside the allowlist is authorised (by its noise
 * identity) before anything is read: its request is capped at `maxUnauthorisedJobRequestBytes`
 * (enough for a query, and for a small post to be refused by name), so strangers cannot make the
 * hub buffer 1 MiB posts (bigger posts: blob-put + job/2.0.0, upload-host.ts); an oversized one resets the stream ('unauthorised-job-bytes').
 */
export async function registerJobProtocol (node: ProtocolNode, opts: JobHostOptions): Promise<void> {
  const { core } = opts
  const base = opts.logger ?? silentLogger()
  const smallCap = opts.limits?.maxUnauthorisedJobRequestBytes
  const allowed = (peer: string): boolean => isAllowedResearcher(opts.researchersFile, peer)
  const report = (protocol: string, err: Error, peer: string): void => {
    if (smallCap != null && ['message-bytes', 'length-prefix'].includes(streamLimitOf(err) ?? '') && !allowed(peer)) {
      opts.onLimitHit?.('unauthorised-job-bytes', { protocol, peer, message: err.message })
      opts.onStreamError?.(protocol, err, peer)
    } else (opts.host?.reportStreamError ?? opts.onStreamError)?.(protocol, err, peer)
  }
  await handleProtocol(node, JOB_SPEC, async (req, connection) => {
    const remotePeerId = connection.remotePeer.toString()
    const log = currentLogger(base)
    try {
      if (req.revive != null) {
        const { reopened, job } = await core.reviveKernelJob(remotePeerId, req.revive.jobId)
        log.info({ jobId: job.jobId, reopened }, `researcher ${remotePeerId} revived ${job.jobId} (${reopened} failed work units open again)`)
        return { error: '', message: '', job }
      }
      if (req.control != null) {
        const { reopened, job } = await core.controlKernelJob(remotePeerId, req.control.jobId, req.control.action)
        log.info({ jobId: job.jobId, action: req.control.action, reopened }, `researcher ${remotePeerId}: ${req.control.action} ${job.jobId}${reopened > 0 ? ` (${reopened} failed work units open again)` : ''}`)
        return { error: '', message: '', job }
      }
      if (req.post != null) {
        const posted = await core.postKernelJob(remotePeerId, req.post, loadAllowedResearchers(opts.researchersFile))
        log.info({ jobId: posted.jobId, workUnits: posted.workUnits, kernel: posted.kernelRef }, `researcher ${remotePeerId} posted ${posted.jobId} (${posted.workUnits} work units, kernel ${posted.kernelRef})`)
        req = { query: { jobId: posted.jobId, outputsFrom: 0, outputsMax: 0 } }
      }
      return { error: '', message: '', job: await core.kernelJobInfo(remotePeerId, req.query!) }
    } catch (err) {
      if (req.post != null || req.control != null) log.warn({ error: (err as Error).name }, `refused ${req.post != null ? 'a post' : `${req.control?.action ?? ''} of ${req.control?.jobId ?? ''}`} from researcher ${remotePeerId}: ${(err as Error).name}: ${(err as Error).message}`)
      return refusal(err)
    }
  }, report, {
    budget: opts.host?.budget,
    maxRequestBytesFor: smallCap == null ? undefined : (connection) => allowed(connection.remotePeer.toString()) ? JOB_SPEC.limits.maxRequestBytes : smallCap
  })
}
