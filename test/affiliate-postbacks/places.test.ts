import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, collectIds, createdPostback, POSTBACK_KEYS, postbackPlaces, type PostbackJson } from '../helpers/fixtures.js'
import { twoOffersScene } from '../helpers/scenes.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('every place creates the same object, with the same defaults and the scope rule', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const url = 'https://aff.example/pb?cid={sub1}&sum={sum}&status={status}'

  const fromAdminOffer = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url }))
  const fromAdminAffiliateLocal = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url, offer_id: offer.id }))
  const fromAdminAffiliateGlobal = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url }))
  const fromPanelOffer = createdPostback(await postbackPlaces.panelOffer(app, a, offer.id, { url }))
  const fromPanelLocal = createdPostback(await postbackPlaces.panel(app, a, { url, offer_id: offer.id }))
  const fromPanelGlobal = createdPostback(await postbackPlaces.panel(app, a, { url, offer_id: null }))

  const locals = [fromAdminOffer, fromAdminAffiliateLocal, fromPanelOffer, fromPanelLocal]
  const globals = [fromAdminAffiliateGlobal, fromPanelGlobal]
  for (const postback of [...locals, ...globals]) {
    t.same(Object.keys(postback).sort(), POSTBACK_KEYS, 'one shape everywhere')
    t.match(postback, {
      affiliate_id: a.id, url, method: 'GET', status: 'any', goal: null, integration_method: 'all', force_global: false,
    }, 'defaults everywhere')
    t.same(postback.health, {
      state: 'healthy', consecutive_failures: 0, last_success_at: null, last_failure_at: null, disabled_at: null, disabled_reason: null,
    }, 'healthy when new')
    t.match(postback.created_at, ISO)
    t.match(postback.updated_at, ISO)
  }
  for (const postback of locals) t.match(postback, { scope: 'local', offer_id: offer.id })
  for (const postback of globals) t.match(postback, { scope: 'global', offer_id: null })

  // What one place wrote, every place reads alike.
  const adminRead = await inject(app, { method: 'GET', url: `/v1/postbacks/${fromPanelLocal.id}` })
  const panelRead = await app.inject({ method: 'GET', url: `/v1/affiliate/postbacks/${fromAdminOffer.id}`, headers: asAffiliate(a) })
  t.same(adminRead.json(), fromPanelLocal)
  t.same(panelRead.json(), fromAdminOffer)
})

t.test('all settings are kept, and the goal takes the offer\'s spelling', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const local = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, {
    url: 'http://aff.example/p', method: 'POST', status: 'approved', goal: 'SALE', integration_method: 'probabilistic',
  }))
  t.match(local, { method: 'POST', status: 'approved', goal: 'Sale', integration_method: 'probabilistic', force_global: false })
  const global = createdPostback(await postbackPlaces.panel(app, a, {
    url: 'https://aff.example/g', status: 'created', integration_method: 'default', force_global: true,
  }))
  t.match(global, { scope: 'global', status: 'created', integration_method: 'default', force_global: true, goal: null })
})

t.test('lists: each place shows its own slice, filters combine, pages walk', async (t) => {
  const { app } = await build(t)
  const { offer, other, a, b } = await twoOffersScene(app)
  const url = 'https://aff.example/pb'
  const aLocal = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url }))
  const aOtherLocal = createdPostback(await postbackPlaces.adminOffer(app, other.id, a.id, { url }))
  const aGlobal = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url }))
  const bLocal = createdPostback(await postbackPlaces.adminOffer(app, offer.id, b.id, { url }))
  const bGlobal = createdPostback(await postbackPlaces.panel(app, b, { url }))

  const ids = (list: PostbackJson[]) => list.map((p) => p.id)
  t.same(await collectIds(app, '/v1/postbacks'), ids([bGlobal, bLocal, aGlobal, aOtherLocal, aLocal]), 'newest first')
  t.same(await collectIds(app, `/v1/postbacks?affiliate_id=${a.id}`), ids([aGlobal, aOtherLocal, aLocal]))
  t.same(await collectIds(app, `/v1/postbacks?offer_id=${offer.id}`), ids([bLocal, aLocal]))
  t.same(await collectIds(app, '/v1/postbacks?scope=global'), ids([bGlobal, aGlobal]))
  t.same(await collectIds(app, `/v1/postbacks?scope=local&affiliate_id=${a.id}`), ids([aOtherLocal, aLocal]))
  t.same(await collectIds(app, `/v1/postbacks?scope=global&offer_id=${offer.id}`), [])
  t.same(await collectIds(app, '/v1/postbacks?limit=2'), ids([bGlobal, bLocal, aGlobal, aOtherLocal, aLocal]), 'pages of 2')

  t.same(await collectIds(app, `/v1/offers/${offer.id}/postbacks`), ids([bLocal, aLocal]))
  t.same(await collectIds(app, `/v1/offers/${offer.id}/postbacks?affiliate_id=${b.id}`), ids([bLocal]))
  t.same(await collectIds(app, `/v1/affiliates/${a.id}/postbacks`), ids([aGlobal, aOtherLocal, aLocal]))
  t.same(await collectIds(app, `/v1/affiliates/${a.id}/postbacks?scope=global`), ids([aGlobal]))
  t.same(await collectIds(app, `/v1/affiliates/${a.id}/postbacks?offer_id=${other.id}`), ids([aOtherLocal]))

  t.same(await collectIds(app, '/v1/affiliate/postbacks', asAffiliate(a)), ids([aGlobal, aOtherLocal, aLocal]))
  t.same(await collectIds(app, '/v1/affiliate/postbacks?scope=global', asAffiliate(b)), ids([bGlobal]))
  t.same(await collectIds(app, `/v1/affiliate/offers/${offer.id}/postbacks`, asAffiliate(a)), ids([aLocal]))
  t.same(await collectIds(app, `/v1/affiliate/offers/${offer.id}/postbacks`, asAffiliate(b)), ids([bLocal]))

  const unknownQuery = await inject(app, { method: 'GET', url: '/v1/postbacks?pid=1' })
  t.equal(unknownQuery.statusCode, 400)
  t.equal(unknownQuery.json().errors[0].path, '/pid')
  t.equal((await inject(app, { method: 'GET', url: '/v1/postbacks?scope=everything' })).statusCode, 400)
  t.equal((await inject(app, { method: 'GET', url: '/v1/offers/999999/postbacks' })).statusCode, 404)
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliates/999999/postbacks' })).statusCode, 404)
})

t.test('keys: panel routes need an affiliate key, admin routes an admin key', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const postback = createdPostback(await postbackPlaces.adminOffer(app, offer.id, a.id, { url: 'https://aff.example/pb' }))
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/postbacks' })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/postbacks', headers: asAffiliate(a) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: `/v1/postbacks/${postback.id}`, headers: asAffiliate(a) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/postbacks' })).statusCode, 401)
  await inject(app, { method: 'PATCH', url: `/v1/affiliates/${a.id}`, payload: { status: 'inactive' } })
  t.equal((await app.inject({ method: 'GET', url: '/v1/affiliate/postbacks', headers: asAffiliate(a) })).statusCode, 403)
})

t.test('the OpenAPI document lists every place and carries the macro reference on `url`', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  const routes: Record<string, string[]> = {
    '/v1/offers/{offer_id}/postbacks': ['get', 'post'],
    '/v1/affiliates/{affiliate_id}/postbacks': ['get', 'post', 'delete'],
    '/v1/postbacks': ['get'],
    '/v1/postbacks/{id}': ['get', 'patch', 'delete'],
    '/v1/affiliate/offers/{offer_id}/postbacks': ['get', 'post'],
    '/v1/affiliate/postbacks': ['get', 'post', 'delete'],
    '/v1/affiliate/postbacks/{id}': ['get', 'patch', 'delete'],
  }
  for (const [path, methods] of Object.entries(routes)) {
    for (const method of methods) t.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`)
  }
  const macros = [
    ...Array.from({ length: 8 }, (_, i) => `sub${i + 1}`), 'ref_id', 'ext1', 'ext2', 'ext3', 'transactionid', 'offerid', 'offer_name',
    'goal', 'sum', 'currency', 'order_sum', 'order_currency', 'status', 'date', 'timestamp', 'click_date', 'ip', 'uagent', 'geo',
    'comment', ...Array.from({ length: 15 }, (_, i) => `custom_field${i + 1}`), 'rand', 'clickid', 'conversion_id', 'pid', 'offer_id',
    'payout', 'status_name',
  ]
  for (const schema of ['Postback', 'PostbackCreate', 'OfferPostbackCreate', 'PanelOfferPostbackCreate', 'PostbackPatch']) {
    const description: string = doc.components.schemas[schema].properties.url.description
    const documented = (name: string) => description.includes(`\`{${name}}\``) ||
      new RegExp(`\`\\{${name.replace(/\d+$/, '')}1\\}\`\\.\\.\`\\{${name.replace(/\d+$/, '')}\\d+\\}\``).test(description)
    for (const macro of macros) t.ok(documented(macro), `${schema}.url documents {${macro}}`)
    t.match(description, /percent-encoded/)
    t.match(description, /unknown macro.*empty/i)
    t.match(description, /sub1=\{their_click_id\}/)
  }
  t.match(doc.components.schemas.Postback.description, /force_global: true/)
})
