/**
 * The hub's side of posting big jobs in small pieces (src/protocol/upload.ts):
 * `/sparecycles/blob-put/1.0.0` (chunks into BlobStaging, then the blob store) and
 * `/sparecycles/job/2.0.0` (a post naming uploaded blobs, created by HubCore.postKernelJob exactly
 * as a job/1.0.0 post). Both authorise the noise-authenticated peer against the allowlist first:
 * a stranger's blob-put chunk is refused before its body is read (cap 0 bytes; reported as
 * 'unauthorised-blob-bytes'), a stranger's post with ResearcherNotAllowedError before any blob is read.
 */
import { join } from 'node:path'
import { BLOB_PUT_SPEC, JOB_SPEC_V2, ResearcherNotAllowedError, handleProtocol, streamLimitOf } from '../protocol/index.ts'
import { BlobStaging } from './blob-staging.ts'
import { refusal } from './job-host.ts'
import { postFromBlobs } from './kernel-job.ts'
import { isAllowedResearcher, loadAllowedResearchers } from './researchers.ts'
import type { HubCore } from './hub-core.ts'
import type { HubHost } from './libp2p-host.ts'
import type { HubLimits, LimitHitListener } from './limits.ts'
import { currentLogger, silentLogger } from './log.ts'
import type { HubLogger } from './log.ts'
import type { ProtocolNode } from '../protocol/index.ts'

export interface UploadHostOptions {
  core: HubCore
  /** Path of the allowed-researchers JSON file (re-read on every request). */
  researchersFile: string
  limits: Pick<HubLimits, 'maxStagedBytesPerResearcher' | 'stagedUploadTimeoutMs'>
  onLimitHit?: LimitHitListener
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
  /** The operator's log: posts at info, with the request's reqId, peer and protocol. */
  logger?: HubLogger
  /** The host's shared request budget and limit reporting. */
  host?: Pick<HubHost, 'budget' | 'reportStreamError'>
}

/** Serve blob-put/1.0.0 and job/2.0.0; `stop` ends the staging sweep and deletes unfinished uploads. */
export async function registerUploadProtocols (node: ProtocolNode, opts: UploadHostOptions): Promise<{ staging: BlobStaging, stop: () => void }> {
  const { core } = opts
  // one staging dir per hub process (its peer id), beside the blobs it is renamed into (one
  // filesystem): hubs sharing a dir never wipe or overwrite each other's unfinished uploads
  const staging = new BlobStaging({ dir: join(core.dataDir, 'staging', core.peerId), blobs: core.blobs, limits: opts.limits, onLimitHit: opts.onLimitHit })
  const allowed = (peer: string): boolean => isAllowedResearcher(opts.researchersFile, peer)
  const reportStream = (opts.host?.reportStreamError ?? opts.onStreamError)
  const reportPut = (protocol: string, err: Error, peer: string): void => {
    if (streamLimitOf(err) != null && streamLimitOf(err) !== 'stream-deadline' && streamLimitOf(err) !== 'request-memory' && !allowed(peer)) {
      opts.onLimitHit?.('unauthorised-blob-bytes', { protocol, peer, message: err.message })
      opts.onStreamError?.(protocol, err, peer)
    } else reportStream?.(protocol, err, peer)
  }
  await handleProtocol(node, BLOB_PUT_SPEC, async (req, connection) => {
    const peer = connection.remotePeer.toString()
    try {
      if (!allowed(peer)) throw new ResearcherNotAllowedError(`researcher ${peer} is not allowed on this hub`)
      return staging.put(peer, req)
    } catch (err) {
      return { ...refusal(err), received: 0, complete: false }
    }
  }, reportPut, {
    budget: opts.host?.budget,
    // strangers may not upload: no byte of their request is read
    maxRequestBytesFor: (connection) => allowed(connection.remotePeer.toString()) ? BLOB_PUT_SPEC.limits.maxRequestBytes : 0
  })
  await handleProtocol(node, JOB_SPEC_V2, async (post, connection) => {
    const peer = connection.remotePeer.toString()
    try {
      const allowedSet = loadAllowedResearchers(opts.researchersFile)
      if (!allowedSet.has(peer)) throw new ResearcherNotAllowedError(`researcher ${peer} is not allowed on this hub`)
      const posted = await core.postKernelJob(peer, postFromBlobs(core.blobs, post), allowedSet)
      currentLogger(opts.logger ?? silentLogger()).info({ jobId: posted.jobId, workUnits: posted.workUnits, kernel: posted.kernelRef }, `researcher ${peer} posted ${posted.jobId} over job/2.0.0 (${posted.workUnits} work units, kernel ${posted.kernelRef})`)
      return { error: '', message: '', job: await core.kernelJobInfo(peer, { jobId: posted.jobId, outputsFrom: 0, outputsMax: 0 }) }
    } catch (err) {
      return refusal(err)
    }
  }, (protocol, err, peer) => { reportStream?.(protocol, err, peer) }, { budget: opts.host?.budget })
  return { staging, stop: () => { staging.stop() } }
}
