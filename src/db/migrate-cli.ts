import { pino } from 'pino'
import { ConfigError, loadConfig } from '../config.js'
import { withDotEnv } from '../dotenv.js'
import { DataDirLockedError } from './data-dir-lock.js'
import { openDatabase } from './database.js'
import { migrateToLatest } from './migrator.js'

// `npm run migrate`: applies pending migrations and exits. The service also migrates at start.
// Configuration is read as the service reads it (environment, then `.env`); a wrong setting or a DATA_DIR
// that a running service holds is one line on stderr and exit 1, not a stack trace.
try {
  const config = loadConfig(withDotEnv(process.env))
  const log = pino({ level: config.logLevel })
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log)
  try {
    await migrateToLatest(handle.db, log)
    log.info('database is up to date')
  } finally {
    await handle.close()
  }
} catch (err) {
  if (!(err instanceof ConfigError || err instanceof DataDirLockedError)) throw err
  process.stderr.write(`migrate: ${err.message}\n`)
  process.exitCode = 1
}
