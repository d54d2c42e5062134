/**
 * The hub's long-lived Ed25519 key: its libp2p identity and the key that signs receipts. Kept in
 * `<dataDir>/hub-key.pb` (libp2p protobuf private-key encoding, mode 0600) so a restarted hub keeps
 * its peer id and old receipts stay verifiable.
 */
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const HUB_KEY_FILE = 'hub-key.pb'

/** Load the hub key from dataDir, or create and save one. */
export async function loadOrCreateHubKey (dataDir: string): Promise<PrivateKey> {
  return await loadOrCreateKey(dataDir, HUB_KEY_FILE)
}

/** File name of the deployment's ledger key in a shared directory (HubOptions.sharedDir). */
export const LEDGER_KEY_FILE = 'ledger-key.pb'

/**
 * Load the deployment's ledger key from `<sharedDir>/ledger-key.pb`, or create it. Two hubs
 * starting at once on one shared directory get the same key (see loadOrCreateKey).
 */
export async function loadOrCreateLedgerKey (sharedDir: string): Promise<PrivateKey> {
  return await loadOrCreateKey(sharedDir, LEDGER_KEY_FILE)
}

/**
 * The Ed25519 key in `<dir>/<file>`, or a new one saved there (mode 0600). The new key is written
 * whole to a temporary file first and then hard-linked to its name, which fails when the name
 * exists: the file under the name is always complete, and of processes creating it at once every
 * one ends up with the key that was linked first.
 * @throws Error when the file exists but is not a libp2p private key
 */
async function loadOrCreateKey (dir: string, file: string): Promise<PrivateKey> {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, file)
  try {
    return privateKeyFromProtobuf(readFileSync(path))
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  const tmp = join(dir, `.${file}.${randomBytes(8).toString('hex')}.tmp`)
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  try {
    linkSync(tmp, path)
    return key
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err
    return privateKeyFromProtobuf(readFileSync(path))
  } finally {
    rmSync(tmp, { force: true })
  }
}
