/**
 * Serves the example partner page (examples/partner/index.html) from its own origin, with the
 * embed snippet filled in: the hub's URL, a site key and the loader's integrity (read from the
 * hub's built dist/embed.json unless given). The end-to-end tests use it; by hand:
 *
 *   node --import tsx examples/partner/server.ts --hub http://127.0.0.1:8080 --site site_example_partner_01 --port 8081
 *
 * then open http://localhost:8081/ (localhost vs 127.0.0.1: another site than the hub).
 * Query overrides for trying bad tags: `?site=<key>` (empty: no data-site), `?integrity=<value>`.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'

const PAGE = fileURLToPath(new URL('index.html', import.meta.url))
const EMBED_JSON = fileURLToPath(new URL('../../dist/embed.json', import.meta.url))

export interface PartnerServerOptions {
  /** The hub's base URL, e.g. http://127.0.0.1:8080 (no trailing slash needed). */
  hubUrl: string
  siteKey: string
  /** The script tag's integrity (default: dist/embed.json's). */
  integrity?: string
  host?: string
  /** 0 = any free port. */
  port?: number
}

export interface PartnerServer {
  server: Server
  /** http://localhost:<port>/ */
  url: string
  /** Paths requested so far. */
  requests: string[]
  close: () => Promise<void>
}

const escAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

export function renderPartnerPage (opts: { hubUrl: string, siteKey: string | null, integrity: string }): string {
  let html = readFileSync(PAGE, 'utf8')
    .replaceAll('{{HUB}}', escAttr(opts.hubUrl.replace(/\/$/, '')))
    .replaceAll('{{INTEGRITY}}', escAttr(opts.integrity))
  html = opts.siteKey == null ? html.replace(' data-site="{{SITE}}"', '') : html.replaceAll('{{SITE}}', escAttr(opts.siteKey))
  return html
}

export async function startPartnerServer (opts: PartnerServerOptions): Promise<PartnerServer> {
  const requests: string[] = []
  const integrity = opts.integrity ?? (JSON.parse(readFileSync(EMBED_JSON, 'utf8')) as { integrity: string }).integrity
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://partner')
    requests.push(url.pathname)
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end()
      return
    }
    if (url.pathname !== '/' && url.pathname !== '/index.html') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const site = url.searchParams.has('site') ? (url.searchParams.get('site') || null) : opts.siteKey
    const html = renderPartnerPage({ hubUrl: opts.hubUrl, siteKey: site, integrity: url.searchParams.get('integrity') ?? integrity })
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const port = (server.address() as { port: number }).port
  return {
    server,
    url: `http://localhost:${port}/`,
    requests,
    close: async () => { server.closeAllConnections(); await new Promise<void>(resolve => server.close(() => { resolve() })) }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback?: string): string => {
    const i = process.argv.indexOf(`--${name}`)
    const v = i >= 0 ? process.argv[i + 1] : fallback
    if (v == null) { process.stderr.write(`missing --${name}\n`); process.exit(2) }
    return v
  }
  const p = await startPartnerServer({ hubUrl: arg('hub'), siteKey: arg('site', 'site_example_partner_01'), port: Number(arg('port', '8081')) })
  process.stdout.write(`partner page: ${p.url}\n`)
}
