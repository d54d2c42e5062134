/**
 * The hub's logger (log.ts): JSON lines by default, a pretty line format, the `log: (line) => void`
 * adapter (messages of info and above only, as plain text), and the request context that gives
 * lines inside a tracked protocol handler their reqId, peer and protocol.
 */
import { describe, expect, it } from 'vitest'
import { RequestTracker, createHubLogger, currentLogger, lineLogger, noteRequest, noteRequestError, outsideRequests } from '../src/hub/log.ts'
import { HubMetrics } from '../src/hub/metrics.ts'
import type { ProtocolNode } from '../src/protocol/index.ts'

const collect = (): { lines: string[], destination: { write: (l: string) => void } } => {
  const lines: string[] = []
  return { lines, destination: { write: (l: string) => { lines.push(l) } } }
}

describe('hub logger', () => {
  it('writes one JSON object a line at the level asked for, with time, level and msg', () => {
    const { lines, destination } = collect()
    const logger = createHubLogger({ destination })
    logger.debug('not at info')
    logger.info({ jobId: 'job-1' }, 'posted job-1')
    logger.warn('stream reset')
    expect(lines).toHaveLength(2)
    const [info, warn] = lines.map(l => JSON.parse(l) as Record<string, unknown>)
    expect(info).toMatchObject({ level: 30, msg: 'posted job-1', jobId: 'job-1' })
    expect(typeof info.time).toBe('number')
    expect(warn).toMatchObject({ level: 40, msg: 'stream reset' })
  })

  it('pretty: a time, the level name, the message and key=value fields on one line', () => {
    const { lines, destination } = collect()
    createHubLogger({ format: 'pretty', level: 'debug', destination }).debug({ reqId: 'p2p-7', leases: 2 }, '/sparecycles/work/2.0.0 ok')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG \/sparecycles\/work\/2\.0\.0 ok reqId=p2p-7 leases=2\n$/)
  })

  it('pretty: a stranger\'s line breaks and terminal escapes in a message or field stay on its one line, escaped', () => {
    const { lines, destination } = collect()
    const forged = 'KernelRunError: x\n12:00:00.000 INFO  hub stopped\u001b[2J\r'
    createHubLogger({ format: 'pretty', destination }).warn({ error: forged }, `probe: ${forged}`)
    expect(lines).toHaveLength(1)
    expect(lines[0].split('\n')).toHaveLength(2) // the line and the empty rest after its own newline
    expect(lines[0]).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/)
    expect(lines[0]).toContain('probe: KernelRunError: x\\n12:00:00.000 INFO  hub stopped\\u001b[2J\\r')
  })

  it('lineLogger hands on the messages of info and above as plain text', () => {
    const got: string[] = []
    const logger = lineLogger(line => got.push(line))
    logger.debug('per request')
    logger.info({ jobId: 'job-3' }, 'job job-3 paused: its kernel fails on the hub too')
    logger.child({ reqId: 'p2p-1' }).warn('stream reset on /x from y: MalformedMessageError: bad')
    expect(got).toEqual(['job job-3 paused: its kernel fails on the hub too', 'stream reset on /x from y: MalformedMessageError: bad'])
  })

  it('a tracked handler logs with reqId, peer and protocol, closes with one debug line and is counted per protocol', async () => {
    const { lines, destination } = collect()
    const base = createHubLogger({ level: 'debug', destination })
    const metrics = new HubMetrics()
    const tracker = new RequestTracker({ logger: base, metrics })
    let registered: ((stream: never, connection: never) => void | Promise<void>) | undefined
    const node: ProtocolNode = {
      dialProtocol: async () => { throw new Error('not dialled') },
      handle: async (_protocol, handler) => { registered = handler as typeof registered }
    }
    const served = tracker.serve(node)
    await served.handle('/sparecycles/test/1.0.0', async () => {
      currentLogger(base).info('inside')
      noteRequest({ leases: 3 })
      // work started here for many requests logs outside any one of them
      outsideRequests(() => { currentLogger(base).info('outside') })
      const err = new Error('boom')
      err.name = 'MalformedMessageError'
      noteRequestError(err)
    })
    const connection = { remotePeer: { toString: () => '12D3KooWpeer' } }
    await registered?.({} as never, connection as never)
    await registered?.({} as never, connection as never)
    const entries = lines.map(l => JSON.parse(l) as Record<string, unknown>)
    expect(entries.filter(e => e.msg === 'inside').map(e => e.reqId)).toEqual(['p2p-1', 'p2p-2'])
    expect(entries.find(e => e.msg === 'inside')).toMatchObject({ peer: '12D3KooWpeer', protocol: '/sparecycles/test/1.0.0' })
    expect(entries.find(e => e.msg === 'outside')?.reqId).toBeUndefined()
    expect(entries.find(e => e.level === 20)).toMatchObject({ reqId: 'p2p-1', outcome: 'error', error: 'MalformedMessageError', leases: 3, msg: '/sparecycles/test/1.0.0 error' })
    currentLogger(base).info('after')
    expect(JSON.parse(lines.at(-1)!)).not.toHaveProperty('reqId')
    const text = await metrics.text()
    expect(text).toContain('sparecycles_request_duration_seconds_count{protocol="/sparecycles/test/1.0.0",outcome="error"} 2\n')
    expect(text).toContain('sparecycles_requests_in_flight{protocol="/sparecycles/test/1.0.0"} 0\n')
  })
})
