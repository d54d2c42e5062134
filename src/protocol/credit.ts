/**
 * Credit amounts (issue 10): an integer number of base units, never a float. A credit is
 * CREDIT_UNITS_PER_CREDIT = 10^9 base units (nine decimals: the 1e-9 credit that work units were
 * already priced in, work-generator.ts `creditFor`). Amounts are JS numbers, so one entry or one
 * balance holds at most 2^53 units (about 9 million credits); the wire type (sint64) holds more. Ledger entries of version 2 carry `creditUnits`; entries before it
 * (version 0) carried a double `credit`, read here as that amount rounded to base units, once.
 * Sums are taken over base units and shown as credit (units / 10^9) only for display.
 */
import type { CreditEntry } from './pb/messages.ts'

/** Base units in one credit. */
export const CREDIT_UNITS_PER_CREDIT = 1_000_000_000
/** The CreditEntry version whose amount is `creditUnits`. */
export const CREDIT_ENTRY_VERSION = 2

/**
 * A credit amount as base units (rounded to the nearest unit).
 * @throws RangeError for a non-finite amount or one beyond ±2^53 units
 */
export function toCreditUnits (credit: number): number {
  const units = Math.round(credit * CREDIT_UNITS_PER_CREDIT)
  if (!Number.isSafeInteger(units)) throw new RangeError(`credit ${credit} is not a representable amount of base units`)
  return units
}

/** Base units as credit, for display (the nearest double to units / 10^9). */
export function fromCreditUnits (units: number): number {
  return units / CREDIT_UNITS_PER_CREDIT
}

/** An entry's amount in base units, whatever its version. */
export function creditUnitsOf (entry: Pick<CreditEntry, 'version' | 'credit' | 'creditUnits'>): number {
  return entry.version >= CREDIT_ENTRY_VERSION ? entry.creditUnits : toCreditUnits(entry.credit)
}

/** An entry's amount as credit (display). */
export function creditOf (entry: Pick<CreditEntry, 'version' | 'credit' | 'creditUnits'>): number {
  return fromCreditUnits(creditUnitsOf(entry))
}
