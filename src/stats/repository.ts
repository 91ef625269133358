import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/database.js'
import { amountFromDb } from '../domain/money.js'
import { QUARTER_MS } from '../domain/time-periods.js'
import type { Cell, SubField } from './report.js'

export interface StatsFilters {
  offerIds?: readonly number[] | undefined
  affiliateIds?: readonly number[] | undefined
  advertiserIds?: readonly number[] | undefined
  goal?: string | undefined
  subs: Partial<Record<SubField, string>>
}

export interface StatsSelection {
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

/**
 * The report's sums per group and currency. Whole 15-minute buckets come from the rollups; the part of the period
 * that does not fill a bucket (a `from` or `to` off the quarter-hour), and the whole period when subs are grouped
 * or filtered (rollups do not keep subs), come from the clicks and conversions themselves. A click counts in its
 * offer's currency. Clicks are left out when they cannot apply (a goal grouped or filtered).
 */
export async function sumStats (db: Db, s: StatsSelection): Promise<Cell[]> {
  const f = s.filters
  const raw = s.subs.length > 0 || Object.keys(f.subs).length > 0
  const alignedFrom = Math.ceil(s.from / QUARTER_MS) * QUARTER_MS
  const alignedTo = Math.floor(s.to / QUARTER_MS) * QUARTER_MS
  const useRollups = !raw && alignedFrom < alignedTo
  const rawRanges: [number, number][] = useRollups
    ? [[s.from, alignedFrom], [alignedTo, s.to]].filter(([a, b]) => (a as number) < (b as number)) as [number, number][]
    : [[s.from, s.to]]
  const clicksApply = !s.byGoal && f.goal === undefined

  const catalogFilters = (prefix: string) => {
    const parts: RawBuilder<unknown>[] = []
    if (f.offerIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.offer_id`)} = any(${ids(f.offerIds)})`)
    if (f.affiliateIds !== undefined) parts.push(sql`${sql.ref(`${prefix}.affiliate_id`)} = any(${ids(f.affiliateIds)})`)
    return parts
  }
  const goalFilter = (prefix: string) => f.goal === undefined ? [] : [sql`lower(${sql.ref(`${prefix}.goal`)}) = lower(${f.goal})`]
  const subFilters = (json: RawBuilder<unknown>) => Object.entries(f.subs).map(([sub, value]) => sql`${json}->>${sub} = ${value}`)
  const subColumns = (json: RawBuilder<unknown> | null) => s.subs.map((sub) => json === null
    ? sql`null::text as ${sql.ref(sub)}`
    : sql`coalesce(${json}->>${sub}, '') as ${sql.ref(sub)}`)
  const timeRanges = (column: RawBuilder<unknown>) => sql`(${sql.join(rawRanges.map(([a, b]) => sql`(${column} >= ${iso(a)}::timestamptz and ${column} < ${iso(b)}::timestamptz)`), sql` or `)})`
  const where = (parts: RawBuilder<unknown>[]) => parts.length === 0 ? sql`` : sql`and ${sql.join(parts, sql` and `)}`
  const zeros = sql`0::int8 as conversions, 0::int8 as approved, 0::int8 as pending, 0::int8 as declined, 0::int8 as hold,
    0::numeric as revenue, 0::numeric as payout, 0::numeric as pending_revenue, 0::numeric as pending_payout`
  const withSubs = (columns: RawBuilder<unknown>[]) => columns.length === 0 ? sql`` : sql`, ${sql.join(columns)}`

  const parts: RawBuilder<unknown>[] = []
  if (useRollups && clicksApply) {
    parts.push(sql`select bucket as t, offer_id, affiliate_id, null::text as goal, null::text as currency${withSubs(subColumns(null))},
      clicks, ${zeros}
      from stats_clicks c where bucket >= ${iso(alignedFrom)}::timestamptz and bucket < ${iso(alignedTo)}::timestamptz ${where(catalogFilters('c'))}`)
  }
  if (useRollups) {
    parts.push(sql`select bucket, offer_id, affiliate_id, goal, currency${withSubs(subColumns(null))},
      0::int8, conversions, approved, pending, declined, hold, revenue, payout, pending_revenue, pending_payout
      from stats_conversions c where bucket >= ${iso(alignedFrom)}::timestamptz and bucket < ${iso(alignedTo)}::timestamptz
      ${where([...catalogFilters('c'), ...goalFilter('c')])}`)
  }
  if (rawRanges.length > 0 && clicksApply) {
    parts.push(sql`select created_at, offer_id, affiliate_id, null::text, null::text${withSubs(subColumns(sql`c.params`))},
      1::int8, ${zeros}
      from clicks c where ${timeRanges(sql`c.created_at`)} ${where([...catalogFilters('c'), ...subFilters(sql`c.params`)])}`)
  }
  if (rawRanges.length > 0) {
    parts.push(sql`select created_at, offer_id, affiliate_id, goal, currency${withSubs(subColumns(sql`c.click_params`))},
      0::int8, 1::int8, (status = 'approved')::int::int8, (status = 'pending')::int::int8, (status = 'declined')::int::int8, (status = 'hold')::int::int8,
      case when status = 'approved' then revenue else 0 end, case when status = 'approved' then payout else 0 end,
      case when status in ('pending', 'hold') then revenue else 0 end, case when status in ('pending', 'hold') then payout else 0 end
      from conversions c where ${timeRanges(sql`c.created_at`)}
      ${where([...catalogFilters('c'), ...goalFilter('c'), ...subFilters(sql`c.click_params`)])}`)
  }
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
    from f join offers o on o.id = f.offer_id
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
