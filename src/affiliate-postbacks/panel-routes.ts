import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { affiliateSecurity, authProblems, idParams, listOf, listQuery, problemResponses, type ListQuery } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { createPostback, patchPostback, postbackToApi, type OwnTarget } from './service.js'
import { stopDeliveries } from './stop-deliveries.js'
import { deletePostbacks, findOfferStatus, findPostback, listPostbacks } from './repository.js'
import { FIRING_RULES, HEALTH_RULES, postbackListFilters, type PostbackCreate, type PostbackListFilters, type PostbackPatch, type PostbackSettings } from './schemas.js'

const tags = ['Affiliate panel']
const security = affiliateSecurity
const one = { $ref: 'Postback#' }

const PANEL_RULES =
  'Affiliate key only; the postback is always the caller\'s own. A local postback attaches only to an offer that ' +
  'exists and is `active`. Same object and rules as the admin routes: `url` absolute http(s) with a host, at most ' +
  '2,048 characters (400 otherwise), never this service itself (422); `goal` only on a local postback and one of ' +
  `the offer's goals (422); \`force_global\` only on a global one (422). ${FIRING_RULES}`
const DELETE_RULE = 'Deleting cancels the postback\'s deliveries still pending (state `cancelled`); the delivery log stays.'
const OTHERS = 'Another affiliate\'s postback is 404, as an unknown one.'

export default async function postbackPanelRoutes (fastify: FastifyInstance) {
  const { db, config } = fastify
  const own: OwnTarget = { publicUrl: config.publicUrl, resolvesToSelf: (url) => fastify.ownService.resolvesToSelf(url) }

  /** The offer of a panel path: unknown and not-active offers are alike 404, as in `GET /affiliate/offers/{id}`. */
  async function activeOfferFromPath (offerId: number) {
    const offer = await findOfferStatus(db, offerId)
    if (offer === undefined || offer.status !== 'active') throw notFound('Offer')
  }

  fastify.get<{ Params: { offer_id: number }; Querystring: ListQuery & Pick<PostbackListFilters, 'health'> }>('/affiliate/offers/:offer_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'listMyOfferPostbacks',
      summary: 'The caller\'s local postbacks on an offer',
      description: 'Affiliate panel > Offers > offer. An offer that is unknown or not `active` is 404. Filter: `health`.',
      params: idParams('offer_id'),
      querystring: listQuery({ health: postbackListFilters.health }),
      response: { 200: listOf('Postback'), ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const affiliateId = panelAffiliateId(request)
    await activeOfferFromPath(request.params.offer_id)
    const rows = await listPostbacks(db, { ...request.query, affiliate_id: affiliateId, offer_id: request.params.offer_id })
    return toPage(rows, request.query.limit, postbackToApi, (row) => [row.id])
  })

  fastify.post<{ Params: { offer_id: number }; Body: PostbackSettings }>('/affiliate/offers/:offer_id/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'createMyOfferPostback',
      summary: 'Create a local postback on an offer, as the affiliate',
      description: `Affiliate panel > Offers > offer. An offer that is unknown or not \`active\` is 404. ${PANEL_RULES}`,
      params: idParams('offer_id'),
      body: { $ref: 'PanelOfferPostbackCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const row = await createPostback(db, own, {
      affiliate: { id: panelAffiliateId(request), from: 'key' }, offer: { id: request.params.offer_id, from: 'path' }, panel: true,
    }, request.body)
    return reply.code(201).send(postbackToApi(row))
  })

  fastify.get<{ Querystring: ListQuery & Omit<PostbackListFilters, 'affiliate_id'> }>('/affiliate/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'listMyPostbacks',
      summary: 'The caller\'s own postbacks, local and global',
      description: 'Affiliate panel > Settings > Global postbacks, and the list of all own postbacks. Filters: `offer_id`, `scope`, `health` (`healthy`, `failing`, `disabled`).',
      querystring: listQuery({ offer_id: postbackListFilters.offer_id, scope: postbackListFilters.scope, health: postbackListFilters.health }),
      response: { 200: listOf('Postback'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listPostbacks(db, { ...request.query, affiliate_id: panelAffiliateId(request) })
    return toPage(rows, request.query.limit, postbackToApi, (row) => [row.id])
  })

  fastify.post<{ Body: PostbackCreate }>('/affiliate/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'createMyPostback',
      summary: 'Create an own postback: global, or local with `offer_id`',
      description:
        'Affiliate panel > Settings > Global postbacks. `offer_id` left out or null makes a global postback; an ' +
        `\`offer_id\` that is unknown or not \`active\` is 422. ${PANEL_RULES}`,
      body: { $ref: 'PostbackCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const { offer_id: offerId, ...settings } = request.body
    const row = await createPostback(db, own, {
      affiliate: { id: panelAffiliateId(request), from: 'key' }, offer: { id: offerId ?? null, from: 'body' }, panel: true,
    }, settings)
    return reply.code(201).send(postbackToApi(row))
  })

  fastify.delete('/affiliate/postbacks', {
    schema: {
      tags,
      security,
      operationId: 'deleteMyPostbacks',
      summary: 'Remove all own postbacks',
      description: `Removes every postback of the caller, local and global, and answers how many. ${DELETE_RULE}`,
      response: { 200: { $ref: 'PostbacksDeleted#' }, ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const ids = await deletePostbacks(db, { affiliateId: panelAffiliateId(request) })
    stopDeliveries(fastify, ids)
    return { deleted: ids.length }
  })

  fastify.get<{ Params: { id: number } }>('/affiliate/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'getMyPostback',
      summary: 'Read an own postback',
      description: OTHERS,
      params: idParams('id'),
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findPostback(db, request.params.id, { affiliateId: panelAffiliateId(request) })
    if (row === undefined) throw notFound('Postback')
    return postbackToApi(row)
  })

  fastify.patch<{ Params: { id: number }; Body: PostbackPatch }>('/affiliate/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateMyPostback',
      summary: 'Update an own postback (JSON Merge Patch)',
      params: idParams('id'),
      description:
        `${OTHERS} \`offer_id\` may change (local ↔ global), to an offer that exists and is \`active\` (422 otherwise); ` +
        '`goal` and `force_global` are then judged against the new state (see the body schema). A postback whose offer ' +
        'was paused since stays editable. `enabled` re-enables (or disables) it: ' + HEALTH_RULES,
      body: { $ref: 'PostbackPatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request) => {
    const owner = { affiliateId: panelAffiliateId(request), panel: true }
    return postbackToApi(await patchPostback(db, own, request.params.id, owner, request.body))
  })

  fastify.delete<{ Params: { id: number } }>('/affiliate/postbacks/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteMyPostback',
      summary: 'Delete an own postback',
      description: `${OTHERS} ${DELETE_RULE}`,
      params: idParams('id'),
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request, reply) => {
    const affiliateId = panelAffiliateId(request)
    const ids = await deletePostbacks(db, { id: request.params.id, affiliateId })
    if (ids.length === 0) throw notFound('Postback')
    stopDeliveries(fastify, ids)
    return reply.code(204).send()
  })
}
