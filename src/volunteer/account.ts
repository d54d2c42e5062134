/**
 * The visitor's account operations: key backup (export / import a passphrase-protected key file,
 * key-backup.ts) and credit statements (build from the stored receipts, verify any statement;
 * src/protocol/statement.ts).
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ledgerPeerIdOf } from '../protocol/ledger-key.ts'
import { buildStatement, verifyStatement } from '../protocol/statement.ts'
import { ImportBlockedError, exportKeyFile, importKeyFile } from './key-backup.ts'
import type { PayoutClaimTx } from './payout.ts'
import type { StatementReport, StatementV1 } from '../protocol/statement.ts'
import type { StoredCredit } from './db.ts'
import type { VolunteerStore } from './store.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface AccountOptions {
  store: Pick<VolunteerStore, 'outboxCount' | 'replaceIdentity' | 'credits' | 'getMeta'>
  key: PrivateKey
  peerId: string
  /** The hub's peer id once known, else null. */
  hubPeerId: () => string | null
  /** Stop work and shut this client down before an imported key replaces the current one. */
  shutDown: () => Promise<void>
}

export class Account {
  constructor (private readonly opts: AccountOptions) {}

  /**
   * The identity key as a passphrase-protected key file (JSON text; see key-backup.ts).
   * @throws WeakPassphraseError for a passphrase under 8 characters
   */
  async exportKey (passphrase: string): Promise<string> {
    return await exportKeyFile(this.opts.key, passphrase)
  }

  /**
   * Replace this browser's identity with the key in a key file. The file is decrypted and checked
   * first: on any error the current key is kept. Then work stops, leases are released, and the
   * key, acks and receipts of the old identity are replaced; reload the page to run as the new
   * peer id (it re-fetches that peer's receipts from the hub).
   * @returns the imported peer id
   * @throws KeyFileFormatError, KeyFileVersionError, WrongPassphraseError, KeyMismatchError from key-backup.ts
   * @throws ImportBlockedError while results signed by the current key wait in the outbox
   */
  async importKey (fileText: string, passphrase: string): Promise<string> {
    const key = await importKeyFile(fileText, passphrase)
    const pending = await this.opts.store.outboxCount()
    if (pending > 0) throw new ImportBlockedError(pending)
    await this.opts.shutDown()
    await this.opts.store.replaceIdentity(key)
    return peerIdFromPrivateKey(key).toString()
  }

  /**
   * A credit statement of every hub-signed receipt this browser holds for the current hub — with
   * those fetched through other hubs of its deployment, signed by the same ledger key — and the
   * ledger key it presented and its delegation when that is not the hub's own key.
   * @param hubPeerId the hub (default: the page's own hub)
   * @throws Error before the hub is known
   */
  async creditStatement (hubPeerId?: string): Promise<StatementV1> {
    const hub = hubPeerId ?? this.opts.hubPeerId()
    if (hub == null) throw new Error('not connected to a hub yet: its peer id is unknown')
    const salt = (await this.opts.store.getMeta('ledgerSalts'))?.[hub]
    // the ledger key this hub presented and its delegation (receipts.ts keeps them), so an auditor can check them against the hub's peer id
    const ledgerKey = (await this.opts.store.getMeta('ledgerKeys'))?.[hub]
    const ledgerPeerId = ledgerKey == null ? undefined : ledgerPeerIdOf(ledgerKey.ledgerKey)
    // this hub's receipts, and those fetched through another hub of its deployment (signed by the same ledger key), once per seq
    const bySeq = new Map<number, StoredCredit>()
    for (const c of await this.opts.store.credits()) {
      const signedByLedger = ledgerPeerId != null && c.ledgerPeerId === ledgerPeerId
      if (c.hubPeerId === hub || signedByLedger) if (!bySeq.has(c.seq) || c.hubPeerId === hub) bySeq.set(c.seq, c)
    }
    const credits = [...bySeq.values()]
    return buildStatement(hub, this.opts.peerId, credits.map(c => c.receipt), salt, ledgerKey)
  }

  /**
   * Bind this key's credit to an Ethereum address on the current hub (a signed ledger entry, payout.ts).
   * @param hubUrl the hub's HTTP base URL (the page's origin)
   * @throws Error before the hub is known; MalformedPayoutAddressError; RemoteError for the hub's refusal
   */
  async bindPayoutAddress (hubUrl: string, address: string): Promise<{ seq: number, address: string }> {
    const hub = this.opts.hubPeerId()
    if (hub == null) throw new Error('not connected to a hub yet: its peer id is unknown')
    const ledgerKey = (await this.opts.store.getMeta('ledgerKeys'))?.[hub]
    const ledgerPeerId = (ledgerKey == null ? undefined : ledgerPeerIdOf(ledgerKey.ledgerKey)) ?? hub
    // loaded on first use: viem and the Merkle tree stay out of the page's first bundle
    const { bindPayoutAddress } = await import('./payout.ts')
    return await bindPayoutAddress({ hubUrl, key: this.opts.key, peerId: this.opts.peerId, ledgerPeerId, address })
  }

  /**
   * The claim of `address` under the hub's latest confirmed payout epoch (payout.ts).
   * @throws MalformedPayoutAddressError; RemoteError naming NotInPayoutTreeError when it has nothing there
   */
  async payoutClaim (hubUrl: string, address: string): Promise<PayoutClaimTx> {
    const { payoutClaimTx } = await import('./payout.ts')
    return await payoutClaimTx(hubUrl, address)
  }

  /**
   * Check a statement file (this page's or anyone's) against its hub's public key (and the ledger key it vouches for).
   * @throws StatementFormatError when it is not a readable statement; BadLedgerDelegationError when its ledger key is not the hub's
   */
  async verifyStatement (text: string): Promise<StatementReport> {
    return await verifyStatement(text)
  }
}
