import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { createAffiliate, createOffer } from '../helpers/fixtures.js'
import { clickRecord } from '../helpers/seeds.js'
import { insertClicks } from '../../src/clicks/repository.js'
import { foldDailyTiers } from '../../src/stats/daily-tiers.js'

// The fold moves the 15-minute tier into the reporting zones' daily tiers while clicks keep coming. These
// tests hold transactions open on several connections, so they run on PostgreSQL (the embedded database has one).

const ZONE = 'Asia/Kolkata'
const HOUR = 3_600_000

async function dailyClicks (app: FastifyInstance): Promise<number> {
  const result = await sql<{ n: string | null }>`select sum(clicks) as n from stats_daily_clicks where zone = ${ZONE} and affiliate_id = 0`.execute(app.db)
  return Number(result.rows[0]?.n ?? 0)
}

async function reportedClicks (app: FastifyInstance, now: number): Promise<number> {
  const res = await inject(app, { method: 'GET', url: `/v1/stats?timezone=${ZONE}&group_by=day,offer&from=${new Date(now - 3 * 24 * HOUR).toISOString().slice(0, 10)}` })
  return (res.json().totals as { clicks: number }[]).reduce((sum, row) => sum + row.clicks, 0)
}

t.test('a click batch in flight when the fold starts is counted once: the fold waits for it', { skip: process.env.TEST_DATABASE === 'pglite' && 'one connection' }, async (t) => {
  const now = Date.now()
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE } })
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  await insertClicks(app.db, [clickRecord(offer.id, affiliate.id, now - 2 * HOUR)])

  // A batch of a click inside the range the fold will take, written and not yet committed.
  let release = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let written = false
  const batch = app.db.transaction().execute(async (trx) => {
    await insertClicks(trx, [clickRecord(offer.id, affiliate.id, now - HOUR)])
    written = true
    await gate
  })
  await eventually(() => written, 5000, 'the batch to be written')
  const fold = foldDailyTiers(app.db, new Date(now))
  await eventually(async () => {
    const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%lock table clicks%'`.execute(app.db)
    return (waiting.rows[0]?.n ?? 0) > 0
  }, 5000, 'the fold to wait for the batch')
  release()
  await batch
  t.ok(await fold >= 1, 'the fold moved on')
  t.equal(await dailyClicks(app), 2, 'both clicks in the daily tier, the one in flight included')
  t.equal(await reportedClicks(app, now), 2, 'and reported once')
})

t.test('instances folding at once take turns: nothing is added twice; later writes for folded days reach the daily tier', { skip: process.env.TEST_DATABASE === 'pglite' && 'one connection' }, async (t) => {
  const now = Date.now()
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE } })
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  await insertClicks(app.db, [1, 2, 3, 4, 5].map((h) => clickRecord(offer.id, affiliate.id, now - h * HOUR)))
  // Five hours of clicks: five steps of an hour, taken by whichever fold holds the zone's row.
  const steps = await Promise.all([foldDailyTiers(app.db, new Date(now)), foldDailyTiers(app.db, new Date(now)), foldDailyTiers(app.db, new Date(now))])
  t.ok(steps.reduce((a, b) => a + b, 0) >= 5, `steps taken: ${steps.join(', ')}`)
  t.equal(await dailyClicks(app), 5, 'each click added once')
  // A click written late (its time already folded) is counted by the trigger, not left for a fold that has passed.
  await insertClicks(app.db, [clickRecord(offer.id, affiliate.id, now - 90 * 60_000)])
  t.equal(await dailyClicks(app), 6, 'a late click reaches the daily tier as it is written')
  t.equal(await foldDailyTiers(app.db, new Date(now)), 0, 'and no fold adds it again')
  t.equal(await reportedClicks(app, now), 6)
})
