import type { FastifyInstance } from 'fastify'
import { toPage } from '../http/pagination.js'
import { affiliateSecurity, authProblems, listOf, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { listDeliveries } from './delivery-repository.js'
import { panelDeliveryListQuery, type DeliveryListQuery } from './delivery-schemas.js'
import { deliveryToApi } from './delivery-view.js'

/** The affiliate panel's delivery log: the calling affiliate's own deliveries (in /v1). */
export default async function deliveryPanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get<{ Querystring: Omit<DeliveryListQuery, 'affiliate_id'> }>('/affiliate/postback-deliveries', {
    schema: {
      tags: ['Affiliate panel'],
      security: affiliateSecurity,
      operationId: 'listMyPostbackDeliveries',
      summary: 'List my postback deliveries',
      description: 'The calling affiliate\'s deliveries only, newest first.',
      querystring: panelDeliveryListQuery,
      response: { 200: listOf('PostbackDelivery'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const query = { ...request.query, affiliate_id: panelAffiliateId(request) }
    const rows = await listDeliveries(db, query)
    return toPage(rows, request.query.limit, deliveryToApi, (row) => [row.id])
  })
}
