import type { FastifyReply, FastifyRequest } from 'fastify'
import { toCsv, visibleMetrics, type Audience } from './report.js'
import { buildReport, pageOf } from './service.js'
import type { StatsQuery } from './schemas.js'
import { reportToApi, wantsCsv } from './view.js'
import type { Db } from '../db/database.js'

/** Both audiences' answer: a page of JSON, or every row as CSV. */
export async function answerReport (db: Db, request: FastifyRequest<{ Querystring: StatsQuery }>, reply: FastifyReply, audience: Audience, ownAffiliateId?: number) {
  const report = await buildReport(db, request.query, audience, ownAffiliateId)
  if (wantsCsv(request.headers.accept)) {
    const day = new Date(report.period.from).toISOString().slice(0, 10)
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="stats-${day}.csv"`)
      .send(toCsv(report.rows, report.groupColumns, visibleMetrics(audience)))
  }
  const { page, nextCursor } = pageOf(report.rows, request.query.limit, request.query.cursor)
  return reply.send(reportToApi(report, page, nextCursor, audience))
}
