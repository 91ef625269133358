import type { FastifyInstance } from 'fastify'
import { badRequest, conflict, HttpProblem, notFound, ruleViolation } from '../http/problem.js'
import { adminSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import { hostnameProblem, normalizeHostname } from '../domain/hostname.js'
import type { TrackingDomainRow } from '../db/tables.js'
import type { TrackingDomainCreate, TrackingDomainPatch } from './schemas.js'
import {
  clearDefaultFlag, deleteTrackingDomain, findDefaultTrackingDomain, findTrackingDomain, findTrackingDomainByHostname,
  insertTrackingDomain, listTrackingDomains, lockTrackingDomains, promoteOldestToDefault, trackingDomainReference,
  updateTrackingDomain,
} from './repository.js'

const tags = ['Tracking domains']
const security = adminSecurity
const params = idParams('id')
const one = { $ref: 'TrackingDomain#' }

export function trackingDomainToApi (row: TrackingDomainRow) {
  const { id, hostname, allow_http, allow_https, is_default, created_at } = row
  return { id, hostname, allow_http, allow_https, is_default, created_at }
}

function checkedHostname (input: string): string {
  const problem = hostnameProblem(input)
  if (problem !== null) throw badRequest(`hostname ${problem}`, '/hostname')
  return normalizeHostname(input)
}

function requireAProtocol (allowHttp: boolean, allowHttps: boolean) {
  if (allowHttp || allowHttps) return
  const message = 'At least one of allow_http and allow_https must be true'
  throw new HttpProblem('rule-violation', message, {
    errors: [{ path: '/allow_http', message }, { path: '/allow_https', message }],
  })
}

export default async function trackingDomainRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.post<{ Body: TrackingDomainCreate }>('/tracking-domains', {
    schema: {
      tags,
      security,
      operationId: 'createTrackingDomain',
      summary: 'Create a tracking domain',
      description: 'The first domain created becomes the default. A hostname already in use (ignoring case) is 409. A host that ' +
        'saved postbacks already send to may become a tracking domain: their deliveries are then refused at send (a `failed` ' +
        'delivery saying why, never retried), since a postback must never feed this service\'s own intake (contract §5.1).',
      body: { $ref: 'TrackingDomainCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 409, 422) },
    },
  }, async (request, reply) => {
    const body = request.body
    const hostname = checkedHostname(body.hostname)
    requireAProtocol(body.allow_http, body.allow_https)
    const row = await db.transaction().execute(async (trx) => {
      await lockTrackingDomains(trx)
      if ((await findTrackingDomainByHostname(trx, hostname)) !== undefined) {
        throw conflict(`A tracking domain with hostname ${hostname} already exists`)
      }
      const current = await findDefaultTrackingDomain(trx)
      if (current !== undefined && body.is_default) await clearDefaultFlag(trx)
      return insertTrackingDomain(trx, {
        hostname, allow_http: body.allow_http, allow_https: body.allow_https, is_default: current === undefined || body.is_default,
      })
    })
    return reply.code(201).send(trackingDomainToApi(row))
  })

  fastify.get<{ Querystring: ListQuery }>('/tracking-domains', {
    schema: {
      tags,
      security,
      operationId: 'listTrackingDomains',
      summary: 'List tracking domains',
      querystring: listQuery(),
      response: { 200: listOf('TrackingDomain'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listTrackingDomains(db, request.query)
    return toPage(rows, request.query.limit, trackingDomainToApi, (row) => [row.id])
  })

  fastify.get<{ Params: { id: number } }>('/tracking-domains/:id', {
    schema: {
      tags,
      security,
      operationId: 'getTrackingDomain',
      summary: 'Read a tracking domain',
      params,
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findTrackingDomain(db, request.params.id)
    if (row === undefined) throw notFound('Tracking domain')
    return trackingDomainToApi(row)
  })

  fastify.patch<{ Params: { id: number }; Body: TrackingDomainPatch }>('/tracking-domains/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateTrackingDomain',
      summary: 'Update a tracking domain (JSON Merge Patch)',
      params,
      description:
        '`is_default: true` moves the default flag here. `is_default: false` on the current default is 422 ' +
        '(there must always be one default; make another domain the default instead). Links already generated keep their URL. ' +
        'A new hostname that postbacks send to is taken, as on creation; their deliveries are refused at send.',
      body: { $ref: 'TrackingDomainPatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404, 409, 422) },
    },
  }, async (request) => {
    const { id } = request.params
    const patch = request.body
    const hostname = patch.hostname === undefined ? undefined : checkedHostname(patch.hostname)
    const row = await db.transaction().execute(async (trx) => {
      await lockTrackingDomains(trx)
      const existing = await findTrackingDomain(trx, id)
      if (existing === undefined) throw notFound('Tracking domain')
      if (hostname !== undefined && (await findTrackingDomainByHostname(trx, hostname, id)) !== undefined) {
        throw conflict(`A tracking domain with hostname ${hostname} already exists`)
      }
      requireAProtocol(patch.allow_http ?? existing.allow_http, patch.allow_https ?? existing.allow_https)
      if (patch.is_default === false && existing.is_default) {
        throw ruleViolation(
          'There must be one default tracking domain: make another domain the default instead of unsetting this one',
          '/is_default'
        )
      }
      if (patch.is_default === true && !existing.is_default) await clearDefaultFlag(trx)
      return updateTrackingDomain(trx, id, { ...patch, ...(hostname === undefined ? {} : { hostname }), is_default: patch.is_default ?? existing.is_default })
    })
    return trackingDomainToApi(row)
  })

  fastify.delete<{ Params: { id: number } }>('/tracking-domains/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteTrackingDomain',
      summary: 'Delete a tracking domain (409 while offers or tracking links refer to it)',
      params,
      description:
        'Deleting the default domain makes the oldest remaining domain the default; deleting the last domain ' +
        'leaves links on `PUBLIC_URL`.',
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params
    await db.transaction().execute(async (trx) => {
      await lockTrackingDomains(trx)
      const existing = await findTrackingDomain(trx, id)
      if (existing === undefined) throw notFound('Tracking domain')
      const reference = await trackingDomainReference(trx, id)
      if (reference !== null) throw conflict(`Tracking domain is still used by ${reference}; move them to another domain first`)
      await deleteTrackingDomain(trx, id)
      if (existing.is_default) await promoteOldestToDefault(trx)
    })
    return reply.code(204).send()
  })
}
