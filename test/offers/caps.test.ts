import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { createAdvertiser, createAffiliate, createOffer, patchOffer } from '../helpers/fixtures.js'

t.test('offer caps and click session: create, read, merge-patch', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const plain = await createOffer(app)
  t.equal(plain.click_session, '365d', 'default click session')
  t.same(plain.caps, [], 'no caps by default')

  const offer = await createOffer(app, {
    click_session: '30d',
    goals: [{ value: 'sale', payout: 2 }, { value: 'lead' }],
    caps: [
      { metric: 'conversions', period: 'day', limit: 500 },
      { metric: 'payout', period: 'month', limit: 10000.5, goal: 'SALE' },
      { metric: 'clicks', period: 'week', limit: 1000, per_affiliate: true },
      { metric: 'conversions', period: 'total', limit: 50, affiliate_id: affiliate.id },
    ],
  })
  t.equal(offer.click_session, '30d')
  t.same(offer.caps, [
    { metric: 'conversions', period: 'day', limit: 500, per_affiliate: false, affiliate_id: null, goal: null },
    { metric: 'payout', period: 'month', limit: 10000.5, per_affiliate: false, affiliate_id: null, goal: 'SALE' },
    { metric: 'clicks', period: 'week', limit: 1000, per_affiliate: true, affiliate_id: null, goal: null },
    { metric: 'conversions', period: 'total', limit: 50, per_affiliate: false, affiliate_id: affiliate.id, goal: null },
  ])
  const read = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })
  t.same(read.json().caps, offer.caps, 'read back as written')

  const titled = await patchOffer(app, offer.id, { title: 'Renamed' })
  t.same(titled.caps, offer.caps, 'fields left out stay')
  t.equal(titled.click_session, '30d')
  const patched = await patchOffer(app, offer.id, { caps: [{ metric: 'clicks', period: 'day', limit: 10 }], click_session: '12h' })
  t.same(patched.caps, [{ metric: 'clicks', period: 'day', limit: 10, per_affiliate: false, affiliate_id: null, goal: null }], 'replaced whole')
  t.equal(patched.click_session, '12h')
  t.same((await patchOffer(app, offer.id, { caps: [] })).caps, [], 'an empty list removes them')
})

t.test('bad caps and click sessions: 400 or 422 naming the field, never a 500', async (t) => {
  const { app } = await build(t)
  const advertiser = await createAdvertiser(app)
  const other = await createOffer(app, { advertiser_id: advertiser.id, goals: [{ value: 'other-goal' }] })
  const affiliate = await createAffiliate(app)
  const base = { advertiser_id: advertiser.id, title: 'Capped', url: 'https://adv.example/?c={clickid}', goals: [{ value: 'sale' }] }
  const cap = { metric: 'conversions', period: 'day', limit: 5 }
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['negative limit', { caps: [{ ...cap, limit: -1 }] }, 400, '/caps/0/limit'],
    ['zero limit', { caps: [{ ...cap, limit: 0 }] }, 422, '/caps/0/limit'],
    ['fractional count', { caps: [{ ...cap, limit: 1.5 }] }, 400, '/caps/0/limit'],
    ['absurd count', { caps: [{ ...cap, limit: 5e9 }] }, 400, '/caps/0/limit'],
    ['absurd amount', { caps: [{ ...cap, metric: 'payout', limit: 1e15 }] }, 400, '/caps/0/limit'],
    ['five decimals', { caps: [{ ...cap, metric: 'payout', limit: 1.00001 }] }, 400, '/caps/0/limit'],
    ['limit as text', { caps: [{ ...cap, limit: '5' }] }, 400, '/caps/0/limit'],
    ['unknown metric', { caps: [{ ...cap, metric: 'installs' }] }, 400, '/caps/0/metric'],
    ['unknown period', { caps: [{ ...cap, period: 'year' }] }, 400, '/caps/0/period'],
    ['unknown field', { caps: [{ ...cap, country: 'DE' }] }, 400, '/caps/0'],
    ['missing limit', { caps: [{ metric: 'clicks', period: 'day' }] }, 400, '/caps/0'],
    ['21 caps', { caps: Array.from({ length: 21 }, () => cap) }, 400, '/caps'],
    ['another offer\'s goal', { caps: [{ ...cap, goal: 'other-goal' }] }, 422, '/caps/0/goal'],
    ['a goal on a clicks cap', { caps: [{ ...cap, metric: 'clicks', goal: 'sale' }] }, 422, '/caps/0/goal'],
    ['unknown affiliate', { caps: [cap, { ...cap, affiliate_id: 999999 }] }, 422, '/caps/1/affiliate_id'],
    ['per_affiliate and affiliate_id', { caps: [{ ...cap, per_affiliate: true, affiliate_id: affiliate.id }] }, 422, '/caps/0/affiliate_id'],
    ['click_session too short', { click_session: '0h' }, 400, '/click_session'],
    ['click_session too long', { click_session: '366d' }, 400, '/click_session'],
    ['click_session in years', { click_session: '1y' }, 400, '/click_session'],
    ['click_session as a number', { click_session: 30 }, 400, '/click_session'],
  ]
  t.ok(other.id)
  for (const [name, body, status, path] of cases) {
    const res = await inject(app, { method: 'POST', url: '/v1/offers', payload: { ...base, ...body } })
    t.equal(res.statusCode, status, `create, ${name}: ${res.body}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    const paths = (res.json().errors ?? []).map((e: { path: string }) => e.path)
    t.ok(paths.some((p: string) => p.startsWith(path)), `${name}: names ${path} (${JSON.stringify(paths)})`)
  }
  const offer = await createOffer(app, { advertiser_id: advertiser.id, goals: [{ value: 'sale' }] })
  for (const [name, body, status] of cases) {
    const res = await inject(app, {
      method: 'PATCH', url: `/v1/offers/${offer.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body),
    })
    t.equal(res.statusCode, status, `patch, ${name}`)
  }
  await patchOffer(app, offer.id, { caps: [{ ...cap, goal: 'sale' }] })
  const dropGoal = await inject(app, {
    method: 'PATCH', url: `/v1/offers/${offer.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ goals: [{ value: 'lead' }] }),
  })
  t.equal(dropGoal.statusCode, 409, 'removing a goal a cap names is a conflict')
  const both = await patchOffer(app, offer.id, { goals: [{ value: 'lead' }], caps: [{ ...cap, goal: 'lead' }] })
  t.equal((both.caps as { goal: string }[])[0]?.goal, 'lead', 'goals and caps replaced together')

  await patchOffer(app, offer.id, { caps: [{ ...cap, affiliate_id: affiliate.id }] })
  const del = await inject(app, { method: 'DELETE', url: `/v1/affiliates/${affiliate.id}` })
  t.equal(del.statusCode, 409, 'an affiliate a cap names is not deleted')
})
