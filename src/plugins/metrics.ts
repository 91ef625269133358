import { timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpProblem } from '../http/problem.js'
import { problemResponses } from '../http/schemas.js'
import { settleWithin } from '../lib/time-limit.js'
import { isAffiliateKey } from './auth.js'

export type ConversionResult = 'created' | 'duplicate' | 'status_changed' | 'rejected'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { countConversion(result: ConversionResult): void }
  }
}

export interface MetricsOptions {
  /** False: no /metrics route and no collectors, only no-op counters (the metrics benchmark's baseline). */
  enabled?: boolean
}

/**
 * Due deliveries counted at most this far: a scrape stays one short index walk whatever the backlog. Past
 * it, the age of the oldest due delivery (read from the same index whatever the backlog) says how far
 * behind delivery is; counting up to 100,000 took PostgreSQL 20–40 ms per scrape, most of a scrape's time.
 */
const DUE_COUNT_CAP = 10_000

/**
 * How long a scrape waits for the backlog's reading. A database busy with a burst of writes can take longer;
 * the scrape then shows the last reading (the gauges keep it) and the late one lands in the next scrape, so a
 * scrape's time never depends on the database's.
 */
const BACKLOG_WAIT_MS = 25

function sameSecret (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Prometheus metrics (§6) on GET /metrics, for an admin key or `Authorization: Bearer METRICS_TOKEN`.
 * Clicks are read from the recorder's own counters when scraped, so the hot path pays nothing; labels name
 * results and reasons, never ids or URLs.
 */
async function metricsPlugin (fastify: FastifyInstance, options: MetricsOptions) {
  if (options.enabled === false) {
    fastify.decorate('metrics', { countConversion () {} })
    return
  }
  const { config, clickRecorder, dispatcher, database } = fastify
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 's2s_' })

  registry.registerMetric(new Counter({
    name: 's2s_clicks_total',
    help: 'Clicks received, by result: valid (redirected to the offer) or invalid (trafficback or 404), with the reason',
    labelNames: ['result', 'reason'],
    registers: [],
    collect () {
      this.reset()
      this.inc({ result: 'valid', reason: '' }, clickRecorder.received)
      for (const [reason, count] of Object.entries(clickRecorder.invalid)) this.inc({ result: 'invalid', reason }, count)
    },
  }))
  registry.registerMetric(new Gauge({
    name: 's2s_click_buffer_size',
    help: 'Clicks answered but not yet written to the database',
    registers: [],
    collect () { this.set(clickRecorder.stats().buffered) },
  }))
  registry.registerMetric(new Counter({
    name: 's2s_clicks_dropped_total',
    help: 'Clicks answered but lost: the buffer was full while the database was away, or the database refused them',
    registers: [],
    collect () {
      this.reset()
      this.inc(clickRecorder.stats().dropped)
    },
  }))
  const conversions = new Counter({
    name: 's2s_conversions_total',
    help: 'Advertiser postbacks by result: created, duplicate, status_changed, rejected',
    labelNames: ['result'],
    registers: [registry],
  })
  const deliveries = new Counter({
    name: 's2s_delivery_attempts_total',
    help: 'Affiliate postback attempts by outcome: delivered, retry (failed, will be tried again), failed (for good), refused',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 's2s_delivery_attempt_duration_seconds',
    help: 'How long affiliate postback attempts took, to the answer or the failure',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  // Children bound to each label value once, so counting is an addition, not a lookup by labels.
  const byOutcome = {
    delivered: deliveries.labels('delivered'),
    retry: deliveries.labels('retry'),
    failed: deliveries.labels('failed'),
    refused: deliveries.labels('refused'),
  }
  dispatcher.onAttempt = (durationMs, outcome) => {
    byOutcome[outcome].inc()
    duration.observe(durationMs / 1000)
  }
  const due = new Gauge({ name: 's2s_deliveries_due', help: `Deliveries due now and not yet sent (counted up to ${DUE_COUNT_CAP})`, registers: [registry] })
  const oldest = new Gauge({ name: 's2s_deliveries_oldest_due_seconds', help: 'How long the oldest due delivery has been due', registers: [registry] })
  const unfolded = new Gauge({
    name: 's2s_stats_clicks_unfolded_seconds',
    help: 'How far the statistics\' click fold is behind: reports count this span\'s clicks one by one (a few seconds while a maintenance instance runs)',
    registers: [registry],
  })
  registry.registerMetric(new Gauge({
    name: 's2s_db_pool_connections',
    help: 'PostgreSQL pool connections by state: in_use, idle; waiting counts callers waiting for one',
    labelNames: ['state'],
    registers: [],
    collect () {
      const stats = database.poolStats()
      if (stats === null) return
      this.set({ state: 'in_use' }, stats.total - stats.idle)
      this.set({ state: 'idle' }, stats.idle)
      this.set({ state: 'waiting' }, stats.waiting)
    },
  }))
  registry.registerMetric(new Gauge({
    name: 's2s_dispatcher_in_flight',
    help: 'Affiliate postback attempts being sent by this instance',
    registers: [],
    collect () { this.set(dispatcher.inFlight) },
  }))

  const byResult: Record<ConversionResult, ReturnType<typeof conversions.labels>> = {
    created: conversions.labels('created'),
    duplicate: conversions.labels('duplicate'),
    status_changed: conversions.labels('status_changed'),
    rejected: conversions.labels('rejected'),
  }
  fastify.decorate('metrics', { countConversion: (result: ConversionResult) => byResult[result].inc() })

  // One reading of the backlog at a time: scrapes during a slow one share it rather than queue more queries.
  let reading: Promise<void> | null = null
  const readBacklog = (): Promise<void> => {
    reading ??= (async () => {
      try {
        const row = await sql<{ n: number | string; oldest: number | string | null; unfolded: number | string | null }>`
          select count(*) as n, extract(epoch from now() - min(next_attempt_at)) as oldest,
            (select extract(epoch from now() - folded_until) from stats_click_fold) as unfolded from (
            select next_attempt_at from postback_deliveries where state = 'pending' and next_attempt_at <= now()
            order by next_attempt_at limit ${DUE_COUNT_CAP}) due`.execute(fastify.db)
        due.set(Number(row.rows[0]?.n ?? 0))
        oldest.set(Number(row.rows[0]?.oldest ?? 0))
        unfolded.set(Math.max(0, Number(row.rows[0]?.unfolded ?? 0)))
      } catch (err) {
        fastify.log.warn({ err }, 'metrics: the delivery backlog could not be read')
      } finally {
        reading = null
      }
    })()
    return reading
  }
  fastify.addHook('onClose', async () => { await reading })

  const authorized = (request: FastifyRequest): boolean => {
    const key = request.headers['api-key']
    if (typeof key === 'string' && key !== '' && fastify.isAdminKey(key)) return true
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    return bearer !== undefined && config.metricsToken !== null && sameSecret(bearer, config.metricsToken)
  }

  fastify.get('/metrics', {
    schema: {
      tags: ['Operations'],
      security: [{ adminKey: [] }, { metricsToken: [] }],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: 'Prometheus text format (0.0.4). Clicks by result, conversions by result, delivery attempts by outcome ' +
        'and their durations, deliveries due and the age of the oldest, how far the statistics\' click fold is behind (a ' +
        'scrape waits at most 25 ms for the database to count them, and otherwise shows the last count), the click buffer and its drops, the database pool, ' +
        'event-loop lag and process metrics. Labels never carry ids or URLs. An admin key (`API-Key`) or ' +
        '`Authorization: Bearer <METRICS_TOKEN>`; an affiliate\'s key is a 403, anything else a 401.',
      response: {
        200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...problemResponses(401, 403),
      },
    },
  }, async (request, reply) => {
    if (!authorized(request)) {
      // As on every admin route (§1): a key the service knows, but an affiliate's, is refused, not unknown.
      const key = request.headers['api-key']
      if (typeof key === 'string' && key !== '' && await isAffiliateKey(fastify.db, key)) {
        throw new HttpProblem('forbidden', 'Metrics need an admin API key (or METRICS_TOKEN), not an affiliate\'s')
      }
      throw new HttpProblem('unauthorized', 'Metrics need an admin API-Key or Authorization: Bearer <METRICS_TOKEN>', {
        headers: { 'www-authenticate': 'Bearer' },
      })
    }
    await settleWithin(readBacklog(), BACKLOG_WAIT_MS)
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}

export default fp<MetricsOptions>(metricsPlugin, { name: 'metrics', dependencies: ['auth', 'click-recorder', 'dispatcher', 'database'] })
