import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { advertiserPostback, asAffiliate, click, createAffiliate, createOffer } from '../helpers/fixtures.js'

t.test('GET /v1/offers/{id}/caps: used, remaining and the current period; the panel shows the caps that apply, with remaining', async (t) => {
  let now = new Date('2026-12-05T12:00:00Z')
  const { app } = await build(t, { clock: () => now })
  const [a, b] = [await createAffiliate(app), await createAffiliate(app)]
  const offer = await createOffer(app, {
    goals: [{ value: '1', payout: 2.5 }],
    caps: [
      { metric: 'conversions', period: 'day', limit: 10 },
      { metric: 'payout', period: 'month', limit: 100 },
      { metric: 'conversions', period: 'week', limit: 3, per_affiliate: true },
      { metric: 'conversions', period: 'total', limit: 5, affiliate_id: b.id },
      { metric: 'clicks', period: 'day', limit: 1000 },
    ],
  })
  const clickA = await click(app, offer.id, a.id)
  const clickB = await click(app, offer.id, b.id)
  for (const [clickid, n] of [[clickA, 2], [clickB, 1]] as const) {
    for (let i = 0; i < n; i++) t.equal((await advertiserPostback(app, { clickid, action_id: `${clickid}-${i}` })).statusCode, 200)
  }

  const res = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps` })
  t.equal(res.statusCode, 200)
  const [day, month, week, single, clicks] = res.json().data
  t.match(day, { metric: 'conversions', period: 'day', limit: 10, used: 3, remaining: 7, period_start: '2026-12-05T00:00:00.000Z', period_end: '2026-12-06T00:00:00.000Z' })
  t.match(month, { metric: 'payout', used: 7.5, remaining: 92.5, period_start: '2026-12-01T00:00:00.000Z', period_end: '2027-01-01T00:00:00.000Z' })
  t.match(week, { per_affiliate: true, used: 2, remaining: 1, period_start: '2026-11-30T00:00:00.000Z', period_end: '2026-12-07T00:00:00.000Z' })
  t.same(week.by_affiliate, [{ affiliate_id: a.id, used: 2, remaining: 1 }, { affiliate_id: b.id, used: 1, remaining: 2 }].sort((x, y) => x.affiliate_id - y.affiliate_id))
  t.match(single, { affiliate_id: b.id, used: 1, remaining: 4, period_start: '1970-01-01T00:00:00.000Z', period_end: null })
  t.match(clicks, { metric: 'clicks', limit: 1000, period_end: '2026-12-06T00:00:00.000Z' })

  const forB = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps?affiliate_id=${b.id}` })
  t.match(forB.json().data[2], { used: 1, remaining: 2 }, 'a per-affiliate cap for one affiliate')
  t.equal((await inject(app, { method: 'GET', url: '/v1/offers/999999/caps' })).statusCode, 404)
  // A list like every other (§1): limit and cursor page it, in the offer's order; a time window is taken and selects nothing out.
  const first = (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps?limit=2&created_from=2026-01-01` })).json()
  t.equal(first.data.length, 2)
  t.type(first.next_cursor, 'string')
  const rest = (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps?limit=3&cursor=${first.next_cursor}` })).json()
  t.same([...first.data, ...rest.data].map((cap: { metric: string; period: string }) => `${cap.metric}/${cap.period}`),
    res.json().data.map((cap: { metric: string; period: string }) => `${cap.metric}/${cap.period}`), 'two pages hold every cap once, in order')
  t.equal(rest.next_cursor, null, 'the last page says so')
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps?cursor=garbage` })).statusCode, 400, 'a cursor not issued here')
  t.equal((await app.inject({ method: 'GET', url: `/v1/offers/${offer.id}/caps`, headers: asAffiliate(a) })).statusCode, 403)

  // The two clicks reach the shared count at the next sync (at most 250 ms away); not waiting for it.
  await app.clickCaps.sync()
  const panelA = await app.inject({ method: 'GET', url: `/v1/affiliate/offers/${offer.id}`, headers: asAffiliate(a) })
  t.equal(panelA.statusCode, 200)
  t.same(panelA.json().caps.map((cap: { metric: string; period: string; remaining: number }) => [cap.metric, cap.period, cap.remaining]),
    [['conversions', 'day', 7], ['payout', 'month', 92.5], ['conversions', 'week', 1], ['clicks', 'day', 998]],
    'a sees every affiliate\'s caps and its own per-affiliate remainder, not b\'s own cap')
  t.notOk('affiliate_id' in panelA.json().caps[0], 'no affiliate ids in the panel')
  const panelB = await app.inject({ method: 'GET', url: '/v1/affiliate/offers', headers: asAffiliate(b) })
  const seen = panelB.json().data.find((o: { id: number }) => o.id === offer.id)
  t.same(seen.caps.map((cap: { period: string; remaining: number }) => [cap.period, cap.remaining]),
    [['day', 7], ['month', 92.5], ['week', 2], ['total', 4], ['day', 998]], 'b sees its own cap too')

  now = new Date('2026-12-06T00:00:00Z')
  const nextDay = (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps` })).json().data
  t.match(nextDay[0], { used: 0, remaining: 10, period_start: '2026-12-06T00:00:00.000Z' }, 'a new day: counted afresh')
  t.match(nextDay[2], { used: 2 }, 'the same ISO week')
})
