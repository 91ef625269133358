import t from 'tap'
import { ADMIN_KEY, build, inject } from '../helpers/build.js'
import { asAffiliate, collectIds, createAffiliate, createOffer, mergePatch } from '../helpers/fixtures.js'

t.test('panel: /affiliate/me is the caller\'s own profile', async (t) => {
  const { app } = await build(t)
  const alice = await createAffiliate(app, { name: 'Alice' })
  const bob = await createAffiliate(app, { name: 'Bob' })
  const me = await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(alice) })
  t.equal(me.statusCode, 200)
  t.same(me.json(), (await inject(app, { method: 'GET', url: `/v1/affiliates/${alice.id}` })).json())
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/me', headers: asAffiliate(bob) })).json().name, 'Bob')
  t.equal((await inject(app, { method: 'GET', url: `/v1/affiliates/${bob.id}`, headers: asAffiliate(alice) })).statusCode, 403,
    'another affiliate\'s profile is only on admin routes, closed to affiliate keys')
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/me?id=2', headers: asAffiliate(alice) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': ADMIN_KEY } })).statusCode, 403)
})

t.test('panel: only active offers, without url, revenue or secure code', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const headers = asAffiliate(affiliate)
  const active = await createOffer(app, {
    title: 'Visible',
    currency: 'EUR',
    secure_code: 'hidden-code',
    trafficback_url: 'https://tb.example/',
    goals: [{ value: 'sale', title: 'Sale', type: 'percent', revenue: 40, payout: 12.5 }, { value: 'lead', revenue: 0.3, payout: 0.1 }],
  })
  const paused = await createOffer(app, { status: 'paused' })
  const stopped = await createOffer(app, { status: 'stopped' })
  const second = await createOffer(app)

  const one = await inject(app, { method: 'GET', url: `/v1/affiliate/offers/${active.id}`, headers })
  t.equal(one.statusCode, 200)
  t.same(one.json(), {
    id: active.id,
    title: 'Visible',
    status: 'active',
    currency: 'EUR',
    goals: [{ value: 'sale', title: 'Sale', type: 'percent', payout: 12.5 }, { value: 'lead', title: 'lead', type: 'fixed', payout: 0.1 }],
    caps: [],
  })
  t.notMatch(one.body, /adv\.example|hidden-code|tb\.example|revenue|advertiser/, 'no advertiser URL, revenue or code')

  t.same(await collectIds(app, '/v1/affiliate/offers?limit=1', headers), [second.id, active.id], 'paused and stopped offers are hidden')
  const list = await inject(app, { method: 'GET', url: '/v1/affiliate/offers', headers })
  t.notMatch(list.body, /revenue|hidden-code|adv\.example/)
  for (const hidden of [paused, stopped]) {
    t.equal((await inject(app, { method: 'GET', url: `/v1/affiliate/offers/${hidden.id}`, headers })).statusCode, 404)
  }
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/offers/999999', headers })).statusCode, 404)

  await mergePatch(app, `/v1/offers/${active.id}`, { status: 'paused' })
  t.equal((await inject(app, { method: 'GET', url: `/v1/affiliate/offers/${active.id}`, headers })).statusCode, 404, 'pausing hides it at once')
  t.same(await collectIds(app, '/v1/affiliate/offers', headers), [second.id])

  const bad = await inject(app, { method: 'GET', url: '/v1/affiliate/offers?status=paused', headers })
  t.equal(bad.statusCode, 400, 'the panel list takes no status filter')
  t.equal(bad.json().errors[0].path, '/status')
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/offers/abc', headers })).json().errors[0].path, '/offer_id')
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/offers' })).statusCode, 403, 'admin key refused')
  const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString())
  t.same((await inject(app, { method: 'GET', url: `/v1/affiliate/offers?created_from=${future}`, headers })).json().data, [])
})

t.test('panel: an inactive or banned affiliate has no panel access', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  await createOffer(app)
  for (const status of ['inactive', 'banned']) {
    await mergePatch(app, `/v1/affiliates/${affiliate.id}`, { status })
    t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/offers', headers: asAffiliate(affiliate) })).statusCode, 403, status)
  }
})
