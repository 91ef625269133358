import type { FastifyInstance } from 'fastify'
import { affiliateSecurity, authProblems, listOf, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { panelConversionListQuery, type ConversionListQuery } from './schemas.js'
import { conversionPage, conversionToPanel, listDescription } from './view.js'

/** The affiliate panel's conversions: the calling affiliate's own, without revenue (in /v1). */
export default async function conversionPanelRoutes (fastify: FastifyInstance) {
  fastify.get<{ Querystring: Omit<ConversionListQuery, 'affiliate_id'> }>('/affiliate/conversions', {
    schema: {
      tags: ['Affiliate panel'],
      security: affiliateSecurity,
      operationId: 'listMyConversions',
      summary: 'The calling affiliate\'s conversions (without revenue)',
      description: listDescription,
      querystring: panelConversionListQuery,
      response: { 200: listOf('AffiliateConversion'), ...problemResponses(...authProblems) },
    },
  }, async (request) => conversionPage(fastify.db, { ...request.query, affiliate_id: panelAffiliateId(request) }, conversionToPanel))
}
