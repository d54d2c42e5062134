/**
 * Assimilator: folds each work unit's canonical output into its job's output, once, and marks the
 * job complete when every WU has been folded in. A registry keyed by kernel id lets other kernels
 * plug in their own accumulator; the accumulator is stored as JSON in `jobs.output`.
 *
 * primes-sieve/1: the job output is `{ primes: n }`, the sum of the canonical counts.
 */
import { PRIMES_KERNEL_ID, decodePrimesOutput } from '../protocol/primes.ts'
import type { HubStore, WorkUnitRow } from './store.ts'

/** How one kernel's canonical outputs combine into a job output (a JSON-serialisable value). */
export interface KernelAssimilator<T = unknown> {
  /** The job output before any WU is folded in. */
  initial: () => T
  /** Fold one canonical output in. @throws to refuse the output (the transaction rolls back) */
  fold: (acc: T, output: Uint8Array, wu: WorkUnitRow) => T
}

const registry = new Map<string, KernelAssimilator<any>>()

/** Register (or replace) the assimilator of a kernel id. */
export function registerAssimilator<T> (kernelId: string, assimilator: KernelAssimilator<T>): void {
  registry.set(kernelId, assimilator)
}

/** @throws Error for a kernel without an assimilator */
export function assimilatorFor (kernelId: string): KernelAssimilator {
  const a = registry.get(kernelId)
  if (a == null) throw new Error(`no assimilator for kernel ${kernelId}`)
  return a
}

/** JSON of a new job's output for a kernel. @throws Error for an unknown kernel */
export function initialJobOutput (kernelId: string): string {
  return JSON.stringify(assimilatorFor(kernelId).initial())
}

/** Output of a primes job. */
export interface PrimesJobOutput {
  /** Sum of the canonical prime counts of the WUs assimilated so far. */
  primes: number
}

registerAssimilator<PrimesJobOutput>(PRIMES_KERNEL_ID, {
  initial: () => ({ primes: 0 }),
  fold: (acc, output) => ({ primes: acc.primes + decodePrimesOutput(output) })
})

/**
 * Fold a done WU's canonical result into its job's output (once; a second call does nothing) and
 * settle the job. Must run inside a store transaction.
 * @returns true when the WU was folded in by this call
 * @throws Error outside a transaction or when the WU has no canonical result
 */
export function assimilateWorkUnit (store: HubStore, wuId: string): boolean {
  store.assertInTransaction('assimilateWorkUnit')
  const wu = store.getWorkUnit(wuId)
  if (wu == null) throw new Error(`unknown work unit ${wuId}`)
  if (wu.assimilated !== 0) return false
  if (wu.state !== 'done' || wu.canonical_result_id == null) throw new Error(`work unit ${wuId} has no canonical result`)
  const canonical = store.getResult(wu.canonical_result_id)
  if (canonical == null) throw new Error(`canonical result ${wu.canonical_result_id} of ${wuId} is missing`)
  const job = store.getJob(wu.job_id)
  if (job == null) throw new Error(`job ${wu.job_id} is missing`)
  const next = assimilatorFor(wu.kernel).fold(JSON.parse(job.output), canonical.output, wu)
  store.run('UPDATE jobs SET output = ?, wu_assimilated = wu_assimilated + 1 WHERE id = ?', JSON.stringify(next), job.id)
  store.run('UPDATE work_units SET assimilated = 1 WHERE id = ?', wuId)
  store.settleJob(job.id)
  return true
}

/** A job's output, parsed. @throws Error for an unknown job */
export function jobOutput (store: HubStore, jobId: string): unknown {
  const job = store.getJob(jobId)
  if (job == null) throw new Error(`unknown job ${jobId}`)
  return JSON.parse(job.output)
}
