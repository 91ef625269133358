import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { noSecurity, problemResponses } from '../http/schemas.js'
import { HttpProblem } from '../http/problem.js'
import { withTimeout } from '../lib/time-limit.js'

/** How long one write check answers for: /ready polled by many probes costs one write a second at most. */
const READY_CHECK_MS = 1000
/**
 * A write that has not answered by then counts as refused: a probe must get an answer, and a write that
 * hangs (a lock, a lost synchronous standby, a stalled disk) means the instance does not take writes.
 */
const READY_TIMEOUT_MS = 2000

export default async function operationsRoutes (fastify: FastifyInstance) {
  let lastCheck: { at: number; result: Promise<unknown>; settled: boolean } | null = null
  /**
   * A write of one row: the database answers and takes writes (not read-only, not out of disk). At most one
   * runs at a time, so a write that hangs holds one connection, not one per probe.
   */
  const checkWrites = (): Promise<unknown> => {
    if (lastCheck === null || (lastCheck.settled && Date.now() - lastCheck.at >= READY_CHECK_MS)) {
      const check = {
        at: Date.now(),
        result: sql`update readiness_probe set checked_at = now() where id = 1`.execute(fastify.db),
        settled: false,
      }
      check.result.then(() => { check.settled = true }, () => { check.settled = true })
      lastCheck = check
    }
    const { at, result } = lastCheck
    return withTimeout<unknown>(result, at + READY_TIMEOUT_MS - Date.now(), () => {
      throw new Error(`the write check has not answered for ${READY_TIMEOUT_MS} ms`)
    })
  }

  fastify.get('/health', {
    schema: {
      tags: ['Operations'],
      security: noSecurity,
      operationId: 'getHealth',
      summary: 'Liveness: 200 while the process runs',
      response: {
        200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } },
        ...problemResponses(431),
      },
    },
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['Operations'],
      security: noSecurity,
      operationId: 'getReadiness',
      summary: 'Readiness: 200 when the database answers and takes writes, else 503',
      description: 'The check writes one row (at most once a second, shared by concurrent calls). A database that is away, ' +
        'read-only, out of disk or whose write does not answer within 2 s gives 503 with `Retry-After`: take the instance ' +
        'out of rotation, not down.',
      response: {
        200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ready' } } },
        ...problemResponses(431, 503),
      },
    },
  }, async (request) => {
    try {
      await checkWrites()
    } catch (err) {
      request.log.warn({ err }, 'readiness check: the database does not answer or does not take writes')
      throw new HttpProblem('unavailable', 'The database does not answer or does not take writes', { headers: { 'retry-after': '5' } })
    }
    return { status: 'ready' as const }
  })

  fastify.get('/openapi.json', {
    schema: { hide: true },
  }, async () => fastify.swagger())
}
