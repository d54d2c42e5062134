#!/usr/bin/env node
// Entry point of `sparecycles` (npx, npm link, npm install -g <path>): runs the TypeScript CLI
// through tsx. The CLI needs Node 24 (node:sqlite); the project ships it as a devDependency
// (node_modules/node). Under an older Node this file runs itself again with that one, so the
// command works from any folder whatever `node` is first on PATH. Written for Node 18 and later.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const NEEDED_MAJOR = 24
const major = Number(process.versions.node.split('.')[0])
if (major < NEEDED_MAJOR) {
  // import.meta.url is this file's real path (Node resolves the symlink npm link makes)
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(own)) {
    process.stderr.write(`sparecycles: needs Node ${NEEDED_MAJOR} or later (node:sqlite), this is ${process.version}; run \`npm install\` in ${fileURLToPath(new URL('..', import.meta.url))} or put Node ${NEEDED_MAJOR} first on PATH\n`)
    process.exit(2)
  }
  const child = spawn(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  // Ctrl-C reaches the child from the terminal itself; a signal sent to this process is passed on
  process.on('SIGINT', () => {})
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.once('error', err => {
    process.stderr.write(`sparecycles: cannot run ${own}: ${err.message}\n`)
    process.exit(2)
  })
  child.once('exit', (status, signal) => {
    if (signal != null) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    }
    process.exit(status ?? 1)
  })
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/main.ts')
}
