import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import type { Config } from './config.js'
import { buildSerializerCompiler, buildValidatorCompiler } from './http/compiled-schemas.js'
import { parseQueryString } from './http/query-string.js'
import { commonSchemas } from './http/schemas.js'
import { jsonOrNothing, refuseBodyWhereNoneIsTaken, rejectUnknownQueryParameters } from './http/body-policy.js'
import { loggerOptions, OneLinePerRequest, standardOutput } from './http/logging.js'
import { requestId } from './http/request-id.js'
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js'
import errorHandler from './plugins/error-handler.js'
import database from './plugins/database.js'
import ownService from './plugins/own-service.js'
import metrics from './plugins/metrics.js'
import auth from './plugins/auth.js'
import openapi from './plugins/openapi.js'
import operationsRoutes from './operations/public-routes.js'
import { advertiserSchemas } from './advertisers/schemas.js'
import advertiserAdminRoutes from './advertisers/admin-routes.js'
import { trackingDomainSchemas } from './tracking-domains/schemas.js'
import trackingDomainAdminRoutes from './tracking-domains/admin-routes.js'
import { affiliateSchemas } from './affiliates/schemas.js'
import affiliateAdminRoutes from './affiliates/admin-routes.js'
import affiliatePanelRoutes from './affiliates/panel-routes.js'
import { offerSchemas } from './offers/schemas.js'
import { panelOfferSchemas } from './offers/panel-schemas.js'
import offerAdminRoutes from './offers/admin-routes.js'
import offerPanelRoutes from './offers/panel-routes.js'
import { trackingLinkSchemas } from './links/schemas.js'
import trackingLinkAdminRoutes from './links/admin-routes.js'
import trackingLinkPanelRoutes from './links/panel-routes.js'
import { clickSchemas } from './clicks/schemas.js'
import clickRecorder from './clicks/recorder.js'
import clickReplica from './clicks/replica.js'
import clickPublicRoutes from './clicks/public-routes.js'
import clickAdminRoutes from './clicks/admin-routes.js'
import intakeCache from './intake/cache.js'
import intakePublicRoutes from './intake/public-routes.js'
import { conversionSchemas } from './conversions/schemas.js'
import holdExpiry from './conversions/hold-expiry.js'
import conversionAdminRoutes from './conversions/admin-routes.js'
import conversionPanelRoutes from './conversions/panel-routes.js'
import { postbackSchemas } from './affiliate-postbacks/schemas.js'
import { deliverySchemas } from './affiliate-postbacks/delivery-schemas.js'
import postbackAdminRoutes from './affiliate-postbacks/admin-routes.js'
import postbackPanelRoutes from './affiliate-postbacks/panel-routes.js'
import deliveryAdminRoutes from './affiliate-postbacks/delivery-routes.js'
import deliveryPanelRoutes from './affiliate-postbacks/delivery-panel-routes.js'
import dispatcher from './dispatch/plugin.js'
import maintenance from './maintenance/plugin.js'
import statsFolding from './stats/folding.js'
import { statsSchemas } from './stats/schemas.js'
import statsAdminRoutes from './stats/admin-routes.js'
import statsPanelRoutes from './stats/panel-routes.js'
import { capSchemas } from './caps/schemas.js'
import capAdminRoutes from './caps/admin-routes.js'
import clickCaps from './caps/click-caps.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The time click sessions and cap periods are judged at: the system clock, or a test's. */
    clock: () => Date
  }
}

export interface BuildOptions {
  /** Pino options or an instance; tests pass `{ level: 'silent' }`. */
  logger?: FastifyServerOptions['logger']
  /** Where the production logger writes instead of stdout (same level and redaction); tests read it. */
  logStream?: { write(line: string): void }
  /** The clock click sessions and cap periods read (tests move it instead of waiting); default the system's. */
  clock?: () => Date
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

export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel, options.logStream ?? standardOutput()),
    logController: new OneLinePerRequest(),
    // Errors answered before routing (an undecodable URL, malformed HTTP) are problem+json too.
    frameworkErrors,
    clientErrorHandler,
    // proxy-addr semantics: the client is the first untrusted hop of X-Forwarded-For from the right.
    trustProxy: trustProxyOption(config.trustProxy),
    genReqId: requestId,
    // Opening the embedded database and applying migrations can outlast Fastify's 10 s default on a busy machine.
    pluginTimeout: 60_000,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false, querystringParser: parseQueryString },
    schemaController: { compilersFactory: { buildValidator: buildValidatorCompiler as never, buildSerializer: buildSerializerCompiler as never } },
    ajv: { customOptions: { removeAdditional: false } },
  })

  try {
    await registerParts(app, config, options)
  } catch (err) {
    // A part that fails to start (a refused configuration, a database that cannot be opened) leaves none of
    // those already started open: the database and its lock are released before the error goes up.
    await app.close().catch(() => {})
    throw err
  }
  return app
}

/** Everything the app is made of, in order: configuration, parsers, schemas, plugins, then routes. */
async function registerParts (app: FastifyInstance, config: Config, options: BuildOptions): Promise<void> {
  app.decorate('config', config)
  app.decorate('clock', options.clock ?? (() => new Date()))
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

  // Every named schema, referenced by `$ref` from the routes and published as an OpenAPI component.
  const schemas = [
    commonSchemas, advertiserSchemas, trackingDomainSchemas, affiliateSchemas, offerSchemas, panelOfferSchemas,
    trackingLinkSchemas, clickSchemas, conversionSchemas, deliverySchemas, postbackSchemas, statsSchemas, capSchemas,
  ].flat()
  for (const schema of schemas) app.addSchema(schema)

  await app.register(errorHandler)
  await app.register(openapi)
  await app.register(database)
  await app.register(ownService)
  await app.register(auth)
  await app.register(clickRecorder)
  await app.register(clickReplica)
  await app.register(clickCaps)
  await app.register(holdExpiry)
  await app.register(intakeCache)
  await app.register(dispatcher)
  await app.register(maintenance)
  await app.register(statsFolding)
  await app.register(metrics, { enabled: options.metrics ?? true })

  await app.register(operationsRoutes)
  // Without the `http` role an instance answers only its operations routes (health, readiness, metrics, docs).
  if (!config.roles.has('http')) return
  await app.register(clickPublicRoutes)
  await app.register(intakePublicRoutes)
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', v1.authorize)
      v1.addHook('onRoute', rejectUnknownQueryParameters)
      v1.addHook('onRoute', refuseBodyWhereNoneIsTaken)
      // JSON in and out (§1): a form body is a 415 here.
      v1.removeContentTypeParser('application/x-www-form-urlencoded')
      await v1.register(advertiserAdminRoutes)
      await v1.register(trackingDomainAdminRoutes)
      await v1.register(affiliateAdminRoutes)
      await v1.register(offerAdminRoutes)
      await v1.register(capAdminRoutes)
      await v1.register(affiliatePanelRoutes)
      await v1.register(offerPanelRoutes)
      await v1.register(trackingLinkAdminRoutes)
      await v1.register(trackingLinkPanelRoutes)
      await v1.register(clickAdminRoutes)
      await v1.register(conversionAdminRoutes)
      await v1.register(conversionPanelRoutes)
      await v1.register(deliveryAdminRoutes)
      await v1.register(deliveryPanelRoutes)
      await v1.register(postbackAdminRoutes)
      await v1.register(postbackPanelRoutes)
      await v1.register(statsAdminRoutes)
      await v1.register(statsPanelRoutes)
    },
    { prefix: '/v1' }
  )
}
