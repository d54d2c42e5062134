/**
 * The hub's allowed researchers: a JSON file `{ "allowed": ["12D3KooW...", ...] }` listing the
 * peer ids (Ed25519 keys) whose jobs the hub accepts. Default `<dataDir>/researchers.json`; a
 * missing file allows no one. Re-read on every post so an operator can edit it while the hub runs.
 */
import { existsSync, readFileSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ErrorName } from '../protocol/index.ts'

/** The allowlist file is malformed. */
export class ResearchersFileError extends Error {
  static override readonly name: ErrorName = 'ResearchersFileError'
  override readonly name: ErrorName = 'ResearchersFileError'
  constructor (message: string) { super(message) }
}

/** @throws ResearchersFileError */
export function loadAllowedResearchers (path: string): Set<string> {
  if (!existsSync(path)) return new Set()
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ResearchersFileError(`${path} is not JSON: ${(err as Error).message}`)
  }
  const allowed = (parsed as { allowed?: unknown })?.allowed
  if (!Array.isArray(allowed)) throw new ResearchersFileError(`${path} needs an "allowed" array of peer ids`)
  for (const id of allowed) {
    try {
      if (typeof id !== 'string') throw new Error('not a string')
      peerIdFromString(id)
    } catch {
      throw new ResearchersFileError(`${path}: "${String(id)}" is not a peer id`)
    }
  }
  return new Set(allowed as string[])
}

/** Whether `peer` is allowed; an unreadable file allows nobody (a post reports ResearchersFileError by name). */
export function isAllowedResearcher (path: string, peer: string): boolean {
  try {
    return loadAllowedResearchers(path).has(peer)
  } catch {
    return false
  }
}
