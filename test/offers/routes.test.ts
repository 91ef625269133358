import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { collectIds, createAdvertiser, createAffiliate, createOffer, createTrackingDomain, mergePatch } from '../helpers/fixtures.js'
import { insertClickRow, insertConversionRow, insertPostbackRow, insertTrackingLinkRow } from '../helpers/seeds.js'

const DEFAULT_GOAL = { value: '1', title: 'Default', type: 'fixed', revenue: 0, payout: 0 }

t.test('offers: create with defaults, read, patch, delete', async (t) => {
  const { app } = await build(t)
  const advertiser = await createAdvertiser(app)
  const created = await inject(app, {
    method: 'POST',
    url: '/v1/offers',
    payload: { advertiser_id: advertiser.id, title: 'Summer sale', url: 'https://adv.example/land?c={clickid}' },
  })
  t.equal(created.statusCode, 201)
  const offer = created.json()
  t.same(Object.keys(offer).sort(), [
    'advertiser_id', 'advertiser_postback_url', 'allow_duplicate_conversions', 'caps', 'click_session', 'created_at', 'currency',
    'default_conversion_status', 'goals', 'hold_period_days', 'id', 'probabilistic_attribution', 'secure_code', 'status',
    'title', 'tracking_domain_id', 'trafficback_url', 'updated_at', 'url',
  ])
  t.match(offer, {
    id: Number,
    advertiser_id: advertiser.id,
    title: 'Summer sale',
    url: 'https://adv.example/land?c={clickid}',
    trafficback_url: null,
    status: 'active',
    tracking_domain_id: null,
    currency: 'USD',
    default_conversion_status: 'pending',
    allow_duplicate_conversions: false,
    probabilistic_attribution: false,
    secure_code: null,
    hold_period_days: 0,
  })
  t.same(offer.goals, [DEFAULT_GOAL], 'an offer without goals gets the default goal')
  t.match(offer.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const read = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })
  t.equal(read.statusCode, 200)
  t.same(read.json(), offer)

  const patched = await mergePatch(app, `/v1/offers/${offer.id}`, { status: 'paused', hold_period_days: 30, currency: 'EUR' })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { title: 'Summer sale', status: 'paused', hold_period_days: 30, currency: 'EUR', goals: [DEFAULT_GOAL] })
  t.ok(Date.parse(patched.json().updated_at) >= Date.parse(offer.updated_at))

  t.equal((await inject(app, { method: 'DELETE', url: `/v1/offers/${offer.id}` })).statusCode, 204)
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).statusCode, 404)
  t.equal((await inject(app, { method: 'DELETE', url: `/v1/offers/${offer.id}` })).statusCode, 404)
  t.equal((await mergePatch(app, `/v1/offers/${offer.id}`, { title: 'x' })).statusCode, 404)
  t.equal(await app.db.selectFrom('offer_goals').select('value').where('offer_id', '=', offer.id).executeTakeFirst(), undefined)
})

t.test('offers: every field on create; url stored verbatim', async (t) => {
  const { app } = await build(t)
  const domain = await createTrackingDomain(app)
  const url = 'HTTPS://Adv.Example:8443/{clickid}/path/../x?a={sub1}&b=%7Bz%7D&c=1&c=2#frag'
  const offer = await createOffer(app, {
    url,
    trafficback_url: 'http://fallback.example/tb',
    status: 'paused',
    tracking_domain_id: domain.id,
    currency: 'EUR',
    default_conversion_status: 'hold',
    allow_duplicate_conversions: true,
    probabilistic_attribution: true,
    secure_code: 'offer-code',
    hold_period_days: 3650,
    goals: [
      { value: 'sale', title: 'Sale', type: 'percent', revenue: 12.5, payout: 10 },
      { value: 'Lead_2-x', type: 'fixed', revenue: 3, payout: 1.25 },
      { value: 'install' },
    ],
  })
  t.equal(offer.url, url, 'the URL is never normalised')
  t.match(offer, {
    trafficback_url: 'http://fallback.example/tb',
    status: 'paused',
    tracking_domain_id: domain.id,
    currency: 'EUR',
    default_conversion_status: 'hold',
    allow_duplicate_conversions: true,
    probabilistic_attribution: true,
    secure_code: 'offer-code',
    hold_period_days: 3650,
  })
  t.same(offer.goals, [
    { value: 'sale', title: 'Sale', type: 'percent', revenue: 12.5, payout: 10 },
    { value: 'Lead_2-x', title: 'Lead_2-x', type: 'fixed', revenue: 3, payout: 1.25 },
    { value: 'install', title: 'install', type: 'fixed', revenue: 0, payout: 0 },
  ], 'goals keep their order; a left-out title is the value, type fixed, amounts 0')
  const stored = await app.db.selectFrom('offers').select('url').where('id', '=', offer.id).executeTakeFirstOrThrow()
  t.equal(stored.url, url)
})

t.test('offers: bad input is 400 with a JSON Pointer, unknown references 422', async (t) => {
  const { app } = await build(t)
  const advertiser = await createAdvertiser(app)
  const base = { advertiser_id: advertiser.id, title: 'T', url: 'https://adv.example/' }
  const post = (extra: Record<string, unknown>) => inject(app, { method: 'POST', url: '/v1/offers', payload: { ...base, ...extra } })
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['missing title', { title: undefined }, 400, '/title'],
    ['empty title', { title: '' }, 400, '/title'],
    ['ftp url', { url: 'ftp://adv.example/' }, 400, '/url'],
    ['url without host', { url: 'https:///path' }, 400, '/url'],
    ['relative trafficback', { trafficback_url: '/tb' }, 400, '/trafficback_url'],
    ['lowercase currency', { currency: 'usd' }, 400, '/currency'],
    ['no such currency', { currency: 'XYZ' }, 400, '/currency'],
    ['4-letter currency', { currency: 'USDT' }, 400, '/currency'],
    ['declined default status', { default_conversion_status: 'declined' }, 400, '/default_conversion_status'],
    ['unknown status', { status: 'archived' }, 400, '/status'],
    ['negative hold', { hold_period_days: -1 }, 400, '/hold_period_days'],
    ['hold too long', { hold_period_days: 3651 }, 400, '/hold_period_days'],
    ['fractional hold', { hold_period_days: 1.5 }, 400, '/hold_period_days'],
    ['empty secure code', { secure_code: '' }, 400, '/secure_code'],
    ['unknown field', { colour: 'red' }, 400, '/colour'],
    ['string advertiser id', { advertiser_id: String(advertiser.id) }, 400, '/advertiser_id'],
    ['bad goal value', { goals: [{ value: 'a b' }] }, 400, '/goals/0/value'],
    ['goal value 0', { goals: [{ value: '0' }] }, 400, '/goals/0/value'],
    ['goal value too long', { goals: [{ value: 'g'.repeat(65) }] }, 400, '/goals/0/value'],
    ['goal type', { goals: [{ value: 'a', type: 'mixed' }] }, 400, '/goals/0/type'],
    ['goal unknown field', { goals: [{ value: 'a', price: 1 }] }, 400, '/goals/0/price'],
    ['negative revenue', { goals: [{ value: 'a', revenue: -1 }] }, 400, '/goals/0/revenue'],
    ['string payout', { goals: [{ value: 'a', payout: '1.5' }] }, 400, '/goals/0/payout'],
    ['five decimals', { goals: [{ value: 'a' }, { value: 'b', revenue: 0.12345 }] }, 400, '/goals/1/revenue'],
    ['percent over 100', { goals: [{ value: 'a', type: 'percent', revenue: 50, payout: 100.01 }] }, 400, '/goals/0/payout'],
    ['101 goals', { goals: Array.from({ length: 101 }, (_, i) => ({ value: `g${i}` })) }, 400, '/goals'],
    ['duplicate goal ignoring case', { goals: [{ value: 'Sale' }, { value: 'lead' }, { value: 'SALE' }] }, 422, '/goals/2/value'],
    ['unknown advertiser', { advertiser_id: 999999 }, 422, '/advertiser_id'],
    ['unknown tracking domain', { tracking_domain_id: 999999 }, 422, '/tracking_domain_id'],
  ]
  for (const [name, extra, status, path] of cases) {
    const res = await post(extra)
    t.equal(res.statusCode, status, `${name}: status`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`)
    t.equal(res.json().errors?.[0]?.path, path, `${name}: path`)
  }
  t.equal((await inject(app, { method: 'GET', url: '/v1/offers' })).json().data.length, 0, 'nothing was created')

  const hundred = await post({ goals: Array.from({ length: 100 }, (_, i) => ({ value: `g${i}` })) })
  t.equal(hundred.statusCode, 201, '100 goals are fine')
  const percent100 = await post({ goals: [{ value: 'a', type: 'percent', revenue: 100, payout: 100 }] })
  t.equal(percent100.statusCode, 201, '100 percent is fine')
  const big = await post({ goals: [{ value: 'a', revenue: 1000000000, payout: 999.9999 }] })
  t.equal(big.statusCode, 201, 'a fixed amount may exceed 100')
  t.same(big.json().goals[0], { value: 'a', title: 'a', type: 'fixed', revenue: 1000000000, payout: 999.9999 })
})

t.test('offers: list filters and pagination', async (t) => {
  const { app } = await build(t)
  const a1 = await createAdvertiser(app)
  const a2 = await createAdvertiser(app)
  const ids: number[] = []
  for (let i = 0; i < 6; i++) {
    ids.push((await createOffer(app, { advertiser_id: i % 2 === 0 ? a1.id : a2.id, status: i < 4 ? 'active' : 'stopped' })).id)
  }
  t.same(await collectIds(app, '/v1/offers?limit=4'), [...ids].reverse())
  t.same(await collectIds(app, '/v1/offers?limit=1&status=stopped'), [ids[5], ids[4]])
  t.same(await collectIds(app, `/v1/offers?advertiser_id=${a2.id}`), [ids[5], ids[3], ids[1]])
  t.same(await collectIds(app, `/v1/offers?advertiser_id=${a2.id}&status=active`), [ids[3], ids[1]])
  const page = (await inject(app, { method: 'GET', url: '/v1/offers?limit=2' })).json()
  t.equal(page.data.length, 2)
  t.same(page.data[0].goals, [DEFAULT_GOAL], 'list items carry their goals')
  t.type(page.data[0].advertiser_postback_url, 'string')

  const badQueries: [string, string][] = [['status=paused2', '/status'], ['advertiser_id=x', '/advertiser_id'], ['limit=0', '/limit'], ['title=x', '/title']]
  for (const [query, path] of badQueries) {
    const res = await inject(app, { method: 'GET', url: `/v1/offers?${query}` })
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().errors[0].path, path)
  }
})

t.test('offers: merge patch clears nullable fields with null and checks references', async (t) => {
  const { app } = await build(t)
  const domain = await createTrackingDomain(app)
  const offer = await createOffer(app, {
    trafficback_url: 'https://tb.example/',
    secure_code: 'abc',
    tracking_domain_id: domain.id,
    goals: [{ value: 'sale', revenue: 5, payout: 2 }],
  })
  const cleared = await mergePatch(app, `/v1/offers/${offer.id}`, { trafficback_url: null, secure_code: null, tracking_domain_id: null })
  t.equal(cleared.statusCode, 200)
  t.match(cleared.json(), { trafficback_url: null, secure_code: null, tracking_domain_id: null, title: 'Test offer' })
  t.same(cleared.json().goals, offer.goals, 'goals left out stay')

  const cases: [string, unknown, number, string | undefined][] = [
    ['null title', { title: null }, 400, '/title'],
    ['null goals', { goals: null }, 400, '/goals'],
    ['empty goals', { goals: [] }, 400, '/goals'],
    ['null status', { status: null }, 400, '/status'],
    ['unknown field', { goal: 'x' }, 400, '/goal'],
    ['unknown advertiser', { advertiser_id: 999999 }, 422, '/advertiser_id'],
    ['unknown domain', { tracking_domain_id: 999999 }, 422, '/tracking_domain_id'],
    ['duplicate goals', { goals: [{ value: 'a' }, { value: 'A' }] }, 422, '/goals/1/value'],
  ]
  for (const [name, patch, status, path] of cases) {
    const res = await mergePatch(app, `/v1/offers/${offer.id}`, patch)
    t.equal(res.statusCode, status, name)
    t.equal(res.json().errors?.[0]?.path, path, `${name}: path`)
  }
  const other = await createAdvertiser(app)
  const moved = await mergePatch(app, `/v1/offers/${offer.id}`, { advertiser_id: other.id, tracking_domain_id: domain.id })
  t.equal(moved.statusCode, 200)
  t.match(moved.json(), { advertiser_id: other.id, tracking_domain_id: domain.id })
  const plainJson = await inject(app, { method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { title: 'Plain JSON works too' } })
  t.equal(plainJson.statusCode, 200)
  t.equal(plainJson.json().title, 'Plain JSON works too')
})

t.test('offers: delete refused while tracking links, conversions, postbacks or clicks refer to it', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const refer: Record<string, (offerId: number) => Promise<unknown>> = {
    'tracking links': (offerId) => insertTrackingLinkRow(app, { offer_id: offerId, affiliate_id: affiliate.id }),
    postbacks: (offerId) => insertPostbackRow(app, { affiliate_id: affiliate.id, offer_id: offerId }),
    conversions: (offerId) => insertConversionRow(app, { offer_id: offerId, affiliate_id: affiliate.id }),
    clicks: (offerId) => insertClickRow(app, { offer_id: offerId, affiliate_id: affiliate.id }),
  }
  for (const [what, make] of Object.entries(refer)) {
    const offer = await createOffer(app)
    await make(offer.id)
    const res = await inject(app, { method: 'DELETE', url: `/v1/offers/${offer.id}` })
    t.equal(res.statusCode, 409, what)
    t.match(res.json().detail, what)
    t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).statusCode, 200)
  }
})
