import { sql } from 'kysely'
import t from 'tap'
import { build, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, click, createAffiliate, createOffer } from '../helpers/fixtures.js'
import { clickMonth, clickMonthsBetween, existingClickMonths, makeClickPartitions } from '../../src/clicks/partitions.js'
import { findClick } from '../../src/clicks/repository.js'
import { newClickId } from '../../src/domain/click-ids.js'
import type { FastifyInstance } from 'fastify'

const DAY_MS = 86_400_000

async function partitionOf (app: FastifyInstance, clickid: string): Promise<{ part: string; createdAt: Date } | undefined> {
  const { rows } = await sql<{ part: string; created_at: Date }>`
    select tableoid::regclass::text as part, created_at from clicks where clickid = ${clickid}`.execute(app.db)
  return rows[0] === undefined ? undefined : { part: rows[0].part, createdAt: new Date(rows[0].created_at) }
}

/** A click recorded as the click path records it, at `at` (a clock far from now), written at once. */
async function recordAt (app: FastifyInstance, at: Date, offerId: number, affiliateId: number): Promise<string> {
  const clickid = newClickId(at)
  app.clickRecorder.record({
    clickid, offer_id: offerId, affiliate_id: affiliateId, tracking_link_id: null, params: { sub1: 'old' }, ip: '203.0.113.7', user_agent: 'UA', referrer: null, created_at: at,
  })
  await app.clickRecorder.flush()
  return clickid
}

t.test('months: names and bounds in UTC, across year ends', async (t) => {
  t.same(clickMonth(new Date('2026-12-31T23:59:59.999Z')), {
    name: 'clicks_p2026_12', from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z'),
  })
  t.same(clickMonth(new Date('2027-01-01T00:00:00Z')).name, 'clicks_p2027_01', 'the next instant is the next month')
  t.same(clickMonthsBetween(new Date('2026-11-30T00:00:00Z'), new Date('2027-02-01T00:00:00Z')).map((m) => m.name),
    ['clicks_p2026_11', 'clicks_p2026_12', 'clicks_p2027_01', 'clicks_p2027_02'])
})

t.test('a click lands in the partition of its month, and its id names its second', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  const clickid = await click(app, offer.id, affiliate.id)
  await app.clickRecorder.flush()
  const stored = await partitionOf(app, clickid)
  if (stored === undefined) throw new Error('click not stored')
  t.equal(stored.part, clickMonth(stored.createdAt).name, 'in its month\'s partition')
  t.equal(parseInt(clickid.slice(0, 8), 16), Math.floor(stored.createdAt.getTime() / 1000), 'the id starts with the click\'s second')
  const months = (await existingClickMonths(app.db)).map((month) => month.name)
  t.ok(months.includes(clickMonth(new Date(Date.now() + 40 * DAY_MS)).name), 'next month\'s partition exists already')
})

t.test('partitions are made once when instances race for them', async (t) => {
  const { app } = await build(t)
  const second = TEST_ENGINE === 'postgres' ? (await build(t, { databaseUrl: await databaseUrlOf(app) })).app : app
  const future = clickMonthsBetween(new Date(Date.now() + 400 * DAY_MS), new Date(Date.now() + 560 * DAY_MS))
  const made = await Promise.all([makeClickPartitions(app.db, future), makeClickPartitions(second.db, future), makeClickPartitions(app.db, future)])
  t.same(made.flat().sort(), future.map((month) => month.name).sort(), 'each month made by exactly one of the racers')
  const existing = new Set((await existingClickMonths(app.db)).map((month) => month.name))
  t.ok(future.every((month) => existing.has(month.name)), 'all of them exist')
})

t.test('a click whose clock jumped years ahead or back is kept: its month is made when it is written', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  for (const at of [new Date(Date.now() + 3 * 365 * DAY_MS), new Date(Date.now() - 2 * 365 * DAY_MS)]) {
    const clickid = await recordAt(app, at, offer.id, affiliate.id)
    t.equal(app.clickRecorder.dropped, 0, 'nothing dropped')
    t.equal((await partitionOf(app, clickid))?.part, clickMonth(at).name, `${at.toISOString()}: in its own month`)
    t.ok(await findClick(app.db, clickid), 'found by its id')
  }
})

t.test('intake looks a click up only in the second its id names: an id that does not carry its click\'s time is unknown', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app)
  const affiliate = await createAffiliate(app)
  const now = new Date()
  // A row whose id names another second than its time, as a random id minted elsewhere would.
  const stray = '5ec25b044a4f2b0001211111'
  await app.db.insertInto('clicks').values({
    clickid: stray, offer_id: offer.id, affiliate_id: affiliate.id, params: '{}', ip: '203.0.113.7', user_agent: '', created_at: now,
  }).execute()
  t.equal((await advertiserPostback(app, { clickid: stray })).statusCode, 404, 'not found: no partition of its id\'s second holds it')
  t.equal(await findClick(app.db, stray), undefined, 'nor by the click API')
  const clickid = await click(app, offer.id, affiliate.id)
  await app.clickRecorder.flush()
  t.equal((await advertiserPostback(app, { clickid })).statusCode, 200, 'a click id minted here converts')
})

async function databaseUrlOf (app: FastifyInstance): Promise<string> {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(app.db)
  return `postgres://postgres@127.0.0.1:5432/${rows[0]?.name ?? ''}`
}
