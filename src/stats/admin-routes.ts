import type { FastifyInstance } from 'fastify'
import { adminSecurity, authProblems, problemResponses } from '../http/schemas.js'
import { answerReport } from './responses.js'
import { statsDescription, statsQuerySchema, type StatsQuery } from './schemas.js'

export const csvExample = 'day,offer_id,currency,clicks,conversions,approved,pending,declined,hold,revenue,payout,pending_revenue,pending_payout,profit,cr,epc\r\n' +
  '2026-11-30,7,USD,1200,36,30,4,2,0,150,90,20,12,60,2.8333,0.075\r\n'

/** The network's statistics (in /v1). */
export default async function statsAdminRoutes (fastify: FastifyInstance) {
  fastify.get<{ Querystring: StatsQuery }>('/stats', {
    schema: {
      tags: ['Statistics'],
      security: adminSecurity,
      operationId: 'getStats',
      summary: 'Clicks, conversions, revenue, payout, profit, CR and EPC by period, offer, advertiser, affiliate, goal or sub',
      description: statsDescription,
      querystring: statsQuerySchema,
      response: {
        200: {
          description: 'The report: a page of rows with the totals, or every row as CSV (`Accept: text/csv`)',
          content: {
            'application/json': { schema: { $ref: 'StatsReport#' } },
            'text/csv': { schema: { type: 'string', examples: [csvExample] } },
          },
        },
        ...problemResponses(...authProblems, 422),
      },
    },
  }, async (request, reply) => answerReport(fastify.db, request, reply, 'admin'))
}
