/**
 * What contributing may cost the visitor, before Start: the cores kept busy at the chosen share
 * (the governor's plan), an ESTIMATE of the power, electricity, heat and battery that takes (from
 * typical per-core figures, not a measurement of this device), and the network traffic MEASURED by
 * `npm run demo` (the page shows its own measured traffic beside it once it has run, traffic.ts).
 */
import type { GovernorState } from './governor.ts'

/**
 * Typical power of one busy logical core, in watts, low and high: a processor's rated power divided
 * by its hardware threads. Low: Intel Core i5-1235U (a common laptop chip), Processor Base Power
 * 15 W over 12 threads = 1.25 W (Intel ARK). High: AMD Ryzen 5 5600X (a common desktop chip),
 * default TDP 65 W over 12 threads = 5.4 W (AMD's product page). Typical figures, not a
 * measurement of this device: turbo can exceed rated power, and an idle machine draws some already.
 */
export const WATTS_PER_BUSY_CORE = { low: 1.25, high: 65 / 12 } as const

/** Capacity of a common laptop battery, in watt-hours (for "% of a battery an hour"). */
export const TYPICAL_BATTERY_WH = 50

/**
 * The network traffic `npm run demo` measured: bytes the volunteers' pages counted on their
 * protocol streams (sent + received, traffic.ts), per volunteer-hour contributing and per replica
 * (one unit's lease, result and receipt). Measured 2026-12-01 with `npm run demo -- --from 0 --to
 * 1e9 --unit 1e8 --volunteers 2` (summary: networkBytes 278,899 over volunteerMs 89,986 =
 * 11,157,696 B/h; 13,945 B per replica; load average 5.2-5.5 on the 2-core machine, the job took
 * 50 s). The rate an hour follows the units an hour: an earlier run the same day at load 3.4-5.9
 * finished in 6 s and measured 149,881,158 B/h with 12,507 B per replica. See README's figures.
 */
export const DEMO_NETWORK = {
  bytesPerVolunteerHour: 11_157_696,
  bytesPerReplica: 13_945,
  command: 'npm run demo -- --from 0 --to 1e9 --unit 1e8 --volunteers 2',
  date: '2026-12-01'
} as const

/** An estimate of what the chosen CPU share costs per hour, each figure low and high. */
export interface CostEstimate {
  /** Logical cores of the machine. */
  cores: number
  /** The CPU share chosen, 0.1-1. */
  cpuShare: number
  /** Workers the share calls for. */
  workers: number
  /** Fraction of wall time each worker computes, (0, 1]. */
  dutyCycle: number
  /** Cores kept busy: workers × duty cycle (= the share reached × cores). */
  busyCores: number
  /** Extra power while it runs, watts: busyCores × WATTS_PER_BUSY_CORE (all of it ends as heat). */
  watts: { low: number, high: number }
  /** Electricity an hour, watt-hours (= watts × 1 h). */
  whPerHour: { low: number, high: number }
  /** Share of a TYPICAL_BATTERY_WH battery an hour on battery power, percent. */
  batteryPercentPerHour: { low: number, high: number }
}

/** The cost estimate of the governor's plan (its share, workers and duty cycle). GPU power is not included. */
export function estimateCost (g: Pick<GovernorState, 'cores' | 'cpuShare' | 'plannedWorkers' | 'dutyCycle'>): CostEstimate {
  const busyCores = g.plannedWorkers * g.dutyCycle
  const watts = { low: busyCores * WATTS_PER_BUSY_CORE.low, high: busyCores * WATTS_PER_BUSY_CORE.high }
  return {
    cores: g.cores,
    cpuShare: g.cpuShare,
    workers: g.plannedWorkers,
    dutyCycle: g.dutyCycle,
    busyCores,
    watts,
    whPerHour: { ...watts },
    batteryPercentPerHour: { low: 100 * watts.low / TYPICAL_BATTERY_WH, high: 100 * watts.high / TYPICAL_BATTERY_WH }
  }
}
