import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, inject } from '../helpers/build.js'
import { createAffiliate, createOffer } from '../helpers/fixtures.js'

// Periods of the report in zones with DST days and quarter-hour offsets, on clicks placed either side of each boundary.

async function clicksAt (app: FastifyInstance, times: string[]) {
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  for (const time of times) {
    const at = new Date(time)
    app.clickRecorder.record({
      clickid: Math.floor(at.getTime() / 1000).toString(16).padStart(8, '0') + randomBytes(8).toString('hex'),
      offer_id: offer.id,
      affiliate_id: affiliate.id,
      tracking_link_id: null,
      params: {},
      ip: '203.0.113.7',
      user_agent: 'ua',
      referrer: null,
      created_at: at,
    })
  }
  await app.clickRecorder.flush()
}

async function report (t: Test, app: FastifyInstance, query: string): Promise<[string, unknown][]> {
  const res = await inject(app, { method: 'GET', url: `/v1/stats?${query}` })
  t.equal(res.statusCode, 200, `${query}: ${res.body}`)
  const body = res.json() as { data: Record<string, unknown>[] }
  const unit = ['hour', 'day', 'week', 'month'].find((u) => query.includes(`group_by=${u}`)) ?? 'day'
  return body.data.map((row) => [row[unit] as string, row.clicks])
}

t.test('a 25-hour day: the repeated hour shows twice, the day holds all 25 hours', async (t) => {
  const { app } = await build(t)
  await clicksAt(app, [
    '2026-10-24T21:59:59.999Z', // 23:59:59 CEST on the 24th
    '2026-10-24T22:00:00.000Z', // 00:00 CEST on the 25th
    '2026-10-25T00:30:00.000Z', // 02:30 CEST
    '2026-10-25T01:30:00.000Z', // 02:30 CET, the same wall time an hour later
    '2026-10-25T22:59:59.000Z', // 23:59:59 CET
    '2026-10-25T23:00:00.000Z', // the 26th
  ])
  const zone = 'timezone=Europe/Berlin'
  t.same(await report(t, app, `${zone}&from=2026-10-24&to=2026-10-26`), [['2026-10-24', 1], ['2026-10-25', 4], ['2026-10-26', 1]])
  t.same(await report(t, app, `${zone}&from=2026-10-25&to=2026-10-25&group_by=hour`), [
    ['2026-10-25T00:00:00+02:00', 1], ['2026-10-25T02:00:00+02:00', 1], ['2026-10-25T02:00:00+01:00', 1], ['2026-10-25T23:00:00+01:00', 1],
  ])
  const whole = await inject(app, { method: 'GET', url: `/v1/stats?${zone}&from=2026-10-25&to=2026-10-25` })
  t.same([whole.json().from, whole.json().to], ['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'], '25 hours')
  t.same(await report(t, app, `${zone}&from=2026-10-01&to=2026-10-31&group_by=week`), [['2026-10-19', 5], ['2026-10-26', 1]])
  t.same(await report(t, app, 'from=2026-10-01&to=2026-10-31&group_by=day'), [['2026-10-24', 2], ['2026-10-25', 4]], 'UTC days differ')
})

t.test('a 23-hour day: the skipped hour is absent', async (t) => {
  const { app } = await build(t)
  await clicksAt(app, [
    '2026-03-28T22:59:59.000Z', // 23:59:59 CET on the 28th
    '2026-03-28T23:00:00.000Z', // 00:00 CET on the 29th
    '2026-03-29T00:59:59.000Z', // 01:59:59 CET
    '2026-03-29T01:00:00.000Z', // 03:00 CEST
    '2026-03-29T21:59:59.000Z', // 23:59:59 CEST
    '2026-03-29T22:00:00.000Z', // the 30th
  ])
  const zone = 'timezone=Europe/Berlin'
  t.same(await report(t, app, `${zone}&from=2026-03-28&to=2026-03-30`), [['2026-03-28', 1], ['2026-03-29', 4], ['2026-03-30', 1]])
  t.same(await report(t, app, `${zone}&from=2026-03-29&to=2026-03-29&group_by=hour`), [
    ['2026-03-29T00:00:00+01:00', 1], ['2026-03-29T01:00:00+01:00', 1], ['2026-03-29T03:00:00+02:00', 1], ['2026-03-29T23:00:00+02:00', 1],
  ])
  const whole = await inject(app, { method: 'GET', url: `/v1/stats?${zone}&from=2026-03-29&to=2026-03-29` })
  t.equal((Date.parse(whole.json().to) - Date.parse(whole.json().from)) / 3_600_000, 23)
})

t.test('quarter-hour offsets: +05:45 and +05:30 days and hours are exact', async (t) => {
  const { app } = await build(t)
  await clicksAt(app, ['2026-11-29T18:14:59.000Z', '2026-11-29T18:15:00.000Z', '2026-11-29T18:29:59.000Z', '2026-11-29T18:30:00.000Z', '2026-11-29T19:14:59.000Z'])
  t.same(await report(t, app, 'timezone=Asia/Kathmandu&from=2026-11-29&to=2026-11-30'), [['2026-11-29', 1], ['2026-11-30', 4]])
  t.same(await report(t, app, 'timezone=Asia/Kolkata&from=2026-11-29&to=2026-11-30'), [['2026-11-29', 3], ['2026-11-30', 2]])
  t.same(await report(t, app, 'timezone=Asia/Kathmandu&from=2026-11-30&to=2026-11-30&group_by=hour'), [['2026-11-30T00:00:00+05:45', 4]])
  t.same(await report(t, app, 'timezone=Asia/Kolkata&from=2026-11-30&to=2026-11-30&group_by=hour'), [['2026-11-30T00:00:00+05:30', 2]])
  // Times off the quarter hour, with an offset or as the zone's wall clock.
  t.same(await report(t, app, 'timezone=Asia/Kolkata&from=2026-11-29T23:44:59&to=2026-11-30T00:44:59.500'), [['2026-11-29', 3], ['2026-11-30', 2]])
  t.same(await report(t, app, 'from=2026-11-29T18:15:00.001Z&to=2026-11-29T19:14:59Z'), [['2026-11-29', 2]])
})
