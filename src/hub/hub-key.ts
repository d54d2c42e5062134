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

/** File name of the deployment's ledger key in a shared directory (HubOptions.sharedDir). */
export const LEDGER_KEY_FILE = 'ledger-key.pb'

/**
 * Load the deployment's ledger key from `<sharedDir>/ledger-key.pb`, or create it. Two hubs
 * starting at once on one shared directory get the same key: the file is created exclusively and
 * the loser of the race reads the winner's.
 */
export async function loadOrCreateLedgerKey (sharedDir: string): Promise<PrivateKey> {
  mkdirSync(sharedDir, { recursive: true })
  const path = join(sharedDir, LEDGER_KEY_FILE)
  if (existsSync(path)) return privateKeyFromProtobuf(readFileSync(path))
  const key = await generateKeyPair('Ed25519')
  try {
    writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    return key
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err
    return privateKeyFromProtobuf(readFileSync(path))
  }
}
