/**
 * The `sparecycles` command line: run a hub, the visitor demo (`start`), and the headless demo.
 */
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import { startHub } from '../hub/hub.ts'
import type { HubOptions } from '../hub/hub.ts'
import { DEFAULT_LOCAL_EVM_PORT } from '../hub/payout-service.ts'
import { runDemo } from './demo.ts'
import { runMatmulDemo } from './demo-matmul.ts'
import { siteStats } from './site.ts'
import { registerResearcherCommands } from './researcher-commands.ts'
import { registerPayoutCommands } from './payout.ts'
import { FlagError, checkRangeFlags, parseBound, parseNonNegativeInt, parsePort, parsePositiveInt, parseStoreFlag } from './flags.ts'
import { addLimitFlags, limitHitLog, limitsFromFlags } from './limit-flags.ts'
import type { LimitFlags } from './limit-flags.ts'
import { LOG_FORMATS, LOG_LEVELS, createHubLogger } from '../hub/log.ts'
import { checkIceServers } from '../protocol/providers.ts'
import { MAX_HUBS, checkHubUrls } from '../protocol/hub-urls.ts'
import type { LogFormat } from '../hub/log.ts'
import type { LevelWithSilent } from 'pino'

const STATIC_DIR = fileURLToPath(new URL('../../dist', import.meta.url))
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

function requireBuiltPage (): void {
  if (!existsSync(`${STATIC_DIR}/index.html`)) throw new Error(`the visitor page is not built (${STATIC_DIR}): run \`npm run build\``)
}

/** A seed: an integer from 0 to 2^32 - 1. */
function parseSeed (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > 0xFFFF_FFFF) throw new FlagError('--seed', `must be an integer from 0 to 4294967295, got "${value}"`)
  return n
}

const program = new Command()
program.name('sparecycles').description('Spare Cycles: volunteer computing in a browser tab').showHelpAfterError(false).showSuggestionAfterError(false)

/** The payout flags of a hub command → HubOptions.payout (undefined: no payouts). @throws FlagError */
function payoutFromFlags (opts: PayoutFlags): HubOptions['payout'] {
  if (opts.rpc != null) {
    let url: URL
    try { url = new URL(opts.rpc) } catch { throw new FlagError('--rpc', `must be an http(s) URL, got "${opts.rpc}"`) }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FlagError('--rpc', `must be an http(s) URL, got "${opts.rpc}"`)
    return { chain: { kind: 'rpc', rpcUrl: opts.rpc, chainId: opts.chainId }, operatorKeyFile: opts.operatorKey, epochIntervalMs: opts.epochEveryS * 1000 }
  }
  if (opts.chainId != null) throw new FlagError('--chain-id', 'goes with --rpc (the local EVM is chain 31337)')
  if (opts.payout === 'off') return undefined
  return { chain: { kind: 'local', host: '127.0.0.1', port: opts.evmPort }, operatorKeyFile: opts.operatorKey, epochIntervalMs: opts.epochEveryS * 1000 }
}

interface PayoutFlags { payout: 'local' | 'off', rpc?: string, chainId?: number, operatorKey?: string, evmPort: number, epochEveryS: number }

function hubCommand (name: string, description: string, defaults: { port: string, wsPort: string, demoJob: boolean, logFormat: LogFormat, payout: 'local' | 'off', epochEveryS: number }): Command {
  return addLimitFlags(program.command(name)
    .description(description))
    .option('--data-dir <dir>', 'directory of the hub key, researchers and sites files, and (without --store) the SQLite store', 'data')
    .option('--store <url>', 'PostgreSQL database several hubs share, e.g. postgres://postgres@/sparecycles?host=/tmp/pg (default: SQLite in --data-dir)', parseStoreFlag)
    .option('--shared-dir <dir>', 'directory all hubs of a deployment share: blobs, job outputs, the ledger key (default: --data-dir)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'HTTP port of the visitor page', parsePort, Number(defaults.port))
    .option('--ws-port <port>', 'libp2p WebSocket port', parsePort, Number(defaults.wsPort))
    .option('--from <a>', 'demo job: range start (inclusive)', parseBound, 0)
    .option('--to <b>', 'demo job: range end (exclusive, at most 2^53)', parseBound, 1e10)
    .option('--unit <u>', 'demo job: numbers per work unit', parsePositiveInt, 1e8)
    .addOption(new Option('--no-demo-job', 'do not post the demo prime-counting job').default(defaults.demoJob))
    .option('--researchers <file>', 'allowed researchers, JSON {"allowed": [peer ids]} (default <data-dir>/researchers.json)')
    .option('--recommend-hub <url>', 'another hub\'s URL this hub recommends to its volunteers in /hub.json (repeatable, at most 8)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--ice-server <stun:host:port>', 'a STUN server the volunteers use for WebRTC with each other (repeatable, at most 4; default none: host candidates only)', (v: string, prev: string[]) => [...prev, v], [])
    .addOption(new Option('--log-level <level>', 'lowest log level written (debug: a line per request)').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines on stdout: json (one object a line) or pretty (human-readable)').choices(LOG_FORMATS).default(defaults.logFormat))
    .addOption(new Option('--payout <chain>', 'token payouts: local (a journaled local EVM in this process, contracts deployed on first start) or off').choices(['local', 'off']).default(defaults.payout))
    .option('--rpc <url>', 'token payouts on this chain instead of the local EVM (deploy first: sparecycles payout deploy)')
    .option('--chain-id <id>', 'with --rpc: the chain id the deployment must be on', parsePositiveInt)
    .option('--operator-key <file>', 'secp256k1 key file (0x-hex) that posts payout roots (default <data-dir>/payout-operator.key, made when absent)')
    .option('--evm-port <port>', 'JSON-RPC port of the local EVM', parsePort, DEFAULT_LOCAL_EVM_PORT)
    .option('--epoch-every-s <s>', 'seconds between payout epochs (0: none, run sparecycles payout epoch by hand)', parseNonNegativeInt, defaults.epochEveryS)
    .action(async (opts: LimitFlags & PayoutFlags & { dataDir: string, host: string, port: number, wsPort: number, from: number, to: number, unit: number, demoJob: boolean, researchers?: string, store?: string, sharedDir?: string, logLevel: LevelWithSilent, logFormat: LogFormat, iceServer: string[], recommendHub: string[] }) => {
      checkRangeFlags(opts.from, opts.to, opts.unit)
      try { checkIceServers(opts.iceServer) } catch (err) { throw new FlagError('--ice-server', (err as Error).message) }
      try { checkHubUrls(opts.recommendHub) } catch (err) { throw new FlagError('--recommend-hub', (err as Error).message) }
      const payout = payoutFromFlags(opts)
      requireBuiltPage()
      const logger = createHubLogger({ level: opts.logLevel, format: opts.logFormat })
      const hub = await startHub({ dataDir: opts.dataDir, store: opts.store, sharedDir: opts.sharedDir, staticDir: STATIC_DIR, host: opts.host, httpPort: opts.port, wsPort: opts.wsPort, researchersFile: opts.researchers, iceServers: opts.iceServer, recommendedHubs: opts.recommendHub, logger, limits: limitsFromFlags(opts), onLimitHit: limitHitLog(line => { logger.warn(line) }), payout })
      const log = (line: string, fields: Record<string, unknown> = {}): void => { logger.info(fields, line) }
      if (opts.demoJob) {
        const existing = (await hub.core.listJobs()).find(j => j.from === opts.from && j.to === opts.to && j.unit === opts.unit && j.state === 'running')
        // adaptive (trust.ts): a volunteer's results are checked and replicated until it is trusted, then mostly stand alone
        const job = existing ?? await hub.core.createPrimesJob({ from: opts.from, to: opts.to, unit: opts.unit, quorum: 2 }, { policy: 'adaptive' })
        log(`${existing != null ? 'resuming' : 'posted'} job ${job.id}: primes in [${opts.from}, ${opts.to}), units of ${opts.unit}, policy ${job.policy}`, { jobId: job.id })
        setInterval(() => {
          void hub.core.jobStatus(job.id).then(s => {
            if (s != null) log(`job ${job.id}: ${s.validated}/${s.workUnits} validated, ${s.inProgress} in progress, primes so far ${s.primes}, ${s.state}`, { jobId: job.id, validated: s.validated, workUnits: s.workUnits, inProgress: s.inProgress })
          }, () => {})
        }, 10_000).unref()
      }
      log(`Open ${hub.url} in a browser and press Start.`, { url: hub.url })
      const shutdown = (): void => { void hub.stop().finally(() => process.exit(0)) }
      process.once('SIGINT', shutdown)
      process.once('SIGTERM', shutdown)
    })
}

hubCommand('start', 'run a hub with the demo job and a local EVM for token payouts, and print the visitor page URL', { port: '8080', wsPort: '9090', demoJob: true, logFormat: 'pretty', payout: 'local', epochEveryS: 60 })
hubCommand('hub', 'run a hub', { port: '8080', wsPort: '9090', demoJob: false, logFormat: 'json', payout: 'off', epochEveryS: 3600 })

program.command('demo')
  .description('run a hub, a prime-counting job and N headless Chromium volunteers to completion; prints a JSON summary last')
  .option('--from <a>', 'range start (inclusive)', parseBound, 0)
  .option('--to <b>', 'range end (exclusive, at most 2^53)', parseBound, 1e9)
  .option('--unit <u>', 'numbers per work unit', parsePositiveInt, 1e8)
  .option('--volunteers <n>', 'headless Chromium tabs (at least 2: quorum 2 needs two distinct volunteers)', parsePositiveInt, 2)
  .option('--workers <n>', 'worker slots per tab', parsePositiveInt, 1)
  .option('--data-dir <dir>', 'hub data directory (default: a fresh temporary one)')
  .option('--timeout-s <s>', 'give up after this many seconds', parsePositiveInt, 3600)
  .addOption(new Option('--job <kind>', 'primes: prime counting (quorum 2); matmul: C = A x B verified by Freivalds').choices(['primes', 'matmul']).default('primes'))
  .option('--n <n>', 'matmul: generated n x n operands', parsePositiveInt, 2048)
  .option('--seed <s>', 'matmul: seed of the generated operands', parseSeed, 1)
  .option('--a <file>', 'matmul: A as a .f32mat file (with --b, instead of --n/--seed)')
  .option('--b <file>', 'matmul: B as a .f32mat file')
  .option('--tile <t>', 'matmul: tile edge (1-512)', parsePositiveInt, 256)
  .option('--checks <k>', 'matmul: Freivalds vectors per tile (false accept <= 2^-k)', parsePositiveInt, 20)
  .option('--out <file>', 'matmul: copy the product (.f32mat) here')
  .addOption(new Option('--p2p <on|off>', 'matmul: tabs fetch input blocks from each other over WebRTC (on), or from the hub only (off)').choices(['on', 'off']).default('on'))
  .option('--payout', 'primes: then pay the credit out as tokens on a local EVM (each tab binds an address and claims)')
  .option('--hubs <k>', `primes: K independent hubs, each its own job over the next range of the same length; every tab adds them all on the first hub's page (1-${MAX_HUBS + 1})`, parsePositiveInt, 1)
  .action(async (opts: { from: number, to: number, unit: number, volunteers: number, workers: number, dataDir?: string, timeoutS: number, job: string, n: number, seed: number, a?: string, b?: string, tile: number, checks: number, out?: string, payout?: boolean, p2p: string, hubs: number }) => {
    if (opts.hubs > MAX_HUBS + 1) throw new FlagError('--hubs', `at most ${MAX_HUBS + 1}: a page works for its own hub and ${MAX_HUBS} more`)
    if (opts.hubs > 1 && (opts.job !== 'primes' || opts.payout === true)) throw new FlagError('--hubs', 'goes with the primes job, without --payout')
    if (opts.job === 'matmul') {
      if ((opts.a == null) !== (opts.b == null)) throw new FlagError(opts.a == null ? '--a' : '--b', 'give both --a and --b, or neither')
      requireBuiltPage()
      const summary = await runMatmulDemo({ ...opts, ...(opts.p2p === 'off' ? { pageQuery: 'p2p=off' } : {}), staticDir: STATIC_DIR, timeoutMs: opts.timeoutS * 1000, log })
      for (const failure of summary.failures) log(`check failed: ${failure}`)
      process.stdout.write(`${JSON.stringify(summary)}\n`)
      process.exitCode = summary.ok ? 0 : 1
      return
    }
    checkRangeFlags(opts.from, opts.to, opts.unit)
    if (opts.volunteers < 2) throw new FlagError('--volunteers', 'must be at least 2: quorum 2 needs two distinct volunteers')
    requireBuiltPage()
    if (opts.hubs > 1) {
      checkRangeFlags(opts.from, opts.from + opts.hubs * (opts.to - opts.from), opts.unit)
      const { runMultiHubDemo } = await import('./demo-hubs.ts')
      const summary = await runMultiHubDemo({ ...opts, staticDir: STATIC_DIR, timeoutMs: opts.timeoutS * 1000, log })
      for (const failure of summary.failures) log(`check failed: ${failure}`)
      process.stdout.write(`${JSON.stringify(summary)}\n`)
      process.exitCode = summary.ok ? 0 : 1
      return
    }
    const summary = await runDemo({ ...opts, staticDir: STATIC_DIR, timeoutMs: opts.timeoutS * 1000, log })
    for (const failure of summary.failures) log(`check failed: ${failure}`)
    process.stdout.write(`${JSON.stringify(summary)}\n`)
    process.exitCode = summary.ok ? 0 : 1
  })

program.command('volunteer')
  .description('run headless Chromium volunteers on a hub\'s page (e.g. on your own job) until Ctrl-C; progress on stderr')
  .requiredOption('--hub <url>', 'the hub\'s page, e.g. http://127.0.0.1:8080/')
  .option('--tabs <n>', 'volunteer tabs, each its own browser context and key', parsePositiveInt, 2)
  .option('--workers <k>', 'worker slots per tab', parsePositiveInt, 1)
  .action(async (opts: { hub: string, tabs: number, workers: number }) => {
    const { runVolunteers } = await import('./volunteer.ts')
    const { tabs } = await runVolunteers({ ...opts, log })
    log(`${tabs} volunteer tabs stopped`)
  })

const site = program.command('site').description("partner sites: credit attributed to a site's embed")
site.command('stats <key>')
  .description("print a partner site's credit totals as one JSON line")
  .option('--data-dir <dir>', 'directory of the hub\'s SQLite store', 'data')
  .option('--hub <url>', "ask a running hub's /api/sites/<key> instead of reading the data dir")
  .action(async (key: string, opts: { dataDir: string, hub?: string }) => {
    process.stdout.write(`${JSON.stringify(await siteStats(key, opts))}\n`)
  })
site.command('register <key>')
  .description('bind a site key to an origin its embed runs on (only work from registered origins earns the site credit); repeat for more origins')
  .requiredOption('--origin <origin>', 'the partner page\'s origin, e.g. https://recipes.example')
  .option('--data-dir <dir>', 'the hub\'s data directory (its sites.json)', 'data')
  .option('--sites <file>', 'the sites file (default <data-dir>/sites.json)')
  .action(async (key: string, opts: { origin: string, dataDir: string, sites?: string }) => {
    const { registerSite } = await import('../hub/site-registry.ts')
    const file = opts.sites ?? join(opts.dataDir, 'sites.json')
    const sites = registerSite(file, key, opts.origin)
    process.stdout.write(`${key} registered for ${sites[key].join(', ')} in ${file}\n`)
  })

program.command('verify-statement')
  .description('check a credit statement (JSON from the visitor page) against the hub\'s signatures; exits 0 verified, 1 not verified, 2 unreadable')
  .argument('<file>', 'statement file')
  .option('--hub <url>', 'hub HTTP URL: also re-walk its whole ledger chain (/api/ledger) and list receipts missing from the statement')
  .action(async (file: string, opts: { hub?: string }) => {
    const { runVerifyStatement } = await import('./verify-statement.ts')
    const { code } = await runVerifyStatement(file, { hub: opts.hub, out: line => { process.stdout.write(`${line}\n`) } })
    process.exitCode = code
  })

registerResearcherCommands(program)
registerPayoutCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.stderr.write(`sparecycles: ${(err as Error).message}\n`)
  process.exit(2)
}
