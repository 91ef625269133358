import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { createdWithin } from '../db/list.js'
import type { ConversionEventRow, ConversionRow } from '../db/tables.js'
import { decodeCursor, decodeCursorTime, decodeIdCursor } from '../db/cursor.js'
import { invalidInput } from '../domain/errors.js'
import type { ConversionListQuery, ServerPostbackListQuery } from './schemas.js'

/** A conversion row with `updated_at` as text at full (microsecond) precision, for exact sync cursors. */
export type ListedConversion = ConversionRow & { updated_key: string }

/**
 * Newest first by id; with `updated_since`, oldest change first by (updated_at, id), so a syncing client never
 * skips a row that changed while it paged.
 */
export function listConversions (db: Db, query: ConversionListQuery): Promise<ListedConversion[]> {
  let q = db.selectFrom('conversions').selectAll()
    .select(sql<string>`to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('updated_key'))
  if (query.offer_id !== undefined) q = q.where('offer_id', '=', query.offer_id)
  if (query.affiliate_id !== undefined) q = q.where('affiliate_id', '=', query.affiliate_id)
  if (query.status !== undefined) q = q.where('status', '=', query.status)
  if (query.clickid !== undefined) q = q.where('clickid', '=', query.clickid.toLowerCase())
  if (query.action_id !== undefined) q = q.where('action_id', '=', query.action_id)
  q = createdWithin(q, 'created_at', query)
  if (query.updated_since === undefined) {
    const after = decodeIdCursor(query.cursor)
    if (after !== undefined) q = q.where('id', '<', after)
    return q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  }
  q = q.where('updated_at', '>=', new Date(query.updated_since))
  if (query.cursor !== undefined) {
    const [at, id] = decodeCursor(query.cursor, ['string', 'number']) as [string, number]
    // The text itself goes to the database: a Date would drop the microseconds the order depends on.
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(at)) throw invalidInput('cursor is not a cursor this service issued', '/cursor')
    decodeCursorTime(at)
    q = q.where(({ eb, refTuple, tuple }) => eb(refTuple('updated_at', 'id'), '>', tuple(sql<Date>`${at}::timestamptz`, id)))
  }
  return q.orderBy('updated_at', 'asc').orderBy('id', 'asc').limit(query.limit + 1).execute()
}

export function conversionCursorKeys (query: ConversionListQuery) {
  return (row: ListedConversion): (string | number)[] => (query.updated_since === undefined ? [row.id] : [row.updated_key, row.id])
}

/** The events of these conversions, oldest first, grouped by conversion. */
export async function statusHistories (db: Db, conversionIds: number[]): Promise<Map<number, ConversionEventRow[]>> {
  const byConversion = new Map<number, ConversionEventRow[]>()
  if (conversionIds.length === 0) return byConversion
  const events = await db.selectFrom('conversion_events').selectAll()
    .where('conversion_id', 'in', conversionIds)
    .orderBy('conversion_id').orderBy('id')
    .execute()
  for (const event of events) {
    const list = byConversion.get(event.conversion_id)
    if (list === undefined) byConversion.set(event.conversion_id, [event])
    else list.push(event)
  }
  return byConversion
}

export function listServerPostbacks (db: Db, query: ServerPostbackListQuery) {
  let q = db.selectFrom('server_postbacks').selectAll()
  if (query.offer_id !== undefined) q = q.where('offer_id', '=', query.offer_id)
  if (query.clickid !== undefined) q = q.where('clickid', '=', query.clickid.toLowerCase())
  if (query.result !== undefined) q = q.where('result', '=', query.result)
  q = createdWithin(q, 'received_at', query)
  const after = decodeIdCursor(query.cursor)
  if (after !== undefined) q = q.where('id', '<', after)
  return q.orderBy('id', 'desc').limit(query.limit + 1).execute()
}
