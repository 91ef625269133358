import type { FastifyInstance } from 'fastify'
import type { ConversionEventRow, ConversionRow } from '../db/tables.js'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { adminSecurity, authProblems, listOf, problemResponses } from '../http/schemas.js'
import { findConversion } from './repository.js'
import { listServerPostbacks, statusHistories } from './queries.js'
import {
  conversionIdParams, conversionListQuery, serverPostbackListQuery,
  type ConversionListQuery, type ConversionPatch, type ServerPostbackListQuery,
} from './schemas.js'
import { patchConversion } from './status-change.js'
import { conversionPage, conversionToApi, listDescription } from './view.js'

const security = adminSecurity

/** Admin conversions and the server-postback log (in /v1). */
export default async function conversionApiRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  const page = <T>(query: ConversionListQuery, toItem: (row: ConversionRow, history: ConversionEventRow[]) => T) =>
    conversionPage(db, query, toItem)

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
}
