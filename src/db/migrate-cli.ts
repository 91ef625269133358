import { pino } from 'pino'
import { loadConfig } from '../config.js'
import { openDatabase } from './database.js'
import { migrateToLatest } from './migrator.js'

// `npm run migrate`: applies pending migrations and exits. The service also migrates at start.
const config = loadConfig()
const log = pino({ level: config.logLevel })
const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log)
try {
  await migrateToLatest(handle.db, log)
  log.info('database is up to date')
} finally {
  await handle.close()
}
