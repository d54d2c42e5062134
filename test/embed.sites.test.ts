/**
 * Partner-site credit over real libp2p: a volunteer leasing through /sparecycles/work/1.1.0 with a
 * site key gets its credit attributed to the site as well (hub store, /api/sites/:key, the CLI),
 * /sparecycles/work/1.0.0 is still served and credits no site, and a malformed site key is refused.
 * Plus the embed's pure parts: iframe message checks and the script tag's config (the frame's own
 * rules, its remembered choice, visibility and theme: embed.frame-rules.test.ts).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORK_SPEC_V2, callProtocol, encodePrimesOutput, decodePrimesInput, isSiteKey, sha256Bytes, signResult } from '../src/protocol/index.ts'
import type { WorkResponse } from '../src/protocol/index.ts'
import { caps } from './hub-fixtures.ts'
import { exchangeResult, requestSiteWork, requestWork } from '../src/volunteer/hub-client.ts'
import { startHub } from '../src/hub/hub.ts'
import { instantiatePrimesKernel } from '../workers/primes-kernel.ts'
import { EMBED_NS, parseFrameMessage, parseHostMessage } from '../src/embed/messages.ts'
import { embedWorkerSlots, parseEmbedConfig } from '../src/embed/config.ts'
import { REPO_ROOT, createTestPeer, tempDir } from './helpers.ts'
import type { RunningHub } from '../src/hub/hub.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Lease } from '../src/protocol/index.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'

const SITE = 'site_test_partner_0001'
let hub: RunningHub
let hubPeer: PeerId
let dataDir: string

beforeAll(async () => {
  dataDir = tempDir()
  hub = await startHub({ dataDir, staticDir: join(REPO_ROOT, 'dist') })
  hubPeer = peerIdFromString(hub.peerId)
})

afterAll(async () => {
  await hub?.stop()
})

async function volunteer (): Promise<{ peer: Libp2p, key: PrivateKey }> {
  const key = await generateKeyPair('Ed25519')
  const peer = await createTestPeer(key)
  await peer.dial(multiaddr(hub.multiaddrs[0]))
  return { peer, key }
}

async function submit (v: { peer: Libp2p, key: PrivateKey }, lease: Lease): Promise<void> {
  const kernel = await instantiatePrimesKernel(readFileSync(join(REPO_ROOT, 'build/kernels/primes-sieve.wasm')))
  const { lo, hi } = decodePrimesInput(lease.input)
  const output = encodePrimesOutput(await kernel.countRange(lo, hi)) as Uint8Array<ArrayBuffer>
  const signed = await signResult({ replicaId: lease.replicaId, wuId: lease.wuId, outcome: 'success', output, outputSha256: sha256Bytes(output) as Uint8Array<ArrayBuffer>, elapsedMs: 1, deviceClass: 'wasm', errorMessage: '' }, v.key)
  const r = await exchangeResult(v.peer, hubPeer, { result: signed, receiptsAfter: 0 })
  expect(r.status).toBe('accepted')
}

const ORIGIN = 'https://recipes.example'

describe('site credit', () => {
  it('credits a registered site for work leased with its key from its origin, and only for that work; another origin, the legacy protocol and an unregistered key earn no site anything', async () => {
    // the operator registers the key for the partner's origin (the CLI writes <data dir>/sites.json; the hub re-reads it)
    const reg = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'site', 'register', SITE, '--origin', ORIGIN, '--data-dir', dataDir], { cwd: REPO_ROOT, encoding: 'utf8' })
    expect(reg.stdout).toContain(`${SITE} registered for ${ORIGIN}`)
    const refused = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'site', 'register', SITE, '--origin', 'https://recipes.example/path', '--data-dir', dataDir], { cwd: REPO_ROOT, encoding: 'utf8' }).catch((e: { code: number, stderr: string }) => e)
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/is not an origin/) })
    const job = await hub.core.createPrimesJob({ from: 0, to: 8e5, unit: 1e5, quorum: 1 })
    const [viaSite, direct, foreign, legacy, unregistered] = await Promise.all([volunteer(), volunteer(), volunteer(), volunteer(), volunteer()])
    const work2 = async (v: { peer: Libp2p }, siteKey: string, siteOrigin: string): Promise<WorkResponse> =>
      await callProtocol(v.peer, hubPeer, WORK_SPEC_V2, { maxUnits: 2, release: [], capabilities: caps(), siteKey, siteOrigin, paused: [], holding: [], reportsHolding: false }, AbortSignal.timeout(10_000))
    try {
      const a = await work2(viaSite, SITE, ORIGIN)
      expect(a.error).toBe('')
      expect(a.leases).toHaveLength(2)
      const b = await requestWork(direct.peer, hubPeer, { maxUnits: 2, release: [], deviceClass: 'wasm' })
      expect(b.leases).toHaveLength(2)
      // the same key framed by another page, sent over the legacy protocol (no origin), and a key nobody registered
      const f = await work2(foreign, SITE, 'https://evil.example')
      const g = await requestSiteWork(legacy.peer, hubPeer, { maxUnits: 1, release: [], deviceClass: 'wasm', siteKey: SITE })
      const u = await work2(unregistered, 'site_nobody_registered_0001', ORIGIN)
      expect([f.leases.length, g.leases.length, u.leases.length]).toEqual([2, 1, 1])
      for (const l of a.leases) await submit(viaSite, l)
      for (const l of b.leases) await submit(direct, l)
      for (const l of f.leases) await submit(foreign, l)
      for (const l of g.leases) await submit(legacy, l)
      for (const l of u.leases) await submit(unregistered, l)
      expect((await hub.core.jobStatus(job.id))?.state).toBe('complete')
      // every volunteer keeps its own credit
      for (const [v, ls] of [[foreign, f.leases], [legacy, g.leases], [unregistered, u.leases]] as const) {
        expect(await hub.core.ledgerBalance(v.peer.peerId.toString())).toBe(ls.reduce((s, l) => s + l.credit, 0))
      }
      expect(await hub.core.siteStats('site_nobody_registered_0001')).toMatchObject({ credit: 0, leases: 0 })

      const stats = await hub.core.siteStats(SITE)
      const siteCredit = a.leases.reduce((s, l) => s + l.credit, 0)
      expect(stats).toMatchObject({ siteKey: SITE, credit: siteCredit, results: 2, volunteers: 1, leases: 2, visitors: 1 })
      expect(stats.creditByJob).toEqual({ [job.id]: siteCredit })
      // the visitor keeps its own credit too, and the direct volunteer's credit is no site's
      expect(await hub.core.ledgerBalance(viaSite.peer.peerId.toString())).toBe(siteCredit)
      expect(await hub.core.ledgerBalance(direct.peer.peerId.toString())).toBe(b.leases.reduce((s, l) => s + l.credit, 0))
      expect((await hub.core.siteList())).toEqual([{ siteKey: SITE, credit: siteCredit }])
      expect((await hub.core.verifyLedger()).ok).toBe(true)

      // the read-only endpoint, from any origin
      const res = await fetch(new URL(`/api/sites/${SITE}`, hub.url))
      expect(res.status).toBe(200)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(await res.json()).toEqual(stats)
      const bad = await fetch(new URL('/api/sites/site_short', hub.url))
      expect(bad.status).toBe(400)
      const unseen = await (await fetch(new URL('/api/sites/site_nobody_here_000000', hub.url))).json() as { credit: number, leases: number }
      expect(unseen).toMatchObject({ credit: 0, leases: 0 })

      // the CLI, reading the running hub's store, and through the endpoint (async: the hub runs here)
      const cli = async (...args: string[]): Promise<unknown> => JSON.parse((await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'site', 'stats', ...args], { cwd: REPO_ROOT, encoding: 'utf8' })).stdout)
      expect(await cli(SITE, '--data-dir', dataDir)).toEqual(stats)
      expect(await cli(SITE, '--hub', hub.url)).toEqual(stats)
    } finally {
      for (const v of [viaSite, direct, foreign, legacy, unregistered]) await v.peer.stop()
    }
  })

  it('serves embed.js, the page and its assets compressed when the client accepts it (the same bytes decoded), with cache rules', async () => {
    const raw = readFileSync(join(REPO_ROOT, 'dist', 'embed.js'))
    const get = async (path: string, encoding?: string): Promise<{ res: Response, body: Buffer }> => {
      const res = await fetch(new URL(path, hub.url), { headers: encoding == null ? {} : { 'accept-encoding': encoding } })
      return { res, body: Buffer.from(await res.arrayBuffer()) }
    }
    // undici's fetch decodes what it accepted: ask with node's http semantics instead (raw bytes)
    const { request } = await import('node:http')
    const rawGet = async (path: string, encoding: string): Promise<{ headers: Record<string, string | string[] | undefined>, body: Buffer }> => await new Promise((resolve, reject) => {
      request(new URL(path, hub.url), { headers: { 'accept-encoding': encoding } }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => { resolve({ headers: res.headers, body: Buffer.concat(chunks) }) })
      }).on('error', reject).end()
    })
    const br = await rawGet('/embed.js', 'br')
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.body.length).toBeLessThan(raw.length / 2)
    expect(brotliDecompressSync(br.body).equals(raw)).toBe(true)
    expect(br.headers['access-control-allow-origin']).toBe('*')
    const gz = await rawGet('/embed.js', 'gzip')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.body).equals(raw)).toBe(true)
    const plain = await rawGet('/embed.js', 'identity')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.equals(raw)).toBe(true)
    // the page revalidates; its hashed assets are immutable
    const page = await get('/', 'br')
    expect(page.res.headers.get('cache-control')).toBe('no-cache')
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page.body.toString('utf8'))?.[1]
    expect(asset, 'the page names a hashed script').toBeDefined()
    const a = await rawGet(asset!, 'br')
    expect(a.headers['content-encoding']).toBe('br')
    expect(a.headers['cache-control']).toBe('public, max-age=31536000, immutable')
  })

  it('refuses a malformed site key (the stream is reset, nothing is leased) and keeps serving', async () => {
    await hub.core.createPrimesJob({ from: 1e6, to: 1.2e6, unit: 1e5, quorum: 1 })
    const v = await volunteer()
    try {
      for (const siteKey of ['', 'site_short', 'site_' + 'x'.repeat(65), 'site_has space in it_', 'nosite_abcdefghijklmnop']) {
        await expect(requestSiteWork(v.peer, hubPeer, { maxUnits: 1, release: [], deviceClass: 'wasm', siteKey })).rejects.toThrow()
      }
      expect((await hub.core.siteList()).map(s => s.siteKey)).toEqual([SITE])
      const ok = await requestSiteWork(v.peer, hubPeer, { maxUnits: 1, release: [], deviceClass: 'wasm', siteKey: 'site_another-partner_02' })
      expect(ok.leases).toHaveLength(1)
      // well formed, so served; but 1.1.0 names no origin, so the site records nothing
      expect((await hub.core.siteStats('site_another-partner_02')).leases).toBe(0)
    } finally {
      await v.peer.stop()
    }
  })
})

describe('embed pure parts', () => {
  it('site keys: site_ + 16..64 of [A-Za-z0-9_-]', () => {
    expect(isSiteKey('site_abcdefghijklmnop')).toBe(true)
    expect(isSiteKey('site_' + 'a'.repeat(64))).toBe(true)
    for (const bad of ['site_abcdefghijklmno', 'site_' + 'a'.repeat(65), 'SITE_abcdefghijklmnop', 'site_abcdefghijklmnop!', ' site_abcdefghijklmnop', 42, null]) {
      expect(isSiteKey(bad)).toBe(false)
    }
  })

  it('messages crossing the iframe boundary are checked for shape; anything else is null', () => {
    const env = { ns: EMBED_NS, v: 2 }
    const theme = { bg: 'rgb(17, 17, 17)', fg: 'rgb(240, 240, 240)', border: '', buttonBg: '', buttonFg: '', accent: 'rgb(0, 90, 200)' }
    expect(parseHostMessage({ ...env, type: 'start' })).not.toBeNull()
    expect(parseHostMessage({ ...env, type: 'stop' })).not.toBeNull()
    expect(parseHostMessage({ ...env, type: 'visibility', hidden: true })).not.toBeNull()
    expect(parseHostMessage({ ...env, type: 'theme', ...theme })).not.toBeNull()
    expect(parseFrameMessage({ ...env, type: 'credit', credit: 1.5, resultsValidated: 2 })).not.toBeNull()
    expect(parseFrameMessage({ ...env, type: 'progress', run: 'running', connected: true, workers: 1, unitsDone: 0, resultsPending: 0, throughput: 1e6 })).not.toBeNull()
    expect(parseFrameMessage({ ...env, type: 'state', run: 'consent', asking: true })).not.toBeNull()
    expect(parseFrameMessage({ ...env, type: 'size', width: 320, height: 180 })).not.toBeNull()
    const bad: unknown[] = [
      null, 'start', [], { type: 'stop' }, { ...env, v: 1, type: 'stop' }, { ...env, ns: 'other', type: 'stop' },
      { ...env, type: 'stop', extra: 1 },
      // the version 1 loader's start carried its own consent: a version 2 frame takes none
      { ...env, type: 'start', consentUntil: Date.now() + 1e9 }, { ns: EMBED_NS, v: 1, type: 'start', consentUntil: Date.now() + 1e9 },
      { ...env, type: 'yes' }, { ...env, type: 'consent', until: 1 },
      { ...env, type: 'visibility', hidden: 'yes' }, { ...env, type: 'eval', code: 'x' },
      // theme colours: opaque rgb() only, each key present
      { ...env, type: 'theme', ...theme, bg: 'red' }, { ...env, type: 'theme', ...theme, bg: 'rgba(0, 0, 0, 0)' },
      { ...env, type: 'theme', ...theme, fg: 'rgb(256, 0, 0)' }, { ...env, type: 'theme', ...theme, fg: 'rgb(1,2,3)' },
      { ...env, type: 'theme', ...theme, accent: 'rgb(0, 0, 0); background: url(x)' }, { ...env, type: 'theme', bg: '' },
      { ...env, type: 'toString' }, Object.assign(Object.create({ polluted: true }), { ...env, type: 'stop' })
    ]
    for (const b of bad) expect(parseHostMessage(b)).toBeNull()
    // the host only accepts frame messages, and vice versa
    expect(parseFrameMessage({ ...env, type: 'stop' })).toBeNull()
    expect(parseHostMessage({ ...env, type: 'ready' })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'error', message: 'x'.repeat(301) })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'credit', credit: Number.NaN, resultsValidated: 0 })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'progress', run: 'mining', connected: true, workers: 1, unitsDone: 0, resultsPending: 0, throughput: 0 })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'progress', run: 'consent', connected: true, workers: 1, unitsDone: 0, resultsPending: 0, throughput: 0 })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'size', width: 1001, height: 10 })).toBeNull()
    expect(parseFrameMessage({ ...env, type: 'size', width: 10.5, height: 10 })).toBeNull()
  })

  it('script tag config: a missing or malformed data-site is refused with a reason', () => {
    const src = 'https://hub.example/embed.js'
    expect(parseEmbedConfig({}, src, 8)).toMatchObject({ ok: false, reason: expect.stringContaining('no data-site') })
    expect(parseEmbedConfig({ site: 'site_x' }, src, 8)).toMatchObject({ ok: false, reason: expect.stringContaining('data-site must be') })
    expect(parseEmbedConfig({ site: SITE, workers: '0' }, src, 8).ok).toBe(false)
    expect(parseEmbedConfig({ site: SITE, consentHours: '1000' }, src, 8).ok).toBe(false)
    expect(parseEmbedConfig({ site: SITE }, src, 8)).toEqual({ ok: true, config: { siteKey: SITE, hubOrigin: 'https://hub.example', workers: 1, consentMs: 24 * 3_600_000 } })
    // workers are capped at cores - 1 (and 4)
    expect(parseEmbedConfig({ site: SITE, workers: '9' }, src, 2)).toMatchObject({ config: { workers: 1 } })
    expect(parseEmbedConfig({ site: SITE, workers: '9', hub: 'http://127.0.0.1:8080/x' }, src, 16)).toMatchObject({ config: { workers: 4, hubOrigin: 'http://127.0.0.1:8080' } })
  })

  it('the frame runs 1..4 worker slots for its workers parameter', () => {
    expect([null, '', 'x', '0', '-3', '1', '2.7', '4', '9'].map(embedWorkerSlots)).toEqual([1, 1, 1, 1, 1, 1, 2, 4, 4])
  })

  it('the built loader is at most 5 KB gzipped and dist/embed.json states its integrity', () => {
    const file = join(REPO_ROOT, 'dist', 'embed.js')
    expect(existsSync(file), 'run `npm run build` (and scripts/build-embed.ts) first').toBe(true)
    const code = readFileSync(file)
    const meta = JSON.parse(readFileSync(join(REPO_ROOT, 'dist', 'embed.json'), 'utf8')) as { gzipBytes: number, integrity: string }
    expect(gzipSync(code, { level: 9 }).length).toBeLessThanOrEqual(5 * 1024)
    expect(meta.gzipBytes).toBeLessThanOrEqual(5 * 1024)
    expect(meta.integrity).toBe(`sha384-${createHash('sha384').update(code).digest('base64')}`)
  })
})
