import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Dispatcher } from './dispatcher.js'
import { PostbackSender } from './sender.js'
import { DELIVERIES_CHANNEL, POSTBACKS_DELETED_CHANNEL } from './channels.js'
import { trackingDomainHostnames } from '../affiliate-postbacks/repository.js'
import { publicOrigin } from '../domain/self-feed.js'

declare module 'fastify' {
  interface FastifyInstance {
    dispatcher: Dispatcher
  }
}

const POLL_INTERVAL_MS = 1_000
const MAX_SHUTDOWN_GRACE_MS = 10_000

/**
 * The postback delivery engine. Starts once the app is ready; wakes on NOTIFY from any instance's
 * intake, on freed capacity, and on a one-second poll that also recovers expired leases.
 */
async function dispatcherPlugin (fastify: FastifyInstance) {
  const { config } = fastify
  // A tracking domain may be made for a host postbacks already send to: such deliveries are refused at send.
  // The few hostnames are read again before every claimed batch is sent.
  let trackingHosts: ReadonlySet<string> = new Set()
  const readTrackingHosts = async () => {
    try {
      trackingHosts = new Set(await trackingDomainHostnames(fastify.db))
    } catch (err) {
      fastify.log.warn({ err }, 'could not read the tracking domains; the last list read stays in force')
    }
  }
  const sender = new PostbackSender({
    timeoutMs: config.postbackTimeoutMs,
    allowPrivateNetworks: config.postbackAllowPrivateNetworks,
    connectionsPerOrigin: Dispatcher.connectionsPerOrigin(config.postbackConcurrency),
    ownOrigin: publicOrigin(config.publicUrl),
    isOwnEndpoint: (address, port) => fastify.ownService.isOwnEndpoint(address, port),
    loopGuard: (ref) => fastify.ownService.loopGuard(ref),
    isTrackingDomainHost: (host) => trackingHosts.has(host),
  })
  const dispatcher = new Dispatcher({
    db: fastify.db,
    log: fastify.log.child({ component: 'dispatcher' }),
    sender,
    beforeSending: readTrackingHosts,
    settings: {
      timeoutMs: config.postbackTimeoutMs,
      retryScheduleMs: config.postbackRetryScheduleMs,
      concurrency: config.postbackConcurrency,
      pollIntervalMs: POLL_INTERVAL_MS,
      health: { disableAfter: config.postbackDisableAfter, disableMinAgeMs: config.postbackDisableMinAgeMs, now: fastify.clock },
    },
  })
  fastify.decorate('dispatcher', dispatcher)

  let unlisten: (() => Promise<void>) | null = null
  fastify.addHook('onReady', async () => {
    const unlistenDeliveries = await fastify.database.listen(DELIVERIES_CHANNEL, () => dispatcher.nudge())
    // Another instance deleted postbacks: drop what this one holds of them. ("*" after a lost LISTEN
    // connection names none: rows missed meanwhile are cancelled in the database and record as such.)
    const unlistenDeletes = await fastify.database.listen(POSTBACKS_DELETED_CHANNEL, (payload) => {
      dispatcher.stopPostbacks(payload.split(',').map(Number).filter((id) => Number.isSafeInteger(id) && id > 0))
    })
    unlisten = async () => {
      await unlistenDeliveries()
      await unlistenDeletes()
    }
    // Every instance can resend by hand; only those with the `dispatcher` role claim and send due deliveries.
    if (config.roles.has('dispatcher')) dispatcher.start()
  })
  fastify.addHook('onClose', async () => {
    await unlisten?.().catch(() => {})
    await dispatcher.close(Math.min(config.postbackTimeoutMs, MAX_SHUTDOWN_GRACE_MS))
  })
}

export default fp(dispatcherPlugin, { name: 'dispatcher', dependencies: ['database', 'own-service'] })
