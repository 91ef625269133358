import { readFile } from 'node:fs/promises'
import net from 'node:net'
import t from 'tap'
import { build, createTestDatabase, inject, TEST_ENGINE } from '../helpers/build.js'
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

t.test('every route is documented: tags, summary, operationId, the key it takes and response schemas', async (t) => {
  const { app } = await build(t)
  type Operation = { tags?: string[]; summary?: string; operationId?: string; security?: object[]; responses?: Record<string, unknown> }
  const doc = app.swagger() as { paths: Record<string, Record<string, Operation>>; tags: { name: string; description?: string }[] }
  const used = new Set(Object.values(doc.paths).flatMap((methods) => Object.values(methods).flatMap((op) => op.tags ?? [])))
  t.same(doc.tags.map((tag) => tag.name).sort(), [...used].sort(), 'every tag used is declared, and every tag declared is used')
  for (const tag of doc.tags) t.ok(tag.description, `tag ${tag.name} has a description`)
  const operationIds = new Set<string>()
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      t.ok(op.tags && op.tags.length > 0, `${method} ${path} has tags`)
      t.ok(op.summary, `${method} ${path} has a summary`)
      t.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`)
      t.match(op.operationId, /^[a-z][A-Za-z]*$/, `${method} ${path} has a camelCase operationId`)
      t.notOk(operationIds.has(op.operationId ?? ''), `${method} ${path}: its operationId is unique`)
      operationIds.add(op.operationId ?? '')
      // Panel routes take an affiliate key, the rest of /v1 an admin key (contract §1 Auth).
      if (path.startsWith('/v1/affiliate/')) t.same(op.security, [{ affiliateKey: [] }], `${method} ${path} takes an affiliate key`)
      else if (path.startsWith('/v1/')) t.same(op.security, [{ adminKey: [] }], `${method} ${path} takes an admin key`)
      else t.ok(Array.isArray(op.security), `${method} ${path} states its security`)
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

t.test('a database that goes away mid-run: API calls answer 503 with Retry-After, not 500', { skip: TEST_ENGINE !== 'postgres' && 'PostgreSQL only' }, async (t) => {
  // The app reaches PostgreSQL through a TCP relay this test can cut.
  const target = new URL(await createTestDatabase(t))
  const sockets = new Set<net.Socket>()
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  const relayed = new URL(target)
  relayed.port = String((relay.address() as net.AddressInfo).port)
  const { app } = await build(t, { databaseUrl: relayed.toString() })
  t.equal((await inject(app, { method: 'GET', url: '/v1/advertisers' })).statusCode, 200, 'through the relay')

  relay.close()
  for (const socket of sockets) socket.destroy()
  for (const attempt of [1, 2]) {
    const res = await inject(app, { method: 'GET', url: '/v1/advertisers' })
    t.equal(res.statusCode, 503, `attempt ${attempt}: 503`)
    t.equal(res.headers['retry-after'], '5')
    t.equal(res.json().type, 'https://s2s-tracker.dev/problems/unavailable')
  }
})
