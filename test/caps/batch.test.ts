import t from 'tap'
import { build, type TestContext } from '../helpers/build.js'
import { conversionRow } from '../helpers/seeds.js'
import { clickScene } from '../helpers/scenes.js'
import { ConversionWriter } from '../../src/intake/conversion-writer.js'
import { insertConversions, type NewConversion, type NewConversionEntry } from '../../src/conversions/repository.js'
import { planConversionCaps, type CapContext } from '../../src/caps/conversion-caps.js'
import { AMOUNT_SCALE } from '../../src/domain/money.js'
import { capPeriod, type Cap } from '../../src/domain/caps.js'
import type { Db } from '../../src/db/database.js'

// The conversion writer judges most batches in the statement that inserts them (the counters locked, checked
// against the whole batch, and counted there), and falls back to judging one by one when a cap would be
// passed or a counter is missing. Both ways must count and decline exactly alike.

const cap = (fields: Partial<Cap> & Pick<Cap, 'metric'>): Cap =>
  ({ period: 'day', limit: 1_000n * AMOUNT_SCALE, per_affiliate: false, affiliate_id: null, goal: null, ...fields })

async function counters (db: Db, offerId: number) {
  const rows = await db.selectFrom('cap_counters').select(['metric', 'affiliate_id', 'used'])
    .where('offer_id', '=', offerId).where('metric', '<>', 'clicks').orderBy('metric').orderBy('affiliate_id').execute()
  return rows.map((row) => `${row.metric}/${row.affiliate_id}: ${Number(row.used)}`)
}

async function setup (t: TestContext, caps: Cap[]) {
  const { app } = await build(t)
  const s = await clickScene(app)
  const context: CapContext = { caps, at: new Date() }
  const log = { method: 'GET', params: {}, offerId: s.offer.id, clickid: s.clickid }
  const row = (actionId: string, fields: Partial<NewConversion> = {}): NewConversion =>
    conversionRow({ clickid: s.clickid, offer_id: s.offer.id, affiliate_id: s.affiliate.id, action_id: actionId, payout: '2.5000', ...fields })
  const entry = (actionId: string, fields: Partial<NewConversion> = {}): NewConversionEntry => ({ values: row(actionId, fields), log, caps: context })
  return { app, s, entry, context }
}

t.test('a batch counts only the conversions it creates: a repeated key and a declined conversion add nothing', async (t) => {
  const { app, s, entry } = await setup(t, [cap({ metric: 'conversions' }), cap({ metric: 'payout', period: 'month' })])
  const writer = new ConversionWriter(app.db, { maxConcurrent: 1 })
  await writer.create(entry('w0'))
  t.same(await counters(app.db, s.offer.id), ['conversions/0: 1', 'payout/0: 2.5'], 'the first conversion makes the counters')
  // The first write occupies the only slot, so the next ones queue up and go as one batch.
  const results = await Promise.all([
    writer.create(entry('w1')),
    writer.create(entry('w2')),
    writer.create(entry('w0')),
    writer.create(entry('w3', { status: 'declined', decline_reason: 'Declined via advertiser\'s postback' })),
    writer.create(entry('w4', { payout: '0.0000' })),
  ])
  t.same(results.map((r) => r?.conversion.status ?? 'skipped'), ['pending', 'pending', 'skipped', 'declined', 'pending'])
  t.same(await counters(app.db, s.offer.id), ['conversions/0: 4', 'payout/0: 7.5'])
})

t.test('a batch that would pass a cap is judged in order: the earlier conversions take the last units', async (t) => {
  const { app, s, entry } = await setup(t, [cap({ metric: 'conversions', limit: 3n * AMOUNT_SCALE }), cap({ metric: 'payout', period: 'total' })])
  const writer = new ConversionWriter(app.db, { maxConcurrent: 1 })
  const first = [writer.create(entry('a0'))]
  const batch = ['a1', 'a2', 'a3', 'a4'].map((id) => writer.create(entry(id)))
  const results = await Promise.all([...first, ...batch])
  t.same(results.map((r) => r?.conversion.status), ['pending', 'pending', 'pending', 'declined', 'declined'])
  t.same(results.map((r) => r?.conversion.decline_reason), [null, null, null, 'Cap is reached', 'Cap is reached'])
  t.same(await counters(app.db, s.offer.id), ['conversions/0: 3', 'payout/0: 7.5'], 'declined conversions count nothing')
  const after = await Promise.all(['a5', 'a6'].map((id) => writer.create(entry(id))))
  t.same(after.map((r) => r?.conversion.decline_reason), ['Cap is reached', 'Cap is reached'])
  t.same(await counters(app.db, s.offer.id), ['conversions/0: 3', 'payout/0: 7.5'])
})

t.test('two caps sharing a counter hold it to the lower limit; a dropped counter is made again from the conversions', async (t) => {
  const { app, s, entry } = await setup(t, [])
  const caps = [cap({ metric: 'conversions', per_affiliate: true, limit: 5n * AMOUNT_SCALE }), cap({ metric: 'conversions', affiliate_id: s.affiliate.id, limit: 2n * AMOUNT_SCALE })]
  const writer = new ConversionWriter(app.db)
  const write = async (id: string) => (await writer.create({ ...entry(id), caps: { caps, at: new Date() } }))?.conversion.status
  t.same([await write('b0'), await write('b1'), await write('b2')], ['pending', 'pending', 'declined'])
  t.same(await counters(app.db, s.offer.id), [`conversions/${s.affiliate.id}: 2`], 'one counter for both caps')
  await app.db.deleteFrom('cap_counters').where('offer_id', '=', s.offer.id).execute()
  t.same(await write('b3'), 'declined', 'the counter made again holds the two conversions counted')
  t.same(await counters(app.db, s.offer.id), [`conversions/${s.affiliate.id}: 2`])
})

t.test('the insert with a plan: it counts the batch when every counter holds it, and inserts nothing otherwise', async (t) => {
  const { app, s, entry, context } = await setup(t, [cap({ metric: 'conversions', limit: 2n * AMOUNT_SCALE })])
  const write = (entries: NewConversionEntry[]) => app.db.transaction().execute((trx) =>
    insertConversions(trx, entries, planConversionCaps(entries.map((e) => e.values), entries.map((e) => e.caps))))
  const missing = await write([entry('c0')])
  t.same([missing.capsHeld, missing.created], [false, [undefined]], 'a missing counter: nothing inserted')
  t.same(await counters(app.db, s.offer.id), [])
  await app.db.insertInto('cap_counters').values({
    offer_id: s.offer.id,
    metric: 'conversions',
    period: 'day',
    goal: '',
    affiliate_id: 0,
    period_start: capPeriod('day', context.at).start,
    used: '0',
  }).execute()
  const over = await write([entry('c0'), entry('c1'), entry('c2')])
  t.same([over.capsHeld, over.created], [false, [undefined, undefined, undefined]], 'a batch past the limit: nothing inserted')
  const held = await write([entry('c0'), entry('c1')])
  t.equal(held.capsHeld, true)
  t.same(held.created.map((c) => c?.conversion.action_id), ['c0', 'c1'])
  t.same(await counters(app.db, s.offer.id), ['conversions/0: 2'])
  const repeated = await write([entry('c1')])
  t.same([repeated.capsHeld, repeated.created], [false, [undefined]], 'the counter is full: judged one by one by the writer')
  t.equal(planConversionCaps([entry('d0', { status: 'declined' }).values], [entry('d0').caps]), undefined, 'a declined conversion is not planned')
})
