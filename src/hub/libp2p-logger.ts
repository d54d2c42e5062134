/**
 * The ComponentLogger the hub gives libp2p (issue 14). libp2p's default (@libp2p/logger, the
 * `debug` package) makes three `debug` instances for every logger and every scope of one — each
 * connection, stream, multistream negotiation and ping — whether or not any namespace is enabled.
 * Measured with bench:hub's heap sampling (`BENCH_HUB_HEAP_PROF`, 10,000 volunteers at 0.01
 * results/s each, a 60 s window): the loggers were the largest single source of what reached V8's
 * old space (@libp2p/logger's `logger` 40.6 MiB and `debug`'s `createDebug` 14.3 MiB of 360 MiB),
 * garbage that the hub's long full collections then clear. With this logger: 220.5 MiB reached the
 * old space in the same window, the live heap went from 364–377 to 309–315 MiB and the hub's RSS
 * from 867–1,090 to 821–871 MiB (README, issue 14, with the commands and load averages).
 *
 * Unless `DEBUG` is set in the environment (then libp2p's own logger, so `DEBUG=libp2p:*` works
 * as libp2p documents), every component and scope gets ONE shared logger that writes nothing.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'

/** A Logger that writes nothing; its scopes are itself. */
const silent: Logger = Object.assign((): void => {}, {
  error: (): void => {},
  trace: (): void => {},
  enabled: false,
  newScope: (): Logger => silent
})

/** Every component's logger: `silent`. */
export const silentLibp2pLogger: ComponentLogger = { forComponent: () => silent }

/**
 * The logger for the hub's libp2p node: undefined (libp2p's default, `debug`) when `env.DEBUG`
 * names anything, else `silentLibp2pLogger`.
 */
export function hubLibp2pLogger (env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  return env.DEBUG != null && env.DEBUG !== '' ? undefined : silentLibp2pLogger
}
