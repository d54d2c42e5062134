/**
 * The real CLI hub (`sparecycles hub` / `start`, src/cli/main.ts) in a child process, for tests that
 * kill it or run several: started with the given arguments, resolved once it listens (its log line
 * `hub <peer id> started: page <url>, libp2p <multiaddr>` and `Open <url>`, in either log format).
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { REPO_ROOT } from './helpers.ts'

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

/**
 * Run `command args` to its end without blocking this process's event loop (a hub may run in it);
 * SIGKILLed after `timeoutMs`. @returns its exit status (null when killed) and its output
 */
export async function runProcess (command: string, args: readonly string[], timeoutMs: number): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    const child = spawn(command, args, { cwd: REPO_ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.on('close', status => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}

/** `sparecycles <args>` (src/cli/main.ts) to its end, at most `timeoutMs`. @returns its exit code (-1 when killed) and output */
export async function runCli (args: readonly string[], timeoutMs = 60_000): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO_ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : -1), stdout, stderr })
    })
  })
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

export interface RunningChild {
  child: ChildProcess
  peerId: string
  multiaddr: string
  url: string
  /** What it printed (stdout and stderr) until it listened. */
  startOutput: string
}

/**
 * Start `sparecycles <args>`; resolves once it listens.
 * @throws Error with the end of its output when it exits first or does not listen within 30 s
 */
export async function startHubProcess (args: string[]): Promise<RunningChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let listening = false
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hub did not start in 30 s: ${out.slice(-2000)}`)) }, 30_000)
    const onData = (d: Buffer): void => {
      if (listening) return
      out += d.toString()
      const started = /hub (\S+) started: page ([^\s,"]+), libp2p ([^\s"]+)/.exec(out)
      if (started != null && out.includes('Open http')) {
        listening = true
        clearTimeout(timer)
        resolve({ child, peerId: started[1], url: started[2], multiaddr: started[3], startOutput: out })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', code => {
      clearTimeout(timer)
      if (!listening) reject(new Error(`hub exited with ${code} before it listened: ${out.slice(-2000)}`))
    })
  })
}

/** SIGKILL (default) or SIGTERM the hub and wait until it has exited. */
export async function kill (c: RunningChild, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
  if (c.child.exitCode != null || c.child.signalCode != null) return
  const exited = new Promise(resolve => c.child.once('exit', resolve))
  c.child.kill(signal)
  await exited
}
