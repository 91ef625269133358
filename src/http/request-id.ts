import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * A client's own request id is kept (§1) when it is printable ASCII (a UUID, a base64 or ULID id, a trace
 * id) and at most 200 characters; anything else is replaced, so a log line or a header is never abused.
 */
const REQUEST_ID = /^[\x20-\x7e]{1,200}$/

/** The request id: the client's own `X-Request-Id` when it is fit to log and echo, a fresh UUID otherwise. */
export function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}
