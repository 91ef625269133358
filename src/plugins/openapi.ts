import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../version.js'
import { problemComponentRef, problemResponsesWith } from '../http/schemas.js'

/**
 * Route schemas mark an optional request body with this key: @fastify/swagger writes every body as required,
 * which is Fastify's own rule for a route that validates one; the routes marked accept none at all.
 */
export const BODY_OPTIONAL = 'x-body-optional'

/** Spread into a route's schema (FastifySchema has no place for extension keys). */
export const optionalBody = { [BODY_OPTIONAL]: true } as const

type Operation = {
  operationId?: string
  requestBody?: { required?: boolean }
  responses?: Record<string, unknown>
  [BODY_OPTIONAL]?: boolean
}

/**
 * What every operation that takes a body can answer besides its own: a body too large (413), not JSON (415).
 * Added to the finished document, after route schemas were resolved, so they name the component directly.
 */
const bodyProblems = problemResponsesWith(problemComponentRef, [413, 415])

/**
 * Optional bodies marked as such, every body-taking operation's 413 and 415, and an operationId of its own for
 * each HEAD operation: a route serving GET and HEAD shares one schema, and operationIds must be unique.
 */
function completeOperations<T extends { paths?: object }> (document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as Record<string, Operation>[]) {
    const head = operations.head
    if (head?.operationId !== undefined && head.operationId === operations.get?.operationId) {
      operations.head = { ...head, operationId: `${head.operationId}Head` }
    }
    for (const operation of Object.values(operations)) {
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
async function openapiPlugin (fastify: FastifyInstance) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 's2s-tracker',
        version: VERSION,
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'Server-to-server affiliate tracking with Affise vocabulary: offers, affiliates, tracking links, ' +
          'clicks (`/click`), advertiser postbacks (`/postback`), conversions and durable affiliate postbacks. ' +
          'Management routes live under `/v1` and take an `API-Key` header: an admin key, or an affiliate key on ' +
          '`/v1/affiliate/...` panel routes. Errors are RFC 9457 problem+json. Lists return ' +
          '`{ data, next_cursor }`, newest first. Unknown body fields and unknown query parameters are rejected (400), ' +
          'and so is a body on an operation that takes none; an empty body sent as `application/json` counts as no body. ' +
          'Every response carries `X-Request-Id`: the client\'s own when it is printable ASCII of at most 200 characters, ' +
          'else a new UUID. While the database is unreachable, calls that need it answer 503 `unavailable` with ' +
          '`Retry-After`. A request line and headers over 16 KiB get 431. A method a path does not take gets 405 with `Allow`. ' +
          'A request field with a `default` may be left out; no response schema has defaults, so a TypeScript client ' +
          'generated with openapi-typescript takes `--default-non-nullable false` (else it makes those fields required).',
      },
      // Relative: the instance that serves the document (and /docs) is the one called.
      servers: [{ url: '/', description: 'The instance serving this document; generated clients take their own base URL' }],
      components: {
        // One header, two kinds of key: which one an operation takes is part of its contract (contract §1 Auth).
        securitySchemes: {
          adminKey: {
            type: 'apiKey',
            in: 'header',
            name: 'API-Key',
            description: 'An admin key: one of `ADMIN_API_KEYS`, or the key written to `DATA_DIR/admin-api-key` on first start.',
          },
          metricsToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'METRICS_TOKEN, for `GET /metrics` only (a scraper needs no admin key).',
          },
          affiliateKey: {
            type: 'apiKey',
            in: 'header',
            name: 'API-Key',
            description: 'An affiliate\'s own key (shown once by `POST /v1/affiliates` or `POST /v1/affiliates/{id}/api-key`), ' +
              'for the `/v1/affiliate/...` panel routes only.',
          },
        },
      },
      tags: [
        { name: 'Advertisers', description: 'The advertisers whose offers the network runs, and their secure codes.' },
        { name: 'Tracking domains', description: 'Host names tracking links and postback URLs are built on; one is the default.' },
        { name: 'Offers', description: 'What advertisers pay for: the landing URL with its macros, and goals with revenue and payout.' },
        { name: 'Affiliates', description: 'Publishers who send traffic, and their API keys.' },
        { name: 'Tracking links', description: 'Links generated for an affiliate on an offer, with sub parameters and short codes.' },
        { name: 'Clicks', description: 'Recorded clicks, looked up by offer, affiliate or click id.' },
        { name: 'Conversions', description: 'Conversions, their status changes, and the log of every advertiser postback.' },
        { name: 'Postbacks', description: 'Affiliate postbacks: the URLs fired at affiliates when conversions happen, and test fires.' },
        { name: 'Postback deliveries', description: 'The delivery log of affiliate postbacks: every attempt, and manual retries.' },
        { name: 'Statistics', description: 'The report: clicks, conversions, revenue, payout, CR and EPC by period, offer, affiliate, goal and sub, in any time zone.' },
        { name: 'Affiliate panel', description: 'What an affiliate sees and manages with its own key, under `/v1/affiliate`.' },
        { name: 'Tracking', description: 'Public, without a key: the click, short URLs, the advertiser\'s conversion postback.' },
        { name: 'Operations', description: 'Liveness and readiness probes.' },
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
