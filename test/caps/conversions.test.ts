import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, click, createAffiliate, createOffer, createPostback, getConversion, patchConversion, patchOffer, serverPostbacks } from '../helpers/fixtures.js'
import { startSink } from '../helpers/sink.js'
import { testClock } from '../helpers/clock.js'

async function convert (app: FastifyInstance, clickid: string, params: Record<string, string | number> = {}) {
  const res = await advertiserPostback(app, { clickid, ...params })
  if (res.statusCode !== 200) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json() as { conversion_id: number; conversion_status: string; duplicate: boolean }
}

const HOUR = 3_600_000

// Nine apps, each on a fresh database: on the embedded database and a loaded machine that outlasts the default 120 s.
t.setTimeout(360_000)

t.test('click session: a conversion after it is created declined, its postbacks fire, later changes are 409', async (t) => {
  const clock = testClock()
  const { app } = await build(t, { clock: clock.now })
  const sink = await startSink(t)
  const offer = await createOffer(app, { click_session: '1h' })
  const affiliate = await createAffiliate(app)
  await createPostback(app, { affiliate_id: affiliate.id, url: `${sink.origin}/pb?s={status}&r={decline_reason}&c={conversion_id}` })
  const early = await click(app, offer.id, affiliate.id)
  const late = await click(app, offer.id, affiliate.id)

  const clickTime = async (clickid: string) => new Date((await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })).json().created_at).getTime()
  clock.set(new Date(await clickTime(early) + HOUR).toISOString())
  const inTime = await convert(app, early)
  t.equal(inTime.conversion_status, 'pending', 'exactly one hour after its click: still within the click session')

  clock.set(new Date(await clickTime(late) + HOUR + 1).toISOString())
  const expired = await convert(app, late, { action_id: 'late-1' })
  t.equal(expired.conversion_status, 'declined', 'after the click session: declined, with the usual 200')
  const conversion = await getConversion(app, expired.conversion_id)
  t.equal(conversion.decline_reason, 'Session lifespan expired')
  t.equal((await getConversion(app, inTime.conversion_id)).decline_reason, null)

  const [logged] = await serverPostbacks(app, `?clickid=${late}`)
  t.match(logged, { result: 'accepted', http_status: 200, detail: 'Session lifespan expired', conversion_id: expired.conversion_id }, 'the intake log says why')

  const fired = await eventually(() => sink.to('/pb').find((r) => r.query.get('c') === String(expired.conversion_id)), 5000, 'the postback')
  t.equal(fired.query.get('s'), '3')
  t.equal(fired.query.get('r'), 'Session lifespan expired', '{decline_reason}')

  const change = await advertiserPostback(app, { clickid: late, action_id: 'late-1', status: 1 })
  t.equal(change.statusCode, 409)
  t.equal(change.json().detail, 'Conversion status is not pending')
  t.equal((await advertiserPostback(app, { clickid: late, action_id: 'late-1', status: 3 })).statusCode, 200, 'the same status again is idempotent')
})

t.test('decline reasons: the advertiser\'s status=3, an admin\'s change, and leaving declined', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  const a = await click(app, offer.id, affiliate.id)
  const b = await click(app, offer.id, affiliate.id)

  const createdDeclined = await convert(app, a, { action_id: 'a1', status: 3 })
  t.equal((await getConversion(app, createdDeclined.conversion_id)).decline_reason, 'Declined via advertiser\'s postback', 'created declined')
  const pending = await convert(app, b, { action_id: 'b1' })
  await convert(app, b, { action_id: 'b1', status: 'declined' })
  t.equal((await getConversion(app, pending.conversion_id)).decline_reason, 'Declined via advertiser\'s postback', 'declined by a status change')

  const approved = await patchConversion(app, pending.conversion_id, { status: 'approved' })
  t.equal(approved.json().decline_reason, null, 'leaving declined clears it')
  const rejected = await patchConversion(app, pending.conversion_id, { status: 'declined' })
  t.equal(rejected.json().decline_reason, 'Rejected by a manager')

  const panel = await app.inject({ method: 'GET', url: '/v1/affiliate/conversions', headers: { 'api-key': affiliate.api_key } })
  t.same(panel.json().data.map((c: { decline_reason: string }) => c.decline_reason).sort(),
    ['Declined via advertiser\'s postback', 'Rejected by a manager'], 'the panel shows it')
})

/** Sends conversions on fresh action ids of one click; returns their statuses. */
async function statuses (app: FastifyInstance, clickid: string, n: number, params: Record<string, string | number> = {}) {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    out.push((await convert(app, clickid, { action_id: `${clickid}-${Math.random().toString(36).slice(2)}`, ...params })).conversion_status)
  }
  return out
}

t.test('conversions caps in every period: the last unit is taken, the next is declined, a new period starts afresh', async (t) => {
  // Saturday 2026-12-05 at 12:00 UTC; the ISO week ends Sunday 2026-12-06 24:00, the month on 2026-12-31 24:00.
  const clock = testClock(new Date('2026-12-05T12:00:00Z'))
  const { app } = await build(t, { clock: clock.now })
  const affiliate = await createAffiliate(app)
  const cases: [string, string, string][] = [
    ['day', '2026-12-05T23:59:59.999Z', '2026-12-06T00:00:00.000Z'],
    ['week', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z'],
    ['month', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'],
  ]
  for (const [period, lastMoment, nextPeriod] of cases) {
    clock.set('2026-12-05T12:00:00Z')
    const offer = await createOffer(app, { default_conversion_status: 'approved', caps: [{ metric: 'conversions', period, limit: 2 }] })
    const clickid = await click(app, offer.id, affiliate.id)
    t.same(await statuses(app, clickid, 2), ['approved', 'approved'], `${period}: two within the cap`)
    clock.set(lastMoment)
    const [declined] = await statuses(app, clickid, 1)
    t.equal(declined, 'declined', `${period}: the third, at the period's last moment, is declined`)
    const list = await inject(app, { method: 'GET', url: `/v1/conversions?offer_id=${offer.id}&status=declined` })
    t.equal(list.json().data[0].decline_reason, 'Cap is reached', `${period}: Cap is reached`)
    clock.set(nextPeriod)
    t.same(await statuses(app, clickid, 3), ['approved', 'approved', 'declined'], `${period}: the next period has the whole limit`)
  }

  clock.set('2026-12-05T12:00:00Z')
  const total = await createOffer(app, { caps: [{ metric: 'conversions', period: 'total', limit: 1 }] })
  const totalClick = await click(app, total.id, affiliate.id)
  t.same(await statuses(app, totalClick, 2), ['pending', 'declined'], 'total')
  clock.set('2031-01-01T00:00:00Z')
  t.same(await statuses(app, totalClick, 1), ['declined'], 'total: still reached years later')
})

t.test('payout caps and goal-narrowed caps; conversions declined by the advertiser do not count', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const offer = await createOffer(app, {
    goals: [{ value: 'sale', type: 'percent', revenue: 20, payout: 10 }, { value: 'lead', payout: 1 }],
    caps: [{ metric: 'payout', period: 'day', limit: 25, goal: 'sale' }, { metric: 'conversions', period: 'day', limit: 1, goal: 'LEAD' }],
  })
  const clickid = await click(app, offer.id, affiliate.id)
  t.same(await statuses(app, clickid, 1, { goal: 'sale', sum: 100 }), ['pending'], 'payout 10 of 25')
  t.same(await statuses(app, clickid, 1, { goal: 'sale', sum: 1000, status: 3 }), ['declined'], 'declined by the advertiser: not counted')
  t.same(await statuses(app, clickid, 1, { goal: 'sale', sum: 150 }), ['pending'], 'payout 15: exactly 25')
  t.same(await statuses(app, clickid, 1, { goal: 'sale', sum: 0.001 }), ['declined'], 'a payout of 0.0001 more passes it')
  t.same(await statuses(app, clickid, 1, { goal: 'sale', sum: 0 }), ['pending'], 'a payout of 0 never does')
  t.same(await statuses(app, clickid, 2, { goal: 'lead' }), ['pending', 'declined'], 'the lead cap counts leads only')
  const declined = await inject(app, { method: 'GET', url: `/v1/conversions?offer_id=${offer.id}&status=declined` })
  t.same(declined.json().data.map((c: { decline_reason: string }) => c.decline_reason),
    ['Cap is reached', 'Cap is reached', 'Declined via advertiser\'s postback'])
})

t.test('per-affiliate and single-affiliate caps; postbacks fire for cap-declined conversions', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const [a, b, c] = [await createAffiliate(app), await createAffiliate(app), await createAffiliate(app)]
  await createPostback(app, { affiliate_id: a.id, url: `${sink.origin}/a?s={status}&r={decline_reason}&c={conversion_id}` })
  const perAffiliate = await createOffer(app, { caps: [{ metric: 'conversions', period: 'day', limit: 2, per_affiliate: true }] })
  const [ca, cb] = [await click(app, perAffiliate.id, a.id), await click(app, perAffiliate.id, b.id)]
  t.same(await statuses(app, ca, 3), ['pending', 'pending', 'declined'], 'a: its own two')
  t.same(await statuses(app, cb, 3), ['pending', 'pending', 'declined'], 'b: its own two as well')

  const declinedId = (await inject(app, { method: 'GET', url: `/v1/conversions?offer_id=${perAffiliate.id}&affiliate_id=${a.id}&status=declined` })).json().data[0].id
  const fired = await eventually(() => sink.to('/a').find((r) => r.query.get('c') === String(declinedId)), 5000, 'the postback of the cap-declined conversion')
  t.equal(fired.query.get('s'), '3')
  t.equal(fired.query.get('r'), 'Cap is reached')

  const single = await createOffer(app, { caps: [{ metric: 'conversions', period: 'day', limit: 1, affiliate_id: b.id }, { metric: 'conversions', period: 'day', limit: 3 }] })
  const [sa, sb, sc] = [await click(app, single.id, a.id), await click(app, single.id, b.id), await click(app, single.id, c.id)]
  t.same(await statuses(app, sb, 2), ['pending', 'declined'], 'b has one of its own')
  t.same(await statuses(app, sa, 1), ['pending'], 'a is not held by b\'s cap')
  t.same(await statuses(app, sc, 2), ['pending', 'declined'], 'all together: three')
})

t.test('a cap set on a running offer counts the conversions already in its period', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const offer = await createOffer(app)
  const clickid = await click(app, offer.id, affiliate.id)
  await statuses(app, clickid, 2)
  await statuses(app, clickid, 1, { status: 3 })
  await patchOffer(app, offer.id, { caps: [{ metric: 'conversions', period: 'day', limit: 3 }] })
  t.same(await statuses(app, clickid, 2), ['pending', 'declined'], 'two counted already, one left')
  await patchOffer(app, offer.id, { caps: [{ metric: 'conversions', period: 'day', limit: 4 }] })
  t.same(await statuses(app, clickid, 2), ['pending', 'declined'], 'a raised limit keeps the count')
})

t.test('exactness: concurrent postbacks on one instance, written in shared batches, take exactly the limit', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const offer = await createOffer(app, { caps: [{ metric: 'conversions', period: 'day', limit: 9 }] })
  const clicks = await Promise.all(Array.from({ length: 3 }, () => click(app, offer.id, affiliate.id)))
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => advertiserPostback(app, { clickid: clicks[i % 3] as string, action_id: `burst-${i}` })))
  t.same(answers.filter((res) => res.statusCode !== 200).map((res) => `${res.statusCode} ${res.body.slice(0, 200)}`), [], 'every postback answered 200')
  t.equal(answers.filter((res) => res.json().conversion_status !== 'declined').length, 9, 'exactly the limit got through')
  const caps = (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/caps` })).json().data
  t.match(caps[0], { used: 9, remaining: 0 })
})

t.test('exactness: two instances racing for the last units of a cap never both win', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  const affiliate = await createAffiliate(first.app)
  const offer = await createOffer(first.app, { caps: [{ metric: 'conversions', period: 'day', limit: 7 }, { metric: 'payout', period: 'day', limit: 100 }], goals: [{ value: '1', payout: 5 }] })
  const clicks = await Promise.all(Array.from({ length: 4 }, () => click(first.app, offer.id, affiliate.id)))
  const sends = Array.from({ length: 60 }, (_, i) => {
    const app = i % 2 === 0 ? first.app : second.app
    return advertiserPostback(app, { clickid: clicks[i % clicks.length] as string, action_id: `race-${i}` })
  })
  const answers = await Promise.all(sends)
  t.same(answers.filter((res) => res.statusCode !== 200).map((res) => `${res.statusCode} ${res.body.slice(0, 200)}`), [], 'every postback answered 200')
  const accepted = answers.filter((res) => res.json().conversion_status !== 'declined').length
  t.equal(accepted, 7, 'exactly the limit got through')
  const caps = await inject(first.app, { method: 'GET', url: `/v1/conversions?offer_id=${offer.id}&status=declined&limit=500` })
  t.equal(caps.json().data.length, 53)
})
