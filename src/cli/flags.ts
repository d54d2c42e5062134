/**
 * Parsing and checking of numeric command-line flags. Every error is a one-line message that
 * names the flag; nothing is created before all flags have been checked.
 */
import { InvalidArgumentError } from 'commander'
import type { ErrorName } from '../protocol/index.ts'
import { parseStoreUrl } from '../hub/pg-store.ts'

/**
 * Parse a non-negative integer written as `123`, `1e10`, `10^10` or `2^53`, up to 2^53.
 * @throws InvalidArgumentError (commander prints it with the flag's name)
 */
export function parseBound (value: string): number {
  const text = value.trim().replace(/_/g, '')
  let n: number
  const pow = /^(\d+)\^(\d+)$/.exec(text)
  if (pow != null) n = Number(pow[1]) ** Number(pow[2])
  else if (/^\d+$/.test(text)) {
    // exact: a plain integer just above 2^53 would round down to 2^53 as a Number
    if (BigInt(text) > 2n ** 53n) throw new InvalidArgumentError(`beyond 2^53: '${value}'`)
    n = Number(text)
  } else if (/^\d+(\.\d+)?(e\d+)?$/i.test(text)) n = Number(text)
  else throw new InvalidArgumentError(`not a non-negative number: '${value}'`)
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`not an integer: '${value}'`)
  if (n > 2 ** 53) throw new InvalidArgumentError(`beyond 2^53: '${value}'`)
  return n
}

/** A positive integer (counts, sizes). @throws InvalidArgumentError */
export function parsePositiveInt (value: string): number {
  const n = parseBound(value)
  if (n < 1) throw new InvalidArgumentError(`must be at least 1: '${value}'`)
  return n
}

/** A whole number ≥ 0 (0 = none, e.g. no schedule). @throws InvalidArgumentError */
export function parseNonNegativeInt (value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`not a whole number: '${value}'`)
  return Number(value)
}

/** A TCP port 0..65535 (0 = any free port). @throws InvalidArgumentError */
export function parsePort (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`not a port number: '${value}'`)
  return Number(value)
}

/**
 * `--store`: a PostgreSQL URL (`postgres://user@host/db`, or `postgres://user@/db?host=/socket/dir`).
 * @throws InvalidArgumentError saying what is wrong with it
 */
export function parseStoreFlag (value: string): string {
  try {
    parseStoreUrl(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
  return value
}

export class FlagError extends Error {
  static override readonly name: ErrorName = 'FlagError'
  override readonly name: ErrorName = 'FlagError'
  constructor (readonly flag: string, message: string) {
    super(`${flag}: ${message}`)
  }
}

/** Check that [from, to) is a valid range. @throws FlagError naming the offending flag */
export function checkRangeFlags (from: number, to: number, unit: number): void {
  if (to <= from) throw new FlagError('--to', `must be greater than --from (${from}), got ${to}`)
  if (unit < 1) throw new FlagError('--unit', 'must be at least 1')
}
