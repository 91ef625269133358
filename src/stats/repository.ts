import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'
import { amountFromDb } from '../domain/money.js'
import { localDate, QUARTER_MS, startOfLocalDay, startOfQuarter } from '../domain/time-periods.js'
import { clicksFoldedUntil } from './click-fold.js'
import { CONVERSION_SUM_NAMES, nextDate, reportingZone } from './daily-tiers.js'
import { METRICS, type Cell, type Metric, type SortKey, type SubField } from './report.js'

export interface StatsFilters {
  offerIds?: readonly number[] | undefined
  affiliateIds?: readonly number[] | undefined
  advertiserIds?: readonly number[] | undefined
  goal?: string | undefined
  subs: Partial<Record<SubField, string>>
}

/**
 * The report's order, as the database sorts it: the sort keys, then every group field and the currency
 * ascending, so that the order is total and pages never repeat or skip a row.
 */
export interface StatsOrder {
  keys: readonly SortKey[]
  /** For each time unit grouped (by its row column): the 0-based period of each piece of the timeline. */
  periodOfPiece: ReadonlyMap<string, readonly number[]>
}

/** The rows of the sorted result to return: `limit` rows after the first `offset`; null for all of them. */
export type StatsWindow = { offset: number; limit: number } | null

export interface StatsSums {
  /** The window's rows, in the report's order. */
  cells: Cell[]
  /** The whole result's sums per currency, ascending by currency. */
  totals: Cell[]
  /** Rows follow the window. */
  more: boolean
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
const CONVERSION_FIGURES = sql.raw(CONVERSION_SUM_NAMES.join(', '))

type Range = [from: number, to: number]

/** The whole local days of `zone` inside [from, to): their dates and the instants they span, or null for none. */
function wholeLocalDays (zone: string, from: number, to: number): { firstDay: string; endDay: string; range: Range } | null {
  let firstDay = localDate(zone, from)
  if (startOfLocalDay(zone, firstDay) < from) firstDay = nextDate(firstDay)
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
 * The database sorts the result and cuts the window from it, and sums it per currency in the same statement:
 * only the rows shown travel (a month by day and affiliate holds 12,000).
 */
export async function sumStats (db: Db, s: StatsSelection, order: StatsOrder, window: StatsWindow): Promise<StatsSums> {
  // One snapshot for the spans the tiers hold and the rows read from them: a fold committing in between would
  // otherwise count what it moved in both tiers.
  const rows = await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    // The report's hash aggregates hold a month of cells; the default work_mem would spill them to disk.
    await sql`set local work_mem = '64MB'`.execute(trx)
    return (await reportQuery(trx, s, order, window)).execute(trx)
  })
  return toSums(rows.rows, s, window)
}

type ReportRow = Record<string, string | number | null>

/** Clicks have no goal: a report grouped or filtered by goal counts none. */
const clicksApplyTo = (s: StatsSelection) => !s.byGoal && s.filters.goal === undefined

/** The statement that sums, sorts and cuts the report (see `sumStats`), built from the tiers' spans as they are. */
async function reportQuery (db: Db, s: StatsSelection, order: StatsOrder, window: StatsWindow): Promise<RawBuilder<ReportRow>> {
  const f = s.filters
  const raw = s.subs.length > 0 || Object.keys(f.subs).length > 0
  const clicksApply = clicksApplyTo(s)
  const needsOffer = s.byOffer || s.byAdvertiser || f.offerIds !== undefined || f.advertiserIds !== undefined
  const needsAffiliate = s.byAffiliate || f.affiliateIds !== undefined
  const grain = raw || s.byHour || (needsOffer && needsAffiliate) ? null : needsAffiliate ? 'affiliate' : 'offer'

  const facts: Facts = { clicks: [], conversions: [] }
  let rest: Range[] = [[s.from, s.to]]
  const zone = grain === null ? undefined : await reportingZone(db, s.zone)
  // The daily tier serves whole local days up to where it is folded; the day the fold is in counts from both
  // tiers (its daily rows up to `foldedUntil`, the 15-minute tier after), the days after from the 15-minute tier.
  const days = zone === undefined ? null : wholeLocalDays(s.zone, Math.max(s.from, zone.since), Math.min(s.to, zone.dayAfterFolded))
  if (zone !== undefined && days !== null && grain !== null) {
    const cut = Math.min(days.range[1], zone.foldedUntil)
    rest = ([[s.from, days.range[0]], [cut, s.to]] as Range[]).filter(([a, b]) => a < b)
    const grainFilter = grain === 'offer' ? sql`affiliate_id = 0` : sql`offer_id = 0`
    const noon = sql`((day + time '12:00') at time zone ${zone.zone})`
    const inDays = sql`zone = ${zone.zone} and day >= ${days.firstDay}::date and day < ${days.endDay}::date and ${grainFilter}`
    if (clicksApply) {
      facts.clicks.push(sql`select ${noon}, offer_id, affiliate_id, currency, clicks
        from stats_daily_clicks c where ${inDays} ${where(catalogFilters(f, 'c'))}`)
    }
    facts.conversions.push(sql`select ${noon}, offer_id, affiliate_id, goal, currency, ${CONVERSION_FIGURES}
      from stats_daily_conversions c where ${inDays} ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c')])}`)
  }
  const clicksFolded = clicksApply ? await clicksFoldedUntil(db) : 0
  for (const range of rest) addQuarterAndRawFacts(facts, s, range, raw, clicksApply, clicksFolded)

  // Clicks and conversions are summed apart (a click row carries one count, not nine zero sums) and joined on
  // the group's keys. Each side keeps only groups with something counted: a conversion cell left at zero by a
  // status change or a moved creation time shows nothing.
  const keyNames = ['period', 'offer_id', 'advertiser_id', 'affiliate_id', 'goal', ...s.subs, 'currency'].filter((name) =>
    (name === 'period' && s.periodStarts !== null) || (name === 'offer_id' && s.byOffer) || (name === 'advertiser_id' && s.byAdvertiser) ||
    (name === 'affiliate_id' && s.byAffiliate) || (name === 'goal' && s.byGoal) || (s.subs as readonly string[]).includes(name) || name === 'currency')
  const keys = (side: 'clicks' | 'conversions') => keyNames.map((name) => {
    if (name === 'period') return sql`width_bucket(f.t, ${(s.periodStarts as readonly number[]).map(iso)}::timestamptz[]) as period`
    if (name === 'advertiser_id') return sql`o.advertiser_id`
    if (name === 'currency') return side === 'clicks' ? sql`coalesce(f.currency, o.currency) as currency` : sql`f.currency`
    return sql.ref(`f.${name}`)
  })
  const groupBy = sql.join(keyNames.map((_name, i) => sql.raw(String(i + 1))))
  const advertiserFilter = f.advertiserIds === undefined ? sql`` : sql`where o.advertiser_id = any(${ids(f.advertiserIds)})`
  const columns = (names: string[]) => sql.join(names.map((name) => sql.ref(name)))
  const clickColumns = ['t', 'offer_id', 'affiliate_id', 'currency', ...s.subs, 'clicks']
  const conversionColumns = ['t', 'offer_id', 'affiliate_id', 'goal', 'currency', ...s.subs, ...CONVERSION_SUM_NAMES]
  const conversionSums = sql`${sql.raw(CONVERSION_SUM_NAMES.slice(0, 5).map((name) => `sum(f.${name})::int8 as ${name}`).join(', '))},
    ${sql.raw(CONVERSION_SUM_NAMES.slice(5).map((name) => `sum(f.${name}) as ${name}`).join(', '))}`
  const conversionTotals = sql`
    select ${sql.join(keys('conversions'))}, ${conversionSums}
    from (${sql.join(facts.conversions, sql` union all `)}) as f (${columns(conversionColumns)}) left join offers o on o.id = f.offer_id
    ${advertiserFilter}
    group by ${groupBy} having sum(f.conversions) > 0`
  const clickTotals = facts.clicks.length === 0
    ? null
    : sql`
    select ${sql.join(keys('clicks'))}, sum(f.clicks)::int8 as clicks
    from (${sql.join(facts.clicks, sql` union all `)}) as f (${columns(clickColumns)}) left join offers o on o.id = f.offer_id
    ${advertiserFilter}
    group by ${groupBy}`

  const result = clickTotals === null
    ? sql`select *, null::int8 as clicks from (${conversionTotals}) v`
    : sql`select * from (${clickTotals}) c full join (${conversionTotals}) v using (${columns(keyNames)})`
  const orderBy = sql.join(order.keys.map((key) => sql`${sortExpression(key.field, order, clicksApply)} ${sql.raw(key.descending ? 'desc' : 'asc')} nulls last`))
  const limit = window === null ? sql`` : sql`offset ${window.offset} limit ${window.limit + 1}`
  const keyColumns = keyNames.filter((name) => name !== 'currency')
  const outputSums = (sum: boolean) => sql.join(['clicks', ...CONVERSION_SUM_NAMES].map((name) => {
    const value = sum ? sql`sum(${sql.ref(`r.${name}`)})` : sql.ref(`r.${name}`)
    return name === 'clicks' || CONVERSION_SUM_NAMES.indexOf(name) < 5 ? sql`${value}::int8 as ${sql.ref(name)}` : sql`${value}::text as ${sql.ref(name)}`
  }))
  // The window's rows in order (n), then one totals row per currency (kind 2).
  return sql<ReportRow>`with r as materialized (${result}),
    page as (select r.*, row_number() over (order by ${orderBy}) as n from r order by n ${limit})
    select * from (
      select 1 as kind, n, ${sql.join([...keyColumns.map((name) => sql.ref(`r.${name}`)), sql`r.currency`])}, ${outputSums(false)} from page r
      union all
      select 2, null, ${sql.join([...keyColumns.map(() => sql`null`), sql`r.currency`])}, ${outputSums(true)} from r group by r.currency) u
    order by kind, n, currency collate "C"`
}

/** The report statement's rows as cells (the window's, in order) and totals per currency. */
function toSums (rows: ReportRow[], s: StatsSelection, window: StatsWindow): StatsSums {
  const clicksApply = clicksApplyTo(s)
  const count = (value: string | number | null | undefined) => value === null || value === undefined ? 0 : Number(value)
  const amount = (value: string | number | null | undefined) => value === null || value === undefined ? 0n : amountFromDb(String(value))
  const toCell = (row: ReportRow, keyValues: Record<string, string | number>): Cell => ({
    keys: keyValues,
    period: s.periodStarts === null || row.period === null ? null : Number(row.period),
    currency: String(row.currency),
    clicks: clicksApply ? count(row.clicks) : null,
    conversions: count(row.conversions),
    approved: count(row.approved),
    pending: count(row.pending),
    declined: count(row.declined),
    hold: count(row.hold),
    revenue: amount(row.revenue),
    payout: amount(row.payout),
    pending_revenue: amount(row.pending_revenue),
    pending_payout: amount(row.pending_payout),
  })
  const cells: Cell[] = []
  const totals: Cell[] = []
  for (const row of rows) {
    if (Number(row.kind) === 2) {
      totals.push(toCell(row, {}))
      continue
    }
    const keyValues: Record<string, string | number> = {}
    if (s.byOffer) keyValues.offer_id = Number(row.offer_id)
    if (s.byAdvertiser) keyValues.advertiser_id = Number(row.advertiser_id)
    if (s.byAffiliate) keyValues.affiliate_id = Number(row.affiliate_id)
    if (s.byGoal) keyValues.goal = String(row.goal)
    for (const sub of s.subs) keyValues[sub] = String(row[sub])
    cells.push(toCell(row, keyValues))
  }
  const more = window !== null && cells.length > window.limit
  if (more) cells.pop()
  return { cells, totals, more }
}

const COUNT_METRICS: readonly Metric[] = ['conversions', 'approved', 'pending', 'declined', 'hold']
/** The rows a sort by cr or epc divides: conversions counted (not declined) and payout, exactly as `figures` rounds them. */
const COUNTED = sql`(coalesce(r.approved, 0) + coalesce(r.pending, 0) + coalesce(r.hold, 0))::numeric`

/**
 * What the database sorts a field by: a group's value (a time unit by its period, text byte-wise so the order
 * does not depend on the database's collation), or a metric as `figures` derives it (cr and epc rounded half-up
 * to four decimals in exact arithmetic, null without clicks).
 */
function sortExpression (field: string, order: StatsOrder, clicksApply: boolean): RawBuilder<unknown> {
  const periods = order.periodOfPiece.get(field)
  if (periods !== undefined) return sql`(${periods.map(String)}::int[])[r.period]`
  if (field === 'offer_id' || field === 'advertiser_id' || field === 'affiliate_id') return sql.ref(`r.${field}`)
  if (!(METRICS as readonly string[]).includes(field)) return sql`${sql.ref(`r.${field}`)} collate "C"`
  const metric = field as Metric
  const clicks = clicksApply ? sql`r.clicks` : sql`null::int8`
  if (metric === 'clicks') return clicksApply ? sql`coalesce(r.clicks, 0)` : sql`null::int8`
  if (COUNT_METRICS.includes(metric)) return sql`coalesce(${sql.ref(`r.${metric}`)}, 0)`
  if (metric === 'profit') return sql`coalesce(r.revenue, 0) - coalesce(r.payout, 0)`
  if (metric === 'cr') return sql`case when ${clicks} > 0 then div(2 * ${COUNTED} * 1000000 + ${clicks}, 2 * ${clicks}::numeric) end`
  if (metric === 'epc') return sql`case when ${clicks} > 0 then div(2 * coalesce(r.payout, 0) * 10000 + ${clicks}, 2 * ${clicks}::numeric) end`
  return sql`coalesce(${sql.ref(`r.${metric}`)}, 0)`
}

/** The statements whose rows are summed: clicks (time, offer, affiliate, currency or null, subs, count) and conversions. */
interface Facts { clicks: RawBuilder<unknown>[]; conversions: RawBuilder<unknown>[] }

const where = (parts: RawBuilder<unknown>[]) => parts.length === 0 ? sql`` : sql`and ${sql.join(parts, sql` and `)}`

function catalogFilters (f: StatsFilters, prefix: string): RawBuilder<unknown>[] {
  const parts: RawBuilder<unknown>[] = []
  if (f.offerIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.offer_id`)} = any(${ids(f.offerIds)})`)
  if (f.affiliateIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.affiliate_id`)} = any(${ids(f.affiliateIds)})`)
  return parts
}

const goalFilter = (f: StatsFilters, prefix: string) => f.goal === undefined ? [] : [sql`lower(${sql.ref(`${prefix}.goal`)}) = lower(${f.goal})`]

/**
 * The facts of [from, to) from the 15-minute tier (whole buckets, unless subs are needed) and the raw rows. The
 * tier's clicks are those created before `clicksFolded`; the later ones are read raw.
 */
function addQuarterAndRawFacts (facts: Facts, s: StatsSelection, [from, to]: Range, raw: boolean, clicksApply: boolean, clicksFolded: number): void {
  const f = s.filters
  const alignedFrom = Math.ceil(from / QUARTER_MS) * QUARTER_MS
  const alignedTo = startOfQuarter(to)
  const useRollups = !raw && alignedFrom < alignedTo
  const rawRanges: Range[] = useRollups
    ? ([[from, alignedFrom], [alignedTo, to]] as Range[]).filter(([a, b]) => a < b)
    : [[from, to]]
  // A bucket that starts before the fold holds the clicks created before it: [alignedFrom, clickRollupsTo) in all.
  const clickRollupsTo = useRollups ? Math.max(alignedFrom, Math.min(alignedTo, clicksFolded)) : alignedFrom
  const clickRawRanges = clickRollupsTo < alignedTo && useRollups ? [...rawRanges, [clickRollupsTo, alignedTo] as Range] : rawRanges
  const subFilters = (json: RawBuilder<unknown>) => Object.entries(f.subs).map(([sub, value]) => sql`${json}->>${sub} = ${value}`)
  const subColumns = (json: RawBuilder<unknown>) => s.subs.map((sub) => sql`, coalesce(${json}->>${sub}, '')`)
  const timeRanges = (column: RawBuilder<unknown>, ranges: Range[]) =>
    sql`(${sql.join(ranges.map(([a, b]) => sql`(${column} >= ${iso(a)}::timestamptz and ${column} < ${iso(b)}::timestamptz)`), sql` or `)})`
  const buckets = (end: number) => sql`bucket >= ${iso(alignedFrom)}::timestamptz and bucket < ${iso(end)}::timestamptz`

  // Rollup rows carry no subs: they are read only when no sub is grouped or filtered.
  if (clickRollupsTo > alignedFrom && clicksApply) {
    facts.clicks.push(sql`select bucket, offer_id, affiliate_id, null::text, clicks
      from stats_clicks c where ${buckets(clickRollupsTo)} ${where(catalogFilters(f, 'c'))}`)
  }
  if (useRollups) {
    facts.conversions.push(sql`select bucket, offer_id, affiliate_id, goal, currency, ${CONVERSION_FIGURES}
      from stats_conversions c where ${buckets(alignedTo)} ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c')])}`)
  }
  if (clickRawRanges.length > 0 && clicksApply) {
    facts.clicks.push(sql`select created_at, offer_id, affiliate_id, null::text${sql.join(subColumns(sql`c.params`), sql``)}, 1::int8
      from clicks c where ${timeRanges(sql`c.created_at`, clickRawRanges)} ${where([...catalogFilters(f, 'c'), ...subFilters(sql`c.params`)])}`)
  }
  if (rawRanges.length > 0) {
    facts.conversions.push(sql`select created_at, offer_id, affiliate_id, goal, currency${sql.join(subColumns(sql`c.click_params`), sql``)},
      1::int8, (status = 'approved')::int::int8, (status = 'pending')::int::int8, (status = 'declined')::int::int8, (status = 'hold')::int::int8,
      case when status = 'approved' then revenue else 0 end, case when status = 'approved' then payout else 0 end,
      case when status in ('pending', 'hold') then revenue else 0 end, case when status in ('pending', 'hold') then payout else 0 end
      from conversions c where ${timeRanges(sql`c.created_at`, rawRanges)}
      ${where([...catalogFilters(f, 'c'), ...goalFilter(f, 'c'), ...subFilters(sql`c.click_params`)])}`)
  }
}
