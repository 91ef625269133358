import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { oneAtATime } from '../lib/one-at-a-time.js'
import { foldDailyTiers } from './daily-tiers.js'

declare module 'fastify' {
  interface FastifyInstance {
    statsFolding: StatsFolding
  }
}

export interface StatsFolding {
  /** Folds the 15-minute tier into the reporting zones' daily tiers up to a moment before `now`; returns the steps taken. */
  runOnce(now?: Date): Promise<number>
}

/** A bucket ends every 15 minutes; looking each minute folds it within a few minutes of its end. */
const INTERVAL_MS = 60_000

/**
 * The periodic fold of the statistics' daily tiers (see `foldDailyTiers`), on instances with the `maintenance`
 * role; stops (and waits for its run) on close. Without it reports stay exact, reading more of the 15-minute tier.
 */
async function statsFoldingPlugin (fastify: FastifyInstance) {
  const { db } = fastify
  const log = fastify.log.child({ component: 'stats-folding' })
  const folds = oneAtATime((now: Date = new Date()) => foldDailyTiers(db, now))
  const runOnce = (now?: Date): Promise<number> => folds.run(now)

  fastify.decorate('statsFolding', { runOnce })
  if (!fastify.config.roles.has('maintenance')) return
  const timer = setInterval(() => {
    if (folds.busy) return
    runOnce().catch((err: unknown) => log.warn({ err }, 'folding the statistics\' daily tiers failed; retrying on the next tick'))
  }, INTERVAL_MS)
  timer.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await folds.settled()
  })
}

export default fp(statsFoldingPlugin, { name: 'stats-folding', dependencies: ['database'] })
