/**
 * The hub's researcher API over libp2p: `/sparecycles/job/1.0.0` (post a kernel job, query its
 * status and outputs). Posts are refused with a named error — and nothing is written — unless the
 * connection's peer signed the manifest and is in the allowed-researchers file. Everything goes
 * through HubCore's API (its store, clock and key).
 */
import { JOB_SPEC, ProtocolError, handleProtocol } from '../protocol/index.ts'
import type { JobResponse } from '../protocol/index.ts'
import { loadAllowedResearchers } from './researchers.ts'
import type { HubCore } from './hub-core.ts'
import type { Libp2p } from '@libp2p/interface'

export interface JobHostOptions {
  core: HubCore
  /** Path of the allowed-researchers JSON file (re-read on every post). */
  researchersFile: string
  onStreamError?: (protocol: string, err: Error, remotePeer: string) => void
  log?: (line: string) => void
}

function refusal (err: unknown): JobResponse {
  const e = err as Error
  // a refusal names its error class; anything unexpected is reported without internals
  const named = e instanceof ProtocolError || /Error$/.test(e?.name ?? '')
  return { error: named ? e.name : 'InternalError', message: named ? e.message : 'the hub could not handle the request' }
}

export async function registerJobProtocol (node: Libp2p, opts: JobHostOptions): Promise<void> {
  const { core } = opts
  await handleProtocol(node, JOB_SPEC, async (req, connection) => {
    const remotePeerId = connection.remotePeer.toString()
    try {
      if (req.post != null) {
        const posted = await core.postKernelJob(remotePeerId, req.post, loadAllowedResearchers(opts.researchersFile))
        opts.log?.(`researcher ${remotePeerId} posted ${posted.jobId} (${posted.workUnits} work units, kernel ${posted.kernelRef})`)
        req = { query: { jobId: posted.jobId, outputsFrom: 0, outputsMax: 0 } }
      }
      return { error: '', message: '', job: await core.kernelJobInfo(remotePeerId, req.query!) }
    } catch (err) {
      return refusal(err)
    }
  }, opts.onStreamError)
}
