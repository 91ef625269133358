import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../version.js'

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
          '`{ data, next_cursor }`, newest first. Unknown body fields and unknown query parameters are rejected (400).',
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
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}

export default fp(openapiPlugin, { name: 'openapi' })
