/**
 * `sparecycles verify-statement <file> [--hub <url>]`: check a volunteer's credit statement
 * against the hub's public key (derived from the hub's Ed25519 peer id in the file) — or against
 * the ledger key the file names, once the hub's delegation to it verifies — without trusting the
 * page that wrote it. A delegation the hub did not sign: NOT VERIFIED (BadLedgerDelegationError), exit 1. With --hub, also re-walk the hub's whole ledger chain
 * (`/api/ledger`) and report receipts the statement leaves out. See src/protocol/statement.ts for
 * exactly what is checked.
 */
import { readFileSync } from 'node:fs'
import { fetchLedger } from '../hub/statement-api.ts'
import { BadLedgerDelegationError } from '../protocol/errors.ts'
import { StatementFormatError, formatStatementReport, verifyStatement } from '../protocol/statement.ts'
import type { StatementReport } from '../protocol/statement.ts'

/** Exit codes: 0 verified, 1 not verified, 2 unreadable file or ledger. */
export type VerifyExitCode = 0 | 1 | 2

/**
 * Verify a statement file and write the entry-by-entry report to `out`.
 * @param opts.hub the hub's HTTP base URL for the full chain walk (optional)
 * @returns the exit code and the report (absent when the file could not be read)
 */
export async function runVerifyStatement (file: string, opts: { hub?: string, out: (line: string) => void, signal?: AbortSignal }): Promise<{ code: VerifyExitCode, report?: StatementReport }> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    opts.out(`cannot read ${file}: ${(err as Error).message}`)
    return { code: 2 }
  }
  let ledger: Uint8Array[] | undefined
  if (opts.hub != null) {
    try {
      ledger = await fetchLedger(opts.hub, opts.signal)
    } catch (err) {
      opts.out(`cannot fetch the hub's ledger: ${(err as Error).message}`)
      return { code: 2 }
    }
  }
  try {
    const report = await verifyStatement(text, ledger)
    opts.out(formatStatementReport(report))
    return { code: report.ok ? 0 : 1, report }
  } catch (err) {
    if (err instanceof StatementFormatError) {
      opts.out(`not a valid statement: ${err.message}`)
      return { code: 2 }
    }
    if (err instanceof BadLedgerDelegationError) {
      opts.out(`NOT VERIFIED: ${err.name}: ${err.message}`)
      return { code: 1 }
    }
    throw err
  }
}
