import type { FastifyInstance } from 'fastify'
import type { ClickRow } from '../db/tables.js'
import { badRequest, notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { adminSecurity, authProblems, listOf, problemResponses } from '../http/schemas.js'
import { findClick, listClicks, type ClickRecord } from './repository.js'
import { CLICK_ID_PATTERN, clickListQuery, type ClickListQueryString } from './schemas.js'

const tags = ['Clicks']
const security = adminSecurity

export function clickToApi (click: ClickRow | ClickRecord) {
  return {
    clickid: click.clickid,
    offer_id: click.offer_id,
    affiliate_id: click.affiliate_id,
    tracking_link_id: click.tracking_link_id,
    params: click.params,
    ip: click.ip,
    user_agent: click.user_agent,
    referrer: click.referrer,
    created_at: click.created_at,
  }
}

/** Admin views of recorded clicks. Each first writes this instance's buffered clicks, so a click is visible at once. */
export default async function clickRoutes (fastify: FastifyInstance) {
  const { db, clickRecorder } = fastify

  fastify.get<{ Querystring: ClickListQueryString }>('/clicks', {
    schema: {
      tags,
      security,
      operationId: 'listClicks',
      summary: 'List clicks',
      description:
        'Newest first (by `created_at`, then `clickid`). `pid` is accepted as an alias of `affiliate_id` ' +
        '(giving both with different values is a 400). A click is listed within a second of its redirect.',
      querystring: clickListQuery,
      response: { 200: listOf('Click'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const { pid, affiliate_id: affiliateId, ...query } = request.query
    if (pid !== undefined && affiliateId !== undefined && pid !== affiliateId) {
      throw badRequest('pid and affiliate_id name the same filter; give one (or equal values)', '/pid')
    }
    await clickRecorder.flush()
    const rows = await listClicks(db, { ...query, affiliate_id: affiliateId ?? pid })
    return toPage(rows, query.limit, clickToApi, (row) => [row.created_at.toISOString(), row.clickid])
  })

  fastify.get<{ Params: { clickid: string } }>('/clicks/:clickid', {
    schema: {
      tags,
      security,
      operationId: 'getClick',
      summary: 'Read a click',
      description: 'A click id is 24 lowercase hex characters (anything else is a 400); an unknown one is a 404.',
      params: {
        type: 'object',
        required: ['clickid'],
        additionalProperties: false,
        properties: { clickid: { type: 'string', pattern: CLICK_ID_PATTERN } },
      },
      response: { 200: { $ref: 'Click#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const { clickid } = request.params
    const buffered = clickRecorder.findBuffered(clickid)
    if (buffered !== undefined) return clickToApi(buffered)
    const row = await findClick(db, clickid)
    if (row === undefined) throw notFound('Click')
    return clickToApi(row)
  })
}
