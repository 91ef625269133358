import { DomainError, type DomainErrorCode, type FieldError } from '../domain/errors.js'

/**
 * Every error a client can see is one of these kinds. `type` URIs are stable: clients branch on them.
 * The list is published in the OpenAPI document (components.schemas.Problem).
 */
export const PROBLEM_BASE = 'https://s2s-tracker.dev/problems/'

export const PROBLEM_KINDS = {
  'bad-request': { status: 400, title: 'Bad request' },
  'validation-error': { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'access-denied': { status: 403, title: 'Access denied' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rule-violation': { status: 422, title: 'Unprocessable request' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  'loop-detected': { status: 508, title: 'Loop detected' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const

export type ProblemKind = keyof typeof PROBLEM_KINDS

export type ProblemFieldError = FieldError

/** A typed error that the one error handler turns into problem+json. */
export class HttpProblem extends Error {
  readonly kind: ProblemKind
  readonly status: number
  readonly errors: ProblemFieldError[] | undefined
  readonly headers: Record<string, string> | undefined

  constructor (
    kind: ProblemKind,
    detail: string,
    options: { errors?: ProblemFieldError[]; headers?: Record<string, string>; status?: number } = {}
  ) {
    super(detail)
    this.name = 'HttpProblem'
    this.kind = kind
    this.status = options.status ?? PROBLEM_KINDS[kind].status
    this.errors = options.errors
    this.headers = options.headers
  }
}

/** The problem each domain error code is: the one place where the rules' terms become HTTP. */
const DOMAIN_PROBLEM_KINDS: Record<DomainErrorCode, ProblemKind> = {
  invalid: 'validation-error',
  'not-found': 'not-found',
  'access-denied': 'access-denied',
  'rule-violation': 'rule-violation',
  conflict: 'conflict',
}

/** The problem a client sees for an error the service raised on purpose; undefined for any other error. */
export function asProblem (error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error
  if (error instanceof DomainError) {
    return new HttpProblem(DOMAIN_PROBLEM_KINDS[error.code], error.message, error.errors === undefined ? {} : { errors: error.errors })
  }
  return undefined
}

/** One JSON Pointer (RFC 6901) segment: `~` and `/` escaped, as `errors[].path` needs. */
export function escapePointer (segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

export const notFound = (what: string): HttpProblem => new HttpProblem('not-found', `${what} not found`)
export const conflict = (detail: string): HttpProblem => new HttpProblem('conflict', detail)
export const ruleViolation = (detail: string, path?: string): HttpProblem =>
  new HttpProblem('rule-violation', detail, path === undefined ? {} : { errors: [{ path, message: detail }] })
export const badRequest = (detail: string, path?: string): HttpProblem =>
  new HttpProblem('validation-error', detail, path === undefined ? {} : { errors: [{ path, message: detail }] })

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  request_id: string
  errors?: ProblemFieldError[]
}

export function problemBody (
  kind: ProblemKind,
  detail: string,
  requestId: string,
  errors?: ProblemFieldError[],
  status: number = PROBLEM_KINDS[kind].status
): ProblemBody {
  const body: ProblemBody = { type: PROBLEM_BASE + kind, title: PROBLEM_KINDS[kind].title, status, detail, request_id: requestId }
  if (errors !== undefined && errors.length > 0) body.errors = errors
  return body
}
