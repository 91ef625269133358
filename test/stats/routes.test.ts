import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { advertiserPostback, asAffiliate, click, createAffiliate, createOffer, patchConversion } from '../helpers/fixtures.js'
import { problemViolation } from '../helpers/problem-check.js'

type Row = Record<string, unknown>
function expectProblem (t: Test, res: LightMyRequestResponse, status: number, what: string) {
  t.equal(res.statusCode, status, `${what}: ${res.body}`)
  t.equal(problemViolation({ status: res.statusCode, headers: res.headers, body: res.body }, 'GET'), null, what)
}

interface Report { data: Row[]; next_cursor: string | null; totals: Row[]; as_of: string; from: string; to: string; timezone: string }

t.test('the report counts clicks and conversions by status, exactly, and the panel sees only its own', async (t) => {
  const { app } = await build(t)
  const usd = await createOffer(app, {
    currency: 'USD',
    default_conversion_status: 'pending',
    goals: [
      { value: '1', title: 'Sale', type: 'fixed', revenue: 10.1, payout: 6.05 },
      { value: 'lead', title: 'Lead', type: 'fixed', revenue: 0.2, payout: 0.1 },
    ]
  })
  const eur = await createOffer(app, { currency: 'EUR', goals: [{ value: '1', title: 'Sale', type: 'percent', revenue: 10, payout: 5 }] })
  const mine = await createAffiliate(app)
  const theirs = await createAffiliate(app)
  const c1 = await click(app, usd.id, mine.id, { sub1: 'a' })
  const c2 = await click(app, usd.id, mine.id, { sub1: 'b' })
  await click(app, usd.id, mine.id)
  const c4 = await click(app, eur.id, theirs.id)
  await app.clickRecorder.flush()

  const ok = async (params: Record<string, string | number>) => {
    const res = await advertiserPostback(app, params)
    t.equal(res.statusCode, 200, JSON.stringify(params))
    return res.json() as { conversion_id: number }
  }
  await ok({ clickid: c1, action_id: 'o1', status: 1 })
  const pending = await ok({ clickid: c1, action_id: 'o2' })
  await ok({ clickid: c2, action_id: 'o3', status: 3 })
  await ok({ clickid: c2, action_id: 'o4', goal: 'lead', status: 5 })
  await ok({ clickid: c1, action_id: 'o1' }) // a duplicate: counts once
  t.equal((await advertiserPostback(app, { clickid: c1, action_id: 'o5', goal: 'nope' })).statusCode, 422, 'a rejected postback')
  await ok({ clickid: c4, action_id: 'e1', sum: '99.99', status: 1 })
  await ok({ clickid: c4, action_id: 'e2', sum: '0.03', status: 2 })

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await inject(app, { method: 'GET', url, headers })
    t.equal(res.statusCode, 200, `${url}: ${res.body}`)
    return res.json() as Report
  }
  let report = await get('/v1/stats?group_by=offer')
  t.same(report.data, [
    {
      offer_id: usd.id,
      currency: 'USD',
      clicks: 3,
      conversions: 4,
      approved: 1,
      pending: 1,
      declined: 1,
      hold: 1,
      revenue: 10.1,
      payout: 6.05,
      pending_revenue: 10.3,
      pending_payout: 6.15,
      profit: 4.05,
      cr: 100,
      epc: 2.0167,
    },
    {
      offer_id: eur.id,
      currency: 'EUR',
      clicks: 1,
      conversions: 2,
      approved: 1,
      pending: 1,
      declined: 0,
      hold: 0,
      revenue: 9.999,
      payout: 4.9995,
      pending_revenue: 0.003,
      pending_payout: 0.0015,
      profit: 4.9995,
      cr: 200,
      epc: 4.9995,
    },
  ])
  t.same(report.totals.map((row) => [row.currency, row.clicks, row.payout]), [['EUR', 1, 4.9995], ['USD', 3, 6.05]])
  t.equal(report.timezone, 'UTC')

  // A status change moves the conversion between columns, in the same period.
  await patchConversion(app, pending.conversion_id, { status: 'approved' })
  report = await get(`/v1/stats?group_by=offer&offer_id=${usd.id}`)
  t.match(report.data[0], { approved: 2, pending: 0, revenue: 20.2, payout: 12.1, pending_revenue: 0.2, pending_payout: 0.1 })

  report = await get('/v1/stats?group_by=goal,affiliate&sort=-conversions')
  t.same(report.data.map((row) => [row.goal, row.affiliate_id, row.conversions, row.clicks, row.cr]), [
    ['1', mine.id, 3, null, null], ['1', theirs.id, 2, null, null], ['lead', mine.id, 1, null, null],
  ])
  report = await get(`/v1/stats?group_by=sub1&offer_id=${usd.id}`)
  t.same(report.data.map((row) => [row.sub1, row.clicks, row.conversions]), [['', 1, 0], ['a', 1, 2], ['b', 1, 2]])
  report = await get(`/v1/stats?group_by=offer&sub1=a&advertiser_id=${usd.advertiser_id}`)
  t.same(report.data.map((row) => [row.offer_id, row.clicks, row.conversions]), [[usd.id, 1, 2]])

  // The panel: own traffic only, no revenue or profit.
  const panel = asAffiliate(mine)
  report = await get('/v1/affiliate/stats?group_by=offer', panel)
  t.equal(report.data.length, 1)
  t.same(Object.keys(report.data[0] as Row).sort(), [
    'approved', 'clicks', 'conversions', 'cr', 'currency', 'declined', 'epc', 'hold', 'offer_id', 'payout', 'pending', 'pending_payout',
  ])
  t.same(Object.keys(report.totals[0] as Row).sort(), [
    'approved', 'clicks', 'conversions', 'cr', 'currency', 'declined', 'epc', 'hold', 'payout', 'pending', 'pending_payout',
  ])
  t.same((await get(`/v1/affiliate/stats?offer_id=${eur.id}`, panel)).data, [], 'another affiliate\'s offer: no rows')
  t.same((await get(`/v1/affiliate/stats?affiliate_id=${theirs.id}`, panel)).data, [], 'another affiliate\'s id: no rows')
  t.same((await get('/v1/affiliate/stats', asAffiliate(theirs))).data.map((row) => row.clicks), [1])
  for (const url of ['/v1/affiliate/stats?group_by=affiliate', '/v1/affiliate/stats?group_by=advertiser', '/v1/affiliate/stats?sort=revenue', '/v1/affiliate/stats?sort=-profit']) {
    const res = await app.inject({ method: 'GET', url, headers: panel })
    expectProblem(t, res, 400, url)
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/stats', headers: panel })).statusCode, 403)
  t.equal((await inject(app, { method: 'GET', url: '/v1/affiliate/stats' })).statusCode, 403)
})

t.test('CSV: the same rows, all of them, with a header', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { currency: 'USD', goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 2.5, payout: 1.25 }] })
  const affiliate = await createAffiliate(app)
  const c = await click(app, offer.id, affiliate.id, { sub1: 'x,"y"' })
  await click(app, offer.id, affiliate.id, { sub1: 'plain' })
  await app.clickRecorder.flush()
  t.equal((await advertiserPostback(app, { clickid: c, action_id: 'a', status: 1 })).statusCode, 200)
  const res = await inject(app, { method: 'GET', url: '/v1/stats?group_by=sub1&limit=1', headers: { accept: 'text/csv' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv/)
  t.equal(res.body,
    'sub1,currency,clicks,conversions,approved,pending,declined,hold,revenue,payout,pending_revenue,pending_payout,profit,cr,epc\r\n' +
    'plain,USD,1,0,0,0,0,0,0,0,0,0,0,0,0\r\n' +
    '"x,""y""",USD,1,1,1,0,0,0,2.5,1.25,0,0,1.25,100,1.25\r\n')
  const panel = await app.inject({ method: 'GET', url: '/v1/affiliate/stats?group_by=offer', headers: { ...asAffiliate(affiliate), accept: 'text/csv' } })
  t.equal(panel.body.split('\r\n')[0], 'offer_id,currency,clicks,conversions,approved,pending,declined,hold,payout,pending_payout,cr,epc')
  const json = await inject(app, { method: 'GET', url: '/v1/stats', headers: { accept: 'application/json, text/csv' } })
  t.match(json.headers['content-type'], /^application\/json/)
})

t.test('pages: the cursor walks the sorted result once', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const offers = []
  for (let i = 0; i < 5; i++) offers.push(await createOffer(app))
  for (const [i, offer] of offers.entries()) for (let n = 0; n <= i; n++) await click(app, offer.id, affiliate.id)
  await app.clickRecorder.flush()
  const seen: unknown[] = []
  let cursor: string | null = null
  do {
    const res = await inject(app, { method: 'GET', url: `/v1/stats?group_by=offer&sort=-clicks&limit=2${cursor === null ? '' : `&cursor=${cursor}`}` })
    const page = res.json() as Report
    t.same(page.totals.map((row) => row.clicks), [15], 'totals cover the whole result on every page')
    seen.push(...page.data.map((row) => row.clicks))
    cursor = page.next_cursor
  } while (cursor !== null)
  t.same(seen, [5, 4, 3, 2, 1])
})

t.test('fresh: a click and a conversion show within 2 s', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  const started = Date.now()
  const c = await click(app, offer.id, affiliate.id)
  await eventually(async () => {
    const res = await inject(app, { method: 'GET', url: '/v1/stats' })
    return (res.json() as Report).data[0]?.clicks === 1
  }, 2000, 'the click in the report')
  t.ok(Date.now() - started < 2000)
  t.equal((await advertiserPostback(app, { clickid: c, action_id: 'a' })).statusCode, 200)
  const res = await inject(app, { method: 'GET', url: '/v1/stats' })
  t.equal((res.json() as Report).data[0]?.conversions, 1, 'a conversion counts as soon as its postback is answered')
})

t.test('bad input: clear problems, never a 500', async (t) => {
  const { app } = await build(t)
  const cases: [string, number][] = [
    ['timezone=Mars/Olympus', 400],
    ['timezone=%2B05:30', 400],
    ['from=2026-11-30&to=2026-11-01', 422],
    ['from=2025-01-01&to=2026-12-31', 422],
    ['from=2026-02-30', 400],
    ['from=yesterday', 400],
    ['from=2026-11-30T25:00:00Z', 400],
    ['group_by=colour', 400],
    ['group_by=day,offer,affiliate,goal', 400],
    ['group_by=day,day', 400],
    ['group_by=day,day', 400],
    ['group_by=', 400],
    ['sort=colour', 400],
    ['sort=offer_id', 400],
    ['sort=--clicks', 400],
    ['offer_id=abc', 400],
    ['offer_id=99999999999', 400],
    ['offer_id=1,,2', 400],
    ['limit=0', 400],
    ['limit=1001', 400],
    ['cursor=junk', 400],
    ['cursor=WyJ4Il0', 400],
    ['colour=red', 400],
  ]
  for (const [query, status] of cases) {
    const res = await inject(app, { method: 'GET', url: `/v1/stats?${query}` })
    expectProblem(t, res, status, query)
  }
  for (const query of ['sub1=%00', 'goal=a%00b', 'sub2=%FF', 'goal=%F0%9F%98%80', 'group_by=sub1&sub1=%E2%80%AE']) {
    const res = await inject(app, { method: 'GET', url: `/v1/stats?${query}` })
    t.ok(res.statusCode === 200 || res.statusCode === 400, `${query}: ${res.statusCode} ${res.body}`)
    t.equal(problemViolation({ status: res.statusCode, headers: res.headers, body: res.body }, 'GET'), null, query)
  }
  for (const query of ['from=2025-11-27&to=2026-12-31', 'from=2026-11-30T10:00:00%2B05:30&to=2026-11-30T10:00:00%2B05:30', 'timezone=Asia/Kathmandu&group_by=hour', 'sort=-epc,offer&group_by=offer']) {
    t.equal((await inject(app, { method: 'GET', url: `/v1/stats?${query}` })).statusCode, 200, query)
  }
})
