import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, collectIds, createAffiliate, createOffer, mergePatch } from '../helpers/fixtures.js'
import { insertClickRow, insertConversionRow, insertPostbackRow, insertTrackingLinkRow } from '../helpers/seeds.js'

t.test('affiliates: create shows the key once; read, list, patch, delete', async (t) => {
  const { app } = await build(t)
  const created = await inject(app, { method: 'POST', url: '/v1/affiliates', payload: { name: 'Partner', email: 'Partner@Example.com' } })
  t.equal(created.statusCode, 201)
  const affiliate = created.json()
  t.same(Object.keys(affiliate).sort(), ['api_key', 'created_at', 'email', 'id', 'name', 'status', 'updated_at'])
  t.match(affiliate, { id: Number, name: 'Partner', email: 'Partner@Example.com', status: 'active', api_key: /^aff_[A-Za-z0-9_-]{32}$/ })
  const stored = await app.db.selectFrom('affiliates').select('api_key_hash').where('id', '=', affiliate.id).executeTakeFirstOrThrow()
  t.not(stored.api_key_hash, affiliate.api_key, 'only a hash is stored')
  t.notMatch(stored.api_key_hash, affiliate.api_key)

  const read = await inject(app, { method: 'GET', url: `/v1/affiliates/${affiliate.id}` })
  t.equal(read.statusCode, 200)
  const { api_key: _key, ...withoutKey } = affiliate
  t.same(read.json(), withoutKey, 'the key is never shown again')

  const patched = await mergePatch(app, `/v1/affiliates/${affiliate.id}`, { name: 'Renamed', status: 'banned' })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Renamed', email: 'Partner@Example.com', status: 'banned' })
  t.notOk('api_key' in patched.json())

  const list = await inject(app, { method: 'GET', url: '/v1/affiliates' })
  t.same(list.json(), { data: [patched.json()], next_cursor: null })

  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${affiliate.id}` })).statusCode, 204)
  t.equal((await inject(app, { method: 'GET', url: `/v1/affiliates/${affiliate.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/affiliates/${affiliate.id}` })).statusCode, 404)
  t.equal((await mergePatch(app, `/v1/affiliates/${affiliate.id}`, { name: 'x' })).statusCode, 404)
  t.equal((await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key` })).statusCode, 404)
})

t.test('affiliates: email is unique ignoring case', async (t) => {
  const { app } = await build(t)
  const first = await createAffiliate(app, { email: 'dup@example.com' })
  const again = await inject(app, { method: 'POST', url: '/v1/affiliates', payload: { name: 'B', email: 'DUP@example.COM' } })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { type: 'https://s2s-tracker.dev/problems/conflict', detail: /email/ })

  const second = await createAffiliate(app)
  const taken = await mergePatch(app, `/v1/affiliates/${second.id}`, { email: 'Dup@Example.com' })
  t.equal(taken.statusCode, 409)
  const own = await mergePatch(app, `/v1/affiliates/${first.id}`, { email: 'DUP@example.com' })
  t.equal(own.statusCode, 200, 'an affiliate may re-case its own email')
  t.equal(own.json().email, 'DUP@example.com')
  t.equal((await mergePatch(app, '/v1/affiliates/999999', { email: 'dup@example.com' })).statusCode, 404, 'unknown id is 404 first')
})

t.test('affiliates: bad input', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const post = (payload: Record<string, unknown>) => inject(app, { method: 'POST', url: '/v1/affiliates', payload })
  const cases: [string, ReturnType<typeof post>, number, string | undefined][] = [
    ['missing email', post({ name: 'x' }), 400, '/email'],
    ['missing name', post({ email: 'a@example.com' }), 400, '/name'],
    ['not an email', post({ name: 'x', email: 'not-an-email' }), 400, '/email'],
    ['email too long', post({ name: 'x', email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com` }), 400, '/email'],
    ['bad status', post({ name: 'x', email: 'a@example.com', status: 'paused' }), 400, '/status'],
    ['api_key in body', post({ name: 'x', email: 'a@example.com', api_key: 'aff_x' }), 400, '/api_key'],
    ['null name', mergePatch(app, `/v1/affiliates/${affiliate.id}`, { name: null }), 400, '/name'],
    ['an id no affiliate can have', inject(app, { method: 'GET', url: '/v1/affiliates/0' }), 404, undefined],
    ['an id that is not a number', inject(app, { method: 'GET', url: '/v1/affiliates/x1' }), 400, '/id'],
    ['unknown query', inject(app, { method: 'GET', url: '/v1/affiliates?email=x' }), 400, '/email'],
    ['unknown id', inject(app, { method: 'GET', url: '/v1/affiliates/424242' }), 404, undefined],
  ]
  for (const [name, request, status, path] of cases) {
    const res = await request
    t.equal(res.statusCode, status, name)
    t.equal(res.json().errors?.[0]?.path, path, `${name}: path`)
  }
})

t.test('affiliates: status filter and pagination', async (t) => {
  const { app } = await build(t)
  const ids: number[] = []
  for (const status of ['active', 'banned', 'inactive', 'active', 'banned']) ids.push((await createAffiliate(app, { status })).id)
  t.same(await collectIds(app, '/v1/affiliates?limit=2'), [...ids].reverse())
  t.same(await collectIds(app, '/v1/affiliates?status=banned&limit=1'), [ids[4], ids[1]])
  t.same(await collectIds(app, '/v1/affiliates?status=inactive'), [ids[2]])
  const bad = await inject(app, { method: 'GET', url: '/v1/affiliates?status=deleted' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].path, '/status')
})

t.test('affiliates: a new key replaces the old one at once', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const other = await createAffiliate(app)
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(affiliate) })).statusCode, 200)
  const rotated = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key` })
  t.equal(rotated.statusCode, 200)
  t.same(Object.keys(rotated.json()), ['api_key'])
  const newKey = rotated.json().api_key as string
  t.match(newKey, /^aff_/)
  t.not(newKey, affiliate.api_key)
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(affiliate) })).statusCode, 401)
  const me = await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': newKey } })
  t.equal(me.json().id, affiliate.id)
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(other) })).json().id, other.id, 'others keep their key')
  const byAffiliate = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key`, headers: { 'api-key': newKey } })
  t.equal(byAffiliate.statusCode, 403, 'an affiliate cannot rotate through the admin route')
})

t.test('affiliates: delete refused while tracking links, conversions, postbacks or clicks refer to it', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const refer: Record<string, (affiliateId: number) => Promise<unknown>> = {
    'tracking links': (affiliateId) => insertTrackingLinkRow(app, { offer_id: offer.id, affiliate_id: affiliateId }),
    conversions: (affiliateId) => insertConversionRow(app, { offer_id: offer.id, affiliate_id: affiliateId }),
    postbacks: (affiliateId) => insertPostbackRow(app, { affiliate_id: affiliateId, offer_id: null }),
    clicks: (affiliateId) => insertClickRow(app, { offer_id: offer.id, affiliate_id: affiliateId }),
  }
  for (const [what, make] of Object.entries(refer)) {
    const affiliate = await createAffiliate(app)
    await make(affiliate.id)
    const res = await inject(app, { method: 'DELETE', url: `/v1/affiliates/${affiliate.id}` })
    t.equal(res.statusCode, 409, what)
    t.match(res.json().detail, what)
  }
})
