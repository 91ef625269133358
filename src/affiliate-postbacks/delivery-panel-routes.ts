import type { FastifyInstance } from 'fastify'
import { toPage } from '../http/pagination.js'
import { notFound } from '../http/problem.js'
import { affiliateSecurity, authProblems, idParams, listOf, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { listDeliveries } from './delivery-repository.js'
import { panelDeliveryListQuery, REDELIVER_DESCRIPTION, type DeliveryListQuery, type PostbackRedeliverRequest } from './delivery-schemas.js'
import { findPostback } from './repository.js'
import { redeliver, redeliveryWindow } from './redeliver.js'
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

  fastify.post<{ Params: { id: number }; Body: PostbackRedeliverRequest }>('/affiliate/postbacks/:id/redeliver', {
    schema: {
      tags: ['Affiliate panel'],
      security: affiliateSecurity,
      operationId: 'redeliverMyPostback',
      summary: 'Send an own postback\'s failed (or cancelled) deliveries of a time window once more',
      description: `Another affiliate's postback: 404. ${REDELIVER_DESCRIPTION}`,
      params: idParams('id'),
      body: { $ref: 'PostbackRedeliverRequest#' },
      response: { 202: { $ref: 'PostbackRedeliverResult#' }, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const postback = await findPostback(db, request.params.id, { affiliateId: panelAffiliateId(request) })
    if (postback === undefined) throw notFound('Postback')
    return reply.code(202).send({ queued: await redeliver(db, redeliveryWindow(postback.id, request.body)) })
  })
}
