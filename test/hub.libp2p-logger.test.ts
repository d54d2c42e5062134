/**
 * Issue 14, the libp2p logger of the hub (src/hub/libp2p-logger.ts): without DEBUG one shared
 * logger for every component and scope (no `debug` instances per connection or stream), writing
 * nothing; with DEBUG, libp2p's own (so `DEBUG=libp2p:*` logs as libp2p documents).
 */
import { describe, expect, it, vi } from 'vitest'
import { hubLibp2pLogger } from '../src/hub/libp2p-logger.ts'

describe('hub libp2p logger (issue 14)', () => {
  it('gives every component and scope one silent logger when DEBUG is unset', () => {
    const logger = hubLibp2pLogger({})
    expect(logger).toBeDefined()
    const a = logger!.forComponent('libp2p:yamux')
    const b = logger!.forComponent('libp2p:connection').newScope('stream').newScope('ping')
    expect(b).toBe(a)
    expect(a.enabled).toBe(false)
    const write = vi.spyOn(process.stderr, 'write')
    try {
      a('a message %s', 'x'); a.error('an error'); a.trace('a trace')
      expect(write).not.toHaveBeenCalled()
    } finally {
      write.mockRestore()
    }
  })

  it('leaves libp2p its own logger when DEBUG names anything', () => {
    expect(hubLibp2pLogger({ DEBUG: 'libp2p:*' })).toBeUndefined()
    expect(hubLibp2pLogger({ DEBUG: '' })).toBeDefined()
  })
})
