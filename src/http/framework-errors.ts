import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { PROBLEM_KINDS, problemBody, type ProblemKind } from './problem.js'

// Errors Fastify and Node answer before any route or hook runs. Without these they would be Fastify's own
// `{ error, message, statusCode }` JSON; a client must meet problem+json (and a request id) everywhere.

/** A URL the router cannot decode (`/v1/offers/%FF`) or a path parameter past `maxParamLength`. */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400
  const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is not valid (bad percent-encoding)'
  void reply
    .code(status)
    .header('x-request-id', request.id)
    .type('application/problem+json')
    .send(problemBody('bad-request', detail, request.id, undefined, status))
}

/**
 * A request Node's HTTP parser refused (bytes not allowed in a request line, headers too large, a
 * timeout): the connection is answered once, in problem+json, and closed.
 */
const CLIENT_ERRORS: Record<string, { kind: ProblemKind; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { kind: 'request-timeout', detail: 'The request took too long to arrive' },
  HPE_HEADER_OVERFLOW: { kind: 'headers-too-large', detail: 'The request line and headers are too large (16 KiB at most)' },
}

export function clientErrorHandler (err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { kind, detail } = CLIENT_ERRORS[err.code ?? ''] ?? { kind: 'bad-request', detail: 'The request is not valid HTTP' }
  const status = PROBLEM_KINDS[kind].status
  const id = randomUUID()
  const body = JSON.stringify(problemBody(kind, detail, id))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`
    )
  }
  socket.destroy(err)
}
