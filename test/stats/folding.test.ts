import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { createAffiliate, createOffer } from '../helpers/fixtures.js'
import { clickRecord } from '../helpers/seeds.js'
import { insertClicks } from '../../src/clicks/repository.js'
import { foldStatistics } from '../../src/stats/folding.js'

// The fold moves the 15-minute tier into the reporting zones' daily tiers while clicks keep coming. These
// tests hold transactions open on several connections, so they run on PostgreSQL (the embedded database has one).

const ZONE = 'Asia/Kolkata'
const HOUR = 3_600_000
/** Without the maintenance role no fold runs by itself: the tests' folds are the only ones. */
const ONLY_THESE_FOLDS = 'http,dispatcher'

async function dailyClicks (app: FastifyInstance): Promise<number> {
  const result = await sql<{ n: string | null }>`select sum(clicks) as n from stats_daily_clicks where zone = ${ZONE} and affiliate_id = 0`.execute(app.db)
  return Number(result.rows[0]?.n ?? 0)
}

async function foldedClicks (app: FastifyInstance): Promise<number> {
  const result = await sql<{ n: string | null }>`select sum(clicks) as n from stats_clicks`.execute(app.db)
  return Number(result.rows[0]?.n ?? 0)
}

async function reportedClicks (app: FastifyInstance, now: number): Promise<number> {
  const res = await inject(app, { method: 'GET', url: `/v1/stats?timezone=${ZONE}&group_by=day,offer&from=${new Date(now - 3 * 24 * HOUR).toISOString().slice(0, 10)}` })
  return (res.json().totals as { clicks: number }[]).reduce((sum, row) => sum + row.clicks, 0)
}

t.test('a click batch in flight when the fold starts is counted once: the fold waits for it', { skip: process.env.TEST_DATABASE === 'pglite' && 'one connection' }, async (t) => {
  const now = Date.now()
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE, SERVICE_ROLES: ONLY_THESE_FOLDS } })
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
  const fold = foldStatistics(app.db, new Date(now))
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
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE, SERVICE_ROLES: ONLY_THESE_FOLDS } })
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  await insertClicks(app.db, [1, 2, 3, 4, 5].map((h) => clickRecord(offer.id, affiliate.id, now - h * HOUR)))
  // Five hours of clicks: five steps of an hour, taken by whichever fold holds the zone's row.
  const steps = await Promise.all([foldStatistics(app.db, new Date(now)), foldStatistics(app.db, new Date(now)), foldStatistics(app.db, new Date(now))])
  t.ok(steps.reduce((a, b) => a + b, 0) >= 5, `steps taken: ${steps.join(', ')}`)
  t.equal(await dailyClicks(app), 5, 'each click added once')
  // A click written late (its time already folded) is counted by the trigger, not left for a fold that has passed.
  await insertClicks(app.db, [clickRecord(offer.id, affiliate.id, now - 90 * 60_000)])
  t.equal(await dailyClicks(app), 6, 'a late click reaches the daily tier as it is written')
  t.equal(await foldStatistics(app.db, new Date(now)), 0, 'and no fold adds it again')
  t.equal(await reportedClicks(app, now), 6)
})

t.test('clicks count in reports as they are written, and once each as the fold moves them into the 15-minute tier', async (t) => {
  const now = Date.now()
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE, SERVICE_ROLES: ONLY_THESE_FOLDS } })
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  await insertClicks(app.db, [clickRecord(offer.id, affiliate.id, now - 10 * 60_000), clickRecord(offer.id, affiliate.id, now - 60_000), clickRecord(offer.id, affiliate.id, now)])
  t.equal(await foldedClicks(app), 0, 'new clicks are left to the fold')
  t.equal(await reportedClicks(app, now), 3, 'and reported from the clicks themselves')

  t.ok(await foldStatistics(app.db, new Date(now)) >= 1, 'a fold up to a moment ago')
  t.equal(await foldedClicks(app), 2, 'holds the clicks older than its grace')
  t.equal(await reportedClicks(app, now), 3, 'the report is unchanged: the rest still read from the clicks')
  const hourly = await inject(app, { method: 'GET', url: `/v1/stats?group_by=hour&from=${new Date(now - 2 * HOUR).toISOString().slice(0, 10)}` })
  t.equal((hourly.json().totals as { clicks: number }[])[0]?.clicks, 3, 'by hour too, the fold falling inside a bucket')

  await insertClicks(app.db, [clickRecord(offer.id, affiliate.id, now - 20 * 60_000)])
  t.equal(await foldedClicks(app), 3, 'a click written late (older than the fold) is counted as it is written')
  await foldStatistics(app.db, new Date(now + 60_000))
  t.equal(await foldedClicks(app), 4, 'the next fold adds the rest, each click once')
  t.equal(await reportedClicks(app, now), 4)
})
