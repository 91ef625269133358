import type { Db } from '../db/database.js'
import { decodeCursor, encodeCursor } from '../db/cursor.js'
import { invalidInput } from '../domain/errors.js'
import { timelineBetween, type TimeUnit } from '../domain/time-periods.js'
import { parsePeriod, type ReportPeriod } from './period.js'
import {
  figures, groupColumn, isSubField, isTimeUnit, parseGroupBy, parseSort,
  type Audience, type Figures, type GroupField, type ReportRow, type SubField,
} from './report.js'
import { sumStats, type StatsFilters } from './repository.js'
import type { StatsQuery } from './schemas.js'

const MAX_ID = 2_147_483_647

export interface StatsReport {
  period: ReportPeriod
  groups: GroupField[]
  /** Row columns of the groups, in `group_by` order (`offer_id`, `day`). */
  groupColumns: string[]
  /** The page's rows (every row when asked for all), sorted, time groups labelled. */
  rows: ReportRow[]
  /** The cursor of the page after, or null. */
  nextCursor: string | null
  totals: { currency: string; figures: Figures }[]
  asOf: Date
}

/** Which rows of the sorted result a report returns: a page from a cursor, or all of them (CSV). */
export type ReportWindow = { limit: number; cursor?: string | undefined } | 'all'

function idList (text: string | undefined, name: string): number[] | undefined {
  if (text === undefined) return undefined
  const list = text.split(',').map(Number)
  if (list.some((id) => !Number.isSafeInteger(id) || id < 1 || id > MAX_ID)) throw invalidInput(`${name}: ids are integers from 1 to ${MAX_ID}`, `/${name}`)
  return list
}

/**
 * The report for one audience: an admin sees everything; an affiliate only its own traffic (its id is forced
 * into the filter, so another affiliate's offer or id simply yields no rows).
 */
export async function buildReport (
  db: Db, query: StatsQuery, audience: Audience, window: ReportWindow, ownAffiliateId?: number, now = Date.now()
): Promise<StatsReport> {
  const period = parsePeriod(query, now)
  const groups = parseGroupBy(query.group_by, audience)
  const sort = parseSort(query.sort, groups, audience)
  const subs: Partial<Record<SubField, string>> = {}
  for (const sub of ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const) {
    const value = query[sub]
    if (value !== undefined) subs[sub] = value
  }
  let affiliateIds = idList(query.affiliate_id, 'affiliate_id')
  if (audience === 'affiliate') {
    if (ownAffiliateId === undefined) throw new Error('a panel report needs the calling affiliate')
    affiliateIds = affiliateIds === undefined || affiliateIds.includes(ownAffiliateId) ? [ownAffiliateId] : []
  }
  const filters: StatsFilters = {
    offerIds: idList(query.offer_id, 'offer_id'),
    affiliateIds,
    advertiserIds: idList(query.advertiser_id, 'advertiser_id'),
    goal: query.goal,
    subs,
  }
  const timeUnits = groups.filter(isTimeUnit) as TimeUnit[]
  const timeline = timeUnits.length === 0 ? null : timelineBetween(period.zone, timeUnits, period.from, period.to)
  const asOf = new Date(now)
  const groupColumns = groups.map(groupColumn)
  const offset = window === 'all' ? 0 : cursorOffset(window.cursor)
  const periodOfPiece = new Map([...timeline?.units ?? []].map(([unit, periods]) => [unit as string, periods.periodOfPiece]))
  const { cells, totals, more } = await sumStats(db, {
    zone: period.zone,
    byHour: groups.includes('hour'),
    from: period.from,
    to: period.to,
    periodStarts: timeline?.starts ?? null,
    byOffer: groups.includes('offer'),
    byAdvertiser: groups.includes('advertiser'),
    byAffiliate: groups.includes('affiliate'),
    byGoal: groups.includes('goal'),
    subs: groups.filter(isSubField),
    filters,
  }, {
    keys: [...sort, ...groupColumns.map((field) => ({ field, descending: false })), { field: 'currency', descending: false }],
    periodOfPiece,
  }, window === 'all' ? null : { offset, limit: window.limit })
  const rows: ReportRow[] = cells.map((cell) => {
    // The cell's own keys object (sumStats makes one per cell), its time groups labelled.
    const keys = cell.keys
    if (timeline !== null) {
      const piece = (cell.period as number) - 1
      for (const [unit, periods] of timeline.units) keys[unit] = periods.labels[periods.periodOfPiece[piece] as number] as string
    }
    return { keys, currency: cell.currency, figures: figures(cell) }
  })
  return {
    period,
    groups,
    groupColumns,
    rows,
    nextCursor: window !== 'all' && more ? encodeCursor([offset + window.limit]) : null,
    totals: totals.map((total) => ({ currency: total.currency, figures: figures(total) })),
    asOf,
  }
}

/** A cursor is an offset into the sorted result, opaque to clients. */
function cursorOffset (cursor: string | undefined): number {
  if (cursor === undefined) return 0
  const offset = decodeCursor(cursor, ['number'])[0] as number
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidInput('cursor is not a cursor this service issued', '/cursor')
  return offset
}
