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
 */
import { toHex } from '../protocol/signing.ts'
import type { KernelCatalogue, KernelContext, KernelDef } from './catalogue.ts'
import type { Ledger } from './ledger.ts'
import type { JudgedResultRow, RepoTx, ValidateState, WorkUnitRow } from './repository.ts'
import type { Transitioner } from './transitioner.ts'

/** What one validation pass did. */
export interface ValidationOutcome {
  wuId: string
  /** Set when this pass chose the canonical result (the assimilator should run). */
  newCanonicalResultId?: number
  /** Replica ids that were granted credit in this pass (new ledger entries only). */
  credited: string[]
  /** Result ids that became invalid in this pass. */
  invalidated: number[]
  state: WorkUnitRow['state']
}

function groupKey (def: KernelDef, r: JudgedResultRow): string {
  const digest = toHex(r.output_sha256)
  return def.exact ? digest : `${r.replica_device_class}:${digest}`
}

export class Validator {
  constructor (
    private readonly catalogue: KernelCatalogue,
    private readonly transitioner: Transitioner,
    private readonly ledger: Ledger,
    private readonly context: (tx: RepoTx, wu: WorkUnitRow) => Promise<KernelContext>
  ) {}

  /**
   * Validate one work unit. Idempotent: running it again changes nothing and grants nothing twice
   * (the ledger refuses a second grant for a replica). Runs in the caller's write transaction.
   * @param nowMs time of the grants, Unix ms
   * @throws Error for an unknown WU; UnknownKernelError for a kernel outside the catalogue
   */
  async validate (tx: RepoTx, wuId: string, nowMs: number): Promise<ValidationOutcome> {
    const wu = await tx.getWorkUnit(wuId)
    if (wu == null) throw new Error(`unknown work unit ${wuId}`)
    const outcome: ValidationOutcome = { wuId, credited: [], invalidated: [], state: wu.state }
    if (wu.state === 'failed') return outcome
    const def = await this.catalogue.resolve(tx, wu.kernel)
    const results = (await tx.resultsForWorkUnit(wuId)).filter(r => r.outcome === 'success')

    const judge = async (r: JudgedResultRow, state: ValidateState): Promise<void> => {
      if (await this.transitioner.judge(tx, r, state) && state === 'invalid') outcome.invalidated.push(r.id)
    }
    const grant = async (r: JudgedResultRow): Promise<void> => {
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
          await judge(r, verdict.ok ? 'valid' : 'invalid')
          if (!verdict.ok) continue
        }
        await grant(r)
        if (canonical == null) {
          canonical = r.id
          await this.transitioner.complete(tx, wu, r.id, 1)
          outcome.newCanonicalResultId = r.id
          outcome.state = 'done'
        }
      }
      if (canonical == null) outcome.state = await this.transitioner.progress(tx, wu, 0, results.length > 0)
      return outcome
    }

    if (wu.state === 'done') {
      // Late results (and replays): compare with the canonical result.
      const canonical = results.find(r => r.id === wu.canonical_result_id)
      if (canonical == null) throw new Error(`work unit ${wuId} is done without a canonical result`)
      const key = groupKey(def, canonical)
      for (const r of results) {
        if (r.validate_state === 'invalid') continue
        if (groupKey(def, r) === key) {
          await judge(r, 'valid')
          await grant(r)
        } else {
          await judge(r, 'invalid')
        }
      }
      return outcome
    }

    // Open WU: look for a quorum of agreeing results (each from a distinct peer: one replica per peer).
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

    if (best.length >= wu.quorum) {
      const canonical = best[0]
      await this.transitioner.complete(tx, wu, canonical.id, best.length)
      const bestIds = new Set(best.map(r => r.id))
      for (const r of results) {
        if (bestIds.has(r.id)) {
          await judge(r, 'valid')
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
    outcome.state = await this.transitioner.progress(tx, wu, best.length, results.length > 0)
    return outcome
  }
}
