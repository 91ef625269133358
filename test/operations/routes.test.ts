import { readFile } from 'node:fs/promises'
import t from 'tap'
import { build } from '../helpers/build.js'
import { openapiDocument, OPENAPI_FILE } from '../../src/openapi-document.js'

t.test('health, ready, docs and the OpenAPI document', async (t) => {
  const { app } = await build(t)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  const docs = await app.inject({ method: 'GET', url: '/docs' })
  t.ok(docs.statusCode === 200 || docs.statusCode === 302, 'the docs UI answers')
  const openapi = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(openapi.statusCode, 200)
  t.equal(openapi.json().openapi, '3.1.0')
  t.ok(openapi.json().components.schemas.Problem, 'problem schema is a component')

  const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '')
  t.equal(committed, openapiDocument(app), 'openapi/openapi.json is up to date: run `npm run openapi`')
})

t.test('every route is documented: tags, summary and response schemas', async (t) => {
  const { app } = await build(t)
  const doc = app.swagger() as { paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses?: Record<string, unknown> }>> }
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      t.ok(op.tags && op.tags.length > 0, `${method} ${path} has tags`)
      t.ok(op.summary, `${method} ${path} has a summary`)
      t.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`)
    }
  }
})

t.test('ready is 503 when the database is gone', async (t) => {
  const { app } = await build(t)
  await app.database.close()
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.headers['content-type'], /problem\+json/)
})
