import type { FromSchema } from 'json-schema-to-ts'
import { currencyCode, dateTime } from '../http/schemas.js'
import { GROUP_FIELDS, METRICS, PANEL_HIDDEN_METRICS, SUB_FIELDS, type SubField } from './report.js'

const idList = (what: string) => ({
  type: 'string',
  pattern: '^[0-9]{1,10}(,[0-9]{1,10})*$',
  maxLength: 2000,
  description: `Only these ${what} (a comma-separated list of ids)`,
  examples: ['12,15'],
}) as const

const subFilter = (sub: SubField) => ({
  type: 'string',
  maxLength: 255,
  description: `Only traffic whose click carried exactly this \`${sub}\` (an empty value matches clicks that carried \`${sub}=\` empty)`,
}) as const
const subFilters = Object.fromEntries(SUB_FIELDS.map((sub) => [sub, subFilter(sub)])) as { [S in SubField]: ReturnType<typeof subFilter> }

const periodDescription =
  'A date (`2026-11-01`) means that whole day in `timezone`; an ISO 8601 time with `Z` or an offset is that instant, one ' +
  'without is a wall-clock time of `timezone`. The period runs from `from` up to `to` (a date `to` takes in its whole ' +
  'day; a time `to` is the first instant no longer counted). Each defaults to today in `timezone`; at most 400 days (422 beyond), `to` before `from` is a 422.'

function statsQuery (audience: 'admin' | 'affiliate') {
  const groups = GROUP_FIELDS.filter((g) => audience === 'admin' || (g !== 'affiliate' && g !== 'advertiser'))
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      from: { type: 'string', maxLength: 64, description: periodDescription, examples: ['2026-11-01'] },
      to: { type: 'string', maxLength: 64, description: 'The end of the period; see `from`', examples: ['2026-11-30'] },
      timezone: {
        type: 'string',
        maxLength: 64,
        default: 'UTC',
        description: 'An IANA time zone: hours, days, ISO weeks (from Monday) and months are this zone\'s, exactly, with every offset (`+05:30`, `+05:45`) and DST day (23 or 25 hours). Unknown: 400.',
        examples: ['Asia/Kolkata'],
      },
      group_by: {
        type: 'string',
        maxLength: 200,
        default: 'day',
        description:
          `Up to 3 of ${groups.map((g) => `\`${g}\``).join(', ')}, comma-separated (default \`day\`). ` +
          'Several time units together (`month,day`, `week,month`) give a row per piece of time that lies in one period of ' +
          'each, labelled with each: by `week,month`, a week that spans two months gives a row in each month. ' +
          'Rows are also split by `currency`. Grouping (or filtering) by `sub1`..`sub5` reads the period\'s clicks and conversions ' +
          'themselves rather than the running totals, so it is slower for long periods and counts only clicks still kept ' +
          '(`CLICK_RETENTION_DAYS`); every other report keeps counting clicks that retention has dropped.' +
          (audience === 'affiliate' ? ' `affiliate` and `advertiser` are not available here (400).' : ''),
        examples: ['day,offer'],
      },
      sort: {
        type: 'string',
        maxLength: 200,
        description:
          'A metric or group field (as in `group_by`, or its row name such as `offer_id`), or `currency`, `-` before it for ' +
          'descending; several comma-separated. Ties and the default follow the group fields ascending, then currency. ' +
          'Null figures (`cr`, `epc` without clicks) come last either way; `cr` and `epc` sort by their rounded values as shown. ' +
          'Text (goals, subs, currencies) sorts by Unicode code point, whatever the database\'s collation: `B` before `a`, `é` after `z`.',
        examples: ['-payout'],
      },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Rows per page, 1..1000' },
      cursor: { type: 'string', maxLength: 200, description: 'Opaque cursor from the previous page\'s `next_cursor`' },
      offer_id: idList('offers'),
      affiliate_id: {
        ...idList('affiliates'),
        ...(audience === 'affiliate' ? { description: 'Accepted for symmetry: the panel reports the calling affiliate only, so another id gives no rows' } : {}),
      },
      advertiser_id: idList('advertisers\' offers'),
      goal: { type: 'string', maxLength: 64, description: 'Only conversions of this goal (its value, ignoring case); `clicks`, `cr` and `epc` are then null' },
      ...subFilters,
    },
  } as const
}

export const statsQuerySchema = statsQuery('admin')
export const panelStatsQuerySchema = statsQuery('affiliate')

/** What the handlers receive (the defaults filled in); the panel's schema has the same fields. */
export type StatsQuery = FromSchema<typeof statsQuerySchema>

const count = { type: 'integer', minimum: 0 } as const
const amount = { type: 'number', minimum: 0 } as const
const metricProperties = {
  clicks: { type: ['integer', 'null'], minimum: 0, description: 'Clicks; null with `goal` grouped or filtered (clicks have no goal)', examples: [1200] },
  conversions: { ...count, description: 'Conversions created in the period, in any status (declined ones too)', examples: [36] },
  approved: { ...count, examples: [30] },
  pending: { ...count, examples: [4] },
  declined: { ...count, examples: [2] },
  hold: { ...count, examples: [0] },
  revenue: { ...amount, description: 'What the advertiser pays for the approved conversions', examples: [150] },
  payout: { ...amount, description: 'What the affiliate earns for the approved conversions', examples: [90] },
  pending_revenue: { ...amount, description: 'Revenue of pending and held conversions', examples: [20] },
  pending_payout: { ...amount, description: 'Payout of pending and held conversions', examples: [12] },
  profit: { type: 'number', description: '`revenue` − `payout` (negative when payouts exceed revenue)', examples: [60] },
  cr: {
    type: ['number', 'null'], minimum: 0, description: 'Conversion rate: conversions not declined ÷ clicks × 100, half-up to 4 decimals; null without clicks', examples: [2.8333],
  },
  epc: { type: ['number', 'null'], minimum: 0, description: 'Earnings per click: `payout` ÷ clicks, half-up to 4 decimals; null without clicks', examples: [0.075] },
} as const

const groupProperties = {
  hour: { type: 'string', description: 'The hour\'s start in `timezone`, with its offset (so the repeated hour of a DST end shows twice)', examples: ['2026-11-30T14:00:00+05:30'] },
  day: { type: 'string', format: 'date', examples: ['2026-11-30'] },
  week: { type: 'string', format: 'date', description: 'The ISO week, named by its Monday', examples: ['2026-11-30'] },
  month: { type: 'string', examples: ['2026-11'] },
  offer_id: { type: 'integer', examples: [7] },
  advertiser_id: { type: 'integer', description: 'The offer\'s advertiser now', examples: [3] },
  affiliate_id: { type: 'integer', examples: [42] },
  goal: { type: 'string', description: 'The goal\'s value as the offer spells it', examples: ['1'] },
  ...Object.fromEntries(SUB_FIELDS.map((sub) => [sub, { type: 'string', description: `\`${sub}\` as the click sent it, empty for none`, examples: ['banner-300x250'] }])),
} as const

function strip<T extends Record<string, unknown>> (properties: T, hidden: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(properties).filter(([name]) => !hidden.includes(name))) as Partial<T>
}

function rowSchema (id: string, audience: 'admin' | 'affiliate') {
  const metrics = audience === 'admin' ? metricProperties : strip(metricProperties, PANEL_HIDDEN_METRICS)
  const groups = audience === 'admin' ? groupProperties : strip(groupProperties, ['advertiser_id', 'affiliate_id'])
  return {
    $id: id,
    type: 'object',
    description: 'One group\'s figures in one currency. Only the fields of `group_by` are present, then `currency` and the metrics.',
    required: ['currency', ...METRICS.filter((m) => audience === 'admin' || !PANEL_HIDDEN_METRICS.includes(m))],
    properties: { ...groups, currency: { ...currencyCode, description: 'The currency of every amount in the row: the offer\'s (a click counts in its offer\'s currency)' }, ...metrics },
  } as const
}

function totalsSchema (id: string, audience: 'admin' | 'affiliate') {
  const metrics = audience === 'admin' ? metricProperties : strip(metricProperties, PANEL_HIDDEN_METRICS)
  return {
    $id: id,
    type: 'object',
    description: 'The sums of every row of the whole result (all pages) in one currency; `cr` and `epc` from those sums',
    required: ['currency', ...METRICS.filter((m) => audience === 'admin' || !PANEL_HIDDEN_METRICS.includes(m))],
    properties: { currency: currencyCode, ...metrics },
  } as const
}

function reportSchema (id: string, rowId: string, totalsId: string) {
  return {
    $id: id,
    type: 'object',
    required: ['data', 'next_cursor', 'totals', 'as_of', 'from', 'to', 'timezone'],
    properties: {
      data: { type: 'array', items: { $ref: `${rowId}#` } },
      next_cursor: { type: ['string', 'null'], description: 'The next page\'s cursor; null on the last page' },
      totals: { type: 'array', description: 'One entry per currency, ascending', items: { $ref: `${totalsId}#` } },
      as_of: { ...dateTime, description: 'Every click and conversion written before this time is counted (clicks reach the database within a second of the redirect)' },
      from: { ...dateTime, description: 'The period\'s first instant' },
      to: { ...dateTime, description: 'The first instant after the period' },
      timezone: { type: 'string', examples: ['Asia/Kolkata'] },
    },
  } as const
}

export const statsSchemas = [
  rowSchema('StatsRow', 'admin'),
  totalsSchema('StatsTotals', 'admin'),
  reportSchema('StatsReport', 'StatsRow', 'StatsTotals'),
  rowSchema('AffiliateStatsRow', 'affiliate'),
  totalsSchema('AffiliateStatsTotals', 'affiliate'),
  reportSchema('AffiliateStatsReport', 'AffiliateStatsRow', 'AffiliateStatsTotals'),
]

export const statsDescription =
  'Clicks and conversions summed by the groups of `group_by` and by currency (money of different currencies is never ' +
  'added). A click counts at its time; a conversion at its creation time, in the status it has now: a status change ' +
  'moves it between columns, never between periods. Duplicate and rejected postbacks never count; declined ' +
  'conversions count in `conversions` and `declined` only. Figures are kept as clicks and conversions are written ' +
  '(clicks folded into the rollups every few seconds, the latest seconds counted from the clicks themselves), so ' +
  'they are exact and show a click or conversion as soon as it is written, and a month\'s report never scans raw clicks. ' +
  'Whole local days of a reporting zone (the service\'s `STATS_TIME_ZONES`, `UTC` by default) come from a daily ' +
  'tier when the report needs neither hours, nor subs, nor both an offer and an affiliate dimension: such a month ' +
  'answers in milliseconds. Other reports add up 15-minute buckets, equally exact, slower over long periods. ' +
  'Grouping or filtering by sub1..sub5 reads the period\'s clicks and conversions themselves (subs are not rolled ' +
  'up), so it counts only clicks still kept (`CLICK_RETENTION_DAYS`). ' +
  'Amounts are exact decimals (4 places). `Accept: text/csv` returns every row (no paging) as CSV with a header ' +
  'line, amounts written plainly (`12.5`), null figures as empty fields; values are not altered, so spreadsheet ' +
  'users should import subs as text.'
