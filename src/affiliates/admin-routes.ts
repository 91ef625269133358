import type { FastifyInstance } from 'fastify'
import { catchUpAfterWrites } from '../clicks/replica.js'
import { conflict, notFound } from '../http/problem.js'
import { adminSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import { generateApiKey, hashApiKey } from '../plugins/auth.js'
import { affiliateToApi } from './view.js'
import { AFFILIATE_STATUSES, type AffiliateStatus } from '../domain/statuses.js'
import type { AffiliateCreate, AffiliatePatch } from './schemas.js'
import {
  affiliateReference, deleteAffiliate, findAffiliate, findAffiliateByEmail, insertAffiliate, listAffiliates,
  replaceAffiliateKey, updateAffiliate, rotateSigningSecret, deleteSigningSecrets,
} from './repository.js'
import { SIGNING_DESCRIPTION } from './schemas.js'
import { newSigningKey, ROTATION_OVERLAP_MS, secretForDisplay } from '../domain/signature.js'

const tags = ['Affiliates']
const security = adminSecurity
const params = idParams('id')
const one = { $ref: 'Affiliate#' }

const emailTaken = () => conflict('An affiliate with this email already exists')

export default async function affiliateRoutes (fastify: FastifyInstance) {
  const { db } = fastify
  fastify.addHook('onSend', catchUpAfterWrites(fastify.clickReplica))

  fastify.post<{ Body: AffiliateCreate }>('/affiliates', {
    schema: {
      tags,
      security,
      operationId: 'createAffiliate',
      summary: 'Create an affiliate',
      description: 'The answer carries `api_key`, the only time it is shown. An email already in use (ignoring case) is 409.',
      body: { $ref: 'AffiliateCreate#' },
      response: { 201: { $ref: 'AffiliateCreated#' }, ...problemResponses(...authProblems, 409) },
    },
  }, async (request, reply) => {
    if ((await findAffiliateByEmail(db, request.body.email)) !== undefined) throw emailTaken()
    const apiKey = generateApiKey('aff')
    const row = await insertAffiliate(db, request.body, hashApiKey(apiKey))
    return reply.code(201).send({ ...affiliateToApi(row), api_key: apiKey })
  })

  fastify.get<{ Querystring: ListQuery & { status?: AffiliateStatus } }>('/affiliates', {
    schema: {
      tags,
      security,
      operationId: 'listAffiliates',
      summary: 'List affiliates',
      querystring: listQuery({ status: { type: 'string', enum: AFFILIATE_STATUSES } }),
      response: { 200: listOf('Affiliate'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listAffiliates(db, request.query)
    return toPage(rows, request.query.limit, affiliateToApi, (row) => [row.id])
  })

  fastify.get<{ Params: { id: number } }>('/affiliates/:id', {
    schema: {
      tags,
      security,
      operationId: 'getAffiliate',
      summary: 'Read an affiliate',
      params,
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findAffiliate(db, request.params.id)
    if (row === undefined) throw notFound('Affiliate')
    return affiliateToApi(row)
  })

  fastify.patch<{ Params: { id: number }; Body: AffiliatePatch }>('/affiliates/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateAffiliate',
      summary: 'Update an affiliate (JSON Merge Patch)',
      params,
      description: 'A status other than `active` locks the affiliate out of the panel at once and stops its clicks.',
      body: { $ref: 'AffiliatePatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request) => {
    const { id } = request.params
    if (request.body.email !== undefined && (await findAffiliateByEmail(db, request.body.email, id)) !== undefined) {
      if ((await findAffiliate(db, id)) === undefined) throw notFound('Affiliate')
      throw emailTaken()
    }
    const row = await updateAffiliate(db, id, request.body)
    if (row === undefined) throw notFound('Affiliate')
    return affiliateToApi(row)
  })

  fastify.post<{ Params: { id: number } }>('/affiliates/:id/api-key', {
    schema: {
      tags,
      security,
      operationId: 'issueAffiliateApiKey',
      summary: 'Issue a new API key for an affiliate',
      description: 'The old key stops working at once. The new key is shown only in this answer.',
      params,
      response: { 200: { $ref: 'AffiliateApiKey#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const apiKey = generateApiKey('aff')
    if (!(await replaceAffiliateKey(db, request.params.id, hashApiKey(apiKey)))) throw notFound('Affiliate')
    return { api_key: apiKey }
  })

  fastify.post<{ Params: { id: number } }>('/affiliates/:id/signing-secret', {
    schema: {
      tags,
      security,
      operationId: 'issueAffiliateSigningSecret',
      summary: 'Issue (or rotate) an affiliate\'s postback signing secret',
      description: SIGNING_DESCRIPTION,
      params,
      response: { 200: { $ref: 'AffiliateSigningSecret#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const key = newSigningKey()
    if (!(await rotateSigningSecret(db, request.params.id, key, ROTATION_OVERLAP_MS))) throw notFound('Affiliate')
    return { secret: secretForDisplay(key) }
  })

  fastify.delete<{ Params: { id: number } }>('/affiliates/:id/signing-secret', {
    schema: {
      tags,
      security,
      operationId: 'deleteAffiliateSigningSecret',
      summary: 'Turn postback signing off for an affiliate',
      description:
        'Removes the affiliate\'s signing secrets, the one still in its rotation overlap too: attempts claimed from now ' +
        'on carry no `webhook-*` headers. 204 also when no secret was set.',
      params,
      response: { 204: { type: 'null', description: 'Signing is off' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request, reply) => {
    if (!(await deleteSigningSecrets(db, request.params.id))) throw notFound('Affiliate')
    return reply.code(204).send()
  })

  fastify.delete<{ Params: { id: number } }>('/affiliates/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteAffiliate',
      summary: 'Delete an affiliate (409 while anything refers to it)',
      params,
      description:
        '409 while tracking links, clicks, conversions or postbacks refer to the affiliate: set its status to ' +
        '`inactive` or `banned` instead.',
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params
    if ((await findAffiliate(db, id)) === undefined) throw notFound('Affiliate')
    const reference = await affiliateReference(db, id)
    if (reference !== null) throw conflict(`Affiliate still has ${reference}; set its status to inactive or banned instead`)
    if (!(await deleteAffiliate(db, id))) throw notFound('Affiliate')
    return reply.code(204).send()
  })
}
