/**
 * The hub's HTTP side (fastify): serves the built visitor page as static files, `/hub.json` (the
 * hub's peer id and WebSocket multiaddrs, which the page dials) and a read-only job API.
 */
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import type { HubCore } from './hub-core.ts'
import type { FastifyInstance } from 'fastify'

export interface HubHttpOptions {
  core: HubCore
  /** Directory of the built page (vite's dist/). */
  staticDir: string
  /** What `/hub.json` returns. */
  hubInfo: () => { peerId: string, multiaddrs: string[] }
  host: string
  port: number
}

export async function startHubHttp (opts: HubHttpOptions): Promise<{ server: FastifyInstance, url: string }> {
  const server = Fastify({ logger: false, bodyLimit: 1024 })
  await server.register(fastifyStatic, { root: opts.staticDir, index: ['index.html'] })
  server.get('/hub.json', async (_req, reply) => {
    void reply.header('cache-control', 'no-store')
    return opts.hubInfo()
  })
  server.get('/api/jobs', async () => opts.core.listJobs())
  server.get<{ Params: { id: string } }>('/api/jobs/:id', async (req, reply) => {
    const status = opts.core.jobStatus(req.params.id)
    if (status == null) return reply.code(404).send({ error: 'UnknownJob', message: `no job ${req.params.id}` })
    return status
  })
  const address = await server.listen({ host: opts.host, port: opts.port })
  return { server, url: address.replace('[::1]', 'localhost') + '/' }
}
