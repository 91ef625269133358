import type { FastifyInstance } from 'fastify'
import type { ConversionEventRow, ConversionRow } from '../db/tables.js'
import { amountFromDb, amountToJson } from '../domain/money.js'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { adminSecurity, affiliateSecurity, authProblems, listOf, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { findConversion } from './repository.js'
import { conversionCursorKeys, listConversions, listServerPostbacks, statusHistories } from './queries.js'
import {
  conversionIdParams, conversionListQuery, panelConversionListQuery, serverPostbackListQuery,
  type ConversionListQuery, type ConversionPatch, type ServerPostbackListQuery,
} from './schemas.js'
import { patchConversion } from './status-change.js'

const security = adminSecurity

const money = (text: string) => amountToJson(amountFromDb(text))

export function conversionToApi (row: ConversionRow, history: ConversionEventRow[]) {
  return {
    id: row.id,
    clickid: row.clickid,
    offer_id: row.offer_id,
    affiliate_id: row.affiliate_id,
    goal: row.goal,
    action_id: row.action_id,
    status: row.status,
    integration_method: row.integration_method,
    sum: row.sum === null ? null : money(row.sum),
    revenue: money(row.revenue),
    payout: money(row.payout),
    currency: row.currency,
    order_currency: row.order_currency,
    ip: row.ip,
    user_agent: row.user_agent,
    comment: row.comment,
    custom_fields: row.custom_fields,
    country: row.country,
    hold_until: row.hold_until,
    created_at: row.created_at,
    updated_at: row.updated_at,
    status_history: history.map((event) => ({ from: event.from_status, to: event.to_status, source: event.source, at: event.created_at })),
  }
}

export function conversionToPanel (row: ConversionRow, history: ConversionEventRow[]) {
  const { revenue: _revenue, ...rest } = conversionToApi(row, history)
  return rest
}

const listDescription =
  'Newest first by id. With `updated_since`, only conversions changed at or after it, OLDEST CHANGE FIRST ' +
  '(by `updated_at`, then `id`), for syncing: page with `next_cursor`, or ask again with the last `updated_at` seen ' +
  '(rows sharing that instant come again; de-duplicate by `id`).'

/** Admin conversions, the server-postback log, and the affiliate panel's conversions (all in /v1). */
export default async function conversionApiRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  async function page<T> (query: ConversionListQuery, toItem: (row: ConversionRow, history: ConversionEventRow[]) => T) {
    const rows = await listConversions(db, query)
    const histories = await statusHistories(db, rows.slice(0, query.limit).map((row) => row.id))
    return toPage(rows, query.limit, (row) => toItem(row, histories.get(row.id) ?? []), conversionCursorKeys(query))
  }

  async function one (id: number) {
    const row = await findConversion(db, id)
    if (row === undefined) return undefined
    const histories = await statusHistories(db, [row.id])
    return { row, history: histories.get(row.id) ?? [] }
  }

  fastify.get<{ Querystring: ConversionListQuery }>('/conversions', {
    schema: {
      tags: ['Conversions'],
      security,
      operationId: 'listConversions',
      summary: 'List conversions',
      description: listDescription,
      querystring: conversionListQuery,
      response: { 200: listOf('Conversion'), ...problemResponses(...authProblems) },
    },
  }, async (request) => page(request.query, conversionToApi))

  fastify.get<{ Params: { id: number } }>('/conversions/:id', {
    schema: {
      tags: ['Conversions'],
      security,
      operationId: 'getConversion',
      summary: 'Read a conversion with its status history',
      params: conversionIdParams,
      response: { 200: { $ref: 'Conversion#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const found = await one(request.params.id)
    if (found === undefined) throw notFound('Conversion')
    return conversionToApi(found.row, found.history)
  })

  fastify.patch<{ Params: { id: number }; Body: ConversionPatch }>('/conversions/:id', {
    schema: {
      tags: ['Conversions'],
      security,
      operationId: 'updateConversion',
      summary: 'Change a conversion\'s status, revenue, payout or comment (JSON Merge Patch)',
      params: conversionIdParams,
      body: { $ref: 'ConversionPatch#' },
      response: { 200: { $ref: 'Conversion#' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request) => {
    const row = await patchConversion(db, request.params.id, request.body)
    if (row === undefined) throw notFound('Conversion')
    const histories = await statusHistories(db, [row.id])
    return conversionToApi(row, histories.get(row.id) ?? [])
  })

  fastify.get<{ Querystring: ServerPostbackListQuery }>('/server-postbacks', {
    schema: {
      tags: ['Conversions'],
      security,
      operationId: 'listServerPostbacks',
      summary: 'The server-postback log: every advertiser postback, accepted or rejected',
      description: 'Newest first. `created_from`/`created_to` apply to `received_at`. `clickid` matches the click id as sent (ignoring case), also a broken one.',
      querystring: serverPostbackListQuery,
      response: { 200: listOf('ServerPostback'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listServerPostbacks(db, request.query)
    return toPage(rows, request.query.limit, (row) => ({
      id: row.id,
      received_at: row.received_at,
      method: row.method,
      params: row.params,
      result: row.result,
      http_status: row.http_status,
      detail: row.detail,
      conversion_id: row.conversion_id,
    }), (row) => [row.id])
  })

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
  }, async (request) => page({ ...request.query, affiliate_id: panelAffiliateId(request) }, conversionToPanel))
}
