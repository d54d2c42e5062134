/**
 * Headless Debian Chromium driven by playwright-core (test tools' browser downloads do not work
 * here). Flags from design.md: these run headless as root on this kind of machine.
 */
import { chromium } from 'playwright-core'
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'
]

/** @throws Error when Chromium is not installed (run `npm run setup`) */
export async function launchChromium (opts: { extraArgs?: string[], ownSignals?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`npm run setup\` (installs Debian's chromium)`)
  // ownSignals: the caller handles SIGINT/SIGTERM itself (playwright's own handlers exit 130)
  const signals = opts.ownSignals === true ? { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false } : {}
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])], headless: true, ...signals })
}
