import type { FastifyInstance } from 'fastify'
import { catchUpAfterWrites } from '../clicks/replica.js'
import { conflict, notFound, ruleViolation } from '../http/problem.js'
import { adminSecurity, authProblems, idParams, listOf, problemResponses } from '../http/schemas.js'
import { toPage } from '../http/pagination.js'
import type { Db } from '../db/database.js'
import type { StoredCap } from '../db/tables.js'
import { offerListQuery, type OfferCreate, type OfferListQuery, type OfferPatch } from './schemas.js'
import { DEFAULT_GOAL, goalsLeftBehind, parseGoals } from './goals.js'
import { capsNamingMissingGoals, checkClickSession, parseCaps } from './caps.js'
import { offerPostbackUrl, offerToApi } from './view.js'
import { restartDailyTiersForCurrencyChange } from '../stats/daily-tiers.js'
import {
  advertiserExists, deleteOffer, dropCountersOfRemovedCaps, unknownAffiliates, findOfferWithGoals, goalsNamedByPostbacks, insertOffer, listOffers, loadPostbackUrlContext,
  lockOffer, offerReference, replaceGoals, trackingDomainExists, updateOffer, withGoals, type OfferWithGoals,
} from './repository.js'

export { offerToApi } from './view.js'

const tags = ['Offers']
const security = adminSecurity
const params = idParams('id')
const one = { $ref: 'Offer#' }

/** 422 for ids in the body that name nothing (contract §1). */
async function checkReferences (
  db: Db, input: { advertiser_id?: number; tracking_domain_id?: number | null }, caps: StoredCap[] | undefined
) {
  if (caps !== undefined) {
    const unknown = new Set(await unknownAffiliates(db, caps.flatMap((cap) => (cap.affiliate_id === null ? [] : [cap.affiliate_id]))))
    const index = caps.findIndex((cap) => cap.affiliate_id !== null && unknown.has(cap.affiliate_id))
    if (index !== -1) throw ruleViolation(`Affiliate ${caps[index]?.affiliate_id} not found`, `/caps/${index}/affiliate_id`)
  }
  if (input.advertiser_id !== undefined && !(await advertiserExists(db, input.advertiser_id))) {
    throw ruleViolation(`Advertiser ${input.advertiser_id} not found`, '/advertiser_id')
  }
  const domainId = input.tracking_domain_id
  if (domainId !== undefined && domainId !== null && !(await trackingDomainExists(db, domainId))) {
    throw ruleViolation(`Tracking domain ${domainId} not found`, '/tracking_domain_id')
  }
}

export default async function offerRoutes (fastify: FastifyInstance) {
  const { db, config } = fastify
  fastify.addHook('onSend', catchUpAfterWrites(fastify.clickReplica))

  async function toApi (offers: OfferWithGoals[]) {
    const context = await loadPostbackUrlContext(db, offers)
    return offers.map((offer) => offerToApi(offer, offerPostbackUrl(offer, context, config.publicUrl)))
  }
  const toApiOne = async (offer: OfferWithGoals) => (await toApi([offer]))[0]

  fastify.post<{ Body: OfferCreate }>('/offers', {
    schema: {
      tags,
      security,
      operationId: 'createOffer',
      summary: 'Create an offer',
      description:
        'Unknown `advertiser_id` or `tracking_domain_id`: 422. Amounts with more than 4 decimals, or percentages ' +
        'above 100, are 400; goal values repeated ignoring case are 422. Without goals the offer gets the default goal `1`. ' +
        'A malformed cap or `click_session` is 400; a cap naming a goal the offer lacks or an unknown affiliate is 422.',
      body: { $ref: 'OfferCreate#' },
      response: { 201: one, ...problemResponses(...authProblems, 409, 422) },
    },
  }, async (request, reply) => {
    const { goals: goalInput, caps: capInput, ...fields } = request.body
    const goals = goalInput === undefined || goalInput.length === 0 ? [DEFAULT_GOAL] : parseGoals(goalInput)
    checkClickSession(fields.click_session, fastify.config.clickRetentionDays)
    const caps = parseCaps(capInput, goals.map((goal) => goal.value))
    await checkReferences(db, fields, caps)
    const offer = await db.transaction().execute((trx) => insertOffer(trx, { ...fields, caps: JSON.stringify(caps) }, goals))
    return reply.code(201).send(await toApiOne(offer))
  })

  fastify.get<{ Querystring: OfferListQuery }>('/offers', {
    schema: {
      tags,
      security,
      operationId: 'listOffers',
      summary: 'List offers',
      querystring: offerListQuery,
      response: { 200: listOf('Offer'), ...problemResponses(...authProblems) },
    },
  }, async (request) => {
    const rows = await listOffers(db, request.query)
    const page = toPage(rows, request.query.limit, (row) => row, (row) => [row.id])
    return { data: await toApi(page.data), next_cursor: page.next_cursor }
  })

  fastify.get<{ Params: { id: number } }>('/offers/:id', {
    schema: {
      tags,
      security,
      operationId: 'getOffer',
      summary: 'Read an offer',
      params,
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const offer = await findOfferWithGoals(db, request.params.id)
    if (offer === undefined) throw notFound('Offer')
    return toApiOne(offer)
  })

  fastify.patch<{ Params: { id: number }; Body: OfferPatch }>('/offers/:id', {
    schema: {
      tags,
      security,
      operationId: 'updateOffer',
      summary: 'Update an offer (JSON Merge Patch)',
      params,
      description:
        '`goals` replaces the whole list, in the order given. Dropping a goal value that one of this offer\'s ' +
        'postbacks or caps names (compared ignoring case) is 409: change or delete the postback first. `caps` replaces ' +
        'the whole list: a cap kept (same metric, period, goal and affiliate) keeps what it counted.',
      body: { $ref: 'OfferPatch#' },
      response: { 200: one, ...problemResponses(...authProblems, 404, 409, 422) },
    },
  }, async (request) => {
    const { id } = request.params
    const { goals: goalInput, caps: capInput, ...fields } = request.body
    const goals = goalInput === undefined ? undefined : parseGoals(goalInput)
    checkClickSession(fields.click_session, fastify.config.clickRetentionDays)
    const offer = await db.transaction().execute(async (trx) => {
      const current = await lockOffer(trx, id)
      if (current === undefined) throw notFound('Offer')
      const goalValues = goals?.map((goal) => goal.value) ?? (await withGoals(trx, current)).goals.map((goal) => goal.value)
      const caps = capInput === undefined ? undefined : parseCaps(capInput, goalValues)
      await checkReferences(trx, fields, caps)
      if (goals !== undefined) {
        const lost = goalsLeftBehind(await goalsNamedByPostbacks(trx, id), goals)
        if (lost.length > 0) {
          throw conflict(`Goal ${lost.join(', ')} is used by postbacks of this offer; change or delete them before removing the goal`)
        }
        const capped = caps === undefined ? capsNamingMissingGoals(current.caps, goalValues) : []
        if (capped.length > 0) throw conflict(`Goal ${capped.join(', ')} is used by caps of this offer; change the caps before removing the goal`)
        await replaceGoals(trx, id, goals)
      }
      if (caps !== undefined) await dropCountersOfRemovedCaps(trx, id, caps)
      if (fields.currency !== undefined && fields.currency !== current.currency) await restartDailyTiersForCurrencyChange(trx, id, fastify.clock())
      const values = caps === undefined ? fields : { ...fields, caps: JSON.stringify(caps) }
      return withGoals(trx, await updateOffer(trx, id, values))
    })
    return toApiOne(offer)
  })

  fastify.delete<{ Params: { id: number } }>('/offers/:id', {
    schema: {
      tags,
      security,
      operationId: 'deleteOffer',
      summary: 'Delete an offer (409 while anything refers to it)',
      params,
      description:
        '409 while tracking links, clicks, conversions or postbacks refer to the offer: set its status to `stopped` instead.',
      response: { 204: { type: 'null', description: 'Deleted' }, ...problemResponses(...authProblems, 404, 409) },
    },
  }, async (request, reply) => {
    const { id } = request.params
    if ((await findOfferWithGoals(db, id)) === undefined) throw notFound('Offer')
    const reference = await offerReference(db, id)
    if (reference !== null) throw conflict(`Offer still has ${reference}; set its status to stopped instead`)
    if (!(await deleteOffer(db, id))) throw notFound('Offer')
    return reply.code(204).send()
  })
}
