/**
 * One error convention: every error class in src/ and workers/ carries its name as a literal, both
 * as `static name` and as `this.name`, and that name is in the protocol's ErrorName union. Classes
 * are found by reading the sources, so a new class without the convention fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_NAMES } from '../src/protocol/index.ts'
import { REPO_ROOT } from './helpers.ts'

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

const CLASS = /export class (\w+) extends (\w*Error)\b/g
const found = [...sources(join(REPO_ROOT, 'src')), ...sources(join(REPO_ROOT, 'workers'))]
  .flatMap(path => [...readFileSync(path, 'utf8').matchAll(CLASS)].map(m => ({ path, name: m[1] })))

describe('error names', () => {
  it('finds the error classes', () => {
    expect(found.length).toBeGreaterThan(40)
  })

  it.each(found.map(f => [relative(REPO_ROOT, f.path), f.name]))('%s: %s has a literal static and instance name in ErrorName', async (path, name) => {
    const mod = await import(join(REPO_ROOT, path)) as Record<string, unknown>
    const cls = mod[name] as new (...args: unknown[]) => Error
    expect(typeof cls).toBe('function')
    const source = readFileSync(join(REPO_ROOT, path), 'utf8')
    // literals, not derived from the (minifiable) class identifier
    expect(source).toContain(`static override readonly name: ErrorName = '${name}'`)
    expect(source).toContain(`override readonly name: ErrorName = '${name}'`)
    expect(Object.hasOwn(cls, 'name')).toBe(true)
    expect(cls.name).toBe(name)
    const instance = new cls('message', 'message', 'message')
    expect(instance).toBeInstanceOf(Error)
    expect(instance.name).toBe(name)
    expect(ERROR_NAMES).toContain(name)
  })

  it('lists each name once', () => {
    expect(new Set(ERROR_NAMES).size).toBe(ERROR_NAMES.length)
  })
})
