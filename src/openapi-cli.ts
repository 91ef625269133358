import { mkdir, writeFile } from 'node:fs/promises'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { openapiDocument, OPENAPI_FILE } from './openapi-document.js'

// `npm run openapi`: writes the document the service serves into openapi/, on a throwaway embedded database.
const dataDir = `${process.env.TMPDIR ?? '/tmp'}/s2s-openapi-${process.pid}`
const app = await buildApp(loadConfig({ DATA_DIR: dataDir, ADMIN_API_KEYS: 'openapi-generation-key', LOG_LEVEL: 'warn' }))
await app.ready()
await mkdir(new URL('.', OPENAPI_FILE), { recursive: true })
await writeFile(OPENAPI_FILE, openapiDocument(app))
await app.close()
const { rm } = await import('node:fs/promises')
await rm(dataDir, { recursive: true, force: true })
process.stdout.write(`wrote ${OPENAPI_FILE.pathname}\n`)
