import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

// Process entry: configuration from the environment, listen, and a graceful shutdown on SIGTERM/SIGINT.
let config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
  throw err
}

const app = await buildApp(config)

// Stop accepting, flush clicks, let in-flight deliveries finish (each plugin's onClose), close the database.
closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'shutting down after an uncaught error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  app.log.error({ err }, 'could not listen')
  await app.close()
  process.exit(1)
}
