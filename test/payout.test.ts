/**
 * Token payouts (issue 16) against a real local EVM (Hardhat's EDR) and real contracts compiled by
 * solc: bind, epoch, claim, audit; every bad input refused with its named error and nothing moved.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createWalletClient, http } from 'viem'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CreditEntry } from '../src/protocol/pb/messages.ts'
import { toCreditUnits } from '../src/protocol/credit.ts'
import {
  MalformedPayoutAddressError, PayoutBindingRefusedError, PayoutBindingReplayError, PayoutBindingSignatureError, TOKEN_UNITS_PER_CREDIT_UNIT,
  computePayout, payoutBindingSigningBytes, payoutTree, proofFor, signPayoutBinding
} from '../src/protocol/payout.ts'
import type { PayoutBindingFields } from '../src/protocol/payout.ts'
import { buildStatement, verifyStatement } from '../src/protocol/statement.ts'
import { HubReceipt } from '../src/protocol/pb/messages.ts'
import { OPERATOR_KEY_FILE, chainFor, loadArtifact } from '../src/hub/payout-chain.ts'
import { NotInPayoutTreeError } from '../src/hub/payout-api.ts'
import { postPayoutBinding as postBinding } from '../src/volunteer/payout.ts'
import { PayoutEpochError, readLedger, runPayoutEpoch } from '../src/hub/payout-epochs.ts'
import { claimFromHub } from '../src/cli/payout-claim.ts'
import { auditPayouts } from '../src/cli/payout-verify.ts'
import { RemoteError } from '../src/protocol/errors.ts'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type PayoutWorld, bind, ethAccount, payoutWorld, revertName, volunteer, workAll } from './payout-fixtures.ts'

const worlds: PayoutWorld[] = []
async function world (opts: Parameters<typeof payoutWorld>[0] = {}): Promise<PayoutWorld> {
  const w = await payoutWorld(opts)
  worlds.push(w)
  return w
}
afterEach(async () => { for (const w of worlds.splice(0)) await w.close() })

/** A peer's credit in base units, from the hub's own balance query. */
async function creditUnitsOfPeer (w: PayoutWorld, peerId: string): Promise<bigint> {
  return BigInt(toCreditUnits(await w.core.ledgerBalance(peerId)))
}

async function ledgerSize (w: PayoutWorld): Promise<number> {
  return await w.core.repo.read(async tx => await tx.ledgerSize())
}

describe('payout: the happy path on a local EVM', () => {
  it('two volunteers with credit bind, an epoch is posted, both claim exactly credit × rate, and the audit verifies', async () => {
    const w = await world({ http: true })
    const [a, b] = [await volunteer(), await volunteer()]
    const [ea, eb] = [ethAccount(), ethAccount()]
    await w.core.createPrimesJob({ from: 0, to: 4000, unit: 1000 })
    await workAll(w.core, [a, b], w.clock)
    const [ua, ub] = [await creditUnitsOfPeer(w, a.id), await creditUnitsOfPeer(w, b.id)]
    expect(ua).toBeGreaterThan(0n)
    expect(ub).toBeGreaterThan(0n)

    // a binds through the HTTP entry point the page will use, b through PayoutApi
    const signed = await signPayoutBinding(a.key, { peerId: a.id, address: ea.address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId })
    const posted = await postBinding(w.httpUrl as string, signed.binding, signed.signature)
    expect(posted.seq).toBe(await ledgerSize(w))
    await bind(w, b, eb.address)
    expect((await w.core.verifyLedger()).ok).toBe(true)

    // the operator key was made on first use, readable by its owner only
    expect(statSync(join(w.dir, OPERATOR_KEY_FILE)).mode & 0o777).toBe(0o600)
    const r = await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    expect(r.action).toBe('posted')
    expect(r.epoch.status).toBe('confirmed')
    expect(r.epoch.tx_hash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(BigInt(r.epoch.total_token_units)).toBe((ua + ub) * TOKEN_UNITS_PER_CREDIT_UNIT)
    expect(await w.contracts.currentEpoch()).toBe(1)

    const listed = await (await fetch(new URL('/api/payouts', w.httpUrl))).json() as { epochs: Array<{ epoch: number, status: string, root: string }> }
    expect(listed.epochs).toEqual([expect.objectContaining({ epoch: 1, status: 'confirmed', root: r.epoch.root })])

    const keyFile = join(w.dir, 'relayer.key')
    writeFileSync(keyFile, w.relayer.key, { mode: 0o600 })
    const ca = await claimFromHub({ hub: w.httpUrl as string, rpc: w.evm.url, address: ea.address, key: keyFile })
    const cb = await claimFromHub({ hub: w.httpUrl as string, rpc: w.evm.url, address: eb.address, key: keyFile })
    expect(ca.amount).toBe(ua * TOKEN_UNITS_PER_CREDIT_UNIT)
    expect(await w.contracts.balanceOf(ea.address)).toBe(ua * TOKEN_UNITS_PER_CREDIT_UNIT)
    expect(cb.balance).toBe(ub * TOKEN_UNITS_PER_CREDIT_UNIT)
    expect(await w.contracts.totalSupply()).toBe((ua + ub) * TOKEN_UNITS_PER_CREDIT_UNIT)
    // the relayer paid the gas and got no tokens
    expect(await w.contracts.balanceOf(w.relayer.address)).toBe(0n)

    // claiming again: NothingToClaim, nothing minted
    await expect(claimFromHub({ hub: w.httpUrl as string, rpc: w.evm.url, address: ea.address, key: keyFile })).rejects.toMatchObject({ name: 'ContractRevertError', errorName: 'NothingToClaim' })
    expect(await w.contracts.totalSupply()).toBe((ua + ub) * TOKEN_UNITS_PER_CREDIT_UNIT)

    const audit = await auditPayouts(w.httpUrl as string, w.evm.url)
    expect(audit.problems).toEqual([])
    expect(audit.ok).toBe(true)
    expect(audit.claimedTotal).toBe((ua + ub) * TOKEN_UNITS_PER_CREDIT_UNIT)
    expect(audit.epochs).toEqual([expect.objectContaining({ ok: true, boundCreditUnits: ua + ub, unboundCreditUnits: 0n, totalTokenUnits: (ua + ub) * TOKEN_UNITS_PER_CREDIT_UNIT })])

    // the binding is in a's credit statement, and the statement still verifies
    const receipts = await w.core.creditsFor(a.id, 0)
    const statement = buildStatement(w.core.peerId, a.id, receipts.credits.map(c => HubReceipt.encode(c)), Buffer.from(w.core.ledger.saltOf(a.id)).toString('hex'))
    const report = await verifyStatement(statement)
    expect(report.ok).toBe(true)
    const entries = receipts.credits.map(c => CreditEntry.decode(c.body))
    expect(entries.filter(e => e.payoutAddress !== '').map(e => e.payoutAddress)).toEqual([ea.address])
  })

  it('an address with no leaf gets NotInPayoutTreeError; a re-run with nothing new posts nothing', async () => {
    const w = await world()
    const a = await volunteer()
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: a.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1.5, grantedAtMs: w.clock.now }) })
    await expect(runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })).rejects.toBeInstanceOf(PayoutEpochError)
    await bind(w, a, ethAccount().address)
    const first = await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    expect(first.action).toBe('posted')
    const again = await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    expect(again.action).toBe('unchanged')
    expect(await w.contracts.currentEpoch()).toBe(1)
    await expect(w.api.proof(ethAccount().address)).rejects.toBeInstanceOf(NotInPayoutTreeError)
  })
})

describe('payout: bindings refused with named errors, nothing appended', () => {
  it('a binding signed by another peer\'s key: PayoutBindingSignatureError', async () => {
    const w = await world()
    const [victim, attacker] = [await volunteer(), await volunteer()]
    const binding = { peerId: victim.id, address: ethAccount().address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId }
    const forged = await attacker.key.sign(payoutBindingSigningBytes(binding))
    const before = await ledgerSize(w)
    const e = await w.api.bind(binding, forged).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(PayoutBindingSignatureError)
    expect((e as Error).name).toBe('PayoutBindingSignatureError')
    // an edited address under a genuine signature fails the same way
    const genuine = await signPayoutBinding(victim.key, binding)
    await expect(w.api.bind({ ...genuine.binding, address: ethAccount().address }, genuine.signature)).rejects.toBeInstanceOf(PayoutBindingSignatureError)
    expect(await ledgerSize(w)).toBe(before)
  })

  it('malformed addresses: MalformedPayoutAddressError (bad checksum, short, zero, not hex)', async () => {
    const w = await world()
    const v = await volunteer()
    const good = ethAccount().address
    const badChecksum = good.slice(0, 2) + [...good.slice(2)].map((c, i) => i === good.slice(2).search(/[a-fA-F]/) ? (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) : c).join('')
    for (const address of [badChecksum, good.slice(0, 40), '0x0000000000000000000000000000000000000000', 'not an address', `0x${'g'.repeat(40)}`]) {
      const binding = { peerId: v.id, address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId }
      await expect(signPayoutBinding(v.key, binding)).rejects.toBeInstanceOf(MalformedPayoutAddressError)
      // signed raw, so only the hub can refuse it
      const e = await w.api.bind(binding, await v.key.sign(payoutBindingSigningBytes(binding))).catch((err: unknown) => err)
      expect((e as Error).name).toBe('MalformedPayoutAddressError')
    }
    expect(await ledgerSize(w)).toBe(0)
  })

  it('replays: an older binding again, or one for another hub: PayoutBindingReplayError; over HTTP the name travels', async () => {
    const w = await world({ http: true })
    const v = await volunteer()
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1, grantedAtMs: w.clock.now }) })
    const [x, y] = [ethAccount().address, ethAccount().address]
    const old = await signPayoutBinding(v.key, { peerId: v.id, address: x, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId })
    await w.api.bind(old.binding, old.signature)
    w.clock.now += 60_000
    const newer = await signPayoutBinding(v.key, { peerId: v.id, address: y, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId })
    await w.api.bind(newer.binding, newer.signature)
    expect(await w.api.boundAddress(v.id)).toBe(y)
    await expect(w.api.bind(old.binding, old.signature)).rejects.toBeInstanceOf(PayoutBindingReplayError)
    const elsewhere = await signPayoutBinding(v.key, { peerId: v.id, address: x, boundAtMs: w.clock.now + 5, ledgerPeerId: (await volunteer()).id })
    await expect(w.api.bind(elsewhere.binding, elsewhere.signature)).rejects.toBeInstanceOf(PayoutBindingReplayError)
    const e = await postBinding(w.httpUrl as string, old.binding, old.signature).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(RemoteError)
    expect((e as RemoteError).remoteName).toBe('PayoutBindingReplayError')
    expect(await w.api.boundAddress(v.id)).toBe(y)
    expect(await ledgerSize(w)).toBe(3)
  })

  it('a key with no credit here, or a second binding within a minute: PayoutBindingRefusedError', async () => {
    const w = await world()
    const v = await volunteer()
    const sign = async (address: string): Promise<{ binding: PayoutBindingFields, signature: Uint8Array }> => await signPayoutBinding(v.key, { peerId: v.id, address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId })
    const fresh = await sign(ethAccount().address)
    await expect(w.api.bind(fresh.binding, fresh.signature)).rejects.toBeInstanceOf(PayoutBindingRefusedError)
    expect(await ledgerSize(w)).toBe(0)
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1, grantedAtMs: w.clock.now }) })
    await w.api.bind(fresh.binding, fresh.signature)
    w.clock.now += 59_999
    const soon = await sign(ethAccount().address)
    await expect(w.api.bind(soon.binding, soon.signature)).rejects.toBeInstanceOf(PayoutBindingRefusedError)
    w.clock.now += 1
    const later = await sign(ethAccount().address)
    await w.api.bind(later.binding, later.signature)
    expect(await w.api.boundAddress(v.id)).toBe(later.binding.address)
    expect(await ledgerSize(w)).toBe(3)
  })
})

describe('payout: the distributor refuses bad claims and roots with its custom errors', () => {
  it('wrong proof, amount above the leaf, second claim, and an attacker key posting a root or minting', async () => {
    const w = await world()
    const [a, b] = [await volunteer(), await volunteer()]
    const [ea, eb] = [ethAccount(), ethAccount()]
    const attacker = ethAccount()
    await w.evm.rpc('hardhat_setBalance', [attacker.address, '0x3635c9adc5dea00000'])
    await w.core.repo.transaction(async tx => {
      await w.core.ledger.grant(tx, { peerId: a.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 2, grantedAtMs: w.clock.now })
      await w.core.ledger.grant(tx, { peerId: b.id, jobId: 'j', wuId: 'j/1', replicaId: 'j/1/r0', credit: 3, grantedAtMs: w.clock.now })
    })
    await bind(w, a, ea.address)
    await bind(w, b, eb.address)
    const r = await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    const proofA = await w.api.proof(ea.address)
    const proofB = await w.api.proof(eb.address)
    const amountA = BigInt(proofA.cumulativeAmount)
    expect(amountA).toBe(2n * 10n ** 18n)
    // the proof names where its claim goes
    expect(proofA).toMatchObject({ epoch: 1, chainId: w.deployment.chainId, distributor: w.deployment.distributor })
    const c = w.contracts

    // a's amount with b's proof; a's proof with one more unit; an attacker's own leaf
    expect(await revertName(c.claim(w.relayer.key, ea.address, amountA, proofB.proof))).toBe('InvalidProof')
    expect(await revertName(c.claim(w.relayer.key, ea.address, amountA + 1n, proofA.proof))).toBe('InvalidProof')
    expect(await revertName(c.claim(attacker.key, attacker.address, amountA, proofA.proof))).toBe('InvalidProof')
    expect(await c.totalSupply()).toBe(0n)

    // an attacker sending a's genuine claim only pays a's tokens to a
    await c.wait(await c.claim(attacker.key, ea.address, amountA, proofA.proof))
    expect(await c.balanceOf(ea.address)).toBe(amountA)
    expect(await c.balanceOf(attacker.address)).toBe(0n)
    expect(await revertName(c.claim(w.relayer.key, ea.address, amountA, proofA.proof))).toBe('NothingToClaim')

    // roots: the attacker's key is not the operator; the operator cannot repeat or skip an epoch, or go back in the ledger
    const tree = payoutTree([[attacker.address, 10n ** 30n]])
    const fake = { root: tree.root as Hex, ledgerSeq: 99, chainHead: r.epoch.chain_head as Hex, totalCumulative: 10n ** 30n }
    expect(await revertName(c.postRoot(attacker.key, { epoch: 2, ...fake }))).toBe('NotOperator')
    expect(await revertName(c.postRoot(w.operatorKey, { epoch: 1, ...fake }))).toBe('StaleEpoch')
    expect(await revertName(c.postRoot(w.operatorKey, { epoch: 3, ...fake }))).toBe('StaleEpoch')
    expect(await revertName(c.postRoot(w.operatorKey, { epoch: 2, ...fake, ledgerSeq: 1 }))).toBe('StaleLedgerSeq')
    expect(await revertName(c.postRoot(w.operatorKey, { epoch: 2, ...fake, root: `0x${'00'.repeat(32)}` }))).toBe('EmptyRoot')
    expect(await c.currentEpoch()).toBe(1)
    expect((await c.epoch(1)).root).toBe(r.epoch.root)

    // the attacker minting straight on the token
    const wallet = createWalletClient({ account: privateKeyToAccount(attacker.key), chain: chainFor(w.deployment.chainId, w.evm.url), transport: http(w.evm.url) })
    const tokenAbi = loadArtifact('SpareCyclesToken').abi
    const minting = c.pub.simulateContract({ account: wallet.account, address: w.deployment.token, abi: tokenAbi, functionName: 'mint', args: [attacker.address, 1n] })
    await expect(minting).rejects.toMatchObject({ cause: expect.objectContaining({ data: expect.objectContaining({ errorName: 'NotMinter' }) }) })
    expect(await c.totalSupply()).toBe(amountA)
    expect(await c.balanceOf(eb.address)).toBe(0n)
  })
})

describe('payout: attribution and reversals', () => {
  it('credit before the first binding goes to it; a rebinding moves only later credit; a reversal follows its grant', async () => {
    const w = await world()
    const v = await volunteer()
    const [x, y] = [ethAccount().address, ethAccount().address]
    const grant = async (i: number, credit: number): Promise<void> => {
      await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: `j/${i}`, replicaId: `j/${i}/r0`, credit, grantedAtMs: w.clock.now }) })
    }
    await grant(0, 1)
    await bind(w, v, x)
    await grant(1, 2)
    await bind(w, v, y)
    await grant(2, 4)
    // a peer that never binds: its credit is counted, not committed
    const unbound = await volunteer()
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: unbound.id, jobId: 'j', wuId: 'j/9', replicaId: 'j/9/r0', credit: 8, grantedAtMs: w.clock.now }) })
    const ledger = await w.core.repo.read(async tx => await readLedger(tx))
    let p = computePayout(ledger)
    expect(Object.fromEntries(p.leaves)).toEqual({ [x]: 3n * 10n ** 18n, [y]: 4n * 10n ** 18n })
    expect(p.bindings).toBe(2)
    expect([p.totalCreditUnits, p.boundCreditUnits, p.unboundCreditUnits]).toEqual([15n * 10n ** 9n, 7n * 10n ** 9n, 8n * 10n ** 9n])
    expect(p.totalTokenUnits).toBe(p.boundCreditUnits * TOKEN_UNITS_PER_CREDIT_UNIT)
    // an epoch up to seq 1 (before any binding) commits nothing
    expect(computePayout(ledger, 1).leaves).toEqual([])
    // the peer is caught cheating: every grant reversed, each from the address it went to
    await w.core.repo.transaction(async tx => { await w.core.ledger.reverse(tx, v.id, w.clock.now) })
    p = computePayout(await w.core.repo.read(async tx => await readLedger(tx)))
    expect(p.leaves).toEqual([])
    expect(p.totalCreditUnits).toBe(8n * 10n ** 9n)
    expect(p.boundCreditUnits).toBe(0n)
    expect((await w.core.verifyLedger()).ok).toBe(true)
  })

  it('a reversal after a claim: the next epoch drops the leaf, and the audit lists the account as overpaid but finds nothing paid twice', async () => {
    const w = await world({ http: true })
    const [cheat, honest] = [await volunteer(), await volunteer()]
    const [ec, eh] = [ethAccount(), ethAccount()]
    await w.core.repo.transaction(async tx => {
      await w.core.ledger.grant(tx, { peerId: cheat.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1, grantedAtMs: w.clock.now })
      await w.core.ledger.grant(tx, { peerId: honest.id, jobId: 'j', wuId: 'j/1', replicaId: 'j/1/r0', credit: 1, grantedAtMs: w.clock.now })
    })
    await bind(w, cheat, ec.address)
    await bind(w, honest, eh.address)
    await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    const pc = await w.api.proof(ec.address)
    await w.contracts.wait(await w.contracts.claim(w.relayer.key, ec.address, BigInt(pc.cumulativeAmount), pc.proof))
    await w.core.repo.transaction(async tx => {
      await w.core.ledger.reverse(tx, cheat.id, w.clock.now)
      await w.core.ledger.grant(tx, { peerId: honest.id, jobId: 'j', wuId: 'j/2', replicaId: 'j/2/r0', credit: 2, grantedAtMs: w.clock.now })
    })
    const second = await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    expect(JSON.parse(second.epoch.leaves)).toEqual([[eh.address, (3n * 10n ** 18n).toString()]])
    await expect(w.api.proof(ec.address)).rejects.toBeInstanceOf(NotInPayoutTreeError)
    const ph = await w.api.proof(eh.address)
    await w.contracts.wait(await w.contracts.claim(w.relayer.key, eh.address, BigInt(ph.cumulativeAmount), ph.proof))
    expect(await w.contracts.balanceOf(eh.address)).toBe(3n * 10n ** 18n)
    const audit = await auditPayouts(w.httpUrl as string, w.evm.url)
    expect(audit.problems).toEqual([])
    expect(audit.ok).toBe(true)
    expect(audit.epochs.map(e => e.ok)).toEqual([true, true])
    expect(audit.overpaid).toEqual([{ account: ec.address, claimed: 10n ** 18n, latestCumulative: 0n }])
  })

  it('the audit catches a root that is not the ledger\'s', async () => {
    const w = await world({ http: true })
    const v = await volunteer()
    const ev = ethAccount()
    await w.core.repo.transaction(async tx => { await w.core.ledger.grant(tx, { peerId: v.id, jobId: 'j', wuId: 'j/0', replicaId: 'j/0/r0', credit: 1, grantedAtMs: w.clock.now }) })
    await bind(w, v, ev.address)
    await runPayoutEpoch({ repo: w.core.repo, contracts: w.contracts, operatorKey: w.operatorKey })
    // a dishonest operator posts epoch 2 paying itself, outside the store
    const self = privateKeyToAccount(w.operatorKey).address as Address
    const tree = payoutTree([[ev.address, 10n ** 18n], [self, 5n * 10n ** 18n]])
    const head = await w.contracts.epoch(1)
    await w.contracts.wait(await w.contracts.postRoot(w.operatorKey, { epoch: 2, root: tree.root as Hex, ledgerSeq: head.ledgerSeq, chainHead: head.chainHead, totalCumulative: 6n * 10n ** 18n }))
    const proof = proofFor(tree, 2, self)
    await w.contracts.wait(await w.contracts.claim(w.operatorKey, self, 5n * 10n ** 18n, proof?.proof ?? []))
    const audit = await auditPayouts(w.httpUrl as string, w.evm.url)
    expect(audit.ok).toBe(false)
    expect(audit.epochs.map(e => e.ok)).toEqual([true, false])
    expect(audit.problems.join('\n')).toMatch(/epoch 2: root on chain/)
    expect(audit.problems.join('\n')).toMatch(/more than any epoch gave it/)
  })
})

describe('payout: an attacker posting bindings over HTTP (POST /api/payouts/bind, as the module doc gives it)', () => {
  it('forged, edited, malformed, credit-less and replayed bindings get 400 with their error names and append nothing; the genuine one 200', async () => {
    const w = await world({ http: true })
    const [victim, attacker] = [await volunteer(), await volunteer()]
    // quorum 1: the victim's results are validated alone, so it has credit to bind
    await w.core.createPrimesJob({ from: 0, to: 2000, unit: 1000, quorum: 1 })
    await workAll(w.core, [victim], w.clock)
    expect(await creditUnitsOfPeer(w, victim.id)).toBeGreaterThan(0n)
    const url = new URL('/api/payouts/bind', w.httpUrl)
    const post = async (body: unknown): Promise<{ status: number, json: { error?: string, seq?: number } }> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
      return { status: res.status, json: await res.json() as { error?: string, seq?: number } }
    }
    const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64')
    const binding = { peerId: victim.id, address: ethAccount().address, boundAtMs: w.clock.now, ledgerPeerId: w.core.ledgerPeerId }
    const before = await ledgerSize(w)
    const refusals: Array<[unknown, string]> = [
      // the victim's binding signed by the attacker's key
      [{ binding, signature: b64(await attacker.key.sign(payoutBindingSigningBytes(binding))) }, 'PayoutBindingSignatureError'],
      // the victim's genuine signature over another address
      [{ binding: { ...binding, address: ethAccount().address }, signature: b64(await victim.key.sign(payoutBindingSigningBytes(binding))) }, 'PayoutBindingSignatureError'],
      [{ binding: { ...binding, address: '0x0000000000000000000000000000000000000000' }, signature: b64(await victim.key.sign(payoutBindingSigningBytes({ ...binding, address: '0x0000000000000000000000000000000000000000' }))) }, 'MalformedPayoutAddressError'],
      [{}, 'MalformedMessageError'],
      [{ binding, signature: 'not base64!' }, 'MalformedMessageError'],
      [{ binding: { ...binding, boundAtMs: 'soon' }, signature: b64(new Uint8Array(64)) }, 'MalformedMessageError'],
      // a fresh key with no credit here, signing its own binding
      [await (async () => { const f = { ...binding, peerId: attacker.id }; return { binding: f, signature: b64(await attacker.key.sign(payoutBindingSigningBytes(f))) } })(), 'PayoutBindingRefusedError'],
      // a binding meant for another deployment's ledger
      [await (async () => { const f = { ...binding, ledgerPeerId: attacker.id }; return { binding: f, signature: b64(await victim.key.sign(payoutBindingSigningBytes(f))) } })(), 'PayoutBindingReplayError']
    ]
    for (const [body, name] of refusals) {
      const r = await post(body)
      expect(r.status, name).toBe(400)
      expect(r.json.error, JSON.stringify(body).slice(0, 120)).toBe(name)
    }
    expect(await ledgerSize(w)).toBe(before)
    // the genuine binding is appended once; the same bytes again are a replay
    const genuine = { binding, signature: b64(await victim.key.sign(payoutBindingSigningBytes(binding))) }
    const ok = await post(genuine)
    expect(ok.status, JSON.stringify(ok.json)).toBe(200)
    expect(ok.json.seq).toBe(before + 1)
    const again = await post(genuine)
    expect([again.status, again.json.error]).toEqual([400, 'PayoutBindingReplayError'])
    expect(await ledgerSize(w)).toBe(before + 1)
    expect((await w.core.verifyLedger()).ok).toBe(true)
  })
})
