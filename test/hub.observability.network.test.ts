/**
 * Operators can see it (issue 14): a real hub (startHub, SQLite in a temp dir) with its pino logger
 * writing JSON lines into the test, a researcher posting over /sparecycles/job/1.0.0 and
 * volunteers as Node libp2p peers leasing over work/2.0.0 and submitting over result/1.0.0. Then
 * `GET /metrics` over HTTP: the results received, group commit sizes and latencies, queue depths,
 * in-flight requests and the lease/submit p99s say what was sent; and every log line is JSON, the
 * protocol requests' lines with reqId, peer and protocol.
 */
import { lpStream } from '@libp2p/utils'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RESULT_SPEC, WORK_SPEC_V2 } from '../src/protocol/index.ts'
import { createHubLogger } from '../src/hub/log.ts'
import { startCollatzHub, unitInput } from './collatz-hub.ts'
import type { CollatzHub, Peer } from './collatz-hub.ts'
import type { Lease } from '../src/protocol/index.ts'

/** Every line the hub's logger wrote, parsed (a line that is not JSON fails the parse, and the test). */
const lines: string[] = []
const entries = (): Array<Record<string, unknown>> => lines.map(l => JSON.parse(l) as Record<string, unknown>)
let c: CollatzHub

beforeAll(async () => {
  const logger = createHubLogger({ level: 'debug', destination: { write: (line: string) => { lines.push(line) } } })
  c = await startCollatzHub({ logger })
}, 60_000)
afterAll(async () => { await c?.stop() })

/** Samples of a Prometheus text exposition: `name{labels}` → value. */
function parseMetrics (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** The sample `key`; fails when the exposition lacks it. */
function sample (m: Map<string, number>, key: string): number {
  const v = m.get(key)
  if (v == null) throw new Error(`no sample ${key} in /metrics (have: ${[...m.keys()].filter(k => k.startsWith(key.split('{')[0])).join(', ')})`)
  return v
}

describe('structured logs and /metrics (issue 14)', () => {
  it('/metrics counts the results sent, group commits, queue depths and lease/submit p99s; logs are JSON with reqId, peer and protocol', async () => {
    const job = await c.post(Array.from({ length: 6 }, (_, i) => unitInput(1 + i * 100, 101 + i * 100)))
    const volunteers: Peer[] = [await c.peer(), await c.peer()]
    let workRequests = 0
    const held: Array<{ v: Peer, l: Lease }> = []
    for (const v of volunteers) {
      const leases = await c.work(v, 6)
      workRequests += 1
      for (const l of leases) held.push({ v, l })
    }
    expect(held.length).toBeGreaterThanOrEqual(6)
    expect(held.every(h => h.l.jobId === job.jobId)).toBe(true)
    // both volunteers' results at once: they meet in group commits
    const output = new Uint8Array(8)
    const statuses = await Promise.all(held.map(async h => (await c.report(h.v, h.l, { output })).status))
    expect(statuses.every(s => s === 'accepted')).toBe(true)
    // one result sent again: a duplicate
    expect((await c.report(held[0].v, held[0].l, { output })).status).toBe('duplicate')
    const accepted = held.length
    const submissions = accepted + 1

    // a malformed request: its stream is reset (warn, with the request's id)
    const attacker = await c.peer()
    const stream = await attacker.node.dialProtocol(c.hubPeer, WORK_SPEC_V2.id)
    const lp = lpStream(stream)
    await lp.write(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))
    await expect(lp.read({ signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    await expect.poll(() => entries().some(e => e.protocol === WORK_SPEC_V2.id && e.peer === attacker.id && e.level === 40)).toBe(true)

    const res = await fetch(new URL('/metrics', c.hub.url), { headers: { 'x-request-id': 'scrape-1' } })
    expect(res.status).toBe(200)
    const m = parseMetrics(await res.text())
    console.log([...m].filter(([k]) => /results_received|group_commit|in_flight|operation_duration|probes/.test(k)).map(([k, v]) => `${k} ${v}`).join('\n'))

    // results received: the counter by status, the recent rate (all of them inside its 60 s window)
    expect(sample(m, 'sparecycles_results_received_total{status="accepted"}')).toBe(accepted)
    expect(sample(m, 'sparecycles_results_received_total{status="duplicate"}')).toBe(1)
    expect(sample(m, 'sparecycles_results_accepted_total')).toBe(accepted)
    expect(sample(m, 'sparecycles_results_received_per_second')).toBeCloseTo(submissions / 60, 6)
    // every submission went through a group commit; both volunteers' results at once make groups of more than one
    const groups = sample(m, 'sparecycles_group_commit_size_count')
    expect(groups).toBeGreaterThan(0)
    expect(groups).toBeLessThan(submissions)
    expect(sample(m, 'sparecycles_group_commit_size_sum')).toBe(submissions)
    expect(sample(m, 'sparecycles_group_commit_duration_seconds_count')).toBe(groups)
    expect(sample(m, 'sparecycles_group_commit_duration_seconds_sum')).toBeGreaterThan(0)
    // queue depths: nothing waiting, nothing in flight once answered
    expect(sample(m, 'sparecycles_group_commit_queue_length')).toBe(0)
    expect(sample(m, 'sparecycles_probes_queued')).toBe(0)
    expect(sample(m, `sparecycles_requests_in_flight{protocol="${RESULT_SPEC.id}"}`)).toBe(0)
    expect(sample(m, `sparecycles_requests_in_flight{protocol="${WORK_SPEC_V2.id}"}`)).toBe(0)
    // request latency per protocol and outcome
    expect(sample(m, `sparecycles_request_duration_seconds_count{protocol="${RESULT_SPEC.id}",outcome="ok"}`)).toBe(submissions)
    expect(sample(m, `sparecycles_request_duration_seconds_count{protocol="${WORK_SPEC_V2.id}",outcome="ok"}`)).toBe(workRequests)
    expect(sample(m, `sparecycles_request_duration_seconds_count{protocol="${WORK_SPEC_V2.id}",outcome="error"}`)).toBe(1)
    expect(sample(m, `sparecycles_request_duration_seconds_bucket{le="+Inf",protocol="${RESULT_SPEC.id}",outcome="ok"}`)).toBe(submissions)
    // lease and submit p99s (HubCore's own time)
    expect(sample(m, 'sparecycles_operation_duration_seconds_count{operation="submit"}')).toBe(submissions)
    expect(sample(m, 'sparecycles_operation_duration_seconds_count{operation="lease"}')).toBe(workRequests)
    for (const operation of ['lease', 'submit']) {
      const p50 = sample(m, `sparecycles_operation_duration_seconds{quantile="0.5",operation="${operation}"}`)
      const p99 = sample(m, `sparecycles_operation_duration_seconds{quantile="0.99",operation="${operation}"}`)
      expect(p99).toBeGreaterThan(0)
      expect(p99).toBeLessThan(10)
      expect(p99).toBeGreaterThanOrEqual(p50)
    }

    // logs: JSON lines; every protocol request's line names it
    const all = entries()
    const researcher = peerIdFromPrivateKey(c.researcher).toString()
    expect(all.find(e => /^hub \S+ started/.test(String(e.msg)))).toMatchObject({ level: 30, peerId: c.hub.peerId })
    const posted = all.find(e => /^researcher \S+ posted job-\d+/.test(String(e.msg)))
    expect(posted).toMatchObject({ level: 30, peer: researcher, protocol: '/sparecycles/job/1.0.0', jobId: job.jobId })
    expect(posted?.reqId).toMatch(/^p2p-\d+$/)
    const results = all.filter(e => e.protocol === RESULT_SPEC.id && e.level === 20)
    expect(results).toHaveLength(submissions)
    for (const e of results) {
      expect(e.reqId).toMatch(/^p2p-\d+$/)
      expect(volunteers.map(v => v.id)).toContain(e.peer)
      expect(e).toMatchObject({ outcome: 'ok', msg: `${RESULT_SPEC.id} ok` })
      expect(e.elapsedMs).toBeGreaterThan(0)
    }
    expect(results.filter(e => e.status === 'accepted')).toHaveLength(accepted)
    expect(results.filter(e => e.status === 'duplicate')).toHaveLength(1)
    const leases = all.filter(e => e.protocol === WORK_SPEC_V2.id && e.level === 20 && e.outcome === 'ok')
    expect(leases.map(e => e.leases).reduce((a, b) => Number(a) + Number(b), 0)).toBe(held.length)
    // one closing line per request, each with an id of its own
    const ids = all.filter(e => e.protocol != null && e.outcome != null).map(e => e.reqId)
    expect(ids.length).toBeGreaterThanOrEqual(submissions + workRequests + 2)
    expect(new Set(ids).size).toBe(ids.length)
    // the reset: a warn line and the request's closing line share one reqId, peer and protocol
    const reset = all.find(e => e.level === 40 && e.peer === attacker.id)
    expect(reset).toMatchObject({ protocol: WORK_SPEC_V2.id, error: 'MalformedMessageError' })
    expect(String(reset?.msg)).toMatch(/^stream reset on \/sparecycles\/work\/2\.0\.0 from \S+: MalformedMessageError: /)
    expect(all.find(e => e.reqId === reset?.reqId && e.level === 20)).toMatchObject({ outcome: 'error', error: 'MalformedMessageError', peer: attacker.id })
    // HTTP: fastify's lines on the same logger, with the caller's request id
    await expect.poll(() => entries().some(e => e.reqId === 'scrape-1' && e.msg === 'request completed')).toBe(true)
    expect(entries().find(e => e.reqId === 'scrape-1' && e.msg === 'request completed')).toMatchObject({ level: 20, statusCode: 200, url: '/metrics' })
  })

  it('HTTP requests without an x-request-id (or with a malformed one) get the hub\'s own ids', async () => {
    await fetch(new URL('/hub.json', c.hub.url))
    await fetch(new URL('/hub.json', c.hub.url), { headers: { 'x-request-id': 'bad id with spaces' } })
    await expect.poll(() => entries().filter(e => e.url === '/hub.json' && e.msg === 'request completed').length).toBe(2)
    const done = entries().filter(e => e.url === '/hub.json' && e.msg === 'request completed')
    for (const e of done) expect(e.reqId).toMatch(/^http-\d+$/)
    expect(done[0].reqId).not.toBe(done[1].reqId)
  })
})
