import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type DatabaseHandle, type Db } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import { syncReportingZones } from '../stats/daily-tiers.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    database: DatabaseHandle
  }
}

/**
 * Opens the database (PostgreSQL or embedded PGlite), migrates it, makes its reporting zones the configured ones,
 * and closes it last on shutdown.
 */
async function databasePlugin (fastify: FastifyInstance) {
  const { config } = fastify
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, fastify.log)
  try {
    await migrateToLatest(handle.db, fastify.log)
    await syncReportingZones(handle.db, config.statsTimeZones, fastify.clock())
  } catch (err) {
    await handle.close()
    throw err
  }
  fastify.log.info({ engine: handle.engine }, 'database ready')
  fastify.decorate('db', handle.db)
  fastify.decorate('database', handle)
  fastify.addHook('onClose', async () => {
    await handle.close()
  })
}

export default fp(databasePlugin, { name: 'database', dependencies: ['config'] })
