import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { affiliateSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { findOfferWithGoals, listOffers, type OfferWithGoals } from './repository.js'
import { capStatuses, capsApplyingTo } from '../caps/service.js'
import { capStatusToPanel } from '../caps/view.js'
import { offerToPanel } from './view.js'

const tags = ['Affiliate panel']
const security = affiliateSecurity

/** The active offers as the affiliate panel shows them (in /v1). */
export default async function offerPanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  async function panelView (offer: OfferWithGoals, affiliateId: number) {
    const caps = await capStatuses(db, { id: offer.id, caps: capsApplyingTo(offer.caps, affiliateId) }, fastify.clock(), affiliateId)
    return { ...offerToPanel(offer), caps: caps.map(capStatusToPanel) }
  }

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
    const affiliateId = panelAffiliateId(request)
    const rows = await listOffers(db, { ...request.query, status: 'active' })
    const page = toPage(rows, request.query.limit, (row) => row, (row) => [row.id])
    const data = []
    for (const offer of page.data) data.push(await panelView(offer, affiliateId))
    return { data, next_cursor: page.next_cursor }
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
    const affiliateId = panelAffiliateId(request)
    const offer = await findOfferWithGoals(db, request.params.offer_id)
    if (offer === undefined || offer.status !== 'active') throw notFound('Offer')
    return panelView(offer, affiliateId)
  })
}
