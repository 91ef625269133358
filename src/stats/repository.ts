import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'
import { amountFromDb } from '../domain/money.js'
import { localDate, QUARTER_MS, startOfLocalDay } from '../domain/time-periods.js'
import type { Cell, SubField } from './report.js'

export interface StatsFilters {
  offerIds?: readonly number[] | undefined
  affiliateIds?: readonly number[] | undefined
  advertiserIds?: readonly number[] | undefined
  goal?: string | undefined
  subs: Partial<Record<SubField, string>>
}

export interface StatsSelection {
  /** The report's zone: its local days may come from the zone's daily tier. */
  zone: string
  /** Grouped by hour (the daily tier cannot serve it). */
  byHour: boolean
  /** [from, to) in ms. */
  from: number
  to: number
  /** When grouped by time: each period's first instant, ascending (the first is `from`). */
  periodStarts: readonly number[] | null
  byOffer: boolean
  byAdvertiser: boolean
  byAffiliate: boolean
  byGoal: boolean
  subs: readonly SubField[]
  filters: StatsFilters
}

const iso = (ms: number) => new Date(ms).toISOString()
const ids = (list: readonly number[]) => sql`${list.map(String)}::int[]`
const DAY_MS = 86_400_000

type Range = [from: number, to: number]

/** The whole local days of `zone` inside [from, to): their dates and the instants they span, or null for none. */
function wholeLocalDays (zone: string, from: number, to: number): { firstDay: string; endDay: string; range: Range } | null {
  let firstDay = localDate(zone, from)
  if (startOfLocalDay(zone, firstDay) < from) firstDay = new Date(Date.parse(`${firstDay}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10)
  const endDay = localDate(zone, to)
  const range: Range = [startOfLocalDay(zone, firstDay), startOfLocalDay(zone, endDay)]
  return range[0] < range[1] ? { firstDay, endDay, range } : null
}

/**
 * The report's sums per group and currency, from the cheapest exact source for each part of the period:
 * - the whole local days of a reporting zone (counted since its `since`) from its daily tier, when the report
 *   needs neither subs nor hours nor both an offer and an affiliate dimension (the tier keeps one at a time);
 * - the rest, in whole 15-minute buckets, from the 15-minute tier;
 * - what does not fill a bucket (a `from` or `to` off the quarter-hour), and the whole period when subs are
 *   grouped or filtered (rollups do not keep subs), from the clicks and conversions themselves.
 * A click counts in its offer's currency. Clicks are left out when they cannot apply (a goal grouped or filtered).
 */
export async function sumStats (db: Db, s: StatsSelection): Promise<Cell[]> {
  const f = s.filters
  const raw = s.subs.length > 0 || Object.keys(f.subs).length > 0
  const clicksApply = !s.byGoal && f.goal === undefined
  const needsOffer = s.byOffer || s.byAdvertiser || f.offerIds !== undefined || f.advertiserIds !== undefined
  const needsAffiliate = s.byAffiliate || f.affiliateIds !== undefined
  const grain = raw || s.byHour || (needsOffer && needsAffiliate) ? null : needsAffiliate ? 'affiliate' : 'offer'

  const parts: RawBuilder<unknown>[] = []
  let rest: Range[] = [[s.from, s.to]]
  const zone = grain === null ? undefined : await reportingZone(db, s.zone)
  const days = zone === undefined ? null : wholeLocalDays(s.zone, Math.max(s.from, zone.since), s.to)
  if (zone !== undefined && days !== null && grain !== null) {
    rest = [[s.from, days.range[0]], [days.range[1], s.to]].filter(([a, b]) => (a as number) < (b as number)) as Range[]
    const grainFilter = grain === 'offer' ? sql`affiliate_id = 0` : sql`offer_id = 0`
    const noon = sql`((day + time '12:00') at time zone ${zone.zone})`
    const inDays = sql`zone = ${zone.zone} and day >= ${days.firstDay}::date and day < ${days.endDay}::date and ${grainFilter}`
    if (clicksApply) {
      parts.push(sql`select ${noon}, offer_id, affiliate_id, null::text, currency, clicks, ${ZEROS}
        from stats_daily_clicks c where ${inDays} ${where(catalogFilters(f, 'c'))}`)
    }
    parts.push(sql`select ${noon}, offer_id, affiliate_id, goal, currency,
      0::int8, conversions, approved, pending, declined, hold, revenue, payout, pending_revenue, pending_payout
      from stats_daily_conversions c where ${inDays} ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c')])}`)
  }
  for (const range of rest) parts.push(...quarterAndRawParts(s, range, raw, clicksApply))
  if (parts.length === 0) return []

  const factColumns = [
    't', 'offer_id', 'affiliate_id', 'goal', 'currency', ...s.subs, 'clicks', 'conversions', 'approved', 'pending', 'declined', 'hold',
    'revenue', 'payout', 'pending_revenue', 'pending_payout',
  ]
  const keys: RawBuilder<unknown>[] = []
  if (s.periodStarts !== null) keys.push(sql`width_bucket(f.t, ${s.periodStarts.map(iso)}::timestamptz[]) as period`)
  if (s.byOffer) keys.push(sql`f.offer_id`)
  if (s.byAdvertiser) keys.push(sql`o.advertiser_id`)
  if (s.byAffiliate) keys.push(sql`f.affiliate_id`)
  if (s.byGoal) keys.push(sql`f.goal`)
  for (const sub of s.subs) keys.push(sql.ref(`f.${sub}`))
  keys.push(sql`coalesce(f.currency, o.currency) as currency`)
  const advertiserFilter = f.advertiserIds === undefined ? sql`` : sql`where o.advertiser_id = any(${ids(f.advertiserIds)})`

  const result = await sql<Record<string, string | number | null>>`
    with f (${sql.join(factColumns.map((name) => sql.ref(name)))}) as (${sql.join(parts, sql` union all `)})
    select ${sql.join(keys)},
      sum(f.clicks)::int8 as clicks, sum(f.conversions)::int8 as conversions, sum(f.approved)::int8 as approved,
      sum(f.pending)::int8 as pending, sum(f.declined)::int8 as declined, sum(f.hold)::int8 as hold,
      sum(f.revenue)::text as revenue, sum(f.payout)::text as payout,
      sum(f.pending_revenue)::text as pending_revenue, sum(f.pending_payout)::text as pending_payout
    from f left join offers o on o.id = f.offer_id
    ${advertiserFilter}
    group by ${sql.join(keys.map((_key, i) => sql.raw(String(i + 1))))}
    having sum(f.clicks) > 0 or sum(f.conversions) > 0`.execute(db)

  return result.rows.map((row) => {
    const keyValues: Record<string, string | number> = {}
    if (s.periodStarts !== null) keyValues.period = Number(row.period)
    if (s.byOffer) keyValues.offer_id = Number(row.offer_id)
    if (s.byAdvertiser) keyValues.advertiser_id = Number(row.advertiser_id)
    if (s.byAffiliate) keyValues.affiliate_id = Number(row.affiliate_id)
    if (s.byGoal) keyValues.goal = String(row.goal)
    for (const sub of s.subs) keyValues[sub] = String(row[sub])
    return {
      keys: keyValues,
      currency: String(row.currency),
      clicks: clicksApply ? Number(row.clicks) : null,
      conversions: Number(row.conversions),
      approved: Number(row.approved),
      pending: Number(row.pending),
      declined: Number(row.declined),
      hold: Number(row.hold),
      revenue: amountFromDb(String(row.revenue)),
      payout: amountFromDb(String(row.payout)),
      pending_revenue: amountFromDb(String(row.pending_revenue)),
      pending_payout: amountFromDb(String(row.pending_payout)),
    }
  })
}

/** The reporting zone a report's zone names (compared ignoring case), with the instant its daily tier counts from. */
async function reportingZone (db: Db, zone: string): Promise<{ zone: string; since: number } | undefined> {
  const row = await db.selectFrom('stats_zones').select(['zone', 'since']).where(sql<boolean>`lower(zone) = lower(${zone})`).executeTakeFirst()
  return row === undefined ? undefined : { zone: row.zone, since: row.since.getTime() }
}

const ZEROS = sql`0::int8 as conversions, 0::int8 as approved, 0::int8 as pending, 0::int8 as declined, 0::int8 as hold,
  0::numeric as revenue, 0::numeric as payout, 0::numeric as pending_revenue, 0::numeric as pending_payout`

const where = (parts: RawBuilder<unknown>[]) => parts.length === 0 ? sql`` : sql`and ${sql.join(parts, sql` and `)}`

function catalogFilters (f: StatsFilters, prefix: string): RawBuilder<unknown>[] {
  const parts: RawBuilder<unknown>[] = []
  if (f.offerIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.offer_id`)} = any(${ids(f.offerIds)})`)
  if (f.affiliateIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.affiliate_id`)} = any(${ids(f.affiliateIds)})`)
  return parts
}

const goalFilter = (f: StatsFilters, prefix: string) => f.goal === undefined ? [] : [sql`lower(${sql.ref(`${prefix}.goal`)}) = lower(${f.goal})`]

/** The facts of [from, to) from the 15-minute tier (whole buckets, unless subs are needed) and the raw rows. */
function quarterAndRawParts (s: StatsSelection, [from, to]: Range, raw: boolean, clicksApply: boolean): RawBuilder<unknown>[] {
  const f = s.filters
  const alignedFrom = Math.ceil(from / QUARTER_MS) * QUARTER_MS
  const alignedTo = Math.floor(to / QUARTER_MS) * QUARTER_MS
  const useRollups = !raw && alignedFrom < alignedTo
  const rawRanges: Range[] = useRollups
    ? ([[from, alignedFrom], [alignedTo, to]] as Range[]).filter(([a, b]) => a < b)
    : [[from, to]]
  const subFilters = (json: RawBuilder<unknown>) => Object.entries(f.subs).map(([sub, value]) => sql`${json}->>${sub} = ${value}`)
  const subColumns = (json: RawBuilder<unknown> | null) => s.subs.map((sub) => json === null
    ? sql`null::text as ${sql.ref(sub)}`
    : sql`coalesce(${json}->>${sub}, '') as ${sql.ref(sub)}`)
  const timeRanges = (column: RawBuilder<unknown>) => sql`(${sql.join(rawRanges.map(([a, b]) => sql`(${column} >= ${iso(a)}::timestamptz and ${column} < ${iso(b)}::timestamptz)`), sql` or `)})`
  const withSubs = (columns: RawBuilder<unknown>[]) => columns.length === 0 ? sql`` : sql`, ${sql.join(columns)}`

  const parts: RawBuilder<unknown>[] = []
  if (useRollups && clicksApply) {
    parts.push(sql`select bucket as t, offer_id, affiliate_id, null::text as goal, null::text as currency${withSubs(subColumns(null))},
      clicks, ${ZEROS}
      from stats_clicks c where bucket >= ${iso(alignedFrom)}::timestamptz and bucket < ${iso(alignedTo)}::timestamptz ${where(catalogFilters(f, 'c'))}`)
  }
  if (useRollups) {
    parts.push(sql`select bucket, offer_id, affiliate_id, goal, currency${withSubs(subColumns(null))},
      0::int8, conversions, approved, pending, declined, hold, revenue, payout, pending_revenue, pending_payout
      from stats_conversions c where bucket >= ${iso(alignedFrom)}::timestamptz and bucket < ${iso(alignedTo)}::timestamptz
      ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c')])}`)
  }
  if (rawRanges.length > 0 && clicksApply) {
    parts.push(sql`select created_at, offer_id, affiliate_id, null::text, null::text${withSubs(subColumns(sql`c.params`))},
      1::int8, ${ZEROS}
      from clicks c where ${timeRanges(sql`c.created_at`)} ${where([...catalogFilters(f, 'c'), ...subFilters(sql`c.params`)])}`)
  }
  if (rawRanges.length > 0) {
    parts.push(sql`select created_at, offer_id, affiliate_id, goal, currency${withSubs(subColumns(sql`c.click_params`))},
      0::int8, 1::int8, (status = 'approved')::int::int8, (status = 'pending')::int::int8, (status = 'declined')::int::int8, (status = 'hold')::int::int8,
      case when status = 'approved' then revenue else 0 end, case when status = 'approved' then payout else 0 end,
      case when status in ('pending', 'hold') then revenue else 0 end, case when status in ('pending', 'hold') then payout else 0 end
      from conversions c where ${timeRanges(sql`c.created_at`)}
      ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c'), ...subFilters(sql`c.click_params`)])}`)
  }
  return parts
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
    const written = await sql<{ any: boolean }>`select exists (select 1 from stats_clicks) or exists (select 1 from stats_conversions) as any`.execute(trx)
    const since = written.rows[0]?.any === true ? sinceAhead(now) : sql<Date>`timestamptz '1970-01-01 00:00:00+00'`
    await sql`insert into stats_zones (zone, since) select zone, ${since} from unnest(${added}::text[]) as z (zone)
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
  await sql`update stats_zones set since = ${sinceAhead(now)}`.execute(trx)
}
