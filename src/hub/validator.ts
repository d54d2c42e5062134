/**
 * Validator: quorum validation of a work unit's results (BOINC style), by the kernel's policy in
 * the catalogue. It decides; the transitioner writes the states and the ledger the credit.
 *
 * Successful results are grouped by output digest (for `exact` kernels across device classes; for
 * other kernels only within one device class — the class the hub leased the replica for, never the
 * one a result claims — since floating-point outputs differ between GPUs). When a group reaches the
 * WU's quorum its oldest result becomes canonical, the group is `valid` and earns the WU's
 * pre-assigned credit (never the volunteer's claimed time), every other successful result is
 * `invalid` and its sender is marked. Disagreement short of a quorum makes the results
 * `inconclusive`; the scheduler then issues more replicas (`wanted` grows).
 *
 * Results arriving after the WU is done are checked against the canonical result. A
 * `client-error` result is a failed replica: no credit, the WU is reissued. Kernels with a
 * certificate (`certify`, e.g. Freivalds' check) judge each result on its own.
 *
 * Trust (trust.ts, issue 10): before grouping, the hub decides about each new successful result of
 * an open unit by the job's policy and the sender's trust record (`planCheck`) — a spot check
 * (`def.spotCheck`, its cost counted in the job's `checked_ops` and, measured, `checked_ms`), a
 * forced replica, both, or acceptance alone from a trusted peer. A spot-checked (`spot-ok`) or
 * trusted result anchors the canonical group, which still needs the unit's quorum (raised to 2
 * by a forced replica). Under `adaptive`, results of an exact kernel that disagree are refereed
 * (`def.arbitrate`: the hub recomputes one piece where they differ), which proves at least one of
 * them wrong. Proof — a failed spot check or a lost arbitration — is handled by `prove`: the
 * result is invalid, every grant its peer holds is reversed, the peer is banned for the kernel,
 * and every done unit whose canonical group holds a result of that peer is reopened (its output
 * taken back out of the job's), so a cheater caught late leaves no wrong canonical result behind.
 */
import { sha256Bytes, toHex } from '../protocol/signing.ts'
import { isBanned, isTrusted, planCheck, secureRandom } from './trust.ts'
import type { ArbitrationVerdict, KernelCatalogue, KernelContext, KernelDef } from './catalogue.ts'
import type { Ledger } from './ledger.ts'
import type { JobPolicy, JudgedResultRow, RepoTx, ValidateState, WorkUnitRow } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { TrustSettings } from './trust.ts'

/** What one validation pass did. */
export interface ValidationOutcome {
  wuId: string
  /** Set when this pass chose the canonical result (the assimilator should run). */
  newCanonicalResultId?: number
  /** Replica ids that were granted credit in this pass (new ledger entries only). */
  credited: string[]
  /** Result ids that became invalid in this pass. */
  invalidated: number[]
  /** Peers proven to cheat in this pass (a failed spot check or a lost arbitration), with the credit reversed. */
  reversed: Array<{ peerId: string, credit: number }>
  /** Other done units reopened in this pass because a proven cheater's result was in their canonical group. */
  reopened: string[]
  state: WorkUnitRow['state']
}

export interface ValidatorOptions {
  /** Uniform [0, 1) draws for sampling and spot checks (default: the CSPRNG; tests seed one). */
  random?: () => number
  trust?: TrustSettings
}

/** Arbitrations one validation pass runs at most (each proves at least one result wrong). */
export const MAX_ARBITRATIONS_PER_PASS = 4

function groupKey (def: KernelDef, r: JudgedResultRow): string {
  const digest = toHex(r.output_sha256)
  return def.exact ? digest : `${r.replica_device_class}:${digest}`
}

export class Validator {
  private readonly random: () => number
  private readonly trust?: TrustSettings

  constructor (
    private readonly catalogue: KernelCatalogue,
    private readonly transitioner: Transitioner,
    private readonly ledger: Ledger,
    private readonly context: (tx: RepoTx, wu: WorkUnitRow) => Promise<KernelContext>,
    opts: ValidatorOptions = {}
  ) {
    this.random = opts.random ?? secureRandom
    this.trust = opts.trust
  }

  /**
   * Validate one work unit. Idempotent: running it again changes nothing and grants nothing twice
   * (the ledger refuses a second grant for a replica; a result's hub check is made once). Runs in
   * the caller's write transaction.
   * @param nowMs time of the grants, Unix ms
   * @throws Error for an unknown WU; UnknownKernelError for a kernel outside the catalogue;
   *   whatever the kernel's spotCheck throws (the transaction rolls back)
   */
  async validate (tx: RepoTx, wuId: string, nowMs: number): Promise<ValidationOutcome> {
    const wu = await tx.getWorkUnit(wuId)
    if (wu == null) throw new Error(`unknown work unit ${wuId}`)
    const outcome: ValidationOutcome = { wuId, credited: [], invalidated: [], reversed: [], reopened: [], state: wu.state }
    if (wu.state === 'failed') return outcome
    const def = await this.catalogue.resolve(tx, wu.kernel)
    const job = await tx.getJob(wu.job_id)
    const policy: JobPolicy = job?.policy ?? 'replicate'
    let results = (await tx.resultsForWorkUnit(wuId)).filter(r => r.outcome === 'success')
    // a peer banned for the kernel (proven a cheater, or repeated invalid results) counts for
    // nothing, not even with results it sent before it was caught that still wait for a replica
    const banned = new Set<string>()
    for (const r of results) if (isBanned(await tx.getTrust(r.peer_id, wu.kernel), this.trust)) banned.add(r.peer_id)
    const trustedBefore = new Set<string>()
    for (const r of results) if (isTrusted(await tx.getTrust(r.peer_id, wu.kernel), this.trust)) trustedBefore.add(r.peer_id)

    const judge = async (r: JudgedResultRow, state: ValidateState, verified = false): Promise<void> => {
      if (await this.transitioner.judge(tx, r, state, { kernel: wu.kernel, verified, nowMs }) && state === 'invalid') outcome.invalidated.push(r.id)
    }
    for (const r of results) if (banned.has(r.peer_id) && r.validate_state !== 'invalid' && r.id !== wu.canonical_result_id) await judge(r, 'invalid')
    results = results.filter(r => !banned.has(r.peer_id) || r.id === wu.canonical_result_id)
    const grant = async (r: JudgedResultRow): Promise<void> => {
      // a peer proven a cheater for this kernel earns nothing more, not even for a right answer
      // that was still in flight when it was caught (its earlier grants were reversed then)
      if (isBanned(await tx.getTrust(r.peer_id, wu.kernel), this.trust)) return
      const g = await this.ledger.grant(tx, { peerId: r.peer_id, jobId: wu.job_id, wuId, replicaId: r.replica_id, credit: wu.credit, grantedAtMs: nowMs })
      if (g.created) outcome.credited.push(r.replica_id)
    }

    if (def.certify != null) {
      const ctx = await this.context(tx, wu)
      let canonical = wu.canonical_result_id
      for (const r of results) {
        if (r.validate_state === 'invalid') continue
        if (r.validate_state !== 'valid') {
          const verdict = def.certify(ctx, wu, r.output)
          await judge(r, verdict.ok ? 'valid' : 'invalid', true)
          if (!verdict.ok) continue
        }
        await grant(r)
        if (canonical == null) {
          canonical = r.id
          await this.transitioner.complete(tx, wu, r.id, 1, nowMs)
          outcome.newCanonicalResultId = r.id
          outcome.state = 'done'
        }
      }
      if (canonical == null) outcome.state = await this.transitioner.progress(tx, wu, 0, results.length > 0)
      return outcome
    }

    if (wu.state === 'done') {
      // Late results (and replays): compare with the canonical result; under `adaptive` a new one
      // that differs is refereed against it, and a canonical result proven wrong reopens the unit.
      const canonical = results.find(r => r.id === wu.canonical_result_id)
      if (canonical == null) throw new Error(`work unit ${wuId} is done without a canonical result`)
      const key = groupKey(def, canonical)
      for (const r of results) {
        if (r.validate_state === 'invalid') continue
        if (groupKey(def, r) === key) {
          await judge(r, 'valid')
          await grant(r)
          continue
        }
        if (wu.known_output_sha256 != null && r.validate_state == null) {
          // a ringer: a late answer that differs from the canonical one is checked against the known answer
          if (await this.ringerCheck(tx, wu, def, r, nowMs, outcome)) { await judge(r, 'valid'); await grant(r) }
          continue
        }
        if (policy === 'adaptive' && def.exact && def.arbitrate != null && r.validate_state == null) {
          const v = await this.referee(tx, wu, def, canonical, r, nowMs, outcome)
          if (v?.aWrong === true) {
            // the canonical result was wrong: prove reopened the unit (a kernel without `unfold`
            // keeps it, and the late result waits as inconclusive); validate it as open
            if ((await tx.getWorkUnit(wuId))?.state !== 'open') { await judge(r, 'inconclusive'); continue }
            const again = await this.validate(tx, wuId, nowMs)
            return { ...again, credited: [...outcome.credited, ...again.credited], invalidated: [...outcome.invalidated, ...again.invalidated], reversed: [...outcome.reversed, ...again.reversed], reopened: [...outcome.reopened, ...again.reopened] }
          }
          if (v?.bWrong === true) continue
        }
        await judge(r, 'invalid')
      }
      return outcome
    }

    // Open WU: the hub's own decision about each new result first (once per result).
    if (policy !== 'certify') {
      for (const r of results) {
        if (r.hub_check != null || r.validate_state != null) continue
        const plan = planCheck(policy, def.spotCheck != null, await tx.getTrust(r.peer_id, wu.kernel), this.random, this.trust)
        if (wu.known_output_sha256 != null) {
          // a ringer: every result is checked against the researcher's answer (free), then
          // replicated exactly as any other unit would be, so that nothing about it stands out
          if (!await this.ringerCheck(tx, wu, def, r, nowMs, outcome)) continue
          if (plan.replicate) await this.transitioner.requireReplicas(tx, wu, Math.max(2, job?.quorum ?? 2))
        } else if (plan.spotCheck && def.spotCheck != null) {
          const t0 = performance.now()
          const verdict = await def.spotCheck(await this.context(tx, wu), wu, r.output, this.random)
          await this.transitioner.checkTime(tx, wu.job_id, performance.now() - t0)
          if (verdict.unchecked === true) {
            // the kernel could not check this output (e.g. a unit too long for it): no evidence, so replicate
            await this.transitioner.decided(tx, r, 'replicate')
            await this.transitioner.requireReplicas(tx, wu, Math.max(2, job?.quorum ?? 2))
            continue
          }
          await this.transitioner.spotChecked(tx, wu, r, verdict, nowMs)
          if (!verdict.ok) await this.prove(tx, wu, def, r, nowMs, outcome)
          else if (plan.replicate) await this.transitioner.requireReplicas(tx, wu, Math.max(2, job?.quorum ?? 2))
        } else if (plan.replicate) {
          await this.transitioner.decided(tx, r, 'replicate')
          await this.transitioner.requireReplicas(tx, wu, Math.max(2, job?.quorum ?? 2))
        } else if (policy === 'adaptive') {
          await this.transitioner.decided(tx, r, 'trusted')
        }
      }
      results = results.filter(r => r.validate_state !== 'invalid')
      // results that disagree: the hub referees the two oldest groups' first results until one answer is left
      if (policy === 'adaptive' && def.exact && def.arbitrate != null) {
        for (let round = 0; round < MAX_ARBITRATIONS_PER_PASS; round++) {
          const a = results[0]
          const b = results.find(r => groupKey(def, r) !== groupKey(def, a))
          if (a == null || b == null) break
          const v = await this.referee(tx, wu, def, a, b, nowMs, outcome)
          if (v == null || (!v.aWrong && !v.bWrong)) break
          results = results.filter(r => r.validate_state !== 'invalid')
        }
      }
    }

    // Group the results (each from a distinct peer: one replica per peer).
    const groups = new Map<string, JudgedResultRow[]>()
    for (const r of results) {
      const k = groupKey(def, r)
      const g = groups.get(k)
      if (g == null) groups.set(k, [r])
      else g.push(r)
    }
    let best: JudgedResultRow[] = []
    for (const g of groups.values()) {
      if (g.length > best.length || (g.length === best.length && g.length > 0 && g[0].id < best[0].id)) best = g
    }
    // A result the hub checked (or a trusted peer's, accepted alone) anchors its group, when all anchors agree.
    const anchors = results.filter(r => r.hub_check === 'spot-ok' || r.hub_check === 'trusted')
    const anchorKeys = new Set(anchors.map(r => groupKey(def, r)))
    let canonical: JudgedResultRow | undefined
    // an anchored group still needs the unit's quorum (1, or 2 once a replica was forced)
    if (anchorKeys.size === 1 && (groups.get(groupKey(def, anchors[0]))?.length ?? 0) >= wu.quorum) {
      best = groups.get(groupKey(def, anchors[0])) as JudgedResultRow[]
      canonical = anchors[0]
    } else if (anchorKeys.size === 0 && best.length >= wu.quorum) {
      canonical = best[0]
    }

    if (canonical != null) {
      await this.transitioner.complete(tx, wu, canonical.id, best.length, nowMs)
      const bestIds = new Set(best.map(r => r.id))
      // trust grows only on evidence the peer cannot influence: its own spot check, or a member of
      // its group that the hub checked or that was trusted before this pass
      const evidence = (r: JudgedResultRow): boolean => r.hub_check === 'spot-ok' ||
        best.some(o => o.id !== r.id && (o.hub_check === 'spot-ok' || trustedBefore.has(o.peer_id)))
      for (const r of results) {
        if (bestIds.has(r.id)) {
          await judge(r, 'valid', evidence(r))
          await grant(r)
        } else {
          await judge(r, 'invalid')
        }
      }
      outcome.newCanonicalResultId = canonical.id
      outcome.state = 'done'
      return outcome
    }

    if (groups.size > 1) for (const r of results) await judge(r, 'inconclusive')
    if (anchorKeys.size > 1) await this.transitioner.requireReplicas(tx, wu, best.length + 1)
    outcome.state = await this.transitioner.progress(tx, wu, best.length, results.length > 0)
    return outcome
  }

  /**
   * Check a result of a ringer (a unit whose output SHA-256 its researcher gave the hub) against
   * that answer: recorded like a spot check (no ops: the researcher computed it), and a wrong
   * output is proven (`prove`).
   * @returns true when the output is the known answer
   */
  private async ringerCheck (tx: RepoTx, wu: WorkUnitRow, def: KernelDef, r: JudgedResultRow, nowMs: number, outcome: ValidationOutcome): Promise<boolean> {
    const known = wu.known_output_sha256 as Uint8Array
    const digest = sha256Bytes(r.output)
    const ok = digest.length === known.length && digest.every((b, i) => b === known[i])
    await this.transitioner.spotChecked(tx, wu, r, { ok, reason: ok ? '' : `ringer: output ${toHex(digest).slice(0, 16)}… is not the known answer`, checkedOps: 0 }, nowMs)
    if (!ok) await this.prove(tx, wu, def, r, nowMs, outcome)
    return ok
  }

  /**
   * Referee two differing results `a` and `b` of one unit (`def.arbitrate`): its time is the job's
   * `checked_ms`; each one proven wrong is recorded as a failed check and proven (`prove`).
   * @returns the verdict, null when the kernel found nothing to recompute
   */
  private async referee (tx: RepoTx, wu: WorkUnitRow, def: KernelDef, a: JudgedResultRow, b: JudgedResultRow, nowMs: number, outcome: ValidationOutcome): Promise<ArbitrationVerdict | null> {
    if (def.arbitrate == null) return null
    const t0 = performance.now()
    const v = def.arbitrate(await this.context(tx, wu), wu, a.output, b.output, this.random)
    await this.transitioner.checkTime(tx, wu.job_id, performance.now() - t0)
    if (v == null) return null
    let ops = v.checkedOps
    for (const [r, wrong] of [[a, v.aWrong], [b, v.bWrong]] as const) {
      if (!wrong) continue
      await this.transitioner.spotChecked(tx, wu, r, { ok: false, reason: v.reason, checkedOps: ops }, nowMs)
      ops = 0
      await this.prove(tx, wu, def, r, nowMs, outcome)
    }
    return v
  }

  /**
   * `r` is proven wrong (a failed spot check or a lost arbitration; its trust record already says
   * so): the result is invalid, every grant its peer holds is reversed (ledger.ts), and every done
   * unit of the kernel whose canonical group holds a valid result of that peer is reopened — its
   * result invalid, its canonical output taken back out of the job's (`assimilator.unfold`; a
   * kernel without one keeps its assimilated units), one more agreeing replica wanted.
   */
  private async prove (tx: RepoTx, wu: WorkUnitRow, def: KernelDef, r: JudgedResultRow, nowMs: number, outcome: ValidationOutcome): Promise<void> {
    // read before `r` is judged: a done unit whose canonical result is `r` itself is reopened too
    const units = await tx.doneUnitsWithValidResultOf(r.peer_id, wu.kernel)
    if (await this.transitioner.judge(tx, r, 'invalid', { kernel: wu.kernel, verified: true, nowMs })) outcome.invalidated.push(r.id)
    const rev = await this.ledger.reverse(tx, r.peer_id, nowMs)
    outcome.reversed.push({ peerId: r.peer_id, credit: rev.credit })
    for (const u of units) {
      const results = await tx.resultsForWorkUnit(u.id)
      const mine = results.find(x => x.id === u.result_id)
      const canonical = results.find(x => x.id === u.canonical_result_id)
      if (mine == null || canonical == null) continue
      let unfold: ((output: string) => string) | undefined
      if (u.assimilated !== 0) {
        const job = await tx.getJob(u.job_id)
        const undo = def.assimilator.unfold
        if (undo == null || job == null) continue
        const ctx = await this.context(tx, u)
        // run at the commit, on the job's output as it is then (transitioner.reopen)
        unfold = jobOutput => JSON.stringify(undo(JSON.parse(jobOutput), canonical.output, u, ctx))
      }
      if (mine.validate_state !== 'invalid' && await this.transitioner.judge(tx, mine, 'invalid', { kernel: u.kernel, verified: true, nowMs })) outcome.invalidated.push(mine.id)
      const remaining = results.filter(x => x.id !== mine.id && x.validate_state === 'valid').length
      await this.transitioner.reopen(tx, u, remaining, unfold)
      outcome.reopened.push(u.id)
    }
  }
}
