/**
 * Browser to browser (issue 15), in a private network namespace the test makes itself
 * (scripts/netns.sh: `unshare -n`, a veth pair on 10.99.0.0/30, a default route; WebRTC between
 * headless tabs gathers no ICE candidates on loopback alone). Inside it, test/p2p/netns-scenario.ts
 * runs a hub and two Chromium volunteers (and a lying volunteer in a third tab) and reports what
 * each tab's dashboard counted; this file checks it:
 * - the kernel (ticket and module) of a researcher job came to the second tab from the first
 *   over WebRTC, not from the hub;
 * - matmul blocks came browser to browser: the hub served fewer block bytes than the tabs fetched,
 *   and every byte a tab got from a peer was served by the other honest tab;
 * - a liar that claims every block and sends random bytes is asked at most once per block fetch
 *   in flight, marked bad by each tab, never asked again, and no tile is wrong;
 * - the liar gets no blob over a plain relayed connection, no hub protocol on a volunteer, no
 *   blob the volunteer does not hold, and held blocks only up to the per-peer budget;
 * - both tabs add a second, independent hub on their page while running: its primes job
 *   completes, each unit's count equals primecount's, its ledger verifies, and each tab's row for
 *   each hub shows the credit that hub's ledger holds for it.
 * Needs root (CI runs as root); a namespace that cannot be made fails the test, never skips it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './helpers.ts'
import { runProcess } from './hub-process.ts'
import { primecountIntervals } from './sim/oracle.ts'
import { decodePrimesInput, decodePrimesOutput } from '../src/protocol/index.ts'

interface Tab { fromHubBytes: number, fromPeersBytes: number, fromHubBlobs: number, fromPeersBlobs: number, servedBytes: number, badPeers: number, peers: number, relayed: boolean, peerId: string }
interface Report {
  ok: boolean
  error?: string
  kernelPhase: { a: Tab, b: Tab, hubBlobBytes: number, kernelBytes: number }
  blockPhase: {
    before: { a: Tab, b: Tab, hubBlobBytes: number }
    after: { a: Tab, b: Tab, hubBlobBytes: number }
    liarId: string
    blocks: number
    blockBytes: number
    asked: Array<{ peer: string, cid: string, offset: number, atMs: number }>
    validated: number
    workUnits: number
    rejected: number
  }
  secondHub: {
    state: string, validated: number, workUnits: number, units: Array<{ input: string, output: string }>, ledgerOk: boolean
    credit: { first: Record<string, number>, second: Record<string, number> }
    rows: Record<'a' | 'b', Record<'first' | 'second', { connection: string, credit: number }>>
  }
  probe: { relayedBlob: string, relayedLimited: boolean, workOnVictim: string, resultOnVictim: string, unheldBlob: string, heldBlobServed: number, heldBlobRefusal: string }
}

async function runScenario (timeoutMs: number): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return await runProcess(join(REPO_ROOT, 'scripts/netns.sh'), [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test/p2p/netns-scenario.ts')], timeoutMs)
}

const delta = (after: Tab, before: Tab): Tab => ({
  ...after,
  fromHubBytes: after.fromHubBytes - before.fromHubBytes,
  fromPeersBytes: after.fromPeersBytes - before.fromPeersBytes,
  fromHubBlobs: after.fromHubBlobs - before.fromHubBlobs,
  fromPeersBlobs: after.fromPeersBlobs - before.fromPeersBlobs,
  servedBytes: after.servedBytes - before.servedBytes
})

describe('browser to browser in a network namespace', () => {
  let report: Report

  it('runs the scenario in a namespace it makes', async () => {
    const run = await runScenario(280_000)
    // the scenario's progress lines, for a person to read after a failure (build/ is not committed)
    mkdirSync(join(REPO_ROOT, 'build'), { recursive: true })
    writeFileSync(join(REPO_ROOT, 'build', 'p2p-netns.stderr.log'), run.stderr)
    if (run.status === 97) throw new Error(`could not make the network namespace (needs root, unshare and ip): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`)
    const last = run.stdout.trim().split('\n').at(-1) ?? ''
    expect(last, run.stderr.slice(-3000)).toMatch(/^\{/)
    report = JSON.parse(last) as Report
    expect(report.error, run.stderr.slice(-3000)).toBeUndefined()
    expect(report.ok).toBe(true)
    expect(run.status).toBe(0)
  }, 300_000)

  it('fetched the kernel browser to browser', () => {
    const { a, b, kernelBytes } = report.kernelPhase
    // A: ticket and kernel from the hub; B: both from A, nothing from the hub
    expect(a.fromHubBlobs).toBe(2)
    expect(b.fromHubBlobs).toBe(0)
    expect(b.fromHubBytes).toBe(0)
    expect(b.fromPeersBlobs).toBe(2)
    expect(b.fromPeersBytes).toBeGreaterThan(kernelBytes)
    expect(a.servedBytes).toBe(b.fromPeersBytes)
    expect(report.kernelPhase.hubBlobBytes).toBe(a.fromHubBytes)
  })

  it('fetched matmul blocks browser to browser, the hub serving less than the whole', () => {
    const p = report.blockPhase
    expect(p.validated).toBe(p.workUnits)
    expect(p.workUnits).toBe(16)
    expect(p.rejected).toBe(0)
    const a = delta(p.after.a, p.before.a)
    const b = delta(p.after.b, p.before.b)
    const fetched = a.fromHubBytes + a.fromPeersBytes + b.fromHubBytes + b.fromPeersBytes
    const hubServed = p.after.hubBlobBytes - p.before.hubBlobBytes
    expect(hubServed).toBe(a.fromHubBytes + b.fromHubBytes)
    expect(a.fromPeersBytes + b.fromPeersBytes).toBeGreaterThan(0)
    expect(hubServed).toBeLessThan(fetched)
    // every block at least once from the hub, never more often than there are tabs
    expect(hubServed).toBeGreaterThanOrEqual(p.blockBytes)
    expect(hubServed).toBeLessThanOrEqual(2 * p.blockBytes)
    // what a tab got from peers, the other honest tab served (no byte of the liar's was kept)
    expect(a.fromPeersBytes).toBe(b.servedBytes)
    expect(b.fromPeersBytes).toBe(a.servedBytes)
  })

  it('excluded the lying peer for good', () => {
    const p = report.blockPhase
    const tabs = [p.after.a, p.after.b]
    for (const tab of tabs) {
      expect(tab.badPeers).toBe(1)
      const asked = p.asked.filter(x => x.peer === tab.peerId)
      // the liar was listed for every block, and asked only by the fetches in flight when its
      // first answer failed the hash (a tile fetches its A and B block together): at most 2
      expect(asked.length).toBeGreaterThanOrEqual(1)
      expect(new Set(asked.map(x => x.cid)).size).toBeLessThanOrEqual(2)
      const d = delta(tab, tab === p.after.a ? p.before.a : p.before.b)
      expect(d.fromHubBlobs + d.fromPeersBlobs).toBeGreaterThan(asked.length)
    }
    expect(p.asked.every(x => tabs.some(t => t.peerId === x.peer))).toBe(true)
  })

  it('gives a peer only held blobs, over direct connections, under a per-peer cap', () => {
    const probe = report.probe
    expect(probe.relayedLimited, JSON.stringify(probe)).toBe(true)
    expect(probe.relayedBlob).not.toBe('served')
    expect(probe.workOnVictim).toBe('UnsupportedProtocolError')
    expect(probe.resultOnVictim).toBe('UnsupportedProtocolError')
    expect(probe.unheldBlob).toBe('BlobNotFoundError')
    // 64 MiB a minute to one peer, 1 MiB a request
    expect(probe.heldBlobServed).toBe(64)
    expect(probe.heldBlobRefusal).toBe('BlobServeLimitError')
  })

  it('works for a second hub added on the page: its job completes, counts = primecount, credit right on both hubs', async () => {
    const h = report.secondHub
    expect(h.state).toBe('complete')
    expect(h.validated).toBe(h.workUnits)
    expect(h.workUnits).toBe(6)
    expect(h.ledgerOk).toBe(true)
    const units = h.units.map(u => ({ input: decodePrimesInput(Buffer.from(u.input, 'hex')), output: decodePrimesOutput(Buffer.from(u.output, 'hex')) }))
    expect(units.map(u => BigInt(u.output))).toEqual(await primecountIntervals(units.map(u => u.input)))
    const tabs = { a: report.blockPhase.after.a.peerId, b: report.blockPhase.after.b.peerId }
    for (const tab of ['a', 'b'] as const) {
      const rows = h.rows[tab]
      expect(rows.second.connection).toBe('connected')
      expect(h.credit.second[tabs[tab]] ?? 0).toBeGreaterThan(0)
      expect(rows.second.credit).toBeCloseTo(h.credit.second[tabs[tab]], 6)
      expect(rows.first.credit).toBeCloseTo(h.credit.first[tabs[tab]], 6)
    }
  })
})
