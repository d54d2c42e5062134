/**
 * BeforeCommitQueue's bookkeeping (before-commit.ts): `queued` gives one batch's items in order
 * whatever else is queued between them, a rollback to a mark drops exactly the items queued after
 * it (batches and functions interleaved), `run` flushes each batch once with all its items at the
 * place of its first, and items queued during a flush form a new batch run later. Checked against
 * a plain list of what was queued, over 2,000 seeded random operations.
 */
import { describe, expect, it } from 'vitest'
import { BeforeCommitQueue } from '../src/hub/before-commit.ts'
import type { CommitBatch } from '../src/hub/before-commit.ts'

/** xorshift32: a seeded sequence (the same operations every run). */
function rng (seed: number): () => number {
  let x = seed
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32 }
}

describe('BeforeCommitQueue', () => {
  it('queued / rollbackTo agree with a plain list over seeded random adds, marks and rollbacks', () => {
    const q = new BeforeCommitQueue()
    const batches: Array<CommitBatch<number>> = [0, 1, 2].map(() => ({ flush: async () => {} }))
    // the model: every entry queued, in order (-1: a function)
    let model: Array<{ b: number, item: number }> = []
    const marks: number[] = []
    const r = rng(14)
    for (let op = 0; op < 2000; op++) {
      const x = r()
      if (x < 0.55) {
        const b = Math.floor(r() * 3)
        q.addToBatch(batches[b], op)
        model.push({ b, item: op })
      } else if (x < 0.65) {
        q.add(async () => {})
        model.push({ b: -1, item: op })
      } else if (x < 0.8) {
        marks.push(q.mark)
        expect(q.mark).toBe(model.length)
      } else if (x < 0.9 && marks.length > 0) {
        const mark = marks.pop() as number
        q.rollbackTo(mark)
        model = model.slice(0, mark)
      }
      for (let b = 0; b < 3; b++) expect(q.queued(batches[b])).toEqual(model.filter(m => m.b === b).map(m => m.item))
    }
  })

  it('run flushes each batch once at the place of its first item; items queued in a flush run after it; the queue is empty after', async () => {
    const q = new BeforeCommitQueue()
    const order: string[] = []
    const a: CommitBatch<string> = { flush: async items => { order.push(`a:${items.join(',')}`); if (items.includes('a1')) q.addToBatch(a, 'a-late') } }
    const b: CommitBatch<string> = { flush: async items => { order.push(`b:${items.join(',')}`) }, synchronousCommit: true }
    q.addToBatch(a, 'a1')
    q.add(async () => { order.push('fn1'); expect(q.queued(a)).toEqual(['a-late']) })
    q.addToBatch(b, 'b1')
    q.addToBatch(a, 'a2')
    const mark = q.mark
    q.addToBatch(b, 'b-dropped')
    q.add(async () => { order.push('fn-dropped') })
    q.rollbackTo(mark)
    q.addToBatch(b, 'b2')
    expect(q.queued(a)).toEqual(['a1', 'a2'])
    expect(q.queued(b)).toEqual(['b1', 'b2'])
    expect(q.requiresSynchronousCommit).toBe(false)
    await q.run()
    expect(order).toEqual(['a:a1,a2', 'fn1', 'b:b1,b2', 'a:a-late'])
    expect(q.requiresSynchronousCommit).toBe(true)
    expect(q.queued(a)).toEqual([])
    expect(q.mark).toBe(0)
    q.clear()
    expect(q.requiresSynchronousCommit).toBe(false)
  })
})
