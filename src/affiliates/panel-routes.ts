import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { affiliateSecurity, authProblems, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { findAffiliate } from './repository.js'
import { affiliateToApi } from './view.js'

const tags = ['Affiliate panel']
const security = affiliateSecurity

/** The affiliate panel's own profile (in /v1). */
export default async function affiliatePanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get('/affiliate/me', {
    schema: {
      tags,
      security,
      operationId: 'getMyProfile',
      summary: 'The calling affiliate\'s own profile',
      description: 'Affiliate key only. The API key is never shown here.',
      response: { 200: { $ref: 'Affiliate#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const affiliate = await findAffiliate(db, panelAffiliateId(request))
    if (affiliate === undefined) throw notFound('Affiliate')
    return affiliateToApi(affiliate)
  })
}
