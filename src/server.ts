import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import pinoPretty from 'pino-pretty'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { superviseWorkers } from './cluster.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { withDotEnv } from './dotenv.js'

/** Errors that mean DATABASE_URL does not lead to a usable database (never print the URL: it may hold a password). */
const DATABASE_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', '3D000', '28P01', '28000'])

function startFailed (config: Config, err: unknown): never {
  const code = (err as { code?: unknown } | null)?.code
  const reason = err instanceof DataDirLockedError || err instanceof ConfigError
    ? err.message
    : config.databaseUrl !== null && typeof code === 'string' && DATABASE_UNREACHABLE.has(code)
      ? 'DATABASE_URL: PostgreSQL cannot be reached there, or refuses the login, or the database does not exist'
      : 'see the error'
  // The app's own logger does not exist yet: the same JSON lines, written synchronously before exiting, and
  // written even at LOG_LEVEL=silent (a service that exits must say why).
  const level = config.logLevel === 'silent' ? 'fatal' : config.logLevel
  pino({ level }, pino.destination({ dest: 1, sync: true })).fatal({ err }, `could not start: ${reason}`)
  process.exit(1)
}

// Process entry: configuration from the environment, listen, and a graceful shutdown on SIGTERM/SIGINT.
let config
try {
  config = loadConfig(withDotEnv(process.env))
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
  throw err
}

if (cluster.isPrimary && config.workers > 1) {
  const level = config.logLevel === 'silent' ? 'fatal' : config.logLevel
  process.exitCode = await superviseWorkers(config.workers, pino({ level }))
} else {
  await runInstance(config)
}

/** One instance of the service in this process: build, listen, and close gracefully on a signal. */
async function runInstance (config: Config): Promise<void> {
  let app: FastifyInstance
  try {
    // A person at a terminal reads coloured lines; a log collector (stdout is a pipe or a file) gets JSON.
    const logStream = process.stdout.isTTY ? pinoPretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' }) : undefined
    app = await buildApp(config, { logStream })
  } catch (err) {
    startFailed(config, err)
  }

  // Stop accepting, flush clicks, let in-flight deliveries finish (each plugin's onClose), close the database.
  closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an uncaught error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  try {
    await app.listen({ port: config.port, host: config.host })
  } catch (err) {
    app.log.error({ err }, `could not listen on HOST ${config.host}, PORT ${config.port}`)
    await app.close()
    process.exit(1)
  }
  app.log.info({ listening: app.addresses(), docs: `${config.publicUrl}/docs` }, `s2s-tracker ready: ${config.publicUrl} (API docs at ${config.publicUrl}/docs)`)
}
