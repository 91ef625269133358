import { sql, type SelectQueryBuilder } from 'kysely'
import { decodeIdCursor } from '../http/pagination.js'
import type { ListQuery } from '../http/schemas.js'

/**
 * The standard list window for tables with an integer id: created_from/created_to, the cursor,
 * newest first (id desc, which follows creation order), and one row more than the page to detect a next page.
 */
export function listWindow<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  table: string,
  query: ListQuery,
): SelectQueryBuilder<DB, TB, O> {
  let q = qb
  if (query.created_from !== undefined) q = q.where(sql.ref(`${table}.created_at`), '>=', new Date(query.created_from))
  if (query.created_to !== undefined) q = q.where(sql.ref(`${table}.created_at`), '<=', new Date(query.created_to))
  const after = decodeIdCursor(query.cursor)
  if (after !== undefined) q = q.where(sql.ref(`${table}.id`), '<', after)
  return q.orderBy(sql.ref(`${table}.id`), 'desc').limit(query.limit + 1)
}
