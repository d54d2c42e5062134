/**
 * The hub's long-lived Ed25519 key: its libp2p identity and the key that signs receipts. Kept in
 * `<dataDir>/hub-key.pb` (libp2p protobuf private-key encoding, mode 0600) so a restarted hub keeps
 * its peer id and old receipts stay verifiable.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const HUB_KEY_FILE = 'hub-key.pb'

/** Load the hub key from dataDir, or create and save one. */
export async function loadOrCreateHubKey (dataDir: string): Promise<PrivateKey> {
  mkdirSync(dataDir, { recursive: true })
  const path = join(dataDir, HUB_KEY_FILE)
  if (existsSync(path)) return privateKeyFromProtobuf(readFileSync(path))
  const key = await generateKeyPair('Ed25519')
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}
