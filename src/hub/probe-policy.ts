/**
 * When the hub runs a researcher's unit itself (issue 13): volunteers' client errors are claims,
 * and fresh keys cost nothing, so no number of them may fail a job (issue 10). A failure the hub
 * reproduces on its own machine is not a claim. So a unit of a researcher kernel (`k1:` ref) that
 * {@link PROBE_AFTER_ERROR_PEERS} distinct peers report failing is queued for the hub's own run
 * (failure-probe.ts), at most {@link MAX_PROBES_PER_JOB} per job (what a flood of false reports
 * can cost the hub: that many runs of at most the manifest's deadline each).
 */
import { KERNEL_REF_PREFIX } from '../protocol/job-protocol.ts'
import type { JobRow, WorkUnitRow } from './repository.ts'

/** Distinct peers reporting a client error for a unit before the hub runs it itself. */
export const PROBE_AFTER_ERROR_PEERS = 2
/** Units per job the hub runs itself at most (until the researcher resumes the job). */
export const MAX_PROBES_PER_JOB = 5

/** True when the unit should be queued for the hub's own run now. */
export function shouldProbe (wu: WorkUnitRow, job: JobRow, errorPeers: number): boolean {
  return wu.kernel.startsWith(KERNEL_REF_PREFIX) && wu.state === 'open' && wu.probe == null &&
    job.state === 'running' && job.hold == null && job.probes < MAX_PROBES_PER_JOB && errorPeers >= PROBE_AFTER_ERROR_PEERS
}

/**
 * Failed probes that pause a job of `workUnits` units (when they also outnumber its validated
 * units): 3, or every unit of a smaller job.
 */
export function pauseAfterProbeFailures (workUnits: number): number {
  return Math.max(1, Math.min(3, workUnits))
}
