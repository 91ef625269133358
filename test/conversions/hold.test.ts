import t from 'tap'
import { build, eventually, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, getConversion, patchConversion, patchOffer } from '../helpers/fixtures.js'
import { clickScene } from '../helpers/scenes.js'

const DAY = 86_400_000

t.test('hold: hold_until from the offer\'s period, then approved by the periodic job', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const noPeriod = await advertiserPostback(app, { clickid: s.clickid, action_id: 'no-period', status: '5' })
  t.equal((await getConversion(app, noPeriod.json().conversion_id)).hold_until, null, 'period 0: on hold until changed')

  await patchOffer(app, s.offer.id, { hold_period_days: 2 })
  const before = Date.now()
  const held = await advertiserPostback(app, { clickid: s.clickid, action_id: 'held', status: '5' })
  const id = held.json().conversion_id as number
  const holdUntil = Date.parse(String((await getConversion(app, id)).hold_until))
  t.ok(holdUntil >= before + 2 * DAY - 1000 && holdUntil <= Date.now() + 2 * DAY + 1000, 'hold_until = now + 2 days')

  // Pending → hold by the advertiser and by an admin also start the period.
  const pending = await advertiserPostback(app, { clickid: s.clickid, action_id: 'later' })
  await advertiserPostback(app, { clickid: s.clickid, action_id: 'later', status: 'hold' })
  t.not((await getConversion(app, pending.json().conversion_id)).hold_until, null)
  const admin = await advertiserPostback(app, { clickid: s.clickid, action_id: 'admin', status: '3' })
  t.not((await patchConversion(app, admin.json().conversion_id, { status: 'hold' })).json().hold_until, null)

  // Move the clock: the hold ran out a second ago.
  await app.db.updateTable('conversions').set({ hold_until: new Date(Date.now() - 1000) }).where('id', '=', id).execute()
  const approved = await eventually(async () => {
    const conversion = await getConversion(app, id)
    return conversion.status === 'approved' ? conversion : undefined
  }, 10_000, 'the hold to expire')
  t.equal(approved.hold_until, null)
  t.same(approved.status_history.map((event) => [event.from, event.to, event.source]), [[null, 'hold', 'advertiser'], ['hold', 'approved', 'hold_expiry']])
  t.equal((await getConversion(app, noPeriod.json().conversion_id)).status, 'hold', 'an open-ended hold stays')
  t.equal((await getConversion(app, pending.json().conversion_id)).status, 'hold', 'a hold not yet due stays')
})

t.test('hold expiry with two instances: each due conversion approved exactly once', { skip: TEST_ENGINE === 'pglite' && 'one embedded database per process' }, async (t) => {
  const first = await build(t)
  const second = await build(t, { databaseUrl: first.databaseUrl })
  const s = await clickScene(first.app, { hold_period_days: 1 })
  const ids: number[] = []
  for (let i = 0; i < 30; i++) ids.push((await advertiserPostback(first.app, { clickid: s.clickid, action_id: `h${i}`, status: '5' })).json().conversion_id)
  await first.app.db.updateTable('conversions').set({ hold_until: new Date(Date.now() - 1000) }).where('id', 'in', ids).execute()
  // Both instances' timers run; call both at once as well, so they really overlap.
  const [a, b] = await Promise.all([first.app.holdExpiry.runOnce(), second.app.holdExpiry.runOnce()])
  t.ok(a + b <= 30, 'never more approvals than due conversions')
  await eventually(async () => {
    const rows = await first.app.db.selectFrom('conversions').select('id').where('id', 'in', ids).where('status', '=', 'approved').execute()
    return rows.length === 30
  }, 10_000, 'all holds to expire')
  const events = await first.app.db.selectFrom('conversion_events').select(['conversion_id']).where('source', '=', 'hold_expiry').execute()
  t.equal(events.length, 30, 'one hold_expiry event per conversion')
  t.equal(new Set(events.map((event) => event.conversion_id)).size, 30)
})
