import type { FastifyInstance } from 'fastify'

/** Where the committed document lives, from src/ or dist/src/. */
export const OPENAPI_FILE = new URL(
  import.meta.url.includes('/dist/src/') ? '../../openapi/openapi.json' : '../openapi/openapi.json',
  import.meta.url
)

/** The served document, serialised the way it is committed (stable key order as generated, 2-space indent). */
export function openapiDocument (app: FastifyInstance): string {
  return JSON.stringify(app.swagger(), null, 2) + '\n'
}
