import type { FastifyBodyParser, FastifyInstance, preValidationHookHandler, RouteOptions } from 'fastify'
import { escapePointer, HttpProblem } from './problem.js'

// What a request may carry (contract §1): JSON (or nothing) in, no unknown query parameters, no body where
// none is taken. Forms only on the advertiser's /postback.

/** Unknown query parameters on /v1 are a 400 (contract §1), also on routes that take none. */
export function rejectUnknownQueryParameters (route: RouteOptions) {
  route.schema ??= {}
  route.schema.querystring ??= { type: 'object', additionalProperties: false, properties: {} }
}

/**
 * A route that takes no body refuses one, as every other route refuses unknown fields (§1): a setting sent to
 * the wrong place must not be dropped silently. Nothing, or an empty object, is no body.
 */
export function refuseBodyWhereNoneIsTaken (route: RouteOptions) {
  if (route.schema?.body !== undefined) return
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  if (!methods.some((method) => method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE')) return
  const refuse: preValidationHookHandler = (request, _reply, done) => {
    const body: unknown = request.body
    if (body === undefined || body === null) return done()
    const fields = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : null
    if (fields?.length === 0) return done()
    const errors = fields === null
      ? [{ path: '', message: 'must be empty: this operation takes no body' }]
      : fields.map((field) => ({ path: `/${escapePointer(field)}`, message: 'is not an allowed field' }))
    done(new HttpProblem('validation-error', 'This operation takes no body', { errors }))
  }
  route.preValidation = [...(route.preValidation === undefined ? [] : [route.preValidation].flat()), refuse]
}

/**
 * The JSON parser, with an empty body meaning no body: generic HTTP clients send `Content-Type: application/json`
 * on every call, also on a retry or a DELETE that carries nothing.
 */
export function jsonOrNothing (app: FastifyInstance): FastifyBodyParser<string> {
  const json = app.getDefaultJsonParser('error', 'error')
  return (request, body, done) => (body.length === 0 ? done(null, undefined) : json(request, body, done))
}
