import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import { PROBLEM_BASE, PROBLEM_KINDS } from './problem.js'

// Shared, named schemas ($id) referenced by every feature's routes; the OpenAPI components come from here.

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description:
    'RFC 9457 problem details. `type` is stable per kind of problem; clients branch on it. Kinds: ' +
    Object.entries(PROBLEM_KINDS).map(([kind, { status }]) => `\`${PROBLEM_BASE}${kind}\` (${status})`).join(', ') + '.',
  required: ['type', 'title', 'status', 'detail', 'request_id'],
  properties: {
    type: { type: 'string', format: 'uri', examples: [`${PROBLEM_BASE}not-found`] },
    title: { type: 'string', examples: ['Not found'] },
    status: { type: 'integer', examples: [404] },
    detail: { type: 'string', examples: ['Offer 7 does not exist'] },
    request_id: { type: 'string', examples: ['5f0c6b9e-3d1a-4c2e-9a57-8b1f2d4e6a90'] },
    errors: {
      type: 'array',
      description: 'Validation failures; `path` is a JSON Pointer (RFC 6901) into the body or query string.',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string', examples: ['/goals/0/payout'] }, message: { type: 'string', examples: ['must be >= 0'] } },
      },
    },
  },
} as const

export const commonSchemas = [problemSchema]

export const problemRef = { $ref: 'Problem#' } as const

/** The same schema as the finished OpenAPI document names it, for responses added to the document itself. */
export const problemComponentRef = { $ref: '#/components/schemas/Problem' } as const

/** Response entries for the given error statuses, all problem+json. */
export function problemResponses (...statuses: number[]): Record<number, unknown> {
  return problemResponsesWith(problemRef, statuses)
}

export function problemResponsesWith (schema: object, statuses: readonly number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const status of statuses) {
    out[status] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
      content: { 'application/problem+json': { schema } },
    }
  }
  return out
}

/**
 * Any status a route does not list (a 5xx), in problem+json. Routes whose success is a redirect list it: they have no
 * 2xx to describe, and `default` is what OpenAPI linters and client generators take in its place.
 */
export const otherProblems = {
  default: {
    description: 'Any other failure (5xx), without internals',
    content: { 'application/problem+json': { schema: problemRef } },
  },
} as const

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed or invalid input',
  401: 'Missing or unknown API key',
  403: 'The key may not use this route',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict with the current state',
  413: 'The body is too large',
  415: 'The body\'s media type is not accepted',
  422: 'Well-formed but breaks a rule',
  431: 'The request line and headers are over 16 KiB',
  503: 'Not ready',
  508: 'Loop detected: the request is one of this service\'s own postbacks coming back',
}

// Who may call an operation, as OpenAPI security requirements (the schemes are declared in plugins/openapi.ts).
/** `/v1` management routes: an admin key. */
export const adminSecurity = [{ adminKey: [] }]
/** `/v1/affiliate/...` panel routes: the calling affiliate's own key. */
export const affiliateSecurity = [{ affiliateKey: [] }]
/** Public routes (`/click`, `/postback`, `/health`, ...): no key. */
export const noSecurity = [] as const

/** Errors every authenticated /v1 route can answer. */
export const authProblems = [400, 401, 403] as const

export const idParam = { type: 'integer', minimum: 1, maximum: 2147483647 } as const
export const bigIdParam = { type: 'integer', minimum: 1, maximum: 9007199254740991 } as const

export function idParams (...names: string[]) {
  return {
    type: 'object',
    required: names,
    additionalProperties: false,
    properties: Object.fromEntries(names.map((name) => [name, idParam])),
  } as const
}

export const dateTime = { type: 'string', format: 'date-time', examples: ['2026-11-23T18:34:10.000Z'] } as const
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time', examples: ['2026-11-23T18:34:10.000Z'] } as const

/** Query members every list accepts (contract §1 Lists). */
export const listQueryProperties = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Page size, 1..500' },
  cursor: { type: 'string', maxLength: 200, description: 'Opaque cursor from the previous page\'s `next_cursor`' },
  created_from: {
    type: 'string',
    anyOf: [{ format: 'date-time' }, { format: 'date' }],
    description: 'Only items created at or after this instant (ISO 8601); a bare date means its midnight, UTC',
  },
  created_to: {
    type: 'string',
    anyOf: [{ format: 'date-time' }, { format: 'date' }],
    description: 'Only items created at or before this instant (ISO 8601); a bare date takes in that whole day, UTC',
  },
} as const

export type { ListQuery } from '../db/list.js'

/** A list's query string: paging and time window, and the list's own filters (typed, so handlers can derive theirs). */
export function listQuery<const Extra extends Record<string, JSONSchema> = Record<never, never>> (extra: Extra = {} as Extra) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { ...listQueryProperties, ...extra },
  } as const
}

/** The query string a handler receives for a `listQuery(...)` schema: as ajv leaves it (the default limit filled in). */
export type QueryOf<S extends JSONSchema> = FromSchema<S>

/** `{ data: [...], next_cursor }`, newest first. */
export function listOf (itemRef: string, description = 'A page of results, newest first') {
  return {
    description,
    type: 'object',
    required: ['data', 'next_cursor'],
    properties: {
      data: { type: 'array', items: { $ref: `${itemRef}#` } },
      next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page' },
    },
  } as const
}

export const httpUrl = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+[^\\s]*$',
} as const

export const currencyCode = {
  type: 'string',
  pattern: '^[A-Z]{3}$',
  format: 'iso4217',
  description: 'ISO 4217 code of a currency in use, upper case (`USD`, `EUR`)',
  examples: ['USD'],
} as const

export const money = {
  type: 'number',
  minimum: 0,
  maximum: 99999999999.9999,
  description:
    'Amount, at most 4 decimals and 11 integer digits, stored exactly: within these bounds every JSON number reads back as written',
} as const
