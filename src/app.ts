import { randomUUID } from 'node:crypto'
import Fastify, {
  LogController, type FastifyBodyParser, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions,
  type preValidationHookHandler, type RouteOptions,
} from 'fastify'
import fp from 'fastify-plugin'
import pino from 'pino'
import formbody from '@fastify/formbody'
import type { Config } from './config.js'
import { buildSerializerCompiler, buildValidatorCompiler } from './http/compiled-schemas.js'
import { parseQueryString } from './http/query-string.js'
import { commonSchemas } from './http/schemas.js'
import { escapePointer, HttpProblem } from './http/problem.js'
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js'
import errorHandler from './plugins/error-handler.js'
import database from './plugins/database.js'
import ownService from './plugins/own-service.js'
import metrics from './plugins/metrics.js'
import auth from './plugins/auth.js'
import openapi from './plugins/openapi.js'
import operationsRoutes from './operations/routes.js'
import { advertiserSchemas } from './advertisers/schemas.js'
import advertiserRoutes from './advertisers/routes.js'
import { trackingDomainSchemas } from './tracking-domains/schemas.js'
import trackingDomainRoutes from './tracking-domains/routes.js'
import { affiliateSchemas } from './affiliates/schemas.js'
import affiliateRoutes from './affiliates/routes.js'
import { offerSchemas } from './offers/schemas.js'
import offerRoutes from './offers/routes.js'
import { panelSchemas } from './panel/schemas.js'
import panelRoutes from './panel/routes.js'
import { trackingLinkSchemas } from './links/schemas.js'
import trackingLinkRoutes from './links/routes.js'
import { clickSchemas } from './clicks/schemas.js'
import clickRecorder from './clicks/recorder.js'
import clickReplica from './clicks/replica.js'
import clickTrackingRoutes from './clicks/click-routes.js'
import clickRoutes from './clicks/routes.js'
import { conversionSchemas } from './conversions/schemas.js'
import holdExpiry from './conversions/hold-expiry.js'
import intakeCache from './conversions/intake-cache.js'
import postbackRoutes from './conversions/routes.js'
import conversionApiRoutes from './conversions/api-routes.js'
import dispatcher from './dispatch/plugin.js'
import { deliverySchemas } from './deliveries/schemas.js'
import deliveryRoutes from './deliveries/routes.js'
import { postbackSchemas } from './postbacks/schemas.js'
import postbackAdminRoutes from './postbacks/admin-routes.js'
import postbackPanelRoutes from './postbacks/panel-routes.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/** Unknown query parameters on /v1 are a 400 (contract §1), also on routes that take none. */
function rejectUnknownQueryParameters (route: RouteOptions) {
  route.schema ??= {}
  route.schema.querystring ??= { type: 'object', additionalProperties: false, properties: {} }
}

/**
 * A route that takes no body refuses one, as every other route refuses unknown fields (§1): a setting sent to
 * the wrong place must not be dropped silently. Nothing, or an empty object, is no body.
 */
function refuseBodyWhereNoneIsTaken (route: RouteOptions) {
  if (route.schema?.body !== undefined) return
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  if (!methods.some((method) => method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE')) return
  const refuse: preValidationHookHandler = (request, _reply, done) => {
    const body: unknown = request.body
    if (body === undefined || body === null) return done()
    const fields = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : null
    if (fields?.length === 0) return done()
    const errors = fields === null
      ? [{ path: '', message: 'must be empty: this operation takes no body' }]
      : fields.map((field) => ({ path: `/${escapePointer(field)}`, message: 'is not an allowed field' }))
    done(new HttpProblem('validation-error', 'This operation takes no body', { errors }))
  }
  route.preValidation = [...(route.preValidation === undefined ? [] : [route.preValidation].flat()), refuse]
}

/**
 * The JSON parser, with an empty body meaning no body: generic HTTP clients send `Content-Type: application/json`
 * on every call, also on a retry or a DELETE that carries nothing.
 */
function jsonOrNothing (app: FastifyInstance): FastifyBodyParser<string> {
  const json = app.getDefaultJsonParser('error', 'error')
  return (request, body, done) => (body.length === 0 ? done(null, undefined) : json(request, body, done))
}

/** One log line per request, written when it completes, with the `secure` parameter redacted. */
class OneLinePerRequest extends LogController {
  override incomingRequest () {}
  override requestCompleted (error: Error | null, request: FastifyRequest, reply: FastifyReply) {
    const line = { method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request')
  }
}

/**
 * Standard output, written asynchronously: a line logged while a write is under way joins the next write,
 * so a busy service pays one write per batch of lines instead of a system call per request (about as much
 * CPU as the rest of a click on a small machine). Idle, each line still goes out at once. Pino flushes what
 * is left when the process exits; what exceeds 16 MiB while stdout is blocked is dropped, not held.
 */
function standardOutput () {
  const destination = pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024 })
  let lastDropNotice = 0
  destination.on('drop', () => {
    if (Date.now() - lastDropNotice < 60_000) return
    lastDropNotice = Date.now()
    process.stderr.write('log lines are being dropped: standard output is not keeping up (over 16 MiB waiting)\n')
  })
  return destination
}

export interface BuildOptions {
  /** Pino options or an instance; tests pass `{ level: 'silent' }`. */
  logger?: FastifyServerOptions['logger']
  /** Where the production logger writes instead of stdout (same level and redaction); tests read it. */
  logStream?: { write(line: string): void }
  /**
   * False leaves out /metrics and its collectors, for the metrics benchmark's baseline. Not a setting: the
   * contract (§6) has the endpoint on every instance.
   */
  metrics?: boolean
}

/**
 * A hop count trusts the connecting peer and the next n-1 entries of X-Forwarded-For (hop 0 is the
 * peer). Fastify 5 ignores a bare number (it cannot tell a proxy from a client), but an operator who
 * sets TRUST_PROXY=2 has said exactly that every request comes through two proxies.
 */
function trustProxyOption (trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust
}

/**
 * A client's own request id is kept (§1) when it is printable ASCII (a UUID, a base64 or ULID id, a trace
 * id) and at most 200 characters; anything else is replaced, so a log line or a header is never abused.
 */
const REQUEST_ID = /^[\x20-\x7e]{1,200}$/

/** Query parameters whose values never reach a log line, whatever the case or percent-encoding of their names. */
const SECRET_PARAMETERS = new Set(['secure', 'api_key', 'api-key', 'apikey'])
/** A name that could be one of them: it has a `%`, or starts like one. Values are not looked at (a click's often hold `%`). */
const MAYBE_SECRET_NAME = /[?&](?:[^=&]*%|secure|api)/i

function decodedName (raw: string): string {
  if (!raw.includes('%')) return raw.toLowerCase()
  try {
    return decodeURIComponent(raw).toLowerCase()
  } catch {
    return raw.toLowerCase()
  }
}

/** Strips secrets from the URLs we log: `secure` on /postback, an API key sent in the query by mistake. */
export function redactUrl (url: string): string {
  if (!MAYBE_SECRET_NAME.test(url)) return url
  const q = url.indexOf('?')
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const name = eq === -1 ? pair : pair.slice(0, eq)
    return SECRET_PARAMETERS.has(decodedName(name)) ? `${name}=[REDACTED]` : pair
  })
  return `${url.slice(0, q + 1)}${pairs.join('&')}`
}

export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: { paths: ['req.headers["api-key"]', 'headers["api-key"]', 'api_key', '*.api_key'], censor: '[REDACTED]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url), ip: req.ip }),
      },
      stream: options.logStream ?? standardOutput(),
    },
    logController: new OneLinePerRequest(),
    // Errors answered before routing (an undecodable URL, malformed HTTP) are problem+json too.
    frameworkErrors,
    clientErrorHandler,
    // proxy-addr semantics: the client is the first untrusted hop of X-Forwarded-For from the right.
    trustProxy: trustProxyOption(config.trustProxy),
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // Opening the embedded database and applying migrations can outlast Fastify's 10 s default on a busy machine.
    pluginTimeout: 60_000,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false, querystringParser: parseQueryString },
    schemaController: { compilersFactory: { buildValidator: buildValidatorCompiler as never, buildSerializer: buildSerializerCompiler as never } },
    ajv: { customOptions: { removeAdditional: false } },
  })

  app.decorate('config', config)
  app.register(fp(async () => {}, { name: 'config' }))

  // A callback hook, not an async one: no promise to settle on every request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  // JSON in, JSON out: plain text is refused (415) rather than judged as a string. Merge Patch bodies are JSON.
  app.removeContentTypeParser(['text/plain', 'application/json'])
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, jsonOrNothing(app))
  // Forms are for advertisers' postbacks (§4.2); /v1 removes this parser again.
  await app.register(formbody, { bodyLimit: 64 * 1024 })

  for (const schema of [...commonSchemas, ...advertiserSchemas, ...trackingDomainSchemas, ...affiliateSchemas, ...offerSchemas, ...panelSchemas, ...trackingLinkSchemas, ...clickSchemas, ...conversionSchemas, ...deliverySchemas, ...postbackSchemas]) app.addSchema(schema)

  await app.register(errorHandler)
  await app.register(openapi)
  await app.register(database)
  await app.register(ownService)
  await app.register(auth)
  await app.register(clickRecorder)
  await app.register(clickReplica)
  await app.register(holdExpiry)
  await app.register(intakeCache)
  await app.register(dispatcher)
  await app.register(metrics, { enabled: options.metrics ?? true })

  await app.register(operationsRoutes)
  await app.register(clickTrackingRoutes)
  await app.register(postbackRoutes)
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', v1.authorize)
      v1.addHook('onRoute', rejectUnknownQueryParameters)
      v1.addHook('onRoute', refuseBodyWhereNoneIsTaken)
      // JSON in and out (§1): a form body is a 415 here.
      v1.removeContentTypeParser('application/x-www-form-urlencoded')
      await v1.register(advertiserRoutes)
      await v1.register(trackingDomainRoutes)
      await v1.register(affiliateRoutes)
      await v1.register(offerRoutes)
      await v1.register(panelRoutes)
      await v1.register(trackingLinkRoutes)
      await v1.register(clickRoutes)
      await v1.register(conversionApiRoutes)
      await v1.register(deliveryRoutes)
      await v1.register(postbackAdminRoutes)
      await v1.register(postbackPanelRoutes)
    },
    { prefix: '/v1' }
  )

  return app
}
