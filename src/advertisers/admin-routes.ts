import type { FastifyInstance } from 'fastify'
import { conflict, notFound } from '../http/problem.js'
import { adminSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import type { AdvertiserRow } from '../db/tables.js'
import type { AdvertiserCreate, AdvertiserPatch } from './schemas.js'
import { deleteAdvertiser, findAdvertiser, insertAdvertiser, listAdvertisers, updateAdvertiser } from './repository.js'
import { ADVERTISER_STATUSES } from '../domain/statuses.js'

const tags = ['Advertisers']
const security = adminSecurity
const params = idParams('id')
const one = { $ref: 'Advertiser#' }

export function advertiserToApi (row: AdvertiserRow) {
  return row
}

export default async function advertiserRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.post<{ Body: AdvertiserCreate }>('/advertisers', {
    schema: {
      tags,
      security,
      operationId: 'createAdvertiser',
      summary: 'Create an advertiser',
      body: { $ref: 'AdvertiserCreate#' },
      response: { 201: one, ...problemResponses(...authProblems) },
    },
  }, async (request, reply) => {
    const row = await insertAdvertiser(db, request.body)
    return reply.code(201).send(advertiserToApi(row))
  })

  fastify.get<{ Querystring: ListQuery & { status?: string } }>('/advertisers', {
    schema: {
      tags,
      security,
      operationId: 'listAdvertisers',
      summary: 'List advertisers',
      querystring: listQuery({ status: { type: 'string', enum: ADVERTISER_STATUSES } }),
      response: { 200: listOf('Advertiser'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listAdvertisers(db, request.query)
    return toPage(rows, request.query.limit, advertiserToApi, (row) => [row.id])
  })

  fastify.get<{ Params: { id: number } }>('/advertisers/:id', {
    schema: {
      tags,
      security,
      operationId: 'getAdvertiser',
      summary: 'Read an advertiser',
      params,
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findAdvertiser(db, request.params.id)
    if (row === undefined) throw notFound('Advertiser')
    return advertiserToApi(row)
  })

  fastify.patch<{ Params: { id: number }; Body: AdvertiserPatch }>('/advertisers/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateAdvertiser',
      summary: 'Update an advertiser (JSON Merge Patch)',
      params,
      body: { $ref: 'AdvertiserPatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await updateAdvertiser(db, request.params.id, request.body)
    if (row === undefined) throw notFound('Advertiser')
    return advertiserToApi(row)
  })

  fastify.delete<{ Params: { id: number } }>('/advertisers/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteAdvertiser',
      summary: 'Delete an advertiser (409 while offers refer to it)',
      params,
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request, reply) => {
    const result = await deleteAdvertiser(db, request.params.id)
    if (result === 'missing') throw notFound('Advertiser')
    if (result === 'referenced') throw conflict('Advertiser still has offers; delete or move them first')
    return reply.code(204).send()
  })
}
