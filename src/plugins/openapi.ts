import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../version.js'
import { problemResponses } from '../http/schemas.js'

/**
 * Route schemas mark an optional request body with this key: @fastify/swagger writes every body as required,
 * which is Fastify's own rule for a route that validates one; the routes marked accept none at all.
 */
export const BODY_OPTIONAL = 'x-body-optional'

/** Spread into a route's schema (FastifySchema has no place for extension keys). */
export const optionalBody = { [BODY_OPTIONAL]: true } as const

type Operation = { requestBody?: { required?: boolean }; responses?: Record<string, unknown>; [BODY_OPTIONAL]?: boolean }

/** What every operation that takes a body can answer besides its own: a body too large (413), not JSON (415). */
const bodyProblems = problemResponses(413, 415)

/** Optional bodies marked as such, and every body-taking operation's 413 and 415. */
function completeOperations<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as (object | undefined)[]) {
    for (const operation of Object.values(operations ?? {}) as Operation[]) {
      if (operation.requestBody === undefined) continue
      operation.responses ??= {}
      for (const [status, response] of Object.entries(bodyProblems)) operation.responses[status] ??= response
      if (operation[BODY_OPTIONAL] !== true) continue
      delete operation[BODY_OPTIONAL]
      operation.requestBody.required = false
    }
  }
  return document
}

/** The OpenAPI 3.1 document is generated from the route schemas; named schemas become components. */
async function openapiPlugin(fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 's2s-tracker',
        version: VERSION,
        description:
          'Server-to-server affiliate tracking with Affise vocabulary: offers, affiliates, tracking links, ' +
          'clicks (`/click`), advertiser postbacks (`/postback`), conversions and durable affiliate postbacks. ' +
          'Management routes live under `/v1` and take an `API-Key` header: an admin key, or an affiliate key on ' +
          '`/v1/affiliate/...` panel routes. Errors are RFC 9457 problem+json. Lists return ' +
          '`{ data, next_cursor }`, newest first. Unknown body fields and unknown query parameters are rejected (400), ' +
          'and so is a body on an operation that takes none; an empty body sent as `application/json` counts as no body. ' +
          'Every response carries `X-Request-Id`: the client\'s own when it is printable ASCII of at most 200 characters, ' +
          'else a new UUID. While the database is unreachable, calls that need it answer 503 `unavailable` with ' +
          '`Retry-After`. A request line and headers over 16 KiB get 431. A method a path does not take gets 405 with `Allow`.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'API-Key' } },
      },
      tags: [
        { name: 'Advertisers' }, { name: 'Tracking domains' }, { name: 'Offers' }, { name: 'Affiliates' },
        { name: 'Tracking links' }, { name: 'Clicks' }, { name: 'Conversions' }, { name: 'Postbacks' },
        { name: 'Deliveries' }, { name: 'Affiliate panel' }, { name: 'Tracking' }, { name: 'Operations' },
      ],
    },
    transformObject: (document) => ('openapiObject' in document ? completeOperations(document.openapiObject) : document.swaggerObject),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}

export default fp(openapiPlugin, { name: 'openapi' })
