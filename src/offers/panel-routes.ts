import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { affiliateSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { findOfferWithGoals, listOffers } from './repository.js'
import { offerToPanel } from './view.js'

const tags = ['Affiliate panel']
const security = affiliateSecurity

/** The active offers as the affiliate panel shows them (in /v1). */
export default async function offerPanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get<{ Querystring: ListQuery }>('/affiliate/offers', {
    schema: {
      tags,
      security,
      operationId: 'listMyOffers',
      summary: 'Active offers, as an affiliate sees them',
      description: 'Only `active` offers; never the advertiser\'s URL, revenue or secure code.',
      querystring: listQuery(),
      response: { 200: listOf('PanelOffer'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    panelAffiliateId(request)
    const rows = await listOffers(db, { ...request.query, status: 'active' })
    return toPage(rows, request.query.limit, offerToPanel, (row) => [row.id])
  })

  fastify.get<{ Params: { offer_id: number } }>('/affiliate/offers/:offer_id', {
    schema: {
      tags,
      security,
      operationId: 'getMyOffer',
      summary: 'One active offer, as an affiliate sees it',
      description: 'An offer that is not `active` is 404, like an unknown one.',
      params: idParams('offer_id'),
      response: { 200: { $ref: 'PanelOffer#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    panelAffiliateId(request)
    const offer = await findOfferWithGoals(db, request.params.offer_id)
    if (offer === undefined || offer.status !== 'active') throw notFound('Offer')
    return offerToPanel(offer)
  })
}
