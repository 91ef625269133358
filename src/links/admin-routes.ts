import type { FastifyInstance } from 'fastify'
import { catchUpAfterWrites } from '../clicks/replica.js'
import type { Db } from '../db/database.js'
import type { TrackingDomainRow, TrackingLinkRow } from '../db/tables.js'
import { buildTrackingUrl, canonicalParamsKey, generateShortCode } from '../domain/links.js'
import { badRequest, notFound, ruleViolation } from '../http/problem.js'
import { toPage } from '../http/pagination.js'
import {
  adminSecurity, authProblems, idParam, idParams, listOf, listQuery, problemResponses, type ListQuery,
} from '../http/schemas.js'
import {
  findAffiliateForLink, findDefaultDomainForLink, findDomainForLink, findLink, findLinkByIdentity, findOfferForLink,
  insertLinkIfNew, isUniqueViolation, listLinks, markLinkSent, setShortCodeIfMissing, updateLink, type NewLink,
} from './repository.js'
import { MAX_LINK_LENGTH, type TrackingLinkCreate } from './schemas.js'
import { linkToApi } from './view.js'

const tags = ['Tracking links']
const security = adminSecurity
const one = { $ref: 'TrackingLink#' }
const SHORT_CODE_ATTEMPTS = 5

function schemeBase (useSsl: boolean, hostname: string): string {
  return `${useSsl ? 'https' : 'http'}://${hostname}`
}

function isHttps (url: string): boolean {
  return /^https:/i.test(url)
}

/** Where a link points: the domain, the protocol and the base URL, after the contract's 422 rules. */
async function resolveTarget (db: Db, body: TrackingLinkCreate, offerDomainId: number | null, publicUrl: string) {
  let domain: TrackingDomainRow | undefined
  if (body.tracking_domain_id !== undefined && body.tracking_domain_id !== null) {
    domain = await findDomainForLink(db, body.tracking_domain_id)
    if (domain === undefined) {
      throw ruleViolation(`Tracking domain ${body.tracking_domain_id} does not exist`, '/tracking_domain_id')
    }
  } else if (offerDomainId !== null) {
    domain = await findDomainForLink(db, offerDomainId)
  }
  domain ??= await findDefaultDomainForLink(db)

  if (domain === undefined) {
    const https = isHttps(publicUrl)
    const useSsl = body.use_ssl ?? https
    if (useSsl !== https) {
      throw ruleViolation(
        `No tracking domain exists, so links use PUBLIC_URL, which is ${https ? 'https' : 'http'} only`, '/use_ssl'
      )
    }
    return { domainId: null, useSsl, base: publicUrl }
  }
  const useSsl = body.use_ssl ?? domain.allow_https
  if (useSsl && !domain.allow_https) {
    throw ruleViolation(`Tracking domain ${domain.hostname} does not allow https`, '/use_ssl')
  }
  if (!useSsl && !domain.allow_http) {
    throw ruleViolation(`Tracking domain ${domain.hostname} does not allow http`, '/use_ssl')
  }
  return { domainId: domain.id, useSsl, base: schemeBase(useSsl, domain.hostname) }
}

/** Runs `write` with fresh short codes until one is not taken (a collision among 62^10 codes is rare, not impossible). */
async function withShortCode<T> (wanted: boolean, write: (code: string | null) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(wanted ? generateShortCode() : null)
    } catch (err) {
      if (!wanted || !isUniqueViolation(err) || attempt >= SHORT_CODE_ATTEMPTS) throw err
    }
  }
}

export default async function trackingLinkRoutes (fastify: FastifyInstance) {
  const { db, config } = fastify
  fastify.addHook('onSend', catchUpAfterWrites(fastify.clickReplica))

  fastify.post<{ Params: { offer_id: number }; Body: TrackingLinkCreate }>('/offers/:offer_id/tracking-links', {
    schema: {
      tags,
      security,
      operationId: 'createTrackingLink',
      summary: 'Generate a tracking link for an affiliate',
      description:
        'A link is identified by (offer, affiliate, tracking domain, params): the first request creates it (201), the ' +
        'same request again answers the same link, id and short code (200), applying `send` and `shortlink` when new. ' +
        'The protocol is not part of the identity: every request applies its own `use_ssl` (left out: https when the ' +
        'domain allows it, else http), so a repeat may switch the link\'s protocol; a repeat after the domain was ' +
        'renamed refreshes `url`, which otherwise keeps the text it was generated with. Domain: the body\'s, else the offer\'s, else the default, else `PUBLIC_URL` verbatim. ' +
        'Unknown offer: 404. Unknown or inactive affiliate, unknown domain, inactive offer, a protocol the domain does ' +
        'not allow: 422. Params break the naming, size or count rules: 400.',
      params: idParams('offer_id'),
      body: { $ref: 'TrackingLinkCreate#' },
      response: {
        200: { ...one, description: 'The existing link with the same identity' },
        201: { ...one, description: 'A new link' },
        ...problemResponses(...authProblems, 404, 422),
      },
    },
  }, async (request, reply) => {
    const body = request.body
    const offer = await findOfferForLink(db, request.params.offer_id)
    if (offer === undefined) throw notFound('Offer')
    const affiliate = await findAffiliateForLink(db, body.affiliate_id)
    if (affiliate === undefined) throw ruleViolation(`Affiliate ${body.affiliate_id} does not exist`, '/affiliate_id')
    if (affiliate.status !== 'active') throw ruleViolation(`Affiliate ${affiliate.id} is ${affiliate.status}`, '/affiliate_id')
    if (offer.status !== 'active') throw ruleViolation(`Offer ${offer.id} is ${offer.status}`)
    const target = await resolveTarget(db, body, offer.tracking_domain_id, config.publicUrl)

    const params = body.params ?? {}
    const identity = {
      offer_id: offer.id, affiliate_id: affiliate.id, tracking_domain_id: target.domainId, params_key: canonicalParamsKey(params),
    }
    const url = buildTrackingUrl(target.base, affiliate.id, offer.id, params)
    if (url.length > MAX_LINK_LENGTH) {
      throw badRequest(`The link would be ${url.length} characters long; at most ${MAX_LINK_LENGTH} pass every browser and proxy`, '/params')
    }
    const newLink = (code: string | null): NewLink => ({
      ...identity, use_ssl: target.useSsl, params, url, short_code: code, sent_at: body.send ? new Date() : null,
    })
    const createdId = await withShortCode(body.shortlink, (code) => insertLinkIfNew(db, newLink(code)))
    if (createdId !== undefined) {
      return reply.code(201).send(linkToApi((await findLink(db, createdId)) as TrackingLinkRow))
    }

    const existing = await findLinkByIdentity(db, identity)
    // Deleted between the insert and this read (only if something deletes links): answer as if new next time.
    if (existing === undefined) throw notFound('Tracking link')
    // The protocol is not part of the identity: each request's own (left out: https when the domain allows it,
    // contract §3) applies. The url is rebuilt, also in case the domain was renamed.
    if (existing.use_ssl !== target.useSsl || existing.url !== url) {
      await updateLink(db, existing.id, { use_ssl: target.useSsl, url })
    }
    if (body.send) await markLinkSent(db, existing.id)
    if (body.shortlink && existing.short_code === null) {
      await withShortCode(true, (code) => setShortCodeIfMissing(db, existing.id, code as string))
    }
    return reply.code(200).send(linkToApi((await findLink(db, existing.id)) as TrackingLinkRow))
  })

  fastify.get<{ Params: { offer_id: number }; Querystring: ListQuery & { affiliate_id?: number } }>('/offers/:offer_id/tracking-links', {
    schema: {
      tags,
      security,
      operationId: 'listTrackingLinks',
      summary: 'List an offer\'s generated tracking links',
      params: idParams('offer_id'),
      querystring: listQuery({ affiliate_id: { ...idParam, description: 'Only this affiliate\'s links' } }),
      response: { 200: listOf('TrackingLink'), ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    if ((await findOfferForLink(db, request.params.offer_id)) === undefined) throw notFound('Offer')
    const { affiliate_id: affiliateId, ...query } = request.query
    const rows = await listLinks(db, { offer_id: request.params.offer_id, affiliate_id: affiliateId }, query)
    return toPage(rows, query.limit, linkToApi, (row) => [row.id])
  })

  fastify.post<{ Params: { id: number } }>('/tracking-links/:id/send', {
    schema: {
      tags,
      security,
      operationId: 'sendTrackingLink',
      summary: 'Send a link to its affiliate ("Confirm & send")',
      description: 'Marks the link sent; the affiliate then sees it in its panel. Sending again keeps the first `sent_at`.',
      params: idParams('id'),
      response: { 200: one, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    await markLinkSent(db, request.params.id)
    const link = await findLink(db, request.params.id)
    if (link === undefined) throw notFound('Tracking link')
    return linkToApi(link)
  })
}
