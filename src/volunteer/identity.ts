/**
 * The volunteer's identity: an Ed25519 libp2p key kept in IndexedDB. Created on first visit; the
 * same key (and so the same peer id and credit) comes back after a reload.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { VolunteerDb } from './db.ts'
import type { PrivateKey } from '@libp2p/interface'

const IDENTITY_KEY = 'self'

/** Load the stored key, or create and store a new Ed25519 key. */
export async function loadOrCreateIdentity (db: VolunteerDb): Promise<PrivateKey> {
  const stored = await db.get('identity', IDENTITY_KEY)
  if (stored != null) return privateKeyFromProtobuf(stored.privateKey)
  const key = await generateKeyPair('Ed25519')
  // add() (not put) so that two tabs racing on first visit keep one key
  try {
    await db.add('identity', { privateKey: privateKeyToProtobuf(key) }, IDENTITY_KEY)
    return key
  } catch {
    const winner = await db.get('identity', IDENTITY_KEY)
    if (winner == null) throw new Error('could not store the volunteer key in IndexedDB')
    return privateKeyFromProtobuf(winner.privateKey)
  }
}
