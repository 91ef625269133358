import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { affiliateSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { findOfferForLink, listLinks } from './repository.js'
import { linkToApi } from './view.js'

/** The affiliate panel's tracking links: those sent to the calling affiliate (in /v1). */
export default async function trackingLinkPanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get<{ Params: { offer_id: number }; Querystring: ListQuery }>('/affiliate/offers/:offer_id/tracking-links', {
    schema: {
      tags: ['Affiliate panel'],
      security: affiliateSecurity,
      operationId: 'listMyTrackingLinks',
      summary: 'The tracking links sent to me for an offer',
      description: 'Only links that were sent (`send: true` or `POST /v1/tracking-links/{id}/send`) to the calling affiliate.',
      params: idParams('offer_id'),
      querystring: listQuery(),
      response: { 200: listOf('TrackingLink'), ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const affiliateId = panelAffiliateId(request)
    if ((await findOfferForLink(db, request.params.offer_id)) === undefined) throw notFound('Offer')
    const rows = await listLinks(db, { offer_id: request.params.offer_id, affiliate_id: affiliateId, sentOnly: true }, request.query)
    return toPage(rows, request.query.limit, linkToApi, (row) => [row.id])
  })
}
