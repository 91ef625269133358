import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { decodeIdCursor } from '../db/cursor.js'
import { adminSecurity, authProblems, idParam, idParams, listQuery, problemResponses, type QueryOf } from '../http/schemas.js'
import { findOfferCaps } from './repository.js'
import { capStatuses } from './service.js'
import { capStatusToApi } from './view.js'

const capListQuery = listQuery({ affiliate_id: { ...idParam, description: 'Show per-affiliate caps for this affiliate' } })

export default async function capAdminRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get<{ Params: { id: number }; Querystring: QueryOf<typeof capListQuery> }>('/offers/:id/caps', {
    schema: {
      tags: ['Offers'],
      security: adminSecurity,
      operationId: 'listOfferCaps',
      summary: 'The offer\'s caps with what each has counted in its current period',
      description:
        'Each cap of the offer, in order, with `used`, `remaining` and the current period (UTC days, ISO weeks, months; ' +
        '`total` from 1970-01-01 with no end). Conversions and payout count exactly (they are judged in the transaction ' +
        'that creates each conversion); clicks are counted by each instance and reach the shared count within a second. ' +
        'With `affiliate_id`, per-affiliate caps show that affiliate\'s count. A list like every other: `limit` and ' +
        '`cursor` page it (an offer has at most 20 caps, so one page holds them at the default limit); `created_from` ' +
        'and `created_to` are accepted and select nothing out, since caps are part of the offer and have no time of their own.',
      params: idParams('id'),
      querystring: capListQuery,
      response: { 200: { $ref: 'OfferCapStatusList#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const offer = await findOfferCaps(db, request.params.id)
    if (offer === undefined) throw notFound('Offer')
    const statuses = await capStatuses(db, offer, fastify.clock(), request.query.affiliate_id)
    // The cursor is the position after the last cap shown, in the offer's order.
    const from = decodeIdCursor(request.query.cursor) ?? 0
    const { limit } = request.query
    const rows = statuses.slice(from, from + limit + 1).map((status, i) => ({ status, next: from + i + 1 }))
    return toPage(rows, limit, (row) => capStatusToApi(row.status), (row) => [row.next])
  })
}
