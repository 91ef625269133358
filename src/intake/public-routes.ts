import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { asProblem, HttpProblem } from '../http/problem.js'
import { noSecurity, problemResponses } from '../http/schemas.js'
import { optionalBody } from '../plugins/openapi.js'
import { collectParameters, CUSTOM_FIELD_NAMES, parsePostback } from './parse.js'
import { ClickLookup } from './click-lookup.js'
import { ConversionWriter } from './conversion-writer.js'
import { applyPostback, type IntakeDeps } from './service.js'
import { insertServerPostback, type ServerPostbackEntry } from '../conversions/repository.js'
import { carriesDeliveryHeaders } from '../domain/self-feed.js'

const tags = ['Tracking']

const text = (description: string) => ({ type: 'string', maxLength: 255, description }) as const

/** The parameters as documented. Validation happens in code, so that every refusal is also logged. */
const postbackParameters = {
  type: 'object',
  properties: {
    clickid: text('The click id (24 hex characters) the advertiser received in the offer URL\'s `{clickid}`'),
    click_id: text('Alias of `clickid`'),
    action_id: text('The advertiser\'s unique id for the conversion (free text, e.g. an order id or a timestamp)'),
    goal: text('The goal value, matched ignoring case; default `1`'),
    sum: text('The conversion amount (non-negative decimal, at most 4 decimals); required for percent goals'),
    status: text('`1` approved (also `approved`, `confirmed`), `2` pending, `3` declined, `5` hold; default: the offer\'s `default_conversion_status`'),
    secure: text('The secure code, required when the offer (or else its advertiser) has one; never logged or stored'),
    ip: text('The converting user\'s IP address; default: the click\'s'),
    country: text('ISO 3166 alpha-2 country code'),
    order_currency: text('ISO 4217 currency of `sum`, kept as sent'),
    comment: text('Free text'),
    ...Object.fromEntries(CUSTOM_FIELD_NAMES.map((name) => [name, text('Free text, passed to affiliate postbacks')])),
    offer_id: text('Probabilistic attribution (no click id): the offer id'),
    pid: text('Probabilistic attribution (no click id): the affiliate id'),
  },
  additionalProperties: { type: 'string', description: 'Any other parameter is accepted and kept in the server-postback log' },
} as const

/**
 * The same parameters in a form or JSON body. JSON may carry numbers (`"sum": 50.5`, `"status": 1`): they are read
 * as their decimal text. Other members may hold any JSON value, logged as JSON text.
 */
const postbackBody = {
  ...postbackParameters,
  properties: Object.fromEntries(Object.entries(postbackParameters.properties).map(([name, schema]) => [
    name, { ...schema, type: ['string', 'number'] },
  ])),
  additionalProperties: { description: 'Any other parameter is accepted and kept in the server-postback log' },
}

const description =
  'The advertiser\'s server-to-server conversion postback (Affise parameters). No API key: the offer\'s (else the ' +
  'advertiser\'s) secure code, when set, must come as `secure`. Parameters come in the query string, or for POST in a ' +
  'form-encoded or JSON body as well (the query string wins for a name given in both; a repeated parameter keeps its ' +
  'first value; an empty value counts as absent). A click id is matched ignoring case. Without a click id, `offer_id` + ' +
  '`pid` + `action_id` make a probabilistic-attribution conversion on offers that allow it. Errors are judged in this ' +
  'order: 400 (`Missing mandatory parameter clickid/click_id`, `Broken clickid`, a malformed parameter), 404 (click, ' +
  'offer or affiliate not found; an unknown click is looked up again after the click flush interval, as another ' +
  'instance may be about to write it), 403 `Access denied`, 422 `Offer disabled` / `Affiliate disabled` (new ' +
  'conversions only) / `Probabilistic attribution disabled`, 422 `Goal not found` / `Sum required`, 409 `Conversion ' +
  'exists` / `Conversion status is not pending`. A postback matching an existing conversion answers `duplicate: true`; ' +
  'a new status on a pending conversion changes it (`status_changed: true`), updating `sum` (percent payouts are ' +
  'recomputed), `order_currency`, `comment` and the custom fields it carries. Every call is kept in the server-postback log. ' +
  'Other methods, `HEAD` (link scanners) included, get 405 with `Allow: GET, POST` and are not logged. 508 `Loop ' +
  'detected`: the request carries the delivery headers of an affiliate postback (`X-Postback-Delivery-Id`, or a ' +
  '`User-Agent` of `s2s-tracker/...`), or this deployment\'s own signed mark (`X-S2S-Loop-Guard`), so no postback URL can ' +
  'make conversions out of conversions. The refusal is logged. An advertiser\'s server never sends these headers; a ' +
  'network that forwards its own affiliate postbacks from s2s-tracker to another s2s-tracker\'s intake is refused too.'

const responses = {
  200: { $ref: 'PostbackAccepted#' },
  ...problemResponses(400, 403, 404, 409, 422, 508),
  403: { ...problemResponses(403)[403] as object, description: '`Access denied`: the secure code is missing or wrong' },
}

/** The public intake: `GET`/`POST /postback` at the root, no API key. */
export default async function postbackRoutes (fastify: FastifyInstance) {
  const deps: IntakeDeps = {
    db: fastify.db,
    get clickRecorder () { return fastify.hasDecorator('clickRecorder') ? fastify.clickRecorder : undefined },
    clickFlushIntervalMs: fastify.config.clickFlushIntervalMs,
    cache: fastify.intakeCache,
    clicks: new ClickLookup(fastify.db),
    writer: new ConversionWriter(fastify.db),
    now: fastify.clock,
  }
  // Requests whose log entry is written (or being written) by the handler; the onError hook logs the others.
  const logged = new WeakSet<FastifyRequest>()

  async function writeLog (request: FastifyRequest, entry: ServerPostbackEntry, status: number, detail: string) {
    try {
      await insertServerPostback(fastify.db, entry, { result: 'rejected', httpStatus: status, detail, conversionId: null })
    } catch (err) {
      request.log.warn({ err }, 'could not write the server-postback log entry')
    }
  }

  async function handle (request: FastifyRequest, reply: FastifyReply) {
    logged.add(request)
    const parsed = parsePostback(collectParameters(request.query, request.body))
    const entry: ServerPostbackEntry = {
      method: request.method,
      params: parsed.logParams,
      offerId: null,
      clickid: parsed.ok ? parsed.request.clickid : parsed.clickid,
    }
    try {
      if (fastify.ownService.isOwnRequest(request.headers)) {
        request.log.warn({ clickid: entry.clickid }, 'refused: one of this service\'s own postbacks came back to its intake (a loop); check the postback URLs')
        throw new HttpProblem('loop-detected', 'This request is a postback this service sent itself: a postback URL points back at this service under another name')
      }
      if (carriesDeliveryHeaders(request.headers)) {
        request.log.warn({ clickid: entry.clickid }, 'refused: a request with s2s-tracker\'s postback delivery headers reached intake (a loop)')
        throw new HttpProblem('loop-detected',
          'This request carries the delivery headers of an affiliate postback (X-Postback-Delivery-Id, or s2s-tracker\'s User-Agent): ' +
          'intake refuses them, so that no postback ever feeds a conversion intake')
      }
      if (!parsed.ok) throw parsed.error
      const outcome = await applyPostback(deps, parsed.request, entry)
      fastify.metrics.countConversion(outcome.duplicate ? 'duplicate' : outcome.statusChanged ? 'status_changed' : 'created')
      const declined = outcome.conversion.decline_reason
      if (!outcome.duplicate && declined !== null) {
        request.log.info({ conversion_id: outcome.conversion.id, decline_reason: declined }, `conversion created declined: ${declined}`)
      }
      return reply.send({
        status: 1,
        conversion_id: outcome.conversion.id,
        conversion_status: outcome.conversion.status,
        duplicate: outcome.duplicate,
        status_changed: outcome.statusChanged,
      })
    } catch (err) {
      fastify.metrics.countConversion('rejected')
      const problem = asProblem(err)
      if (problem !== undefined) await writeLog(request, entry, problem.status, problem.message)
      else await writeLog(request, entry, 500, 'Internal error')
      throw err
    }
  }

  // A body that cannot be parsed never reaches the handler; it is still an intake call, so it is logged.
  async function logUnhandled (request: FastifyRequest, _reply: FastifyReply, error: Error & { statusCode?: number }) {
    if (logged.has(request)) return
    logged.add(request)
    const parsed = parsePostback(collectParameters(request.query))
    const entry = { method: request.method, params: parsed.logParams, offerId: null, clickid: parsed.ok ? parsed.request.clickid : parsed.clickid }
    await writeLog(request, entry, error.statusCode ?? 500, error.message)
  }

  const acceptAnything = () => () => true

  fastify.get('/postback', {
    exposeHeadRoute: false,
    validatorCompiler: acceptAnything,
    onError: logUnhandled,
    schema: {
      tags,
      security: noSecurity,
      operationId: 'receiveAdvertiserPostback',
      summary: 'Advertiser conversion postback (S2S)',
      description,
      querystring: postbackParameters,
      response: responses,
    },
  }, handle)

  fastify.post('/postback', {
    validatorCompiler: acceptAnything,
    onError: logUnhandled,
    schema: {
      tags,
      security: noSecurity,
      operationId: 'receiveAdvertiserPostbackWithBody',
      summary: 'Advertiser conversion postback (S2S), parameters in a form or JSON body',
      description,
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      querystring: postbackParameters,
      body: postbackBody,
      // The parameters may all come in the query string, with no body at all.
      ...optionalBody,
      response: { ...responses, ...problemResponses(413, 415) },
    },
  }, handle)

  fastify.route({
    method: ['HEAD', 'PUT', 'PATCH', 'DELETE'],
    url: '/postback',
    // Needed as a route, not left to the 405 of unknown methods: without it the router would take a HEAD here
    // for a short code (`/:shortcode` answers HEAD).
    config: { refusesOnly: true },
    schema: {
      // Out of the document: an operation that only refuses has no success to describe (GET's description says it).
      hide: true,
      tags,
      summary: 'Other methods on /postback: 405',
      description: 'Only GET and POST carry postbacks; `HEAD` (link scanners) and the rest get 405 with `Allow: GET, POST` and are not logged.',
      response: problemResponses(405),
    },
    handler: async () => {
      throw new HttpProblem('method-not-allowed', 'Use GET or POST for /postback', { headers: { allow: 'GET, POST' } })
    },
  })
}
