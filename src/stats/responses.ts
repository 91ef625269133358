import type { FastifyReply, FastifyRequest } from 'fastify'
import { toCsv, visibleMetrics, type Audience } from './report.js'
import { buildReport } from './service.js'
import type { StatsQuery } from './schemas.js'
import { reportToApi, wantsCsv } from './view.js'
import type { Db } from '../db/database.js'

/** Both audiences' answer: a page of JSON, or every row as CSV. */
export async function answerReport (db: Db, request: FastifyRequest<{ Querystring: StatsQuery }>, reply: FastifyReply, audience: Audience, ownAffiliateId?: number) {
  if (wantsCsv(request.headers.accept)) {
    const report = await buildReport(db, request.query, audience, 'all', ownAffiliateId)
    const day = new Date(report.period.from).toISOString().slice(0, 10)
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="stats-${day}.csv"`)
      .send(toCsv(report.rows, report.groupColumns, visibleMetrics(audience)))
  }
  const report = await buildReport(db, request.query, audience, { limit: request.query.limit, cursor: request.query.cursor }, ownAffiliateId)
  return reply.send(reportToApi(report, audience))
}
