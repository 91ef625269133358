import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, createdPostback, createTrackingDomain, postbackPlaces, type AffiliateJson } from '../helpers/fixtures.js'
import { twoOffersScene } from '../helpers/scenes.js'

const PROBLEM = 'https://s2s-tracker.dev/problems/'

/** A problem+json answer with this status, kind and (when given) a field error at `path`. */
function problem (t: Test, res: LightMyRequestResponse, status: number, path?: string, message?: RegExp) {
  t.equal(res.statusCode, status, `status ${status}: ${res.body}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  const body = res.json()
  t.equal(body.type, PROBLEM + ({ 400: 'validation-error', 404: 'not-found', 422: 'rule-violation' } as Record<number, string>)[status])
  if (path !== undefined) t.ok(body.errors.some((e: { path: string; message: string }) => e.path === path && (message === undefined || message.test(e.message))), `error at ${path}`)
}

/** The two places whose body carries the settings for the calling affiliate, plus the two admin ones. */
function everyPlace (app: FastifyInstance, offerId: number, affiliate: AffiliateJson) {
  return {
    adminOffer: (body: Record<string, unknown>) => postbackPlaces.adminOffer(app, offerId, affiliate.id, body),
    adminAffiliate: (body: Record<string, unknown>) => postbackPlaces.adminAffiliate(app, affiliate.id, { offer_id: offerId, ...body }),
    panelOffer: (body: Record<string, unknown>) => postbackPlaces.panelOffer(app, affiliate, offerId, body),
    panel: (body: Record<string, unknown>) => postbackPlaces.panel(app, affiliate, { offer_id: offerId, ...body }),
  }
}

t.test('url: malformed is 400 at /url, the same in every place', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const malformed = [
    'aff.example/pb', 'ftp://aff.example/pb', 'https://', 'https:///path', 'https://user@/pb', 'https://aff.example/p b', 'mailto:x@aff.example',
    '/relative/pb', 'https://{sub1}.example/pb', 'https://aff.example:{port}/pb', 'https://aff.example:99999/pb',
    `https://aff.example/${'x'.repeat(2048)}`, '',
  ]
  for (const [place, create] of Object.entries(everyPlace(app, offer.id, a))) {
    for (const url of malformed) {
      t.test(`${place}: ${url.slice(0, 40)}`, async (t) => problem(t, await create({ url }), 400, '/url'))
    }
    problem(t, await create({}), 400, '/url', /required/)
    problem(t, await create({ url: 42 }), 400, '/url')
  }
  // Up to 2,048 characters is fine, and macros anywhere after the host.
  const long = `https://aff.example/${'x'.repeat(2048 - 'https://aff.example/'.length)}`
  t.equal(long.length, 2048)
  t.equal(createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url: long })).url, long)
  const macros = 'HTTPS://Aff.Example:8443/{goal}/pb?c={sub1}&t={transactionid}#{rand}'
  t.equal(createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url: macros })).url, macros, 'stored verbatim')
})

t.test('url pointing at this service itself is 422: PUBLIC_URL origin and tracking-domain hosts', async (t) => {
  const { app } = await build(t, { env: { PUBLIC_URL: 'https://tracker.example:8443/base' } })
  const { offer, a } = await twoOffersScene(app)
  const domain = await createTrackingDomain(app, { hostname: 'trk.example.net' })
  t.equal(domain.hostname, 'trk.example.net')
  const self = [
    'https://tracker.example:8443/postback?clickid={sub1}', 'HTTPS://Tracker.Example:8443/other', 'https://tracker.example.:8443/x',
    'http://trk.example.net/postback?clickid=1', 'https://TRK.example.NET:444/anything', 'https://trk.example.net./x',
  ]
  for (const create of Object.values(everyPlace(app, offer.id, a))) {
    for (const url of self) problem(t, await create({ url }), 422, '/url', /this service/)
  }
  // Another port or scheme than PUBLIC_URL's is another origin; other subdomains are other hosts.
  for (const url of ['https://tracker.example/pb', 'http://tracker.example:8443/pb', 'https://sub.trk.example.net/pb']) {
    t.equal((await postbackPlaces.adminAffiliate(app, a.id, { url })).statusCode, 201, url)
  }
  const postback = createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url: 'https://aff.example/pb' }))
  const patched = await inject(app, { method: 'PATCH', url: `/v1/postbacks/${postback.id}`, payload: { url: 'http://trk.example.net/x' } })
  problem(t, patched, 422, '/url')
})

t.test('default PUBLIC_URL: http://localhost:3000 is refused, its default-port twin is not', async (t) => {
  const { app } = await build(t)
  const { a } = await twoOffersScene(app)
  problem(t, await postbackPlaces.adminAffiliate(app, a.id, { url: 'http://localhost:3000/postback' }), 422, '/url')
  t.equal((await postbackPlaces.adminAffiliate(app, a.id, { url: 'http://localhost/postback' })).statusCode, 201)
})

t.test('goal: only on local postbacks, and one of the offer\'s goals', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  for (const [place, create] of Object.entries(everyPlace(app, offer.id, a))) {
    problem(t, await create({ url: 'https://aff.example/pb', goal: 'refund' }), 422, '/goal', /not a goal of offer/)
    t.equal(createdPostback(await create({ url: 'https://aff.example/pb', goal: 'LEAD' })).goal, 'lead', `${place}: canonical spelling`)
    problem(t, await create({ url: 'https://aff.example/pb', goal: '' }), 400, '/goal')
  }
  problem(t, await postbackPlaces.adminAffiliate(app, a.id, { url: 'https://aff.example/pb', goal: 'Sale' }), 422, '/goal', /only allowed on a local/)
  problem(t, await postbackPlaces.panel(app, a, { url: 'https://aff.example/pb', goal: 'Sale' }), 422, '/goal')
  t.equal(createdPostback(await postbackPlaces.panel(app, a, { url: 'https://aff.example/pb', goal: null })).goal, null)
})

t.test('force_global: only on global postbacks', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  for (const create of Object.values(everyPlace(app, offer.id, a))) {
    problem(t, await create({ url: 'https://aff.example/pb', force_global: true }), 422, '/force_global')
    t.equal(createdPostback(await create({ url: 'https://aff.example/pb', force_global: false })).force_global, false)
  }
  t.equal(createdPostback(await postbackPlaces.adminAffiliate(app, a.id, { url: 'https://aff.example/pb', force_global: true })).force_global, true)
})

t.test('several rule violations are reported together', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const res = await postbackPlaces.adminOffer(app, offer.id, a.id, { url: 'http://localhost:3000/pb', goal: 'nope', force_global: true })
  problem(t, res, 422)
  t.same(res.json().errors.map((e: { path: string }) => e.path).sort(), ['/force_global', '/goal', '/url'])
})

t.test('enums and unknown fields are 400', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const url = 'https://aff.example/pb'
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, method: 'PUT' }), 400, '/method')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, method: 'get' }), 400, '/method')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, status: 'confirmed' }), 400, '/status')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, integration_method: 'any' }), 400, '/integration_method')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, force_global: 'true' }), 400, '/force_global')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, offer_id: offer.id }), 400, '/offer_id', /not an allowed field/)
  problem(t, await postbackPlaces.adminAffiliate(app, a.id, { url, affiliate_id: a.id }), 400, '/affiliate_id', /not an allowed field/)
  problem(t, await postbackPlaces.panelOffer(app, a, offer.id, { url, offer_id: offer.id }), 400, '/offer_id')
  problem(t, await postbackPlaces.panel(app, a, { url, affiliate_id: a.id }), 400, '/affiliate_id')
  problem(t, await postbackPlaces.adminAffiliate(app, a.id, { url, offer_id: '1' }), 400, '/offer_id')
  problem(t, await postbackPlaces.adminOffer(app, offer.id, a.id, { url, scope: 'global' }), 400, '/scope')
})

t.test('unknown ids: 404 in the path, 422 in the body', async (t) => {
  const { app } = await build(t)
  const { offer, a } = await twoOffersScene(app)
  const url = 'https://aff.example/pb'
  problem(t, await postbackPlaces.adminOffer(app, 999999, a.id, { url }), 404)
  problem(t, await postbackPlaces.adminOffer(app, offer.id, 999999, { url }), 422, '/affiliate_id')
  problem(t, await postbackPlaces.adminAffiliate(app, 999999, { url }), 404)
  problem(t, await postbackPlaces.adminAffiliate(app, a.id, { url, offer_id: 999999 }), 422, '/offer_id')
  problem(t, await postbackPlaces.panelOffer(app, a, 999999, { url }), 404)
  problem(t, await postbackPlaces.panel(app, a, { url, offer_id: 999999 }), 422, '/offer_id')
  problem(t, await inject(app, { method: 'GET', url: '/v1/postbacks/999999' }), 404)
  problem(t, await inject(app, { method: 'PATCH', url: '/v1/postbacks/999999', payload: { url } }), 404)
  problem(t, await inject(app, { method: 'DELETE', url: '/v1/postbacks/999999' }), 404)
  problem(t, await inject(app, { method: 'DELETE', url: '/v1/affiliates/999999/postbacks' }), 404)
  problem(t, await inject(app, { method: 'GET', url: '/v1/postbacks/abc' }), 400, '/id')
  // A path id wins over a body problem of the same request.
  problem(t, await postbackPlaces.adminOffer(app, 999999, 999998, { url, goal: 'x' }), 404)
})

t.test('panel: a local postback only on an active offer; the admin may use any offer', async (t) => {
  const { app } = await build(t)
  const { offer, other, a } = await twoOffersScene(app)
  const url = 'https://aff.example/pb'
  const mine = createdPostback(await postbackPlaces.panelOffer(app, a, other.id, { url }))
  for (const status of ['paused', 'stopped']) {
    t.equal((await inject(app, { method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { status } })).statusCode, 200)
    problem(t, await postbackPlaces.panelOffer(app, a, offer.id, { url }), 404)
    problem(t, await app.inject({ method: 'GET', url: `/v1/affiliate/offers/${offer.id}/postbacks`, headers: asAffiliate(a) }), 404)
    problem(t, await postbackPlaces.panel(app, a, { url, offer_id: offer.id }), 422, '/offer_id', /active/)
    problem(t, await app.inject({
      method: 'PATCH', url: `/v1/affiliate/postbacks/${mine.id}`, headers: asAffiliate(a), payload: { offer_id: offer.id },
    }), 422, '/offer_id')
    t.equal((await postbackPlaces.adminOffer(app, offer.id, a.id, { url })).statusCode, 201, `admin on a ${status} offer`)
  }
  // A postback already on an offer paused since stays editable in the panel.
  await inject(app, { method: 'PATCH', url: `/v1/offers/${other.id}`, payload: { status: 'paused' } })
  const edited = await app.inject({ method: 'PATCH', url: `/v1/affiliate/postbacks/${mine.id}`, headers: asAffiliate(a), payload: { status: 'approved' } })
  t.equal(edited.statusCode, 200)
  t.equal(edited.json().status, 'approved')
})
