import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { oneAtATime } from '../lib/one-at-a-time.js'
import type { Db } from '../db/database.js'
import { foldClicks } from './click-fold.js'
import { foldDailyTiers } from './daily-tiers.js'

declare module 'fastify' {
  interface FastifyInstance {
    statsFolding: StatsFolding
  }
}

export interface StatsFolding {
  /** `foldStatistics` up to a moment before `now`; returns the steps taken. */
  runOnce(now?: Date): Promise<number>
}

/**
 * Folds new clicks into the 15-minute tier, then that tier's ended buckets into the reporting zones' daily
 * tiers (in this order: a bucket reaches a daily tier once all its clicks are counted). Returns the steps taken.
 */
export async function foldStatistics (db: Db, now: Date): Promise<number> {
  return await foldClicks(db, now) + await foldDailyTiers(db, now)
}

/**
 * Reports count the clicks since the last fold one by one: folding every few seconds keeps that to seconds of
 * traffic, and a fold costs a few short statements.
 */
const INTERVAL_MS = 5_000

/**
 * The periodic fold of the statistics (see `foldStatistics`), on instances with the `maintenance` role; stops
 * (and waits for its run) on close. Without it reports stay exact, reading more clicks and 15-minute buckets.
 */
async function statsFoldingPlugin (fastify: FastifyInstance) {
  const { db } = fastify
  const log = fastify.log.child({ component: 'stats-folding' })
  const folds = oneAtATime((now: Date = new Date()) => foldStatistics(db, now))
  const runOnce = (now?: Date): Promise<number> => folds.run(now)

  fastify.decorate('statsFolding', { runOnce })
  if (!fastify.config.roles.has('maintenance')) return
  const timer = setInterval(() => {
    if (folds.busy) return
    runOnce().catch((err: unknown) => log.warn({ err }, 'folding the statistics failed; retrying on the next tick'))
  }, INTERVAL_MS)
  timer.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await folds.settled()
  })
}

export default fp(statsFoldingPlugin, { name: 'stats-folding', dependencies: ['database'] })
