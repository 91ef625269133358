import { isIP } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseEntityId } from '../domain/ids.js'
import { isShortCode } from '../domain/links.js'
import { clickMacroValues, renderTemplate } from '../domain/macros.js'
import { HttpProblem } from '../http/problem.js'
import { noSecurity, otherProblems, problemResponses } from '../http/schemas.js'
import type { OfferForClick } from './repository.js'
import { newClickId } from '../domain/click-ids.js'

/** Caps on a click's query string (documented in the OpenAPI description); beyond them the answer is a 400. */
export const MAX_QUERY_BYTES = 8 * 1024
export const MAX_QUERY_PARAMS = 50
export const MAX_PARAM_LENGTH = 1024
/** Header values kept on a click. */
const MAX_HEADER_LENGTH = 2048

// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL text cannot hold
const NUL = /\u0000/g
const NOT_HEADER_SAFE = /[^\x21-\x7e]/
const NOT_HEADER_SAFE_ALL = /[^\x21-\x7e]/g

/** PostgreSQL text and jsonb cannot hold NUL; a click carrying one must not poison its batch. */
function clean (value: string): string {
  return value.includes('\u0000') ? value.replace(NUL, '') : value
}

const NON_ASCII = /[\x80-\xff]/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Node reads header bytes as latin1; a user agent or referrer sent in UTF-8 (`é` as two bytes) would be stored
 * as mojibake (`Ã©`) and reach `{uagent}` so. Bytes that are valid UTF-8 are read as UTF-8; others stay latin1.
 */
function headerText (text: string): string {
  if (!NON_ASCII.test(text)) return text
  try {
    return utf8.decode(Buffer.from(text, 'latin1'))
  } catch {
    return text
  }
}

/** At most MAX_HEADER_LENGTH characters, never half of a surrogate pair (the click batch travels as JSON). */
function cutHeader (text: string): string {
  if (text.length <= MAX_HEADER_LENGTH) return text
  const end = /[\uD800-\uDBFF]/.test(text[MAX_HEADER_LENGTH - 1] ?? '') ? MAX_HEADER_LENGTH - 1 : MAX_HEADER_LENGTH
  return text.slice(0, end)
}

function header (value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text === '') return null
  // Decoded before it is cut: a cut inside a UTF-8 sequence would leave bytes that decode as nothing.
  return clean(cutHeader(headerText(text)))
}

/** `1.2.3.4:5678` and `[2001:db8::1]:443` (some proxies forward the port) as the address alone. */
function withoutPort (address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address)
  if (bracketed !== null) return bracketed[1] as string
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address)
  return v4 === null ? address : (v4[1] as string)
}

/**
 * The client's address. Without TRUST_PROXY it is the connection's own. With it, request.ip is what
 * X-Forwarded-For says (computed anew on each read): a hop that is no address, once any port is taken
 * off, is not the client's, and the connection's address stands in.
 */
function clientIp (request: FastifyRequest, trustsProxy: boolean): string {
  const ip = request.ip
  if (!trustsProxy) return ip
  const address = withoutPort(ip)
  return isIP(address) !== 0 ? address : (request.socket.remoteAddress ?? '')
}

/**
 * A Location header must be visible ASCII, but offer URLs are stored verbatim and may hold other
 * characters; those are percent-encoded (UTF-8) so the redirect cannot fail.
 */
function locationHeader (url: string): string {
  if (!NOT_HEADER_SAFE.test(url)) return url
  return url.replace(NOT_HEADER_SAFE_ALL, (c) => {
    try {
      return encodeURIComponent(c)
    } catch {
      return '%EF%BF%BD'
    }
  })
}

/** Why a click is not valid; counted per reason on `clickRecorder.invalid` and logged. */
type InvalidReason =
  | 'missing_offer_id' | 'invalid_offer_id' | 'unknown_offer' | 'offer_inactive'
  | 'missing_pid' | 'invalid_pid' | 'unknown_affiliate' | 'affiliate_inactive' | 'unknown_shortcode' | 'Overcap'

/** The query string checked against the caps; throws the 400 the OpenAPI promises. */
function checkCaps (request: FastifyRequest, query: Record<string, string>): void {
  const url = request.url
  const mark = url.indexOf('?')
  if (mark === -1) return
  if (url.length - mark - 1 > MAX_QUERY_BYTES) {
    throw new HttpProblem('validation-error', `The query string is longer than ${MAX_QUERY_BYTES} bytes`)
  }
  let count = 0
  for (const name in query) {
    count += 1
    if (count > MAX_QUERY_PARAMS) {
      throw new HttpProblem('validation-error', `A click takes at most ${MAX_QUERY_PARAMS} query parameters`)
    }
    if (name.length > MAX_PARAM_LENGTH || (query[name] as string).length > MAX_PARAM_LENGTH) {
      const path = '/' + name.slice(0, 64).replace(/~/g, '~0').replace(/\//g, '~1')
      const message = `must be at most ${MAX_PARAM_LENGTH} characters`
      throw new HttpProblem('validation-error', `Query parameter ${path} ${message}`, { errors: [{ path, message }] })
    }
  }
}

/** The well-known click parameters, for the OpenAPI document (any other name is accepted too). */
function knownParams (what: string) {
  return Object.fromEntries(
    ['sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'ref_id', 'ext1', 'ext2', 'ext3'].map((name) => [
      name, { type: 'string', maxLength: MAX_PARAM_LENGTH, description: `${what}; the \`{${name}}\` macro in the offer URL` },
    ])
  )
}

/**
 * The click routes' schemas document the parameters; checking them is `checkCaps`'s job (one pass, no ajv
 * run per click) and an odd id is an invalid click, not a 400.
 */
const documentedOnly = () => () => true

const redirectResponse = {
  description: 'To the offer URL with its macros substituted (valid click), or to the trafficback URL (invalid click)',
  headers: {
    Location: { type: 'string', description: 'Where to go' },
    'Cache-Control': { type: 'string', const: 'no-store' },
  },
  type: 'null',
} as const

const clickDescription =
  'Validates the click, records it and redirects (302) to the offer URL with its macros (contract §4.1) ' +
  'substituted and percent-encoded (unknown macros become empty), with `Cache-Control: no-store`. ' +
  'The click is written in the background (batches every 250 ms) and is visible through `GET /v1/clicks` within a second. ' +
  'Invalid clicks (missing or non-numeric `pid`/`offer_id`, unknown or inactive offer or affiliate), and clicks past a ' +
  'clicks cap of the offer (reason `Overcap`, as on Affise), go to the offer\'s ' +
  '`trafficback_url`, else the configured `TRAFFICBACK_URL` (both verbatim), else get a 404 problem. ' +
  '`HEAD` answers the same but records nothing (link scanners send HEAD) and counts toward no cap. ' +
  'Clicks caps are judged without a database round trip: each instance counts the clicks it lets through and, every ' +
  '250 ms, adds them to the shared counters and reads back every instance\'s count, so a cap is passed by at most the ' +
  'traffic of one second of all instances together (the last second before the counts meet). ' +
  `Caps: at most ${MAX_QUERY_PARAMS} parameters, each name and value at most ${MAX_PARAM_LENGTH} characters, ` +
  `the whole query string at most ${MAX_QUERY_BYTES} bytes; beyond them the answer is a 400 problem. ` +
  'A repeated parameter keeps its first value; undecodable bytes become U+FFFD.'

/** The public tracking endpoints: `/click` and `/{shortcode}`, at the root, no key. */
export default async function clickTrackingRoutes (fastify: FastifyInstance) {
  const { config, clickRecorder, clickReplica, clickCaps } = fastify
  const trustsProxy = config.trustProxy !== false

  function invalid (
    request: FastifyRequest, reply: FastifyReply, reason: InvalidReason, detail: string, offer?: OfferForClick
  ): FastifyReply {
    clickRecorder.countInvalid(reason)
    const target = offer?.trafficback_url ?? config.trafficbackUrl
    request.log.info({ reason, trafficback: target !== null }, `invalid click: ${detail}`)
    if (target === null) throw new HttpProblem('not-found', `Invalid click: ${detail}`)
    return reply.code(302).header('location', locationHeader(target)).header('cache-control', 'no-store').send()
  }

  /**
   * Validates against the replica (an id it does not hold waits for one fresh read), records (GET only) and
   * redirects. `params` excludes pid and offer_id.
   */
  async function click (
    request: FastifyRequest, reply: FastifyReply,
    offerRaw: string | undefined, pidRaw: string | undefined, params: Record<string, string>, linkId: number | null
  ): Promise<FastifyReply> {
    if (offerRaw === undefined || offerRaw === '') return invalid(request, reply, 'missing_offer_id', 'offer_id is missing')
    const offerId = parseEntityId(offerRaw)
    if (offerId === null) return invalid(request, reply, 'invalid_offer_id', 'offer_id is not an id')
    let offer = clickReplica.offers.get(offerId)
    if (offer === undefined) {
      await clickReplica.catchUp()
      offer = clickReplica.offers.get(offerId)
    }
    if (offer === undefined) return invalid(request, reply, 'unknown_offer', `offer ${offerId} does not exist`)
    if (offer.status !== 'active') return invalid(request, reply, 'offer_inactive', `offer ${offerId} is ${offer.status}`, offer)
    if (pidRaw === undefined || pidRaw === '') return invalid(request, reply, 'missing_pid', 'pid is missing', offer)
    const pid = parseEntityId(pidRaw)
    if (pid === null) return invalid(request, reply, 'invalid_pid', 'pid is not an id', offer)
    let affiliateStatus = clickReplica.affiliates.get(pid)
    if (affiliateStatus === undefined) {
      await clickReplica.catchUp()
      affiliateStatus = clickReplica.affiliates.get(pid)
    }
    if (affiliateStatus === undefined) return invalid(request, reply, 'unknown_affiliate', `affiliate ${pid} does not exist`, offer)
    if (affiliateStatus !== 'active') {
      return invalid(request, reply, 'affiliate_inactive', `affiliate ${pid} is ${affiliateStatus}`, offer)
    }

    if (offer.clickCaps.length > 0 && !clickCaps.admit(offerId, offer.clickCaps, pid, fastify.clock(), request.method === 'GET')) {
      return invalid(request, reply, 'Overcap', `a clicks cap of offer ${offerId} is reached`, offer)
    }

    const time = new Date()
    const clickid = newClickId(time)
    const ip = clientIp(request, trustsProxy)
    const userAgent = header(request.headers['user-agent']) ?? ''
    const referrer = header(request.headers.referer)
    if (request.method === 'GET') {
      clickRecorder.record({
        clickid,
        offer_id: offerId,
        affiliate_id: pid,
        tracking_link_id: linkId,
        params,
        ip,
        user_agent: userAgent,
        referrer,
        created_at: time,
      })
    }
    const location = renderTemplate(offer.url, clickMacroValues({ clickid, pid, offerId, params, ip, userAgent, referrer, time }))
    return reply.code(302).header('location', locationHeader(location)).header('cache-control', 'no-store').send()
  }

  /** Without a prototype, so a parameter named `__proto__` is kept like any other. */
  function emptyParams (): Record<string, string> {
    return Object.create(null) as Record<string, string>
  }

  /** The query minus pid and offer_id, NUL-free, as a plain object. */
  function extraParams (query: Record<string, string>, into: Record<string, string>): Record<string, string> {
    for (const name in query) {
      if (name === 'pid' || name === 'offer_id' || Object.hasOwn(into, name)) continue
      into[clean(name)] = clean(query[name] as string)
    }
    return into
  }

  fastify.route<{ Querystring: Record<string, string> }>({
    method: ['GET', 'HEAD'],
    url: '/click',
    validatorCompiler: documentedOnly,
    schema: {
      tags: ['Tracking'],
      security: noSecurity,
      operationId: 'click',
      summary: 'A click on a tracking link',
      description: clickDescription,
      querystring: {
        type: 'object',
        properties: {
          pid: { type: 'string', maxLength: MAX_PARAM_LENGTH, description: 'Affiliate id' },
          offer_id: { type: 'string', maxLength: MAX_PARAM_LENGTH, description: 'Offer id' },
          ...knownParams('Stored on the click'),
        },
        additionalProperties: { type: 'string', description: 'Any other parameter is stored on the click' },
      },
      response: { 302: redirectResponse, ...problemResponses(400, 404), ...otherProblems },
    },
    handler: async (request, reply) => {
      const query = request.query
      checkCaps(request, query)
      return click(request, reply, query.offer_id, query.pid, extraParams(query, emptyParams()), null)
    },
  })

  fastify.route<{ Params: { shortcode: string }; Querystring: Record<string, string> }>({
    method: ['GET', 'HEAD'],
    url: '/:shortcode',
    validatorCompiler: documentedOnly,
    schema: {
      tags: ['Tracking'],
      security: noSecurity,
      operationId: 'followShortLink',
      summary: 'A click on a short URL',
      description:
        'Redirects exactly as the full link would (see `GET /click`). Query parameters added to the short URL are ' +
        'added to the click but never override the link\'s own `pid`, `offer_id` or stored params. A code is at least ' +
        '6 base62 characters (`[0-9A-Za-z]{6,}`); the service\'s own paths (`/health`, `/click`, `/v1/...`) always win. ' +
        'An unknown code goes to `TRAFFICBACK_URL`, else 404; a path that is not a code at all is a 404. ' +
        'The query string caps of `GET /click` apply.',
      params: {
        type: 'object',
        required: ['shortcode'],
        properties: { shortcode: { type: 'string', pattern: '^[0-9A-Za-z]{6,}$', description: 'The short code' } },
      },
      querystring: {
        type: 'object',
        properties: knownParams('Added to the click unless the link sets it'),
        additionalProperties: { type: 'string', description: 'Added to the click unless the link sets it' },
      },
      response: { 302: redirectResponse, ...problemResponses(400, 404), ...otherProblems },
    },
    handler: async (request, reply) => {
      const code = request.params.shortcode
      if (!isShortCode(code)) throw new HttpProblem('not-found', `No route for ${request.method} /${code.slice(0, 100)}`)
      const query = request.query
      checkCaps(request, query)
      let link = clickReplica.shortLinks.get(code)
      if (link === undefined) {
        await clickReplica.catchUp()
        link = clickReplica.shortLinks.get(code)
      }
      if (link === undefined) return invalid(request, reply, 'unknown_shortcode', `short code ${code} does not exist`)
      const params = extraParams(query, Object.assign(emptyParams(), link.params))
      return click(request, reply, String(link.offer_id), String(link.affiliate_id), params, link.id)
    },
  })
}
