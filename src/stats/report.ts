import { amountToJson, formatAmountPlain, type Amount } from '../domain/money.js'
import type { TimeUnit } from '../domain/time-periods.js'
import { invalidInput } from '../domain/errors.js'

// The report's pure parts: what may be grouped and sorted by, the derived figures, order, totals and CSV.

export type Audience = 'admin' | 'affiliate'

export const TIME_UNITS = ['hour', 'day', 'week', 'month'] as const satisfies readonly TimeUnit[]
export const SUB_FIELDS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const
export type SubField = (typeof SUB_FIELDS)[number]
export const GROUP_FIELDS = [...TIME_UNITS, 'offer', 'advertiser', 'affiliate', 'goal', ...SUB_FIELDS] as const
export type GroupField = (typeof GROUP_FIELDS)[number]
export const MAX_GROUPS = 3
/** Groups an affiliate may not use: they would show other parties of the network. */
const PANEL_HIDDEN_GROUPS: readonly GroupField[] = ['advertiser', 'affiliate']

export const METRICS = [
  'clicks', 'conversions', 'approved', 'pending', 'declined', 'hold',
  'revenue', 'payout', 'pending_revenue', 'pending_payout', 'profit', 'cr', 'epc',
] as const
export type Metric = (typeof METRICS)[number]
/** What the advertiser pays stays between the network and the advertiser. */
export const PANEL_HIDDEN_METRICS: readonly Metric[] = ['revenue', 'pending_revenue', 'profit']

/** The name a group takes in a row: ids end in `_id`. */
export function groupColumn (group: GroupField): string {
  return group === 'offer' || group === 'advertiser' || group === 'affiliate' ? `${group}_id` : group
}

export function isTimeUnit (group: GroupField): group is TimeUnit {
  return (TIME_UNITS as readonly string[]).includes(group)
}

export function isSubField (group: string): group is SubField {
  return (SUB_FIELDS as readonly string[]).includes(group)
}

function commaList (text: string, path: string): string[] {
  const items = text.split(',').map((item) => item.trim())
  if (items.some((item) => item === '')) throw invalidInput(`${path.slice(1)} is a comma-separated list without empty entries`, path)
  return items
}

/** `group_by`: up to three distinct groups (time units among them, `month,day` included); `day` when absent. */
export function parseGroupBy (text: string | undefined, audience: Audience): GroupField[] {
  if (text === undefined) return ['day']
  const groups = commaList(text, '/group_by')
  const allowed = GROUP_FIELDS.filter((group) => audience === 'admin' || !PANEL_HIDDEN_GROUPS.includes(group))
  for (const group of groups) {
    if (!(allowed as readonly string[]).includes(group)) {
      throw invalidInput(`group_by: unknown group "${group}"; one of ${allowed.join(', ')}`, '/group_by')
    }
  }
  if (new Set(groups).size !== groups.length) throw invalidInput('group_by names a group twice', '/group_by')
  if (groups.length > MAX_GROUPS) throw invalidInput(`group_by takes at most ${MAX_GROUPS} groups`, '/group_by')
  return groups as GroupField[]
}

export interface SortKey {
  /** A metric, `currency`, or a group's row column (`offer_id`, `day`, `sub1`). */
  field: string
  descending: boolean
}

/**
 * `sort`: a comma list of metrics or group fields, `-` for descending. A group is named as in `group_by` or as its
 * row column (`offer` or `offer_id`) and must be one the report is grouped by. Null figures sort last either way.
 */
export function parseSort (text: string | undefined, groups: readonly GroupField[], audience: Audience): SortKey[] {
  if (text === undefined) return []
  const metrics = METRICS.filter((metric) => audience === 'admin' || !PANEL_HIDDEN_METRICS.includes(metric))
  return commaList(text, '/sort').map((item) => {
    const descending = item.startsWith('-')
    const name = descending ? item.slice(1) : item
    if ((metrics as readonly string[]).includes(name) || name === 'currency') return { field: name, descending }
    const group = groups.find((g) => g === name || groupColumn(g) === name)
    if (group !== undefined) return { field: groupColumn(group), descending }
    throw invalidInput(
      `sort: unknown field "${name}"; a metric (${metrics.join(', ')}), currency, or a field of group_by (${groups.map(groupColumn).join(', ')}), "-" before it for descending`,
      '/sort'
    )
  })
}

/** One group's figures: the sums the database adds up, and the profit and ratios derived from them. */
export interface Figures {
  /** Null when clicks do not apply (grouped or filtered by goal). */
  clicks: number | null
  conversions: number
  approved: number
  pending: number
  declined: number
  hold: number
  revenue: Amount
  payout: Amount
  pending_revenue: Amount
  pending_payout: Amount
  profit: Amount
  /** Ten-thousandths of a percent, or null without clicks. */
  cr: Amount | null
  /** An amount per click, or null without clicks. */
  epc: Amount | null
}

/** The figures the database sums; `figures` derives the rest. */
export type Sums = Omit<Figures, 'profit' | 'cr' | 'epc'>

/** One group's sums, as the database adds them up. */
export interface Cell extends Sums {
  /** The group's values by row column, time groups apart. */
  keys: Record<string, string | number>
  /** When grouped by time: the 1-based index of the piece of time (see timelineBetween) the cell sums. */
  period: number | null
  currency: string
}

/** n ÷ d rounded half-up, for non-negative n and positive d. */
function divideHalfUp (n: bigint, d: bigint): bigint {
  return (2n * n + d) / (2n * d)
}

/** CR: conversions that were not declined per 100 clicks; EPC: approved payout per click; both to 4 decimals. */
export function figures (cell: Sums): Figures {
  const clicks = cell.clicks
  const counted = BigInt(cell.approved + cell.pending + cell.hold)
  const hasClicks = clicks !== null && clicks > 0
  return {
    clicks,
    conversions: cell.conversions,
    approved: cell.approved,
    pending: cell.pending,
    declined: cell.declined,
    hold: cell.hold,
    revenue: cell.revenue,
    payout: cell.payout,
    pending_revenue: cell.pending_revenue,
    pending_payout: cell.pending_payout,
    profit: cell.revenue - cell.payout,
    cr: hasClicks ? divideHalfUp(counted * 100n * 10_000n, BigInt(clicks)) : null,
    epc: hasClicks ? divideHalfUp(cell.payout, BigInt(clicks)) : null,
  }
}

export interface ReportRow {
  keys: Record<string, string | number>
  currency: string
  figures: Figures
}

/** The metrics an audience sees, in the row's order. */
export function visibleMetrics (audience: Audience): Metric[] {
  return METRICS.filter((metric) => audience === 'admin' || !PANEL_HIDDEN_METRICS.includes(metric))
}

/** The figures as JSON: counts as integers, amounts and percentages as exact decimal numbers. */
export function figuresToJson (f: Figures, metrics: readonly Metric[]): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const metric of metrics) {
    const value = f[metric]
    out[metric] = value === null ? null : typeof value === 'bigint' ? amountToJson(value) : value
  }
  return out
}

function csvField (value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/** RFC 4180 CSV: a header line, then one line per row; amounts written plainly (`12.5`), null as an empty field. */
export function toCsv (rows: readonly ReportRow[], groupColumns: readonly string[], metrics: readonly Metric[]): string {
  const lines = [[...groupColumns, 'currency', ...metrics].join(',')]
  for (const row of rows) {
    const fields = groupColumns.map((column) => csvField(String(row.keys[column] ?? '')))
    fields.push(csvField(row.currency))
    for (const metric of metrics) {
      const value = row.figures[metric]
      fields.push(value === null ? '' : typeof value === 'bigint' ? formatAmountPlain(value) : String(value))
    }
    lines.push(fields.join(','))
  }
  return lines.join('\r\n') + '\r\n'
}
