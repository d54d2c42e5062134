/**
 * The demo and hub commands refuse bad ranges and flags with a one-line error naming the flag and a
 * non-zero exit, before creating anything (the data directory must not appear).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, tempDir } from './helpers.ts'

function runCli (args: string[]): { status: number | null, stderr: string, stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stderr: r.stderr, stdout: r.stdout }
}

const cases: Array<{ name: string, args: string[], flag: string }> = [
  { name: 'a >= b', args: ['--from', '100', '--to', '100'], flag: '--to' },
  { name: 'negative start', args: ['--from', '-5', '--to', '100'], flag: '--from' },
  { name: 'end beyond 2^53', args: ['--to', '9007199254740993'], flag: '--to' },
  { name: 'end beyond 2^53 as a power', args: ['--to', '2^54'], flag: '--to' },
  { name: 'not a number', args: ['--unit', 'lots'], flag: '--unit' },
  { name: 'not an integer', args: ['--from', '1.5'], flag: '--from' },
  { name: 'zero unit', args: ['--unit', '0'], flag: '--unit' },
  { name: 'unknown flag', args: ['--frm', '3'], flag: '--frm' }
]

describe('command-line flags', () => {
  for (const command of ['demo', 'hub']) {
    for (const c of cases) {
      it(`${command} refuses ${c.name} naming ${c.flag}, creating nothing`, () => {
        const dataDir = join(tempDir(), 'data')
        const r = runCli([command, ...c.args, '--data-dir', dataDir])
        expect(r.status).not.toBe(0)
        const lines = r.stderr.trim().split('\n')
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(c.flag)
        expect(r.stdout).toBe('')
        expect(existsSync(dataDir)).toBe(false)
      })
    }
  }

  for (const [flag, value] of [['--log-level', 'loud'], ['--log-format', 'xml'], ['--recommend-hub', 'ftp://hub.example/'], ['--recommend-hub', 'https://hub.example/?x=1']]) {
    it(`hub refuses ${flag} ${value} naming ${flag}, creating nothing`, () => {
      const dataDir = join(tempDir(), 'data')
      const r = runCli(['hub', flag, value, '--data-dir', dataDir])
      expect(r.status).not.toBe(0)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(flag)
      expect(r.stdout).toBe('')
      expect(existsSync(dataDir)).toBe(false)
    })
  }

  it('demo refuses more hubs than a page works for, and --hubs with matmul', () => {
    expect(runCli(['demo', '--hubs', '10']).stderr.trim()).toMatch(/^sparecycles: --hubs: at most 9/)
    expect(runCli(['demo', '--hubs', '2', '--job', 'matmul']).stderr.trim()).toMatch(/^sparecycles: --hubs: goes with the primes job/)
  })

  it('demo refuses a single volunteer (quorum 2 needs two)', () => {
    const r = runCli(['demo', '--volunteers', '1'])
    expect(r.status).not.toBe(0)
    expect(r.stderr.trim()).toMatch(/^sparecycles: --volunteers: /)
  })
})
