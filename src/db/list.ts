import { sql, type SelectQueryBuilder } from 'kysely'
import { LAST_STORABLE_MS } from '../domain/storable-time.js'
import { decodeIdCursor } from './cursor.js'

/** The window every list takes (§1 Lists), as its query schema (http/schemas.ts listQuery) validates it. */
export interface ListQuery {
  limit: number
  cursor?: string
  created_from?: string
  created_to?: string
}

const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/
const DAY_MS = 86_400_000

/**
 * `created_from` / `created_to` (§1 Lists) on a column: an instant bounds inclusively; a bare date
 * (`2026-12-02`, also ISO 8601) means that whole day in UTC, from its midnight to the next.
 */
export function createdWithin<DB, TB extends keyof DB, O> (
  qb: SelectQueryBuilder<DB, TB, O>,
  column: string,
  query: { created_from?: string; created_to?: string }
): SelectQueryBuilder<DB, TB, O> {
  let q = qb
  const { created_from: from, created_to: to } = query
  if (from !== undefined) q = q.where(sql.ref(column), '>=', new Date(BARE_DATE.test(from) ? `${from}T00:00:00Z` : from))
  if (to !== undefined) {
    if (BARE_DATE.test(to)) {
      const nextMidnight = Date.parse(`${to}T00:00:00Z`) + DAY_MS
      // The day after 9999-12-31 is past every stored time (and no engine is passed year 10000): no bound.
      if (nextMidnight <= LAST_STORABLE_MS) q = q.where(sql.ref(column), '<', new Date(nextMidnight))
    } else {
      q = q.where(sql.ref(column), '<=', new Date(to))
    }
  }
  return q
}

/**
 * The standard list window for tables with an integer id: created_from/created_to, the cursor,
 * newest first (id desc, which follows creation order), and one row more than the page to detect a next page.
 */
export function listWindow<DB, TB extends keyof DB, O> (
  qb: SelectQueryBuilder<DB, TB, O>,
  table: string,
  query: ListQuery
): SelectQueryBuilder<DB, TB, O> {
  let q = createdWithin(qb, `${table}.created_at`, query)
  const after = decodeIdCursor(query.cursor)
  if (after !== undefined) q = q.where(sql.ref(`${table}.id`), '<', after)
  return q.orderBy(sql.ref(`${table}.id`), 'desc').limit(query.limit + 1)
}
