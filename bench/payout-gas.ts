/**
 * Payout gas benchmark (issue 16): gas used, as the local EVM (Hardhat's EDR, latest hardfork)
 * reports it in each receipt, for deploying the distributor (with its token), posting an epoch
 * root, the first claim on a new token (the account's `claimed` slot, its balance and the token's
 * total supply written from zero), another account's first claim (supply already set), and a
 * later claim (the first account after the next epoch: all three slots already set), at
 * trees of 2, 100 and 1,000 leaves (the proof length is printed). Prints a table, then one JSON line.
 *
 *   node --import tsx bench/payout-gas.ts        (npm run bench:payout)
 */
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { PayoutContracts, deployPayoutContracts, publicClientFor } from '../src/hub/payout-chain.ts'
import { LocalEvm } from '../src/hub/local-evm.ts'
import { payoutTree, proofFor } from '../src/protocol/payout.ts'

const TOKEN = 10n ** 18n
const sizes = [2, 100, 1000]
const operator = generatePrivateKey()
const evm = new LocalEvm({ fund: [privateKeyToAccount(operator).address] })
const url = await evm.start()
const rows: Array<{ leaves: number, proofLength: number, deploy: bigint, postRoot: bigint, firstClaim: bigint, otherFirstClaim: bigint, laterClaim: bigint }> = []
try {
  for (const n of sizes) {
    const deployment = await deployPayoutContracts(url, operator)
    const receipts = await publicClientFor(url).getBlock({ blockTag: 'latest', includeTransactions: true })
    const deployHash = receipts.transactions[0]
    const deployGas = typeof deployHash === 'string' ? 0n : (await publicClientFor(url).getTransactionReceipt({ hash: deployHash.hash })).gasUsed
    const c = new PayoutContracts(url, deployment)
    const accounts: Address[] = Array.from({ length: n }, () => privateKeyToAccount(generatePrivateKey()).address)
    const leaves1 = accounts.map((a, i) => [a, BigInt(i + 1) * TOKEN] as [Address, bigint])
    const tree1 = payoutTree(leaves1)
    const total1 = leaves1.reduce((s, [, v]) => s + v, 0n)
    const post1 = await c.wait(await c.postRoot(operator, { epoch: 1, root: tree1.root as `0x${string}`, ledgerSeq: n, chainHead: `0x${'11'.repeat(32)}`, totalCumulative: total1 }))
    const p1 = proofFor(tree1, 1, accounts[0])
    if (p1 == null) throw new Error('no proof')
    const first = await c.wait(await c.claim(operator, accounts[0], BigInt(p1.cumulativeAmount), p1.proof))
    const q1 = proofFor(tree1, 1, accounts[1])
    if (q1 == null) throw new Error('no proof')
    const other = await c.wait(await c.claim(operator, accounts[1], BigInt(q1.cumulativeAmount), q1.proof))
    const leaves2 = leaves1.map(([a, v]) => [a, v + TOKEN] as [Address, bigint])
    const tree2 = payoutTree(leaves2)
    await c.wait(await c.postRoot(operator, { epoch: 2, root: tree2.root as `0x${string}`, ledgerSeq: 2 * n, chainHead: `0x${'22'.repeat(32)}`, totalCumulative: total1 + BigInt(n) * TOKEN }))
    const p2 = proofFor(tree2, 2, accounts[0])
    if (p2 == null) throw new Error('no proof')
    const later = await c.wait(await c.claim(operator, accounts[0], BigInt(p2.cumulativeAmount), p2.proof))
    rows.push({ leaves: n, proofLength: p1.proof.length, deploy: deployGas, postRoot: post1.gasUsed, firstClaim: first.gasUsed, otherFirstClaim: other.gasUsed, laterClaim: later.gasUsed })
  }
} finally {
  await evm.stop()
}
console.log('leaves  proof  deploy    postRoot  firstClaim  otherFirst  laterClaim')
for (const r of rows) console.log(`${String(r.leaves).padStart(6)}  ${String(r.proofLength).padStart(5)}  ${String(r.deploy).padStart(8)}  ${String(r.postRoot).padStart(8)}  ${String(r.firstClaim).padStart(10)}  ${String(r.otherFirstClaim).padStart(10)}  ${String(r.laterClaim).padStart(10)}`)
console.log(JSON.stringify({ bench: 'payout-gas', rows: rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))) }))
