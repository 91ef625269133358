import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AllowedMethods } from '../http/allowed-methods.js'
import { asProblem, escapePointer, problemBody, type ProblemFieldError, type ProblemKind } from '../http/problem.js'

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** Turns ajv errors into JSON Pointer paths that name the offending member itself. */
function toFieldErrors (errors: AjvError[], context: string | undefined): ProblemFieldError[] {
  const seen = new Set<string>()
  const result: ProblemFieldError[] = []
  for (const error of errors) {
    let path = error.instancePath
    let message = error.message ?? 'is invalid'
    if (error.keyword === 'required') {
      path += '/' + escapePointer(String(error.params.missingProperty))
      message = 'is required'
    } else if (error.keyword === 'additionalProperties') {
      path += '/' + escapePointer(String(error.params.additionalProperty))
      message = context === 'querystring' ? 'is not a known query parameter' : 'is not an allowed field'
    } else if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
      message = `must be one of: ${error.params.allowedValues.join(', ')}`
    }
    const key = `${path}\u0000${message}`
    if (seen.has(key)) continue
    seen.add(key)
    result.push({ path, message })
  }
  return result
}

const PG_CODES: Record<string, { kind: ProblemKind; detail: string }> = {
  23505: { kind: 'conflict', detail: 'A resource with the same unique value already exists' },
  23503: { kind: 'conflict', detail: 'The resource is referenced by other resources' },
  '22P02': { kind: 'validation-error', detail: 'A value has an invalid format' },
  22003: { kind: 'validation-error', detail: 'A number is out of range' },
  22001: { kind: 'validation-error', detail: 'A value is too long' },
  22021: { kind: 'validation-error', detail: 'A value is not valid UTF-8' },
  54000: { kind: 'validation-error', detail: 'A value is too large' },
  // Times are checked where their field is known; these catch one that still reaches the database.
  22007: { kind: 'validation-error', detail: 'A date or time has an invalid format' },
  22008: { kind: 'validation-error', detail: 'A date or time is out of range' },
}

/** The database is away (down, restarting, unreachable): a 503 the client may retry, not a 500. */
const DATABASE_AWAY_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
])
const DATABASE_AWAY_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/

function isDatabaseAway (error: { code?: unknown; message?: unknown }): boolean {
  return (typeof error.code === 'string' && DATABASE_AWAY_CODES.has(error.code)) ||
    (typeof error.message === 'string' && DATABASE_AWAY_MESSAGE.test(error.message))
}

/**
 * The database answers but refuses to write: a read-only transaction or replica (25006), or insufficient
 * resources (class 53: disk full, out of memory, too many connections). Nothing the client sent is wrong:
 * a 503 it may retry.
 */
function isDatabaseRefusingWrites (error: { code?: unknown }): boolean {
  return typeof error.code === 'string' && (error.code === '25006' || /^53[0-9A-Z]{3}$/.test(error.code))
}

function send (reply: FastifyReply, request: FastifyRequest, kind: ProblemKind, detail: string, errors?: ProblemFieldError[], status?: number) {
  return reply
    .code(status ?? problemBody(kind, detail, request.id).status)
    .type('application/problem+json')
    .send(problemBody(kind, detail, request.id, errors, status))
}

/** The one error boundary: every error becomes RFC 9457 problem+json; 5xx details stay in the log. */
async function errorHandler (fastify: FastifyInstance) {
  fastify.setErrorHandler((error: FastifyError & { code?: string }, request, reply) => {
    const problem = asProblem(error)
    if (problem !== undefined) {
      if (problem.headers !== undefined) reply.headers(problem.headers)
      return send(reply, request, problem.kind, problem.message, problem.errors, problem.status)
    }
    if (error.validation !== undefined) {
      const context = error.validationContext
      // A path id that is a whole number but outside the ids' range (0, beyond 2^31 - 1) names nothing: 404, as
      // any unknown id in the path is (§1), not a 400 the client could take for a malformed request.
      if (context === 'params' && (error.validation as AjvError[]).every((e) => e.keyword === 'minimum' || e.keyword === 'maximum')) {
        return send(reply, request, 'not-found', 'Not found: no object has this id')
      }
      const errors = toFieldErrors(error.validation as AjvError[], context)
      const where = context === 'body' ? 'body' : context === 'querystring' ? 'query string' : context === 'params' ? 'path' : 'request'
      const first = errors[0]
      const detail = first === undefined ? `Invalid ${where}` : `Invalid ${where}: ${first.path || '/'} ${first.message}`
      return send(reply, request, 'validation-error', detail, errors)
    }
    const pg = typeof error.code === 'string' ? PG_CODES[error.code] : undefined
    if (pg !== undefined) {
      request.log.info({ err: error }, 'database rejected the request')
      return send(reply, request, pg.kind, pg.detail)
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const kind: ProblemKind =
        status === 413
          ? 'payload-too-large'
          : status === 415
            ? 'unsupported-media-type'
            : status === 404
              ? 'not-found'
              : status === 405 ? 'method-not-allowed' : status === 429 ? 'rate-limited' : 'bad-request'
      return send(reply, request, kind, error.message, undefined, status)
    }
    request.log.error({ err: error }, 'request failed')
    if (isDatabaseRefusingWrites(error)) {
      reply.header('retry-after', '30')
      return send(reply, request, 'unavailable', 'The database does not take writes now (read-only or out of space); retry later')
    }
    if (status === 503 || isDatabaseAway(error)) {
      reply.header('retry-after', '5')
      return send(reply, request, 'unavailable', 'The service is temporarily unavailable; retry shortly')
    }
    return send(reply, request, 'internal', 'An unexpected error occurred; quote the request_id when reporting it')
  })

  // A path that exists under other methods is a 405 with `Allow`, not a 404: the client has the right URL.
  const allowedMethods = new AllowedMethods()
  fastify.addHook('onRoute', (route) => allowedMethods.add(route))

  fastify.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    const allowed = allowedMethods.on(path)
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '))
      return send(reply, request, 'method-not-allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`)
    }
    return send(reply, request, 'not-found', `No route for ${request.method} ${path}`)
  })
}

export default fp(errorHandler, { name: 'error-handler' })
