/**
 * `sparecycles demo` end to end: a hub, two headless Chromium volunteers, a job to completion, and
 * the JSON summary as the last stdout line with π(10^7) from ../shared/reference/known-answers.md.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, knownPi } from './helpers.ts'

describe('demo command', () => {
  it('runs [0, 10^7) with two volunteers and prints the summary JSON last', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'demo', '--from', '0', '--to', '1e7', '--unit', '1e6', '--volunteers', '2'],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 })
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    const summary = JSON.parse(lines[lines.length - 1])
    expect(summary.primes).toBe(knownPi().get(1e7))
    expect(summary).toMatchObject({ from: 0, to: 1e7, workUnits: 10, validated: 10, policy: 'adaptive', ledgerVerified: true, ok: true })
    // adaptive replication (issue 10) needs one checked result per unit, so the first tab may compute
    // all ten units before the second has started: one or two volunteers earn credit, each listed
    expect(summary.volunteers).toBeGreaterThanOrEqual(1)
    expect(summary.volunteers).toBeLessThanOrEqual(2)
    // measured now (issue 10): at least one replica per unit, at most the old quorum of 2 plus reissues
    expect(summary.replicasPerUnit).toBeGreaterThanOrEqual(1)
    expect(summary.replicasPerUnit).toBe(summary.replicasIssued / 10)
    // measured by the tabs themselves (traffic.ts): bytes on their protocol streams, per volunteer-hour
    expect(summary.networkBytes).toBeGreaterThan(1000)
    expect(summary.volunteerMs).toBeGreaterThan(0)
    expect(summary.networkBytesPerVolunteerHour).toBe(Math.round(summary.networkBytes / (summary.volunteerMs / 3_600_000)))
    expect(summary.networkBytesPerReplica).toBe(Math.round(summary.networkBytes / summary.replicasIssued))
    expect(typeof summary.job).toBe('string')
    expect(summary.elapsedMs).toBeGreaterThan(0)
    const credits = Object.values(summary.credit) as number[]
    expect(credits).toHaveLength(summary.volunteers)
    // every unit validated at 1 credit per 10^6 numbers, once per valid result: 10 to 20 credit in all
    const total = credits.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThanOrEqual(10 - 1e-9)
    expect(total).toBeLessThanOrEqual(20 + 1e-9)
    // progress went to stderr
    expect(r.stderr).toContain('progress:')
  })
})
