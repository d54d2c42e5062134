/**
 * Assimilator: folds each work unit's canonical output into its job's output, once, with the
 * kernel's assimilator from the catalogue; the transitioner stores the new output and settles the
 * job (complete once every WU has been folded in), both at the commit, on the job's output as it
 * is then (job-changes.ts). `jobs.output` holds only this output (JSON).
 */
import type { KernelCatalogue, KernelContext } from './catalogue.ts'
import type { RepoTx, WorkUnitRow } from './repository.ts'
import type { Transitioner } from './transitioner.ts'

export class Assimilator {
  constructor (
    private readonly catalogue: KernelCatalogue,
    private readonly transitioner: Transitioner,
    private readonly context: (tx: RepoTx, wu: WorkUnitRow) => Promise<KernelContext>
  ) {}

  /**
   * Fold a done WU's canonical result into its job's output (once; a second call does nothing).
   * Runs in the caller's write transaction.
   * @returns true when the WU was folded in by this call
   * @throws Error when the WU, its canonical result or its job is missing
   */
  async assimilate (tx: RepoTx, wuId: string): Promise<boolean> {
    const wu = await tx.getWorkUnit(wuId)
    if (wu == null) throw new Error(`unknown work unit ${wuId}`)
    if (wu.assimilated !== 0) return false
    if (wu.state !== 'done' || wu.canonical_result_id == null) throw new Error(`work unit ${wuId} has no canonical result`)
    const canonical = await tx.getResult(wu.canonical_result_id)
    if (canonical == null) throw new Error(`canonical result ${wu.canonical_result_id} of ${wuId} is missing`)
    const job = await tx.getJob(wu.job_id)
    if (job == null) throw new Error(`job ${wu.job_id} is missing`)
    const def = await this.catalogue.resolve(tx, wu.kernel)
    const ctx = await this.context(tx, wu)
    const output = canonical.output
    // folded at the commit, into the job's output as it is then (transitioner.assimilated)
    await this.transitioner.assimilated(tx, wu, jobOutput => JSON.stringify(def.assimilator.fold(JSON.parse(jobOutput), output, wu, ctx)))
    return true
  }
}
