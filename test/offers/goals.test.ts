import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { createAffiliate, createOffer, mergePatch } from '../helpers/fixtures.js'
import { insertPostbackRow } from '../helpers/seeds.js'

t.test('money is exact: 0.1 stays 0.1, stored with 4 decimals', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, {
    goals: [
      { value: 'a', revenue: 0.1, payout: 0.2 },
      { value: 'b', revenue: 0.3, payout: 0.0001 },
      { value: 'c', revenue: 1.1, payout: 2.2 },
      { value: 'd', type: 'percent', revenue: 33.3333, payout: 0.5 },
      { value: 'e', revenue: 12.5, payout: 1.10000 },
    ],
  })
  t.same(offer.goals.map((g) => [g.revenue, g.payout]), [[0.1, 0.2], [0.3, 0.0001], [1.1, 2.2], [33.3333, 0.5], [12.5, 1.1]])
  const res = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })
  t.match(res.body, /"revenue":0\.1,"payout":0\.2\b/, 'JSON numbers, no float noise')
  const stored = await app.db.selectFrom('offer_goals').select(['value', 'revenue', 'payout']).where('offer_id', '=', offer.id).orderBy('position').execute()
  t.same(stored.map((g) => [g.value, g.revenue, g.payout]), [
    ['a', '0.1000', '0.2000'], ['b', '0.3000', '0.0001'], ['c', '1.1000', '2.2000'], ['d', '33.3333', '0.5000'], ['e', '12.5000', '1.1000'],
  ])
})

t.test('goals: replaced whole by PATCH, in the order given', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { goals: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
  const replaced = await mergePatch(app, `/v1/offers/${offer.id}`, {
    goals: [{ value: 'c', title: 'Third', revenue: 9.99, payout: 4.5 }, { value: 'z', type: 'percent', revenue: 50, payout: 25 }],
  })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().goals, [
    { value: 'c', title: 'Third', type: 'fixed', revenue: 9.99, payout: 4.5 },
    { value: 'z', title: 'z', type: 'percent', revenue: 50, payout: 25 },
  ])
  t.same((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).json().goals, replaced.json().goals)

  const badMoney = await mergePatch(app, `/v1/offers/${offer.id}`, { goals: [{ value: 'a', payout: 1.00001 }] })
  t.equal(badMoney.statusCode, 400)
  t.equal(badMoney.json().errors[0].path, '/goals/0/payout')
  t.same((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).json().goals, replaced.json().goals, 'a refused patch changes nothing')
})

t.test('goals: removing a value a postback uses is 409; keeping it in another case is fine', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const offer = await createOffer(app, { goals: [{ value: 'Sale' }, { value: 'lead' }] })
  const other = await createOffer(app, { goals: [{ value: 'lead' }] })
  await insertPostbackRow(app, { affiliate_id: affiliate.id, offer_id: offer.id, goal: 'sale' })
  // A postback on another offer, or without a goal, constrains nothing here.
  await insertPostbackRow(app, { affiliate_id: affiliate.id, offer_id: other.id, goal: 'lead' })
  await insertPostbackRow(app, { affiliate_id: affiliate.id, offer_id: offer.id, goal: null })

  const drop = await mergePatch(app, `/v1/offers/${offer.id}`, { goals: [{ value: 'lead' }] })
  t.equal(drop.statusCode, 409)
  t.match(drop.json(), { type: 'https://s2s-tracker.dev/problems/conflict', detail: /sale/ })
  t.same((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).json().goals.map((g: { value: string }) => g.value), ['Sale', 'lead'])

  const recased = await mergePatch(app, `/v1/offers/${offer.id}`, { goals: [{ value: 'SALE', title: 'Sale' }] })
  t.equal(recased.statusCode, 200, 'the value survives ignoring case; lead is unused here and may go')
  t.same(recased.json().goals.map((g: { value: string }) => g.value), ['SALE'])
})
