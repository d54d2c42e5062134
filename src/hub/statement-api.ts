/**
 * Read-only ledger API for credit statements: the hub's hash-chained ledger entries, so that a
 * volunteer's statement can be checked against the whole chain (links between the peer's
 * non-consecutive entries, and receipts missing from the statement). The ledger is the public
 * record of who was credited for what; nothing secret is exposed.
 *
 *   GET /api/ledger?from=<seq ≥ 1>&limit=<1..1000>
 *   → { "head": <highest seq>, "entries": [{ "seq": n, "entry": "<base64 protobuf CreditEntry>" }, …] }
 *
 * Wiring (one line in src/hub/http-server.ts, after the job routes):
 *   registerStatementApi(server, opts.core)
 */
import type { HubCore } from './hub-core.ts'
import type { FastifyInstance } from 'fastify'

/** Most entries one request returns. */
export const LEDGER_PAGE_MAX = 1000

export interface LedgerPage {
  head: number
  entries: Array<{ seq: number, entry: string }>
}

/** Entries [from, from + limit) of the ledger, as the API returns them (stops at a gap). */
export async function ledgerPage (core: HubCore, from: number, limit: number): Promise<LedgerPage> {
  const page = await core.ledgerEntries(from, limit)
  const entries: LedgerPage['entries'] = []
  for (const e of page.entries) {
    if (e.seq !== from + entries.length) break
    entries.push({ seq: e.seq, entry: Buffer.from(e.entry).toString('base64') })
  }
  return { head: page.head, entries }
}

export function registerStatementApi (server: FastifyInstance, core: HubCore): void {
  server.get<{ Querystring: { from?: string, limit?: string } }>('/api/ledger', async (req, reply) => {
    const from = req.query.from == null ? 1 : Number(req.query.from)
    const limit = req.query.limit == null ? LEDGER_PAGE_MAX : Number(req.query.limit)
    if (!Number.isInteger(from) || from < 1 || !Number.isInteger(limit) || limit < 1 || limit > LEDGER_PAGE_MAX) {
      return reply.code(400).send({ error: 'BadQuery', message: `from must be an integer ≥ 1 and limit an integer in 1..${LEDGER_PAGE_MAX}` })
    }
    void reply.header('cache-control', 'no-store')
    return await ledgerPage(core, from, limit)
  })
}

/**
 * Fetch the whole ledger from a hub's `/api/ledger` (paged), as CreditEntry bytes for seq 1..head.
 * @param hubUrl the hub's HTTP base URL
 * @throws Error on an HTTP error or a page that does not follow on
 */
export async function fetchLedger (hubUrl: string, signal?: AbortSignal): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  let head = Infinity
  while (out.length < head) {
    const url = new URL(`/api/ledger?from=${out.length + 1}&limit=${LEDGER_PAGE_MAX}`, hubUrl)
    const response = await fetch(url, { signal: signal ?? AbortSignal.timeout(30_000) })
    if (!response.ok) throw new Error(`ledger fetch ${url}: HTTP ${response.status}`)
    const page = await response.json() as LedgerPage
    if (head === Infinity) head = page.head
    if (page.entries.length === 0) break
    for (const e of page.entries) {
      if (e.seq !== out.length + 1) throw new Error(`ledger page out of order: expected seq ${out.length + 1}, got ${e.seq}`)
      out.push(new Uint8Array(Buffer.from(e.entry, 'base64')))
    }
  }
  return out
}
