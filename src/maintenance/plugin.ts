import fp from 'fastify-plugin'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import type { Db } from '../db/database.js'
import { clickMonthsBetween, dropClickPartitionsBefore, makeClickPartitions } from '../clicks/partitions.js'
import { dropOldDeliveries, dropOldServerPostbacks, type RetentionBatch } from './retention.js'
import { ConfigError } from '../config.js'
import { clickSessionSeconds } from '../domain/caps.js'
import { oneAtATime } from '../lib/one-at-a-time.js'
import { foldClicks } from '../stats/click-fold.js'

declare module 'fastify' {
  interface FastifyInstance {
    maintenance: Maintenance
  }
}

export interface MaintenanceReport {
  partitionsMade: string[]
  partitionsDropped: string[]
  serverPostbacksDropped: number
  deliveriesDropped: number
}

export interface Maintenance {
  /** One full run as of `now`: partitions ahead, then retention. Tests pass their own clock. */
  runOnce(now?: Date): Promise<MaintenanceReport>
  /** Whether runs happen here every few minutes (the `maintenance` role). */
  readonly scheduled: boolean
}

const DAY_MS = 86_400_000
/** Partitions exist this far ahead of the clock, so a month never starts without its partition. */
const AHEAD_MS = 62 * DAY_MS
const INTERVAL_MS = 10 * 60_000
/** One run deletes log rows for at most this long; the next run goes on where it stopped. */
const RETENTION_BUDGET_MS = 30_000
/** The advisory lock that lets one instance at a time delete a batch of old log rows ("rtnl"). */
const RETENTION_LOCK = 0x72746e6c

/**
 * One batch in a transaction that first takes the retention lock without waiting: another instance running
 * retention makes this one stop (null) rather than delete the same rows beside it.
 */
async function underRetentionLock (db: Db, batch: (trx: Db) => Promise<RetentionBatch>): Promise<RetentionBatch | null> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ taken: boolean }>`select pg_try_advisory_xact_lock(${RETENTION_LOCK}) as taken`.execute(trx)
    return rows[0]?.taken === true ? batch(trx) : null
  })
}

/**
 * CLICK_RETENTION_DAYS shorter than an offer's click_session would drop clicks whose conversions may still
 * come (§6): refused at start, naming the offer, as offer writes refuse such a click_session.
 */
async function refuseShortRetention (db: Db, retentionDays: number): Promise<void> {
  const sessions = await db.selectFrom('offers').select(['click_session', sql<number>`min(id)`.as('offer_id')]).groupBy('click_session').execute()
  const longest = sessions
    .map((row) => ({ ...row, seconds: clickSessionSeconds(row.click_session) ?? 0 }))
    .sort((a, b) => b.seconds - a.seconds)[0]
  if (longest !== undefined && longest.seconds > retentionDays * DAY_MS / 1000) {
    throw new ConfigError(`CLICK_RETENTION_DAYS: ${retentionDays} is shorter than the click_session of offer ${longest.offer_id} ` +
      `(${longest.click_session}): its conversions would find their clicks dropped; keep clicks longer or shorten the offers' click_session`)
  }
}

async function dropInBatches (db: Db, deadline: number, batch: (trx: Db) => Promise<RetentionBatch>): Promise<number> {
  let total = 0
  while (Date.now() < deadline) {
    const result = await underRetentionLock(db, batch)
    if (result === null) return total
    total += result.deleted
    if (!result.more) return total
  }
  return total
}

/**
 * Keeps the data's shape as time passes (§8): click partitions made ahead of need, clicks past
 * CLICK_RETENTION_DAYS dropped a month at a time, the logs past LOG_RETENTION_DAYS dropped in batches.
 * Partitions around today are made at start on every instance (a fresh database gets them before its first
 * click); the periodic runs happen only on instances with the `maintenance` role.
 */
async function maintenancePlugin (fastify: FastifyInstance) {
  const { db, config } = fastify
  const log = fastify.log.child({ component: 'maintenance' })

  await refuseShortRetention(db, config.clickRetentionDays)
  const now = new Date()
  await makeClickPartitions(db, clickMonthsBetween(new Date(now.getTime() - DAY_MS), new Date(now.getTime() + AHEAD_MS)))

  async function run (at: Date): Promise<MaintenanceReport> {
    const partitionsMade = await makeClickPartitions(db, clickMonthsBetween(at, new Date(at.getTime() + AHEAD_MS)))
    const clickCutoff = new Date(at.getTime() - config.clickRetentionDays * DAY_MS)
    // The statistics count every click of a month before it goes (a month not yet counted stays). The fold runs
    // to now, not only to the cutoff: retention wants it well past a month (see retireClickPartitionsBefore).
    await foldClicks(db, at)
    const partitionsDropped = await dropClickPartitionsBefore(db, clickCutoff)
    const logCutoff = new Date(at.getTime() - config.logRetentionDays * DAY_MS)
    const deadline = Date.now() + RETENTION_BUDGET_MS
    const serverPostbacksDropped = await dropInBatches(db, deadline, (trx) => dropOldServerPostbacks(trx, logCutoff))
    const deliveriesDropped = await dropInBatches(db, deadline, (trx) => dropOldDeliveries(trx, logCutoff))
    const report = { partitionsMade, partitionsDropped, serverPostbacksDropped, deliveriesDropped }
    if (partitionsMade.length + partitionsDropped.length + serverPostbacksDropped + deliveriesDropped > 0) log.info(report, 'maintenance')
    return report
  }

  // One run at a time per instance: a caller during a run waits for it and then gets its own.
  const runs = oneAtATime((at: Date = new Date()) => run(at))
  const runOnce = (at?: Date): Promise<MaintenanceReport> => runs.run(at)
  fastify.decorate('maintenance', { runOnce, scheduled: config.roles.has('maintenance') })

  if (!config.roles.has('maintenance')) return
  let timer: NodeJS.Timeout | undefined
  fastify.addHook('onReady', async () => {
    const tick = () => {
      if (runs.busy) return
      runOnce().catch((err: unknown) => log.warn({ err }, 'maintenance failed; retrying on the next run'))
    }
    tick()
    timer = setInterval(tick, INTERVAL_MS)
    timer.unref()
  })
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await runs.settled()
  })
}

export default fp(maintenancePlugin, { name: 'maintenance', dependencies: ['database'] })
