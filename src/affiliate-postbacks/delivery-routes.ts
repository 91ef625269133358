import type { FastifyInstance } from 'fastify'
import { optionalBody } from '../plugins/openapi.js'
import type { PostbackDeliveryRow } from '../db/tables.js'
import { conflict, notFound } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import { adminSecurity, authProblems, bigIdParam, idParams, listOf, problemResponses } from '../http/schemas.js'
import { findDelivery, findPostback, listAttempts, listDeliveries } from './delivery-repository.js'
import {
  deliveryListQuery,
  REDELIVER_DESCRIPTION, type DeliveryListQuery, type PostbackRedeliverRequest, type PostbackTestRequest,
} from './delivery-schemas.js'
import { redeliver, redeliveryWindow } from './redeliver.js'
import { testFire } from './test-fire.js'
import { deliveryToApi } from './delivery-view.js'

const tags = ['Postback deliveries']
const security = adminSecurity
const deliveryParams = {
  type: 'object', required: ['id'], additionalProperties: false, properties: { id: bigIdParam },
} as const

const retryDescription =
  'Makes one more attempt now, outside the retry schedule, whatever the state (also delivered, failed or cancelled), ' +
  'and answers when it is done with the delivery as it now stands. The delivery ends `delivered` (2xx) or `failed` by ' +
  'this attempt, with no further scheduled retries; `attempts` keeps counting and the same `X-Postback-Delivery-Id` is sent. ' +
  '409 while another attempt of this delivery is in flight. The SSRF guard applies, and so does the rule that a postback ' +
  'never feeds this service\'s own intake: a delivery rendered before its host became a tracking domain (or to the origin ' +
  'of `PUBLIC_URL`) is not sent; the attempt is recorded as refused and the delivery ends `failed`.'

const testDescription =
  'Renders the postback exactly as a delivery would and sends it once, through the same agent and SSRF guard ' +
  '(a refused destination comes back as `error`, not as a problem). Nothing is recorded: no delivery, no attempt. ' +
  'The request carries `X-Postback-Test: true` instead of `X-Postback-Delivery-Id`. The answer always has status 200; ' +
  'the receiver\'s verdict is in `http_code` and `error`. An empty body or `{}` uses a sample conversion.'

/** The delivery log, manual resend and test fire (admin, in /v1). */
export default async function deliveryRoutes (fastify: FastifyInstance) {
  const { db, dispatcher } = fastify

  async function detail (row: PostbackDeliveryRow) {
    const attempts = await listAttempts(db, row.id)
    return { ...deliveryToApi(row), attempt_log: attempts }
  }

  fastify.get<{ Querystring: DeliveryListQuery }>('/postback-deliveries', {
    schema: {
      tags,
      security,
      operationId: 'listPostbackDeliveries',
      summary: 'List postback deliveries',
      description: 'Newest first. Filters combine with AND.',
      querystring: deliveryListQuery,
      response: { 200: listOf('PostbackDelivery'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listDeliveries(db, request.query)
    return toPage(rows, request.query.limit, deliveryToApi, (row) => [row.id])
  })

  fastify.get<{ Params: { id: number } }>('/postback-deliveries/:id', {
    schema: {
      tags,
      security,
      operationId: 'getPostbackDelivery',
      summary: 'Read a postback delivery with its attempt log',
      params: deliveryParams,
      response: { 200: { $ref: 'PostbackDeliveryDetail#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const row = await findDelivery(db, request.params.id)
    if (row === undefined) throw notFound('Postback delivery')
    return detail(row)
  })

  fastify.post<{ Params: { id: number } }>('/postback-deliveries/:id/retry', {
    schema: {
      tags,
      security,
      operationId: 'retryPostbackDelivery',
      summary: 'Resend a postback delivery now',
      description: retryDescription,
      params: deliveryParams,
      response: { 200: { $ref: 'PostbackDeliveryDetail#' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request) => {
    const result = await dispatcher.resend(request.params.id)
    if (result === 'missing') throw notFound('Postback delivery')
    if (result === 'busy') throw conflict('An attempt of this delivery is in flight; try again when it has finished')
    const row = await findDelivery(db, request.params.id)
    if (row === undefined) throw notFound('Postback delivery')
    return detail(row)
  })

  fastify.post<{ Params: { id: number }; Body: PostbackRedeliverRequest }>('/postbacks/:id/redeliver', {
    schema: {
      tags: ['Postbacks'],
      security,
      operationId: 'redeliverPostback',
      summary: 'Send a postback\'s failed (or cancelled) deliveries of a time window once more',
      description: REDELIVER_DESCRIPTION,
      params: idParams('id'),
      body: { $ref: 'PostbackRedeliverRequest#' },
      response: { 202: { $ref: 'PostbackRedeliverResult#' }, ...problemResponses(...authProblems, 404, 422) },
    },
  }, async (request, reply) => {
    const postback = await findPostback(db, request.params.id)
    if (postback === undefined) throw notFound('Postback')
    return reply.code(202).send({ queued: await redeliver(db, redeliveryWindow(postback.id, request.body)) })
  })

  fastify.post<{ Params: { id: number }; Body: PostbackTestRequest | undefined }>('/postbacks/:id/test', {
    schema: {
      tags: ['Postbacks'],
      security,
      operationId: 'testPostback',
      summary: 'Test-fire a postback',
      description: testDescription,
      params: idParams('id'),
      body: { $ref: 'PostbackTestRequest#' },
      ...optionalBody,
      response: { 200: { $ref: 'PostbackTestResult#' }, ...problemResponses(...authProblems, 404, 422) },
    },
    // No body at all means "a sample conversion", like `{}`.
    preValidation: async (request) => {
      request.body ??= {}
    },
  }, async (request) => {
    const postback = await findPostback(db, request.params.id)
    if (postback === undefined) throw notFound('Postback')
    return testFire(db, dispatcher.sender, postback, request.body?.conversion_id)
  })
}
