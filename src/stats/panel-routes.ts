import type { FastifyInstance } from 'fastify'
import { affiliateSecurity, authProblems, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { answerReport } from './responses.js'
import { panelStatsQuerySchema, statsDescription, type StatsQuery } from './schemas.js'

const panelCsvExample = 'day,offer_id,currency,clicks,conversions,approved,pending,declined,hold,payout,pending_payout,cr,epc\r\n' +
  '2026-11-30,7,USD,1200,36,30,4,2,0,90,12,2.8333,0.075\r\n'

/** The calling affiliate's own statistics, without what the advertiser pays (in /v1). */
export default async function statsPanelRoutes (fastify: FastifyInstance) {
  fastify.get<{ Querystring: StatsQuery }>('/affiliate/stats', {
    schema: {
      tags: ['Affiliate panel'],
      security: affiliateSecurity,
      operationId: 'getMyStats',
      summary: 'The calling affiliate\'s statistics (without revenue, pending revenue and profit)',
      description: `${statsDescription} Only the calling affiliate's traffic counts: a filter on another affiliate's offer gives no rows.`,
      querystring: panelStatsQuerySchema,
      response: {
        200: {
          description: 'The report: a page of rows with the totals, or every row as CSV (`Accept: text/csv`)',
          content: {
            'application/json': { schema: { $ref: 'AffiliateStatsReport#' } },
            'text/csv': { schema: { type: 'string', examples: [panelCsvExample] } },
          },
        },
        ...problemResponses(...authProblems, 422),
      },
    },
  }, async (request, reply) => answerReport(fastify.db, request, reply, 'affiliate', panelAffiliateId(request)))
}
