import t from 'tap'
import { build } from '../helpers/build.js'
import { clickScene } from '../helpers/scenes.js'
import { conversionRow } from '../helpers/seeds.js'
import { ConversionWriter } from '../../src/intake/conversion-writer.js'
import type { NewConversion } from '../../src/conversions/repository.js'

t.test('the conversion writer: a row the database refuses fails only its own postback', async (t) => {
  const { app } = await build(t)
  const s = await clickScene(app)
  const writer = new ConversionWriter(app.db, { maxConcurrent: 1 })
  const row = (actionId: string, offerId = s.offer.id): NewConversion =>
    conversionRow({ clickid: s.clickid, offer_id: offerId, affiliate_id: s.affiliate.id, action_id: actionId, revenue: '1.0000', payout: '0.5000' })
  const log = { method: 'GET', params: {}, offerId: s.offer.id, clickid: s.clickid }
  // The first write occupies the only slot, so the next four queue up and go as one batch.
  const results = await Promise.allSettled([
    writer.create({ values: row('w0'), log }),
    writer.create({ values: row('w1'), log }),
    writer.create({ values: row('w2', 999999), log }),
    writer.create({ values: row('w3'), log }),
    writer.create({ values: row('w1'), log }),
  ])
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
  const values = results.map((r) => (r.status === 'fulfilled' ? r.value?.conversion.action_id ?? 'skipped' : 'failed'))
  t.same(values, ['w0', 'w1', 'failed', 'w3', 'skipped'], 'the repeated key is skipped, the unknown offer fails alone')
  const rows = await app.db.selectFrom('conversions').select('action_id').orderBy('action_id').execute()
  t.same(rows.map((r) => r.action_id), ['w0', 'w1', 'w3'])
  const events = await app.db.selectFrom('conversion_events').select('id').execute()
  const logs = await app.db.selectFrom('server_postbacks').select('id').execute()
  t.same([events.length, logs.length], [3, 3], 'an event and a log entry for each conversion, none for the failed one')
})
