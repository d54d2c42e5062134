/**
 * Validator: quorum validation of a work unit's results (BOINC style).
 *
 * Successful results are grouped by output digest (for `exact` kernels across device classes; for
 * other kernels only within one device class, since floating-point outputs differ between GPUs).
 * When a group reaches the WU's quorum its oldest result becomes canonical, the group is `valid`
 * and earns the WU's pre-assigned credit (never the volunteer's claimed time), every other
 * successful result is `invalid` and its sender is marked. Disagreement short of a quorum makes
 * the results `inconclusive`; the scheduler then issues more replicas (`wanted` grows).
 *
 * Results arriving after the WU is done are checked against the canonical result. A
 * `client-error` result is a failed replica: no credit, the WU is reissued.
 *
 * Only the validator grants credit (through the ledger), and only inside the caller's transaction.
 */
import { BadOutputError } from '../protocol/errors.ts'
import { PRIMES_KERNEL_ID, PRIMES_OUTPUT_BYTES } from '../protocol/primes.ts'
import { toHex } from '../protocol/signing.ts'
import type { Ledger } from './ledger.ts'
import type { HubStore, ResultRow, ValidateState, WorkUnitRow } from './store.ts'

/** How a kernel's results are compared and checked. */
export interface ValidationPolicy {
  /**
   * True when the kernel's output is bit-for-bit reproducible on every device (e.g. integer
   * kernels): results from different device classes may then be compared with each other.
   */
  exact: boolean
  /**
   * Shape check of a successful output before it is stored; `wu` is the work unit it answers.
   * @throws BadOutputError (or a subclass naming the problem, e.g. TileShapeError)
   */
  checkOutput: (output: Uint8Array, wu?: WorkUnitRow) => void
  /**
   * Certificate validation (e.g. Freivalds' check of a matrix product): when present, each
   * successful result is judged on its own, with no comparison between replicas: `ok` makes it
   * valid (the first valid one becomes canonical, quorum 1), otherwise it is invalid, its sender
   * is marked and the WU is reissued to another peer. Runs inside the validation transaction.
   */
  certify?: (store: HubStore, wu: WorkUnitRow, output: Uint8Array) => { ok: boolean, reason: string }
}

const policies = new Map<string, ValidationPolicy>()

/** Register (or replace) the validation policy of a kernel id. */
export function registerValidationPolicy (kernelId: string, policy: ValidationPolicy): void {
  policies.set(kernelId, policy)
}

/**
 * The policy of a kernel id.
 * @throws Error for a kernel without a policy
 */
export function validationPolicy (kernelId: string): ValidationPolicy {
  const p = policies.get(kernelId)
  if (p == null) throw new Error(`no validation policy for kernel ${kernelId}`)
  return p
}

registerValidationPolicy(PRIMES_KERNEL_ID, {
  exact: true,
  checkOutput (output) {
    if (output.length !== PRIMES_OUTPUT_BYTES) throw new BadOutputError(`primes output must be ${PRIMES_OUTPUT_BYTES} bytes, got ${output.length}`)
  }
})

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

function groupKey (policy: ValidationPolicy, r: ResultRow): string {
  const digest = toHex(r.output_sha256)
  return policy.exact ? digest : `${r.device_class}:${digest}`
}

/**
 * Validate one work unit. Idempotent: running it again changes nothing and grants nothing twice
 * (the ledger refuses a second grant for a replica). Must run inside a store transaction.
 * @param nowMs time of the grants, Unix ms
 * @throws Error when called outside a transaction or for an unknown WU
 */
export function validateWorkUnit (store: HubStore, ledger: Ledger, wuId: string, nowMs: number): ValidationOutcome {
  store.assertInTransaction('validateWorkUnit')
  const wu = store.getWorkUnit(wuId)
  if (wu == null) throw new Error(`unknown work unit ${wuId}`)
  const outcome: ValidationOutcome = { wuId, credited: [], invalidated: [], state: wu.state }
  const policy = validationPolicy(wu.kernel)
  const results = store.resultsForWorkUnit(wuId).filter(r => r.outcome === 'success')

  const setState = (r: ResultRow, state: ValidateState): void => {
    if (r.validate_state === state) return
    store.run('UPDATE results SET validate_state = ? WHERE id = ?', state, r.id)
    if (state === 'valid') store.bumpPeer(r.peer_id, null, 'valid_results')
    if (state === 'invalid') {
      store.bumpPeer(r.peer_id, null, 'invalid_results')
      outcome.invalidated.push(r.id)
    }
    r.validate_state = state
  }
  const grant = (r: ResultRow): void => {
    const g = ledger.grant({ peerId: r.peer_id, jobId: wu.job_id, wuId, replicaId: r.replica_id, credit: wu.credit, grantedAtMs: nowMs })
    if (g.created) outcome.credited.push(r.replica_id)
  }

  if (wu.state === 'failed') return outcome
  if (policy.certify != null) return certifyWorkUnit(store, wu, results, policy, outcome, setState, grant)

  if (wu.state === 'done') {
    // Late results (and replays): compare with the canonical result.
    const canonical = wu.canonical_result_id == null ? undefined : store.getResult(wu.canonical_result_id)
    if (canonical == null) throw new Error(`work unit ${wuId} is done without a canonical result`)
    const key = groupKey(policy, canonical)
    for (const r of results) {
      if (r.validate_state === 'invalid') continue
      if (groupKey(policy, r) === key) {
        setState(r, 'valid')
        grant(r)
      } else {
        setState(r, 'invalid')
      }
    }
    return outcome
  }

  // Open WU: look for a quorum of agreeing results (each from a distinct peer: one replica per peer).
  const groups = new Map<string, ResultRow[]>()
  for (const r of results) {
    const k = groupKey(policy, r)
    const g = groups.get(k)
    if (g == null) groups.set(k, [r])
    else g.push(r)
  }
  let best: ResultRow[] = []
  for (const g of groups.values()) {
    if (g.length > best.length || (g.length === best.length && g.length > 0 && g[0].id < best[0].id)) best = g
  }

  if (best.length >= wu.quorum) {
    const canonical = best[0]
    store.run(`UPDATE work_units SET state = 'done', canonical_result_id = ?, max_group = ?, has_result = 1, wanted = 0
      WHERE id = ?`, canonical.id, best.length, wuId)
    store.run('UPDATE jobs SET wu_validated = wu_validated + 1 WHERE id = ?', wu.job_id)
    const bestIds = new Set(best.map(r => r.id))
    for (const r of results) {
      if (bestIds.has(r.id)) {
        setState(r, 'valid')
        grant(r)
      } else {
        setState(r, 'invalid')
      }
    }
    outcome.newCanonicalResultId = canonical.id
    outcome.state = 'done'
    return outcome
  }

  if (groups.size > 1) for (const r of results) setState(r, 'inconclusive')
  store.run('UPDATE work_units SET max_group = ?, has_result = ? WHERE id = ?', best.length, results.length > 0 ? 1 : 0, wuId)
  outcome.state = store.refreshNeed(wuId) ?? wu.state
  return outcome
}

/** validateWorkUnit for kernels with a certificate (ValidationPolicy.certify). */
function certifyWorkUnit (store: HubStore, wu: WorkUnitRow, results: ResultRow[], policy: ValidationPolicy, outcome: ValidationOutcome,
  setState: (r: ResultRow, state: ValidateState) => void, grant: (r: ResultRow) => void): ValidationOutcome {
  const certify = policy.certify as NonNullable<ValidationPolicy['certify']>
  let canonical = wu.canonical_result_id
  for (const r of results) {
    if (r.validate_state === 'invalid') continue
    if (r.validate_state !== 'valid') {
      const verdict = certify(store, wu, r.output)
      setState(r, verdict.ok ? 'valid' : 'invalid')
      if (!verdict.ok) continue
    }
    grant(r)
    if (canonical == null) {
      canonical = r.id
      store.run(`UPDATE work_units SET state = 'done', canonical_result_id = ?, max_group = 1, has_result = 1, wanted = 0
        WHERE id = ?`, r.id, wu.id)
      store.run('UPDATE jobs SET wu_validated = wu_validated + 1 WHERE id = ?', wu.job_id)
      outcome.newCanonicalResultId = r.id
      outcome.state = 'done'
    }
  }
  if (canonical == null) {
    store.run('UPDATE work_units SET has_result = ? WHERE id = ?', results.length > 0 ? 1 : 0, wu.id)
    outcome.state = store.refreshNeed(wu.id) ?? wu.state
  }
  return outcome
}
