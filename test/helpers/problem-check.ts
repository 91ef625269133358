// What every answer of the service must be, whatever was sent: never a 5xx, and every 4xx an RFC 9457
// problem+json document with the fields the contract lists.

export interface AnyResponse {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

/** Why the answer breaks the rules, or null when it keeps them. */
export function problemViolation (res: AnyResponse, method: string): string | null {
  const where = `${res.status} ${res.body.slice(0, 300)}`
  if (res.status >= 500 || res.status < 100) return `server error or no status: ${where}`
  if (res.status < 400) return null
  const type = String(res.headers['content-type'] ?? '')
  if (!/^application\/problem\+json/.test(type)) return `a ${res.status} with content-type "${type}": ${where}`
  if (method === 'HEAD') return null
  let body: Record<string, unknown>
  try {
    body = JSON.parse(res.body) as Record<string, unknown>
  } catch {
    return `a ${res.status} whose body is not JSON: ${where}`
  }
  for (const field of ['type', 'title', 'detail', 'request_id'] as const) {
    if (typeof body[field] !== 'string' || body[field] === '') return `problem without a "${field}" string: ${where}`
  }
  if (body.status !== res.status) return `problem status ${String(body.status)} differs from the HTTP status: ${where}`
  if (res.headers['x-request-id'] !== undefined && res.headers['x-request-id'] !== body.request_id) {
    return `request_id differs from X-Request-Id: ${where}`
  }
  return null
}
