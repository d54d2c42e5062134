/**
 * One signed result from a volunteer, from the wire to the ledger: checks, then store, validate,
 * credit and assimilate in ONE repository transaction; the ack is signed once (in libuv's thread
 * pool, started as soon as the result's own signature checked out) and stored with the result
 * (sent only after the commit), so a duplicate gets the stored receipt back (acks stored before
 * schema 3, and those of a result/3.0.0 batch — signed once for the batch just before the commit,
 * `submitBatch` — are signed alone on their first duplicate and kept). A batch's results are accepted at one
 * time, its arrival: the acks' `acceptedAtMs` and the lease-expiry check.
 *
 * Checks, in order: signature (a result of a batch signed once, result/3.0.0, comes with its
 * batch's signature checked: result-api.ts), signer = noise-authenticated remote peer, payload schema, duplicate
 * (answered with the first ack, nothing credited again), replica leased to this peer and in
 * progress, lease not expired, output digest and the kernel's output shape. A rejection writes
 * nothing (the transaction rolls back) and is answered with the error's class name.
 *
 * Group commit (issue 14): `submitBatch` stores many submissions in ONE transaction; a rejected
 * one writes nothing, and when one fails after it wrote the group runs again with each submission
 * in a savepoint of its own, so it is rolled back alone and the others commit; every response is
 * returned only after that commit, so an ack still means durably stored.
 */
import { BadOutputError, LeaseExpiredError, ProtocolError, ReplicaNotLeasedError, SignerMismatchError } from '../protocol/errors.ts'
import { ResultAck, SignedResult } from '../protocol/pb/messages.ts'
import { checkResultPayload } from '../protocol/schema.ts'
import { bytesEqual, decodeResultPayload, sha256Bytes, signReceipt, verifySignedResult } from '../protocol/signing.ts'
import type { Assimilator } from './assimilator.ts'
import type { KernelCatalogue } from './catalogue.ts'
import type { HubRepository } from './repository.ts'
import type { Transitioner } from './transitioner.ts'
import type { Validator } from './validator.ts'
import type { HubReceipt, ResultPayload, ResultResponse } from '../protocol/pb/messages.ts'
import type { RepoTx } from './repository.ts'
import type { SignatureCheck } from '../protocol/signing.ts'
import { signReceiptBatch } from '../protocol/result-batch.ts'
import type { BatchMember } from '../protocol/result-batch.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface SubmissionDeps {
  repo: HubRepository
  catalogue: KernelCatalogue
  transitioner: Transitioner
  validator: Validator
  assimilator: Assimilator
  /** Signs the acks: the deployment's ledger key (a single hub's own key). */
  ledgerKey: PrivateKey
  /** How result signatures are checked (default the signer key's own verify). */
  checkSignature?: SignatureCheck
  /** Clock, Unix ms. */
  now: () => number
  /** Called for every ack signature made (`grant`: a new result; `lazy`: an old ack without one). */
  onAckSigned?: (when: 'grant' | 'lazy') => void
  /** Called when a group runs again with a savepoint a submission (submitBatch: one failed after it wrote). */
  onRedo?: () => void
}

function ackReceipt (ack: Uint8Array, signature: Uint8Array): HubReceipt {
  return { body: ack as Uint8Array<ArrayBuffer>, bodyHash: sha256Bytes(ack) as Uint8Array<ArrayBuffer>, signature: signature as Uint8Array<ArrayBuffer>, proof: [] }
}

function response (status: 'accepted' | 'duplicate', ack: HubReceipt): ResultResponse {
  return { status, error: '', message: '', ack, credits: [], creditsUpTo: 0, ledgerSalt: new Uint8Array(0) }
}

/**
 * One submission as it came: the authenticated remote peer and the result, signed alone
 * (result/1.x, 2.0.0: `signed`, checked here) or a member of a batch signed once whose signature
 * was checked already (result/3.0.0: `member` of `signerPeerId`, protocol/result-batch.ts).
 */
export type Submission = { remotePeerId: string } & ({
  signed: SignedResult
  /** Output cap of the protocol version it came over, in bytes (default result/1.0.0's). */
  maxOutputBytes?: number
} | {
  member: BatchMember
  /** The batch's signer (its signature checked). */
  signerPeerId: string
})

/** What the result's row keeps as its evidence (`signed`): the SignedResult, or the BatchSignedResult. */
function evidenceOf (s: Submission): Uint8Array {
  return 'signed' in s ? SignedResult.encode(s.signed) : s.member.evidence()
}

function rejection (err: ProtocolError): ResultResponse {
  return { status: 'rejected', error: err.name, message: err.message, credits: [], creditsUpTo: 0, ledgerSalt: new Uint8Array(0) }
}

/** A submission past the checks that need no store, with its ack already being signed. */
interface CheckedSubmission {
  payload: ResultPayload
  signerPeerId: string
  /** When it is accepted, Unix ms: the batch's arrival (the ack's `acceptedAtMs`, the lease-expiry check). */
  now: number
  /** The encoded ResultAck it gets if the store accepts it. */
  ack: Uint8Array<ArrayBuffer>
  /** Its ack's receipt, being signed in libuv's thread pool (ed25519-keys.ts); none for a member of a signed batch (its batch's acks are signed once, before the commit: submitBatch). */
  signing?: Promise<HubReceipt>
}

/**
 * The checks that need no store: signature, signer = remote peer, payload schema. A submission
 * that passes has its ack signed from here on, side by side with the batch's others, before the
 * store is reached (the ack holds only fields of the payload, checked against the replica in the
 * store, and `now`); one the store then rejects or finds a duplicate wastes that signature, at most
 * one per validly signed result the peer's result rate lets in.
 * @throws ProtocolError (MalformedMessageError, BadSignatureError, SignerMismatchError, …)
 */
async function checkSubmission (deps: SubmissionDeps, s: Submission, now: number): Promise<CheckedSubmission> {
  const { payload, signerPeerId } = 'signed' in s
    ? await verifySignedResult(s.signed, deps.checkSignature)
    : { payload: decodeResultPayload(s.member.payload), signerPeerId: s.signerPeerId }
  if (signerPeerId !== s.remotePeerId) throw new SignerMismatchError(`result signed by ${signerPeerId}, not by the remote peer ${s.remotePeerId}`)
  checkResultPayload(payload, 'signed' in s ? s.maxOutputBytes : undefined)
  const ack = ResultAck.encode({
    replicaId: payload.replicaId, wuId: payload.wuId, peerId: signerPeerId, outputSha256: payload.outputSha256, acceptedAtMs: now
  }) as Uint8Array<ArrayBuffer>
  if (!('signed' in s)) return { payload, signerPeerId, now, ack }
  const signing = signReceipt(ack, deps.ledgerKey)
  deps.onAckSigned?.('grant')
  // awaited only when the store accepts it
  signing.catch(() => {})
  return { payload, signerPeerId, now, ack, signing }
}

/**
 * Store, validate, credit and assimilate one checked submission in `tx`. An impossible output
 * (proof of cheating) is reported to `onImpossible` before its BadOutputError is thrown.
 * @throws ProtocolError for a rejection (the caller rolls its writes back)
 */
async function storeSubmission (deps: SubmissionDeps, tx: RepoTx, c: CheckedSubmission, evidence: () => Uint8Array, onImpossible: (kernel: string) => void, onWrite: () => void): Promise<ResultResponse> {
  const { payload, signerPeerId, now } = c
  const earlier = await tx.ackFor(payload.replicaId, signerPeerId)
  if (earlier != null) {
    if (earlier.ack_signature != null) return response('duplicate', ackReceipt(earlier.ack, earlier.ack_signature))
    const receipt = await signReceipt(earlier.ack as Uint8Array<ArrayBuffer>, deps.ledgerKey)
    deps.onAckSigned?.('lazy')
    onWrite()
    await tx.setAckSignature(payload.replicaId, receipt.signature)
    return response('duplicate', receipt)
  }
  const replica = await tx.getReplica(payload.replicaId)
  if (replica == null || replica.peer_id !== signerPeerId || replica.wu_id !== payload.wuId) {
    throw new ReplicaNotLeasedError(`replica ${payload.replicaId} of ${payload.wuId} is not leased to ${signerPeerId}`)
  }
  if (replica.released !== 0) throw new ReplicaNotLeasedError(`replica ${replica.id} was released`)
  if (now >= replica.expires_at_ms) throw new LeaseExpiredError(`lease of ${replica.id} expired at ${replica.expires_at_ms}`)
  if (replica.state !== 'in-progress') throw new ReplicaNotLeasedError(`replica ${replica.id} is ${replica.state}`)
  const wu = await tx.getWorkUnit(replica.wu_id)
  if (wu == null) throw new ReplicaNotLeasedError(`work unit ${replica.wu_id} is missing`)
  if (payload.outcome === 'success') {
    if (!bytesEqual(sha256Bytes(payload.output), payload.outputSha256)) throw new BadOutputError('outputSha256 is not the sha-256 of output')
    try {
      ;(await deps.catalogue.resolve(tx, wu.kernel)).checkOutput(payload.output, wu)
    } catch (err) {
      if (err instanceof BadOutputError && err.proof) onImpossible(wu.kernel)
      throw err
    }
  }
  // the ack's fields are the payload's, checked equal to the replica's just above
  const { ack } = c
  const receipt = c.signing != null ? await c.signing : undefined
  // every rejection is thrown above, before the first write (submitBatch relies on it)
  onWrite()
  await deps.transitioner.recordResult(tx, replica, {
    replica_id: replica.id, wu_id: wu.id, job_id: wu.job_id, peer_id: signerPeerId, outcome: payload.outcome as 'success' | 'client-error',
    output: payload.output, output_sha256: payload.outputSha256, elapsed_ms: payload.elapsedMs, device_class: payload.deviceClass,
    error_message: payload.errorMessage, received_at_ms: now, signed: evidence(), ack, ack_signature: receipt?.signature ?? null
  })
  const v = await deps.validator.validate(tx, wu.id, now)
  if (v.newCanonicalResultId != null) await deps.assimilator.assimilate(tx, wu.id)
  // a batch member's ack goes out unsigned from here: its batch signs them all at once
  return response('accepted', receipt ?? ackReceipt(ack, new Uint8Array(0)))
}

/**
 * Submit many signed results in ONE repository transaction (group commit): a rejection, or an
 * internal failure of one, rolls back only its own writes. An impossible output (proof of
 * cheating) stores nothing of it but bans its sender for the kernel (trust.ts isBanned), in the
 * same transaction. `credits` of each response are left empty (HubCore.creditsFor fills them).
 *
 * The group is tried first without savepoints: every rejection is thrown before the submission's
 * first write (storeSubmission), so a refused one has nothing to roll back, and the group's
 * work-unit writes merge across its submissions (SQLite, deferred-unit-writes.ts) and its writes
 * pipeline without a savepoint's round trips (PostgreSQL). Only when a submission fails after it
 * wrote, or the transaction fails, does the group run again with each submission in a savepoint
 * of its own (the acks already signed are reused), so one failure rolls back alone.
 * @returns per submission, in order: its response, or the Error of an internal failure (e.g. the
 *   database); all are returned after the commit
 * @throws only when the transaction itself fails (e.g. COMMIT) in the second run too: then
 *   nothing of the batch is stored
 */
export async function submitBatch (deps: SubmissionDeps, batch: readonly Submission[]): Promise<Array<ResultResponse | Error>> {
  const out: Array<ResultResponse | Error> = new Array(batch.length)
  const now = deps.now()
  // signatures checked and acks signed side by side (both in libuv's thread pool), in order kept
  const checks = await Promise.all(batch.map(async (s, i) => {
    try {
      return { i, ...await checkSubmission(deps, s, now) }
    } catch (err) {
      out[i] = err instanceof ProtocolError ? rejection(err) : err as Error
      return undefined
    }
  }))
  const checked = checks.filter(c => c != null)
  if (checked.length === 0) return out
  const store = async (tx: RepoTx, savepoints: boolean): Promise<void> => {
    await tx.lockForSubmissions(checked.map(c => ({ replicaId: c.payload.replicaId, peerId: c.signerPeerId })))
    // the accepted members of each signed batch: their acks are signed together before the commit
    const unsigned = new Map<object, number[]>()
    for (const c of checked) {
      let impossible: string | undefined
      let wrote = false
      const run = async (): Promise<ResultResponse> => await storeSubmission(deps, tx, c, () => evidenceOf(batch[c.i]), kernel => { impossible = kernel }, () => { wrote = true })
      try {
        const res = out[c.i] = savepoints ? await tx.savepoint(run) : await run()
        const s = batch[c.i]
        if (res.status === 'accepted' && 'member' in s) {
          const indices = unsigned.get(s.member.batch) ?? []
          indices.push(c.i)
          unsigned.set(s.member.batch, indices)
        }
      } catch (err) {
        // the first try: a failure after a write ends it (the group runs again, with savepoints)
        if (!savepoints && (wrote || !(err instanceof ProtocolError))) throw err
        if (!(err instanceof ProtocolError)) { out[c.i] = err as Error; continue }
        if (impossible != null) await tx.addToTrust(c.signerPeerId, impossible, { invalid_results: 1, spot_failures: 1 }, 'reset', deps.now())
        out[c.i] = rejection(err)
      }
    }
    if (unsigned.size === 0) return
    // in libuv's thread pool, side by side with the ledger's receipts (ledger.ts), before COMMIT
    tx.beforeCommit(async () => {
      await Promise.all([...unsigned.values()].map(async indices => {
        const accepted = indices.map(i => out[i] as ResultResponse)
        const receipts = await signReceiptBatch(accepted.map(r => (r.ack as HubReceipt).body), deps.ledgerKey)
        accepted.forEach((r, k) => { r.ack = receipts[k] })
        deps.onAckSigned?.('grant')
      }))
    })
  }
  try {
    await deps.repo.transaction(async tx => { await store(tx, false) })
  } catch {
    deps.onRedo?.()
    await deps.repo.transaction(async tx => { await store(tx, true) })
  }
  return out
}

/**
 * Submit one signed result from `remotePeerId` (a batch of one). `maxOutputBytes`: the output cap
 * of the protocol version it came over. `credits` is left empty (HubCore.creditsFor fills it).
 * @throws only on internal failures (e.g. the database), never for a bad submission
 */
export async function submitResult (deps: SubmissionDeps, remotePeerId: string, signed: SignedResult, maxOutputBytes?: number): Promise<ResultResponse> {
  const [res] = await submitBatch(deps, [{ remotePeerId, signed, maxOutputBytes }])
  if (res instanceof Error) throw res
  return res
}
