import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { adminSecurity, authProblems, idParam, idParams, problemResponses } from '../http/schemas.js'
import { findOfferCaps } from './repository.js'
import { capStatuses } from './service.js'
import { capStatusToApi } from './view.js'

export default async function capAdminRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get<{ Params: { id: number }; Querystring: { affiliate_id?: number } }>('/offers/:id/caps', {
    schema: {
      tags: ['Offers'],
      security: adminSecurity,
      operationId: 'listOfferCaps',
      summary: 'The offer\'s caps with what each has counted in its current period',
      description:
        'Each cap of the offer, in order, with `used`, `remaining` and the current period (UTC days, ISO weeks, months; ' +
        '`total` from 1970-01-01 with no end). Conversions and payout count exactly (they are judged in the transaction ' +
        'that creates each conversion); clicks are counted by each instance and reach the shared count within a second. ' +
        'With `affiliate_id`, per-affiliate caps show that affiliate\'s count.',
      params: idParams('id'),
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { affiliate_id: { ...idParam, description: 'Show per-affiliate caps for this affiliate' } },
      },
      response: { 200: { $ref: 'OfferCapStatusList#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const offer = await findOfferCaps(db, request.params.id)
    if (offer === undefined) throw notFound('Offer')
    const statuses = await capStatuses(db, offer, fastify.clock(), request.query.affiliate_id)
    return { data: statuses.map(capStatusToApi), next_cursor: null }
  })
}
