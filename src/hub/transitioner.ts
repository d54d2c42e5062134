/**
 * The transitioner (BOINC's term): the one owner of every work-unit, replica, result and job state
 * change. The scheduler, validator and assimilator decide; the transitioner writes, through the
 * repository, inside the caller's transaction:
 *
 * - lease: a replica `in-progress`; the WU's `in_progress`, `replicas_issued`, its pin to a device
 *   class (homogeneous redundancy) and `wanted`; the job's `replicas_issued`;
 * - result: the replica `over` / `success | client-error`, `in_progress` down;
 * - expiry and give-back: the replica `over` / `no-reply`; a `cannot-run` give-back is excused (it
 *   never counts against the WU's replica limit); a pin with nothing left behind it is dropped;
 * - validation: result `valid | invalid | inconclusive` (and the sender's trust record, trust.ts);
 *   the hub's own checks (`hub_check`, the job's spot-check counters); a replica forced on an
 *   adaptive unit (min_quorum raised); WU `done` with its canonical result, or its progress
 *   (`max_group`, `has_result`) and `wanted`;
 * - failure: a WU is `failed` only when `maxErrorsPerUnit` established peers (trust.ts
 *   `isEstablished`: a valid result on this hub, not banned) reported a client error for it — a
 *   kernel that traps everywhere. Releases, expiries and fresh keys' errors never fail a unit: the
 *   failure budget is per peer (peer-limits.ts `failureBudget`). A failed job can be revived;
 * - assimilation: the job's output and `wu_assimilated`; the job `complete | failed` once settled;
 * - reopening: a done WU whose canonical group held a proven cheater's result is open again (its
 *   output taken back out of the job's), and its job running again;
 * - probes (issue 13): a researcher-kernel unit that distinct peers report failing is `queued`
 *   for the hub to run itself (probe-policy.ts); a failure it reproduces fails the unit and, on
 *   enough units, pauses the job with the error; a run that succeeds makes the unit a ringer;
 * - holds: a job `paused` (by the hub or its researcher) or `cancelled` leases nothing; resume.
 *
 * `wanted = max(0, max(quorum, target_nresults) - max_group - in_progress)` while open, else 0.
 */
import { isEstablished } from './trust.ts'
import { pauseAfterProbeFailures, shouldProbe } from './probe-policy.ts'
import type { HubCheck, JobHold, JobState, ReleaseReason, ReplicaRow, RepoTx, ResultRow, TrustCounter, ValidateState, WorkUnitPatch, WorkUnitRow, WorkUnitState } from './repository.ts'
import type { SpotCheckVerdict } from './catalogue.ts'
import type { TrustSettings } from './trust.ts'

/** Default number of established peers' client errors that fail a work unit. */
export const DEFAULT_MAX_ERRORS_PER_UNIT = 3
/** @deprecated the old name of DEFAULT_MAX_ERRORS_PER_UNIT (replicas no longer fail a unit). */
export const DEFAULT_MAX_REPLICAS_PER_UNIT = DEFAULT_MAX_ERRORS_PER_UNIT

/** How a judged result changes its sender's trust record. */
export interface TrustEffect {
  kernel: string
  /** The verdict rests on evidence the peer cannot influence (spot check, certificate, a trusted peer's agreement). */
  verified: boolean
  nowMs: number
}

/** Replica id of the k-th replica of a WU. */
export function replicaId (wuId: string, k: number): string {
  return `${wuId}/r${k}`
}

export interface LeaseTransition {
  wu: WorkUnitRow
  peerId: string
  /** The device class the peer will run it as (from its request). */
  deviceClass: string
  /** Pin the WU to `deviceClass` when it is not pinned yet. */
  pin: boolean
  nowMs: number
  expiresAtMs: number
  /** IP address of the lease's connection (null when unknown). */
  remoteAddr?: string | null
}

export class Transitioner {
  /** Established peers' client errors that fail a unit. */
  readonly maxErrorsPerUnit: number
  /** Candidate units are never capped by replica count any more (kept for the scheduler's query). */
  readonly maxReplicasPerUnit = Number.MAX_SAFE_INTEGER

  /** @throws RangeError for a bad maxErrorsPerUnit */
  constructor (maxErrorsPerUnit = DEFAULT_MAX_ERRORS_PER_UNIT, private readonly trust?: TrustSettings) {
    if (!Number.isSafeInteger(maxErrorsPerUnit) || maxErrorsPerUnit < 1) throw new RangeError(`maxErrorsPerUnit must be a positive integer, got ${maxErrorsPerUnit}`)
    this.maxErrorsPerUnit = maxErrorsPerUnit
  }

  /** Lease the next replica of `t.wu` to `t.peerId`. @returns its replica id */
  async lease (tx: RepoTx, t: LeaseTransition): Promise<string> {
    const { wu } = t
    const id = replicaId(wu.id, wu.replicas_issued)
    await tx.insertReplica({
      id, wu_id: wu.id, job_id: wu.job_id, peer_id: t.peerId, k: wu.replicas_issued, device_class: t.deviceClass, issued_at_ms: t.nowMs, expires_at_ms: t.expiresAtMs,
      remote_addr: t.remoteAddr ?? null
    })
    await tx.addToJob(wu.job_id, 'replicas_issued', 1)
    // the unit's writes in one statement: a replica more issued and in progress, the pin, and what it wants then
    const now = await tx.getWorkUnit(wu.id) ?? wu
    const set: WorkUnitPatch = t.pin && now.device_class == null ? { device_class: t.deviceClass } : {}
    const need = now.state === 'open' ? this.wantedOf({ ...now, in_progress: now.in_progress + 1 }) : undefined
    if (need != null && !need.fails && need.wanted !== now.wanted) set.wanted = need.wanted
    await tx.changeWorkUnit(wu.id, { set, add: { replicas_issued: 1, in_progress: 1 } })
    // one that fails now (not a unit the scheduler picks: those fail as their errors come in): refreshNeed marks it
    if (need?.fails === true) await this.refreshNeed(tx, wu.id)
    return id
  }

  /** What an open unit wants (`refreshNeed`'s rule), and whether it fails instead (wanting more after maxErrorsPerUnit established peers' client errors). */
  private wantedOf (wu: WorkUnitRow): { wanted: number, fails: boolean } {
    const wanted = Math.max(0, Math.max(wu.quorum, wu.target_nresults) - wu.max_group - wu.in_progress)
    return { wanted, fails: wanted > 0 && wu.error_peers >= this.maxErrorsPerUnit }
  }

  /**
   * End an in-progress replica without a result: expired (`released` false) or given back with a
   * reason. `cannot-run` is excused: the WU gets that replica back for its limit.
   */
  async endNoReply (tx: RepoTx, r: ReplicaRow, nowMs: number, release: { reason: ReleaseReason } | null): Promise<void> {
    await tx.endReplica(r.id, { outcome: 'no-reply', released: release != null, reason: release?.reason ?? null, overAtMs: nowMs })
    await tx.addToWorkUnit(r.wu_id, 'in_progress', -1)
    if (release?.reason === 'cannot-run') {
      await tx.addToWorkUnit(r.wu_id, 'replicas_excused', 1)
      await tx.addToPeer(r.peer_id, 'cannot_runs', 1)
    } else {
      await tx.addToPeer(r.peer_id, 'no_replies', 1)
    }
    await this.dropIdlePin(tx, r.wu_id)
    await this.refreshNeed(tx, r.wu_id)
  }

  /**
   * Store a result for an in-progress replica and end the replica. A client error from an
   * established peer counts toward the unit's `error_peers` (one per peer: a peer holds at most one
   * replica of a unit). A success adds the unit's estOps to the job's `result_ops`.
   * @returns the result's id
   */
  async recordResult (tx: RepoTx, r: ReplicaRow, result: Omit<ResultRow, 'id' | 'validate_state' | 'hub_check'>): Promise<number> {
    const id = await tx.insertResult(result)
    await tx.endReplica(r.id, { outcome: result.outcome, released: false, reason: null, overAtMs: result.received_at_ms })
    await tx.addToWorkUnit(r.wu_id, 'in_progress', -1)
    await tx.touchPeer(result.peer_id, result.received_at_ms)
    await tx.addToPeer(result.peer_id, 'results', 1)
    const wu = await tx.getWorkUnit(r.wu_id)
    if (result.outcome === 'client-error') {
      await tx.addToPeer(result.peer_id, 'client_errors', 1)
      if (wu != null) {
        const trust = await tx.getTrust(result.peer_id, wu.kernel)
        if (isEstablished(await tx.getPeer(result.peer_id), trust, this.trust)) await tx.addToWorkUnit(wu.id, 'error_peers', 1)
        await tx.addToTrust(result.peer_id, wu.kernel, { client_errors: 1 }, 'keep', result.received_at_ms)
        const job = await tx.getJob(wu.job_id)
        if (job != null && shouldProbe(wu, job, await tx.errorPeersOfUnit(wu.id))) {
          await tx.patchWorkUnit(wu.id, { probe: 'queued' })
          await tx.addToJob(wu.job_id, 'probes', 1)
        }
      }
    } else if (wu != null) {
      await tx.addToJob(wu.job_id, 'result_ops', wu.est_ops)
    }
    return id
  }

  /**
   * Set a result's validate state (and its sender's counters and, with `trust`, its trust record:
   * valid adds 1 to CV when verified, unless its own passed spot check already did; invalid
   * resets CV). @returns true when it changed
   */
  async judge (tx: RepoTx, r: ResultRow, state: ValidateState, trust?: TrustEffect): Promise<boolean> {
    if (r.validate_state === state) return false
    await tx.setValidateState(r.id, state)
    if (state === 'valid') await tx.addToPeer(r.peer_id, 'valid_results', 1)
    if (state === 'invalid') await tx.addToPeer(r.peer_id, 'invalid_results', 1)
    if (trust != null && state === 'valid') {
      const counters: Partial<Record<TrustCounter, number>> = trust.verified ? { valid_results: 1, verified_results: 1 } : { valid_results: 1 }
      // a result whose own spot check passed added its 1 to CV then
      await tx.addToTrust(r.peer_id, trust.kernel, counters, trust.verified && r.hub_check !== 'spot-ok' ? 'inc' : 'keep', trust.nowMs)
    }
    if (trust != null && state === 'invalid') await tx.addToTrust(r.peer_id, trust.kernel, { invalid_results: 1 }, 'reset', trust.nowMs)
    r.validate_state = state
    return true
  }

  /** Record the hub's decision about a result (`hub_check`). */
  async decided (tx: RepoTx, r: ResultRow, check: HubCheck): Promise<void> {
    await tx.setHubCheck(r.id, check)
    r.hub_check = check
  }

  /**
   * Record a spot check the hub ran on `r` (or an arbitration it lost, as a failed one): the job's
   * counters (`spot_checks`, `checked_ops`, `spot_failures`), the peer's trust record (passed: CV
   * + 1; failed: CV 0 and a spot failure, which bans) and the result's `hub_check`.
   */
  async spotChecked (tx: RepoTx, wu: WorkUnitRow, r: ResultRow, verdict: SpotCheckVerdict, nowMs: number): Promise<void> {
    await tx.addToJob(wu.job_id, 'spot_checks', 1)
    await tx.addToJob(wu.job_id, 'checked_ops', Math.max(0, verdict.checkedOps))
    if (!verdict.ok) await tx.addToJob(wu.job_id, 'spot_failures', 1)
    // a passed spot check is evidence by itself: CV grows now, not when the unit validates (a
    // result that waits for a replica still counts, so a lone volunteer becomes trusted)
    await tx.addToTrust(r.peer_id, wu.kernel, verdict.ok ? { spot_checks: 1 } : { spot_checks: 1, spot_failures: 1 }, verdict.ok ? 'inc' : 'reset', nowMs)
    await this.decided(tx, r, verdict.ok ? 'spot-ok' : 'spot-failed')
  }

  /**
   * A result of an adaptive unit needs an agreeing replica ("a suspicious result forces a
   * replica"): min_quorum and target_nresults become at least `n`, and `wanted` is recomputed.
   */
  async requireReplicas (tx: RepoTx, wu: WorkUnitRow, n: number): Promise<void> {
    const patch: { quorum?: number, target_nresults?: number } = {}
    if (wu.quorum < n) patch.quorum = n
    if (wu.target_nresults < n) patch.target_nresults = n
    if (Object.keys(patch).length > 0) await tx.patchWorkUnit(wu.id, patch)
    Object.assign(wu, patch)
    await this.refreshNeed(tx, wu.id)
  }

  /**
   * Revive a failed job (its researcher's call): every failed unit is open again with its error
   * count cleared, the job `running`. @returns the number of units reopened (0: nothing to do)
   */
  async reviveJob (tx: RepoTx, jobId: string): Promise<number> {
    const job = await tx.getJob(jobId)
    if (job == null) return 0
    const failed = await tx.failedUnitsOf(jobId)
    for (const wu of failed) {
      await tx.patchWorkUnit(wu.id, { state: 'open', error_peers: 0 })
      await this.refreshNeed(tx, wu.id)
    }
    if (failed.length > 0) await tx.addToJob(jobId, 'wu_failed', -failed.length)
    if (job.state === 'failed') await tx.patchJob(jobId, { state: 'running' })
    return failed.length
  }

  /**
   * Record the hub's own run of a queued unit (failure-probe.ts). Ran fine: the volunteers' errors
   * are theirs, and the unit becomes a ringer with the hub's output as its known answer (when it
   * has none). Failed too: the unit is `failed` with the error, and when the job's failed probes
   * reach {@link pauseAfterProbeFailures} and outnumber its validated units, the job is paused
   * with the error as its reason.
   * @returns true when this paused the job
   */
  async probed (tx: RepoTx, wu: WorkUnitRow, run: { ok: true, outputSha256: Uint8Array } | { ok: false, message: string, skipped?: boolean }): Promise<boolean> {
    if (run.ok) {
      await tx.patchWorkUnit(wu.id, { probe: 'ok', probe_message: '', ...(wu.known_output_sha256 == null ? { known_output_sha256: run.outputSha256 } : {}) })
      return false
    }
    if (run.skipped === true) {
      await tx.patchWorkUnit(wu.id, { probe: 'skipped', probe_message: run.message })
      return false
    }
    await tx.patchWorkUnit(wu.id, { probe: 'failed', probe_message: run.message })
    const current = await tx.getWorkUnit(wu.id)
    if (current?.state === 'open') {
      await tx.patchWorkUnit(wu.id, { state: 'failed', wanted: 0 })
      await tx.addToJob(wu.job_id, 'wu_failed', 1)
    }
    const job = await tx.getJob(wu.job_id)
    if (job == null || job.state !== 'running' || job.hold != null) {
      await this.settleJob(tx, wu.job_id)
      return false
    }
    const failures = await tx.probeFailures(wu.job_id)
    if (failures >= pauseAfterProbeFailures(job.wu_count) && failures > job.wu_validated) {
      await this.hold(tx, wu.job_id, 'paused', `the kernel fails on the hub too, on ${failures} units: ${run.message}`)
      return true
    }
    await this.settleJob(tx, wu.job_id)
    return false
  }

  /** Hold a job (`paused` or `cancelled`): it leases nothing more; replicas out keep their leases. */
  async hold (tx: RepoTx, jobId: string, hold: JobHold, reason: string): Promise<void> {
    await tx.patchJob(jobId, { hold, hold_reason: reason.slice(0, 500) })
  }

  /**
   * Resume a held job (its researcher's call): leasing again, its failed units open again with
   * their error counts and probes cleared (a fixed cause, e.g. volunteers' devices, gets a fresh
   * chance), a `failed` job `running`. @returns the units reopened
   */
  async resume (tx: RepoTx, jobId: string): Promise<number> {
    await tx.patchJob(jobId, { hold: null, hold_reason: '', probes: 0 })
    for (const wu of await tx.failedUnitsOf(jobId)) await tx.patchWorkUnit(wu.id, { probe: null, probe_message: '' })
    return await this.reviveJob(tx, jobId)
  }

  /** Add wall milliseconds the hub spent checking a result of the job (spot check, arbitration). */
  async checkTime (tx: RepoTx, jobId: string, ms: number): Promise<void> {
    if (ms > 0) await tx.addToJob(jobId, 'checked_ms', ms)
  }

  /**
   * Reopen a done WU whose canonical group held a proven cheater's result (already judged
   * invalid): no canonical result, `remaining` agreeing results left, and one more agreeing
   * replica wanted (min_quorum and target_nresults at least remaining + 1); the job's validated
   * count down, its assimilated count and output too when `unfold` (the job output to the job
   * output with this unit's canonical output taken back out, run at the commit) is given; the job
   * `running` again (at the commit, when it is `complete` then).
   */
  async reopen (tx: RepoTx, wu: WorkUnitRow, remaining: number, unfold?: (output: string) => string): Promise<void> {
    if (wu.state !== 'done') return
    const need = remaining + 1
    await tx.patchWorkUnit(wu.id, {
      state: 'open', canonical_result_id: null, max_group: remaining, has_result: remaining > 0 ? 1 : 0, assimilated: 0, done_at_ms: null,
      quorum: Math.max(wu.quorum, need), target_nresults: Math.max(wu.target_nresults, need)
    })
    await tx.addToJob(wu.job_id, 'wu_validated', -1)
    await tx.addToJob(wu.job_id, 'wu_reopened', 1)
    if (wu.assimilated !== 0 && unfold != null) {
      tx.changeJobAtCommit(wu.job_id, job => ({ output: unfold(job.output) }))
      await tx.addToJob(wu.job_id, 'wu_assimilated', -1)
    }
    tx.changeJobAtCommit(wu.job_id, job => job.state === 'complete' ? { state: 'running' } : undefined)
    await this.refreshNeed(tx, wu.id)
  }

  /** The WU has its canonical result (agreed by `groupSize` results) at `nowMs`. */
  async complete (tx: RepoTx, wu: WorkUnitRow, canonicalResultId: number, groupSize: number, nowMs: number): Promise<void> {
    await tx.patchWorkUnit(wu.id, { state: 'done', canonical_result_id: canonicalResultId, max_group: groupSize, has_result: 1, wanted: 0, done_at_ms: nowMs })
    await tx.addToJob(wu.job_id, 'wu_validated', 1)
  }

  /**
   * The WU is still open after validation: record its largest agreeing group and whether it has a
   * successful result, then recompute what it wants.
   * @returns the WU's state afterwards
   */
  async progress (tx: RepoTx, wu: WorkUnitRow, maxGroup: number, hasResult: boolean): Promise<WorkUnitState> {
    await tx.patchWorkUnit(wu.id, { max_group: maxGroup, has_result: hasResult ? 1 : 0 })
    if (!hasResult) await this.dropIdlePin(tx, wu.id)
    return await this.refreshNeed(tx, wu.id) ?? wu.state
  }

  /**
   * A WU's canonical output is folded into its job's output: `fold` maps the job's output (JSON)
   * to the new one, run at the commit on the output as it is then (`changeJobAtCommit`).
   */
  async assimilated (tx: RepoTx, wu: WorkUnitRow, fold: (output: string) => string): Promise<void> {
    tx.changeJobAtCommit(wu.job_id, job => ({ output: fold(job.output) }))
    await tx.addToJob(wu.job_id, 'wu_assimilated', 1)
    await tx.patchWorkUnit(wu.id, { assimilated: 1 })
    await this.settleJob(tx, wu.job_id)
  }

  /**
   * Recompute an open WU's `wanted`; an open WU that still wants replicas after
   * `maxErrorsPerUnit` established peers' client errors is marked failed (and its job settled).
   * @returns the WU's state afterwards, undefined for an unknown WU
   */
  async refreshNeed (tx: RepoTx, wuId: string): Promise<WorkUnitState | undefined> {
    const wu = await tx.getWorkUnit(wuId)
    if (wu == null) return undefined
    if (wu.state !== 'open') return wu.state
    const { wanted, fails } = this.wantedOf(wu)
    if (fails) {
      await tx.patchWorkUnit(wuId, { state: 'failed', wanted: 0 })
      await tx.addToJob(wu.job_id, 'wu_failed', 1)
      await this.settleJob(tx, wu.job_id)
      return 'failed'
    }
    if (wanted !== wu.wanted) await tx.patchWorkUnit(wuId, { wanted })
    return 'open'
  }

  /**
   * Set a running job's state from its counters, at the commit (`changeJobAtCommit`: on the row
   * as committed by every hub, this transaction's changes in it): `complete` when every WU is
   * assimilated, `failed` when every WU is settled and at least one failed.
   */
  async settleJob (tx: RepoTx, jobId: string): Promise<void> {
    tx.changeJobAtCommit(jobId, job => {
      if (job.state !== 'running') return undefined
      const state: JobState = job.wu_assimilated === job.wu_count
        ? 'complete'
        : job.wu_assimilated + job.wu_failed >= job.wu_count ? 'failed' : 'running'
      return state === 'running' ? undefined : { state }
    })
  }

  /**
   * A pinned WU with no replica in progress and no successful result has nothing tying it to its
   * device class any more (a peer that pinned it and walked away): unpin it, so that a peer that
   * lied about its GPU cannot keep the unit from every other class.
   */
  private async dropIdlePin (tx: RepoTx, wuId: string): Promise<void> {
    const wu = await tx.getWorkUnit(wuId)
    if (wu != null && wu.device_class != null && wu.in_progress === 0 && wu.has_result === 0) {
      await tx.patchWorkUnit(wuId, { device_class: null })
    }
  }
}
