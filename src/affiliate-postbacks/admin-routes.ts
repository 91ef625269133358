import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { adminSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { createPostback, patchPostback, postbackToApi, type OwnTarget } from './service.js'
import { stopDeliveries } from './stop-deliveries.js'
import { affiliateExists, deletePostbacks, findOfferStatus, findPostback, listPostbacks } from './repository.js'
import {
  FIRING_RULES, HEALTH_RULES, postbackListFilters, type OfferPostbackCreate, type PostbackCreate, type PostbackListFilters, type PostbackPatch,
} from './schemas.js'

const tags = ['Postbacks']
const security = adminSecurity
const one = { $ref: 'Postback#' }
const deleted = { $ref: 'PostbacksDeleted#' }

const CREATE_RULES =
  'The same object and the same rules wherever a postback is created: `url` absolute http(s) with a host, at most ' +
  '2,048 characters (400 otherwise), never this service itself (422); `goal` only on a local postback and one of ' +
  'the offer\'s goals (422); `force_global` only on a global one (422). An unknown id in the path is 404, in the ' +
  `body 422. ${FIRING_RULES}`
const DELETE_RULE = 'Deleting cancels the postback\'s deliveries still pending (state `cancelled`); deliveries and their attempt log stay.'

export default async function postbackAdminRoutes (fastify: FastifyInstance) {
  const { db, config } = fastify
  const own: OwnTarget = { publicUrl: config.publicUrl, resolvesToSelf: (url) => fastify.ownService.resolvesToSelf(url) }

  fastify.get<{ Params: { offer_id: number }; Querystring: ListQuery & Pick<PostbackListFilters, 'affiliate_id' | 'health'> }>('/offers/:offer_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'listOfferPostbacks',
      summary: 'List the local postbacks of an offer',
      description: 'Admin > Offers > offer > Postbacks: every affiliate\'s local postbacks on this offer. Unknown offer: 404.',
      params: idParams('offer_id'),
      querystring: listQuery({ affiliate_id: postbackListFilters.affiliate_id, health: postbackListFilters.health }),
      response: { 200: listOf('Postback'), ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const { offer_id: offerId } = request.params
    if ((await findOfferStatus(db, offerId)) === undefined) throw notFound('Offer')
    const rows = await listPostbacks(db, { ...request.query, offer_id: offerId })
    return toPage(rows, request.query.limit, postbackToApi, (row) => [row.id])
  })

  fastify.post<{ Params: { offer_id: number }; Body: OfferPostbackCreate }>('/offers/:offer_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'createOfferPostback',
      summary: 'Create a local postback on an offer, for an affiliate',
      description: `Admin > Offers > offer > Postbacks; the body names \`affiliate_id\`. ${CREATE_RULES}`,
      params: idParams('offer_id'),
      body: { $ref: 'OfferPostbackCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const { affiliate_id: affiliateId, ...settings } = request.body
    const row = await createPostback(db, own, {
      affiliate: { id: affiliateId, from: 'body' }, offer: { id: request.params.offer_id, from: 'path' }, panel: false,
    }, settings)
    return reply.code(201).send(postbackToApi(row))
  })

  fastify.get<{ Params: { affiliate_id: number }; Querystring: ListQuery & PostbackListFilters }>('/affiliates/:affiliate_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'listAffiliatePostbacks',
      summary: 'List an affiliate\'s postbacks, local and global',
      description: 'Admin > Affiliates > affiliate. Unknown affiliate: 404.',
      params: idParams('affiliate_id'),
      querystring: listQuery({ offer_id: postbackListFilters.offer_id, scope: postbackListFilters.scope, health: postbackListFilters.health }),
      response: { 200: listOf('Postback'), ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const { affiliate_id: affiliateId } = request.params
    if (!(await affiliateExists(db, affiliateId))) throw notFound('Affiliate')
    const rows = await listPostbacks(db, { ...request.query, affiliate_id: affiliateId })
    return toPage(rows, request.query.limit, postbackToApi, (row) => [row.id])
  })

  fastify.post<{ Params: { affiliate_id: number }; Body: PostbackCreate }>('/affiliates/:affiliate_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'createAffiliatePostback',
      summary: 'Create an affiliate\'s postback: global, or local with `offer_id`',
      description: `Admin > Affiliates > affiliate. \`offer_id\` left out or null makes a global postback. ${CREATE_RULES}`,
      params: idParams('affiliate_id'),
      body: { $ref: 'PostbackCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const { offer_id: offerId, ...settings } = request.body
    const row = await createPostback(db, own, {
      affiliate: { id: request.params.affiliate_id, from: 'path' }, offer: { id: offerId ?? null, from: 'body' }, panel: false,
    }, settings)
    return reply.code(201).send(postbackToApi(row))
  })

  fastify.delete<{ Params: { affiliate_id: number } }>('/affiliates/:affiliate_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'deleteAffiliatePostbacks',
      summary: 'Remove all of an affiliate\'s postbacks',
      description: `Removes every postback of the affiliate, local and global, and answers how many. ${DELETE_RULE} Unknown affiliate: 404.`,
      params: idParams('affiliate_id'),
      response: { 200: deleted, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const { affiliate_id: affiliateId } = request.params
    if (!(await affiliateExists(db, affiliateId))) throw notFound('Affiliate')
    const ids = await deletePostbacks(db, { affiliateId })
    stopDeliveries(fastify, ids)
    return { deleted: ids.length }
  })

  fastify.get<{ Querystring: ListQuery & PostbackListFilters }>('/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'listPostbacks',
      summary: 'List postbacks of every affiliate',
      description:
        'Filters combine: `affiliate_id`, `offer_id` (local postbacks of that offer), `scope` (`local` or `global`), ' +
        '`health` (`healthy`, `failing` or `disabled`: receivers to look after).',
      querystring: listQuery(postbackListFilters),
      response: { 200: listOf('Postback'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listPostbacks(db, request.query)
    return toPage(rows, request.query.limit, postbackToApi, (row) => [row.id])
  })

  fastify.get<{ Params: { id: number } }>('/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'getPostback',
      summary: 'Read a postback',
      params: idParams('id'),
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findPostback(db, request.params.id)
    if (row === undefined) throw notFound('Postback')
    return postbackToApi(row)
  })

  fastify.patch<{ Params: { id: number }; Body: PostbackPatch }>('/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'updatePostback',
      summary: 'Update a postback (JSON Merge Patch)',
      params: idParams('id'),
      description:
        '`affiliate_id` never changes (400). `offer_id` may change (local ↔ global); `goal` and `force_global` are then ' +
        'judged against the new state (see the body schema). An unknown `offer_id` is 422. Deliveries already enqueued ' +
        'keep the request they were rendered with. `enabled` re-enables (or disables) it: ' + HEALTH_RULES,
      body: { $ref: 'PostbackPatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request) => {
    const row = await patchPostback(db, own, request.params.id, { panel: false }, request.body)
    return postbackToApi(row)
  })

  fastify.delete<{ Params: { id: number } }>('/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'deletePostback',
      summary: 'Delete a postback',
      params: idParams('id'),
      description: DELETE_RULE,
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request, reply) => {
    const ids = await deletePostbacks(db, { id: request.params.id })
    if (ids.length === 0) throw notFound('Postback')
    stopDeliveries(fastify, ids)
    return reply.code(204).send()
  })
}
