/**
 * The researcher's Ed25519 key, which signs kernel manifests and jobs. Kept as a libp2p protobuf
 * private key in a file of mode 0600 (default `~/.sparecycles/researcher.key`); its peer id is what
 * a hub operator lists in the hub's allowed-researchers file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { ErrorName } from '../protocol/index.ts'

export const DEFAULT_RESEARCHER_KEY = join(homedir(), '.sparecycles', 'researcher.key')

/** The key file is missing, unreadable, readable by others, or not a key. */
export class ResearcherKeyError extends Error {
  static override readonly name: ErrorName = 'ResearcherKeyError'
  override readonly name: ErrorName = 'ResearcherKeyError'
  constructor (message: string) { super(message) }
}

/**
 * Create a key at `path`, or keep the one already there (never overwritten).
 * @returns the key's peer id, and whether it was made now (`created: false`: it existed)
 * @throws ResearcherKeyError when the file there is not a key or is readable by others (loadResearcherKey)
 */
export async function initResearcherKey (path = DEFAULT_RESEARCHER_KEY): Promise<{ peerId: string, created: boolean }> {
  if (existsSync(path)) return { peerId: peerIdFromPrivateKey(loadResearcherKey(path)).toString(), created: false }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 })
  chmodSync(path, 0o600)
  return { peerId: peerIdFromPrivateKey(key).toString(), created: true }
}

/** @throws ResearcherKeyError */
export function loadResearcherKey (path = DEFAULT_RESEARCHER_KEY): PrivateKey {
  if (!existsSync(path)) throw new ResearcherKeyError(`no researcher key at ${path}: run \`sparecycles key init\``)
  if ((statSync(path).mode & 0o077) !== 0) throw new ResearcherKeyError(`${path} is readable by other users; chmod 600 it`)
  try {
    return privateKeyFromProtobuf(readFileSync(path))
  } catch {
    throw new ResearcherKeyError(`${path} is not a researcher key`)
  }
}
