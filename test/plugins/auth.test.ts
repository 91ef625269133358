import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ADMIN_KEY, build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate } from '../helpers/fixtures.js'

t.test('admin routes: 401 without or with an unknown key, 403 for an affiliate key', async (t) => {
  const { app } = await build(t)
  const none = await app.inject({ method: 'GET', url: '/v1/advertisers' })
  t.equal(none.statusCode, 401)
  t.match(none.headers['content-type'], /application\/problem\+json/)
  const unknown = await app.inject({ method: 'GET', url: '/v1/advertisers', headers: { 'api-key': 'nope' } })
  t.equal(unknown.statusCode, 401)
  const affiliate = await createAffiliate(app)
  const wrongKind = await app.inject({ method: 'GET', url: '/v1/advertisers', headers: asAffiliate(affiliate) })
  t.equal(wrongKind.statusCode, 403)
  const ok = await app.inject({ method: 'GET', url: '/v1/advertisers', headers: { 'api-key': ADMIN_KEY } })
  t.equal(ok.statusCode, 200)
})

t.test('panel routes: admin key is 403, inactive affiliate is 403, rotation invalidates the old key', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  t.match(affiliate.api_key, /^aff_/)

  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': ADMIN_KEY } })).statusCode, 403)
  const me = await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(affiliate) })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, affiliate.id)
  t.notOk('api_key' in me.json(), 'the key is never shown again')

  const rotated = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key` })
  t.equal(rotated.statusCode, 200)
  const newKey = rotated.json().api_key as string
  t.not(newKey, affiliate.api_key)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(affiliate) })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': newKey } })).statusCode, 200)

  await inject(app, { method: 'PATCH', url: `/v1/affiliates/${affiliate.id}`, payload: { status: 'inactive' } })
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': newKey } })).statusCode, 403)
})

t.test('without ADMIN_API_KEYS a key is generated once, stored hashed, written 0600', async (t) => {
  const first = await build(t, { env: { ADMIN_API_KEYS: undefined } })
  const file = path.join(first.dataDir, 'admin-api-key')
  const key = (await readFile(file, 'utf8')).trim()
  t.equal((await stat(file)).mode & 0o777, 0o600)
  t.equal((await app(first).inject({ method: 'GET', url: '/v1/advertisers', headers: { 'api-key': key } })).statusCode, 200)
  const stored = await first.app.db.selectFrom('admin_api_keys').select('key_hash').execute()
  t.equal(stored.length, 1)
  t.not(stored[0]?.key_hash, key, 'only the hash is stored')
  await first.app.close()

  // A restart on the same database keeps the key and generates no other.
  const second = await build(t, { env: { ADMIN_API_KEYS: undefined }, databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  t.equal((await second.app.inject({ method: 'GET', url: '/v1/advertisers', headers: { 'api-key': key } })).statusCode, 200)
  t.equal((await second.app.db.selectFrom('admin_api_keys').select('id').execute()).length, 1)
})

function app (x: { app: import('fastify').FastifyInstance }) {
  return x.app
}

t.test('X-Request-Id is echoed, or minted', async (t) => {
  const { app } = await build(t)
  for (const id of ['abc-123', 'dGVzdA+/Zm9v==', 'trace 42; span=7', 'x'.repeat(200)]) {
    const given = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } })
    t.equal(given.headers['x-request-id'], id, `kept: ${id.slice(0, 20)}`)
  }
  for (const id of ['x'.repeat(201), 'caf\u00e9']) {
    const replaced = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': id } })
    t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/, `replaced: ${id.slice(0, 20)}`)
  }
  const minted = await app.inject({ method: 'GET', url: '/v1/advertisers' })
  t.match(minted.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.equal(minted.json().request_id, minted.headers['x-request-id'])
})
