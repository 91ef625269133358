import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { noSecurity, problemResponses } from '../http/schemas.js'
import { HttpProblem } from '../http/problem.js'

export default async function operationsRoutes(fastify: FastifyInstance) {
  fastify.get('/health', {
    schema: {
      tags: ['Operations'], security: noSecurity, operationId: 'getHealth',
      summary: 'Liveness: 200 while the process runs',
      response: {
        200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } },
        ...problemResponses(431),
      },
    },
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['Operations'], security: noSecurity, operationId: 'getReadiness',
      summary: 'Readiness: 200 when the database answers, else 503',
      response: {
        200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ready' } } },
        ...problemResponses(431, 503),
      },
    },
  }, async (request) => {
    try {
      await sql`select 1`.execute(fastify.db)
    } catch (err) {
      request.log.warn({ err }, 'readiness check: database unreachable')
      throw new HttpProblem('unavailable', 'The database does not answer')
    }
    return { status: 'ready' as const }
  })

  fastify.get('/openapi.json', {
    schema: { hide: true },
  }, async () => fastify.swagger())
}
