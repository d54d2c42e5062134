/**
 * Churn: fresh keys that lease every unit they can (16 a request, as fast as the hub lets them) and
 * never do any: `mode` 'release' gives each back with reason `failed` on the next request,
 * 'client-error' reports a client error for it at once.
 */
import type { Strategy } from '../strategy.ts'

export function churn (mode: 'release' | 'client-error'): Strategy {
  return {
    name: `churn-${mode}`,
    cheater: true,
    maxUnits: 16,
    early: true,
    usesTruth: false,
    act: () => mode === 'release' ? { kind: 'release', reason: 'failed' } : { kind: 'client-error', message: 'KernelRunError: out of memory' }
  }
}
