import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { localDate, startOfLocalDay, startOfQuarter } from '../domain/time-periods.js'
import { clicksFoldedUntil } from './click-fold.js'

// The daily tiers of the reporting zones (STATS_TIME_ZONES): which zones there are and the span each holds,
// kept in step with the setting and with offers' currencies, and the fold that fills them from the 15-minute tier.

const iso = (ms: number) => new Date(ms).toISOString()
const DAY_MS = 86_400_000

/** The conversion figures a rollup row carries, in the order the report's facts list them. */
export const CONVERSION_SUM_NAMES = ['conversions', 'approved', 'pending', 'declined', 'hold', 'revenue', 'payout', 'pending_revenue', 'pending_payout']
const CONVERSION_FIGURES = sql.raw(CONVERSION_SUM_NAMES.join(', '))

export const nextDate = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10)

export interface ReportingZone {
  zone: string
  /** The daily tier counts what is created from here on... */
  since: number
  /** ...up to here. */
  foldedUntil: number
  /** The start of the local day after the one `foldedUntil` is in (or `foldedUntil`, at a local midnight). */
  dayAfterFolded: number
}

/** The reporting zone a report's zone names (compared ignoring case), with the span its daily tier holds. */
export async function reportingZone (db: Db, zone: string): Promise<ReportingZone | undefined> {
  const row = await db.selectFrom('stats_zones').select(['zone', 'since', 'folded_until']).where(sql<boolean>`lower(zone) = lower(${zone})`).executeTakeFirst()
  if (row === undefined) return undefined
  const foldedUntil = row.folded_until.getTime()
  const day = localDate(row.zone, foldedUntil)
  const dayStart = startOfLocalDay(row.zone, day)
  const dayAfterFolded = dayStart === foldedUntil ? foldedUntil : startOfLocalDay(row.zone, nextDate(day))
  return { zone: row.zone, since: row.since.getTime(), foldedUntil, dayAfterFolded }
}

/**
 * The instant from which a zone's daily tier counts when it starts now: the start of a local day more than an
 * hour ahead of both clocks (the app's and the database's). Every click or conversion created from then on is
 * written by a statement that starts after the caller commits (a click is written within seconds of its time,
 * instances' clocks agree within the hour), so its trigger sees the zone and counts it; nothing earlier is read
 * from the tier.
 */
function sinceAhead (now: Date) {
  return sql<Date>`(date_trunc('day', (greatest(now(), ${now.toISOString()}::timestamptz) + interval '1 hour') at time zone zone)
    + interval '1 day') at time zone zone`
}

/**
 * Makes the reporting zones those configured (STATS_TIME_ZONES). A zone new to a database that holds no clicks or
 * conversions counts from the beginning; otherwise from `sinceAhead`, its earlier days being read from the
 * 15-minute tier. The check runs with clicks and conversions locked against writes, so no batch slips between
 * it and the zone's commit. Zones no longer configured are dropped with their rows.
 */
export async function syncReportingZones (db: Db, zones: readonly string[], now: Date): Promise<void> {
  const existing = await db.selectFrom('stats_zones').select('zone').execute()
  const known = new Set(existing.map((row) => row.zone.toLowerCase()))
  const wanted = new Set(zones.map((zone) => zone.toLowerCase()))
  const added = zones.filter((zone) => !known.has(zone.toLowerCase()))
  const dropped = existing.filter((row) => !wanted.has(row.zone.toLowerCase())).map((row) => row.zone)
  if (added.length === 0 && dropped.length === 0) return
  await db.transaction().execute(async (trx) => {
    await sql`lock table clicks, conversions in share mode`.execute(trx)
    if (dropped.length > 0) {
      await trx.deleteFrom('stats_zones').where('zone', 'in', dropped).execute()
      await trx.deleteFrom('stats_daily_clicks').where('zone', 'in', dropped).execute()
      await trx.deleteFrom('stats_daily_conversions').where('zone', 'in', dropped).execute()
    }
    if (added.length === 0) return
    const written = await sql<{ any: boolean }>`select exists (select 1 from clicks) or exists (select 1 from stats_clicks)
      or exists (select 1 from stats_conversions) as any`.execute(trx)
    const since = written.rows[0]?.any === true ? sinceAhead(now) : sql<Date>`timestamptz '1970-01-01 00:00:00+00'`
    await sql`insert into stats_zones (zone, since, folded_until) select zone, ${since}, ${since} from unnest(${added}::text[]) as z (zone)
      on conflict (zone) do nothing`.execute(trx)
  })
}

/**
 * Called in the transaction that changes an offer's currency. The daily tier keeps the currency each click was
 * counted in, so when the offer has clicks there, every zone's tier starts again from `sinceAhead` (its rows
 * dropped, earlier days read from the 15-minute tier, where a click takes its offer's currency when read).
 */
export async function restartDailyTiersForCurrencyChange (trx: Db, offerId: number, now: Date): Promise<void> {
  const counted = await trx.selectFrom('stats_daily_clicks').select('zone').where('offer_id', '=', offerId).limit(1).executeTakeFirst()
  if (counted === undefined) return
  await trx.deleteFrom('stats_daily_clicks').execute()
  await trx.deleteFrom('stats_daily_conversions').execute()
  await sql`update stats_zones set since = ${sinceAhead(now)}, folded_until = ${sinceAhead(now)}`.execute(trx)
}

/** How long after a 15-minute bucket ends the fold adds it: clicks are written within a second of their time. */
export const FOLD_GRACE_MS = 2 * 60_000
/**
 * One fold transaction adds at most this much traffic time, so catching up after a pause holds writes for
 * moments, not for the time a day of buckets takes.
 */
const FOLD_STEP_MS = 3_600_000

/**
 * Adds the 15-minute tier's whole buckets created since each zone's `folded_until` (up to a bucket ended
 * FOLD_GRACE_MS before `now`, and whose clicks are all folded) to the zone's daily tier, and moves `folded_until` on: the daily tier then
 * answers those days without the click and conversion triggers writing to it as they come. Each step runs with
 * clicks and conversions locked against writes (a batch in flight finishes first, so none is left out of both
 * the fold and the daily tier), and with the zone's row locked, so instances folding at once take turns.
 * Returns how many steps moved a zone.
 */
export async function foldDailyTiers (db: Db, now: Date): Promise<number> {
  let steps = 0
  for (;;) {
    const moved = await db.transaction().execute(async (trx) => {
      // Only buckets whose clicks are all in the 15-minute tier (see click-fold.ts); its fold only moves on.
      const target = Math.min(startOfQuarter(now.getTime() - FOLD_GRACE_MS), startOfQuarter(await clicksFoldedUntil(trx)))
      const zones = await sql<{ zone: string; folded_until: Date }>`select zone, folded_until from stats_zones
        where folded_until < ${iso(target)}::timestamptz order by zone for update`.execute(trx)
      if (zones.rows.length === 0) return false
      await sql`lock table clicks, conversions in share mode`.execute(trx)
      for (const { zone, folded_until: foldedUntil } of zones.rows) {
        const from = foldedUntil.getTime()
        // Skip what holds nothing: a zone counting since 1970 on a new database starts at its first bucket.
        const first = await sql<{ at: Date | null }>`select least(
          (select min(bucket) from stats_clicks where bucket >= ${iso(from)}::timestamptz),
          (select min(bucket) from stats_conversions where bucket >= ${iso(from)}::timestamptz)) as at`.execute(trx)
        const firstAt = first.rows[0]?.at?.getTime() ?? target
        const until = Math.min(target, Math.max(from, firstAt) + FOLD_STEP_MS)
        const inRange = sql`c.bucket >= ${iso(from)}::timestamptz and c.bucket < ${iso(until)}::timestamptz`
        await sql`insert into stats_daily_clicks as s (zone, day, offer_id, affiliate_id, currency, clicks)
          select ${zone}::text, (c.bucket at time zone ${zone}::text)::date, g.offer_id, g.affiliate_id, o.currency, sum(c.clicks)
          from stats_clicks c join offers o on o.id = c.offer_id
            cross join lateral (values (c.offer_id, 0), (0, c.affiliate_id)) g (offer_id, affiliate_id)
          where ${inRange}
          group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
          on conflict (zone, day, offer_id, affiliate_id, currency) do update set clicks = s.clicks + excluded.clicks`.execute(trx)
        await sql`insert into stats_daily_conversions as s (zone, day, offer_id, affiliate_id, goal, currency, ${CONVERSION_FIGURES})
          select ${zone}::text, (c.bucket at time zone ${zone}::text)::date, g.offer_id, g.affiliate_id, c.goal, c.currency,
            ${sql.join(CONVERSION_SUM_NAMES.map((name) => sql`sum(${sql.ref(`c.${name}`)})`))}
          from stats_conversions c cross join lateral (values (c.offer_id, 0), (0, c.affiliate_id)) g (offer_id, affiliate_id)
          where ${inRange}
          group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
          on conflict (zone, day, offer_id, affiliate_id, goal, currency) do update set
            ${sql.join(CONVERSION_SUM_NAMES.map((name) => sql`${sql.ref(name)} = ${sql.ref(`s.${name}`)} + ${sql.ref(`excluded.${name}`)}`))}`.execute(trx)
        await sql`update stats_zones set folded_until = ${iso(until)}::timestamptz where zone = ${zone}`.execute(trx)
      }
      return true
    })
    if (!moved) return steps
    steps++
  }
}
