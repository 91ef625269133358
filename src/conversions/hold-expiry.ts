import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { oneAtATime } from '../lib/one-at-a-time.js'
import { approveDueHolds } from './status-change.js'

declare module 'fastify' {
  interface FastifyInstance {
    holdExpiry: HoldExpiry
  }
}

export interface HoldExpiry {
  /** Approves every conversion whose hold has run out now; returns how many. */
  runOnce(): Promise<number>
}

export interface HoldExpiryOptions {
  /** How often due holds are looked for. Holds are days long, so a few seconds late is on time. */
  intervalMs?: number
}

const DEFAULT_INTERVAL_MS = 2_000
const BATCH = 200

/** The periodic job that approves conversions at their `hold_until`; stops (and waits for its run) on close. */
async function holdExpiryPlugin (fastify: FastifyInstance, options: HoldExpiryOptions) {
  const { db } = fastify
  const log = fastify.log.child({ component: 'hold-expiry' })
  async function runAll (): Promise<number> {
    let total = 0
    for (;;) {
      const approved = await approveDueHolds(db, BATCH)
      total += approved
      if (approved < BATCH) return total
    }
  }

  const runs = oneAtATime(runAll)
  const runOnce = (): Promise<number> => runs.run()

  fastify.decorate('holdExpiry', { runOnce })
  // Holds expire on the instances with the `maintenance` role; runOnce works everywhere.
  if (!fastify.config.roles.has('maintenance')) return
  const timer = setInterval(() => {
    if (runs.busy) return
    runOnce().then(
      (approved) => { if (approved > 0) log.info({ approved }, 'approved conversions whose hold ran out') },
      (err: unknown) => log.warn({ err }, 'approving expired holds failed; retrying on the next tick')
    )
  }, options.intervalMs ?? DEFAULT_INTERVAL_MS)
  timer.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await runs.settled()
  })
}

export default fp(holdExpiryPlugin, { name: 'hold-expiry', dependencies: ['database'] })
