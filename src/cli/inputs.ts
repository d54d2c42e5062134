/**
 * Work-unit inputs for researcher commands, from a file or a generator.
 *
 * File (JSON): `{ "workUnits": [ {"u64": [1, 10000]}, {"hex": "00ff"}, {"base64": "AP8="}, {"utf8": "text"} ] }`
 * — each entry is one work unit's input bytes (`u64`: the numbers as little-endian u64s).
 * Generator: `range:FROM:TO:STEP` — work units [lo, min(lo + STEP, TO)) as two u64 LE each; the
 * numbers are written as the demo's flags are (`123`, `1e7`, `10^7`, `2^53`: parseBound).
 * Anything of the form `word:…` that is not an existing file is read as a generator.
 */
import { existsSync, readFileSync } from 'node:fs'
import { InvalidArgumentError } from 'commander'
import { didYouMean } from '../protocol/suggest.ts'
import { parseBound } from './flags.ts'
import type { ErrorName } from '../protocol/index.ts'

/** The inputs file or generator is malformed. */
export class InputsError extends Error {
  static override readonly name: ErrorName = 'InputsError'
  override readonly name: ErrorName = 'InputsError'
  constructor (message: string) { super(message) }
}

/** Most work units one job may post. */
export const MAX_POSTED_WORK_UNITS = 100_000

function u64le (values: unknown[]): Uint8Array {
  const out = new Uint8Array(values.length * 8)
  const view = new DataView(out.buffer)
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InputsError(`u64 values must be non-negative safe integers, got ${String(v)}`)
    view.setBigUint64(i * 8, BigInt(v), true)
  })
  return out
}

function entryBytes (entry: unknown, index: number): Uint8Array {
  if (typeof entry !== 'object' || entry == null) throw new InputsError(`workUnits[${index}] must be an object`)
  const e = entry as Record<string, unknown>
  if (Array.isArray(e.u64)) return u64le(e.u64)
  if (typeof e.hex === 'string') {
    if (!/^([0-9a-fA-F]{2})*$/.test(e.hex)) throw new InputsError(`workUnits[${index}].hex is not hex`)
    return Uint8Array.from(e.hex.match(/../g) ?? [], h => parseInt(h, 16))
  }
  if (typeof e.base64 === 'string') return Uint8Array.from(Buffer.from(e.base64, 'base64'))
  if (typeof e.utf8 === 'string') return new TextEncoder().encode(e.utf8)
  throw new InputsError(`workUnits[${index}] needs one of u64, hex, base64, utf8`)
}

/** The generators an inputs spec may name, with the parts each takes. */
const GENERATORS: Readonly<Record<string, readonly string[]>> = { range: ['FROM', 'TO', 'STEP'] }

/**
 * Work units of a generator spec `name:ARG:…` (only `range:FROM:TO:STEP` so far).
 * @throws InputsError naming the wrong part: an unknown generator (with the closest known name), a
 *   missing or extra part, a part that is not a number, FROM >= TO, or too many units
 */
function generate (spec: string): Uint8Array[] {
  const [name, ...args] = spec.split(':')
  const parts = GENERATORS[name]
  if (parts == null) throw new InputsError(`unknown generator '${name}'${didYouMean(name, Object.keys(GENERATORS))} (generators: ${Object.entries(GENERATORS).map(([n, p]) => [n, ...p].join(':')).join(', ')}; or give an inputs file)`)
  const form = [name, ...parts].join(':')
  if (args.length < parts.length) throw new InputsError(`${form}: ${parts[args.length]} is missing in '${spec}'`)
  if (args.length > parts.length) throw new InputsError(`${form}: '${spec}' has ${args.length} parts after ${name}:, not ${parts.length}`)
  const [from, to, step] = args.map((arg, i) => {
    try {
      return parseBound(arg)
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InputsError(`${form}: ${parts[i]}: ${err.message} in '${spec}'`)
      throw err
    }
  })
  if (!(from < to)) throw new InputsError(`${form}: FROM (${from}) must be less than TO (${to}) in '${spec}'`)
  if (step < 1) throw new InputsError(`${form}: STEP must be at least 1 in '${spec}'`)
  if ((to - from) / step > MAX_POSTED_WORK_UNITS) throw new InputsError(`generator ${spec} makes more than ${MAX_POSTED_WORK_UNITS} work units`)
  const units: Uint8Array[] = []
  for (let lo = from; lo < to; lo += step) units.push(u64le([lo, Math.min(lo + step, to)]))
  return units
}

/**
 * Read work-unit inputs from a JSON file or a generator such as `range:FROM:TO:STEP` (`field`
 * names the file's array: `workUnits` for inputs, `outputs` for expected outputs). A spec of the
 * form `word:…` that is not an existing file is a generator.
 * @returns one byte array per work unit
 * @throws InputsError naming what is wrong (missing file, bad JSON, bad entry, too many units, the
 *   part of a generator that is wrong)
 */
export function loadInputs (spec: string, field = 'workUnits'): Uint8Array[] {
  if (/^[a-z]+:/.test(spec) && !existsSync(spec)) return generate(spec)
  let text: string
  try {
    text = readFileSync(spec, 'utf8')
  } catch (err) {
    throw new InputsError(`cannot read inputs file ${spec}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new InputsError(`inputs file ${spec} is not JSON: ${(err as Error).message}`)
  }
  const units = (parsed as Record<string, unknown> | null)?.[field]
  if (!Array.isArray(units) || units.length === 0) throw new InputsError(`${spec} needs a non-empty "${field}" array`)
  if (units.length > MAX_POSTED_WORK_UNITS) throw new InputsError(`inputs file ${spec} has more than ${MAX_POSTED_WORK_UNITS} work units`)
  return units.map((entry, i) => entryBytes(entry, i))
}

/** Print form of an output: u64 list or hex. */
export function formatOutput (bytes: Uint8Array, format: string): string {
  if (format === 'u64le' && bytes.length % 8 === 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const values: string[] = []
    for (let i = 0; i < bytes.length; i += 8) values.push(view.getBigUint64(i, true).toString())
    return `[${values.join(', ')}]`
  }
  return Buffer.from(bytes).toString('hex')
}
