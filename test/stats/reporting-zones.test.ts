import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, inject } from '../helpers/build.js'
import { createAffiliate, createOffer } from '../helpers/fixtures.js'
import { clickRecord } from '../helpers/seeds.js'
import { localDate, startOfLocalDay } from '../../src/domain/time-periods.js'

// The daily tier of a reporting zone (STATS_TIME_ZONES) counts what is created from the zone's `since` on, up to
// where the fold has reached. These tests follow `since` through the setting's changes and an offer's change of
// currency, and check that reports stay exact on both sides of it.

const ZONE = 'Asia/Kolkata'
const HOUR = 3_600_000
const DAY = 24 * HOUR

function recordClicks (app: FastifyInstance, offerId: number, affiliateId: number, times: number[]): Promise<void> {
  for (const at of times) app.clickRecorder.record(clickRecord(offerId, affiliateId, at))
  return app.clickRecorder.flush()
}

async function zones (app: FastifyInstance): Promise<Record<string, number>> {
  const rows = await app.db.selectFrom('stats_zones').select(['zone', 'since']).execute()
  return Object.fromEntries(rows.map((row) => [row.zone, row.since.getTime()]))
}

async function dailyClicks (app: FastifyInstance, zone: string): Promise<number> {
  const result = await sql<{ n: string | null }>`select sum(clicks) as n from stats_daily_clicks where zone = ${zone} and affiliate_id = 0`.execute(app.db)
  return Number(result.rows[0]?.n ?? 0)
}

async function clicksByCurrency (app: FastifyInstance, from: string, to: string): Promise<Record<string, number>> {
  const res = await inject(app, { method: 'GET', url: `/v1/stats?timezone=${ZONE}&group_by=month&from=${from}&to=${to}` })
  t.equal(res.statusCode, 200, res.body)
  const totals = res.json().totals as { currency: string; clicks: number }[]
  return Object.fromEntries(totals.map((row) => [row.currency, row.clicks]))
}

/** `since` is the start of a local day of the zone, more than an hour after `now`. */
function isDayStartAhead (zone: string, since: number, now: number): boolean {
  return since > now + HOUR && since <= now + DAY + 2 * HOUR && startOfLocalDay(zone, localDate(zone, since)) === since
}

t.test('an offer that changes currency: earlier days from the 15-minute tier in the new currency, the daily tier again from a day ahead', async (t) => {
  const now = Date.now()
  const { app } = await build(t, { env: { STATS_TIME_ZONES: ZONE } })
  t.same(await zones(app), { [ZONE]: 0 }, 'a zone on an empty database counts from the beginning')
  const offer = await createOffer(app, { currency: 'USD' })
  const other = await createOffer(app, { currency: 'USD' })
  const affiliate = await createAffiliate(app)
  await recordClicks(app, offer.id, affiliate.id, [now - 3 * DAY, now - 2 * DAY, now - HOUR])
  await recordClicks(app, other.id, affiliate.id, [now - 2 * DAY])
  const from = localDate(ZONE, now - 5 * DAY)
  const today = localDate(ZONE, now)
  t.equal(await dailyClicks(app, ZONE), 0, 'new clicks wait in the 15-minute tier for the fold')
  t.same(await clicksByCurrency(app, from, today), { USD: 4 }, 'and count from there')
  await app.statsFolding.runOnce()
  t.equal(await dailyClicks(app, ZONE), 4, 'the fold adds them to the daily tier')
  t.same(await clicksByCurrency(app, from, today), { USD: 4 })

  const unchanged = await inject(app, { method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { currency: 'USD', title: 'Same money' } })
  t.equal(unchanged.statusCode, 200)
  t.same(await zones(app), { [ZONE]: 0 }, 'a patch that keeps the currency keeps the tier')

  const patched = await inject(app, { method: 'PATCH', url: `/v1/offers/${offer.id}`, payload: { currency: 'EUR' } })
  t.equal(patched.statusCode, 200, patched.body)
  const since = (await zones(app))[ZONE] as number
  t.ok(isDayStartAhead(ZONE, since, now), `the tier starts again at a local midnight ahead (${new Date(since).toISOString()})`)
  t.equal(await dailyClicks(app, ZONE), 0, 'its rows are gone')
  t.same(await clicksByCurrency(app, from, today), { EUR: 3, USD: 1 }, 'the offer\'s clicks count in its new currency')

  // Clicks of the days after `since` are counted by the tier again, and reports read them from it.
  await recordClicks(app, offer.id, affiliate.id, [since + HOUR, since + 30 * HOUR])
  await app.statsFolding.runOnce(new Date(since + 31 * HOUR))
  t.equal(await dailyClicks(app, ZONE), 2)
  const folded = await app.db.selectFrom('stats_zones').select('folded_until').executeTakeFirstOrThrow()
  t.equal(folded.folded_until.getTime(), since + 31 * HOUR - 15 * 60_000, 'folded up to the last bucket ended two minutes before')
  const later = localDate(ZONE, since + 2 * DAY)
  t.same(await clicksByCurrency(app, from, later), { EUR: 5, USD: 1 })
  const byDay = await inject(app, { method: 'GET', url: `/v1/stats?timezone=${ZONE}&group_by=day,affiliate&from=${localDate(ZONE, since)}&to=${later}` })
  t.same((byDay.json().data as { day: string; clicks: number }[]).map((row) => [row.day, row.clicks]),
    [[localDate(ZONE, since + HOUR), 1], [localDate(ZONE, since + 30 * HOUR), 1]])

  const fresh = await createOffer(app, { currency: 'USD' })
  t.equal((await inject(app, { method: 'PATCH', url: `/v1/offers/${fresh.id}`, payload: { currency: 'GBP' } })).statusCode, 200)
  t.equal((await zones(app))[ZONE], since, 'an offer without counted clicks changes currency without restarting the tier')
})

t.test('zones follow the setting: a zone added to a database with traffic counts from a day ahead; one removed goes with its rows', async (t) => {
  const now = Date.now()
  const first = await build(t, { env: { STATS_TIME_ZONES: ZONE } })
  const offer = await createOffer(first.app)
  const affiliate = await createAffiliate(first.app)
  await recordClicks(first.app, offer.id, affiliate.id, [now - DAY, now - HOUR])
  await first.app.close()

  const second = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir, env: { STATS_TIME_ZONES: `UTC,${ZONE.toUpperCase()}` } })
  const both = await zones(second.app)
  t.equal(both[ZONE], 0, 'a zone kept (named in another case) keeps its tier')
  t.ok(isDayStartAhead('UTC', both.UTC as number, now), 'UTC, new beside traffic, counts from a midnight ahead')
  t.same(await clicksByCurrency(second.app, localDate(ZONE, now - 3 * DAY), localDate(ZONE, now)), { USD: 2 })
  await second.app.close()

  const third = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir, env: { STATS_TIME_ZONES: 'UTC' } })
  t.same(Object.keys(await zones(third.app)), ['UTC'])
  t.equal(await dailyClicks(third.app, ZONE), 0, 'the dropped zone\'s rows are gone')
  t.same(await clicksByCurrency(third.app, localDate(ZONE, now - 3 * DAY), localDate(ZONE, now)), { USD: 2 }, 'its reports read the 15-minute tier')
})
