/** Fixtures shared by the hub tests: volunteers with real Ed25519 keys, signed results, a reference sieve. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodePrimesOutput } from '../src/protocol/primes.ts'
import { sha256Bytes, signResult } from '../src/protocol/signing.ts'
import type { Lease, ResultPayload, SignedResult } from '../src/protocol/pb/messages.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface Volunteer { key: PrivateKey, id: string }

export async function volunteer (): Promise<Volunteer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** A successful result claiming `count` primes for `lease`, signed by `v` (fields overridable). */
export async function resultFor (v: Volunteer, lease: Lease, count: number, extra: Partial<ResultPayload> = {}): Promise<SignedResult> {
  const output = encodePrimesOutput(count) as Uint8Array<ArrayBuffer>
  return await signResult({
    replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output,
    outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 10, deviceClass: 'wasm', errorMessage: '', ...extra
  }, v.key)
}

/** Primes in [lo, hi), by a plain sieve of Eratosthenes written here (independent of the kernel). */
export function countPrimes (lo: number, hi: number): number {
  const composite = new Uint8Array(hi)
  let count = 0
  for (let n = 2; n < hi; n++) {
    if (composite[n] === 1) continue
    if (n >= lo) count++
    for (let m = n * n; m < hi; m += n) composite[m] = 1
  }
  return count
}
