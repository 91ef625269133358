import { sql } from 'kysely'
import { PREPARED, type Db } from '../db/database.js'
import { createdWithin } from '../db/list.js'
import type { ClickRow } from '../db/tables.js'
import { decodeCursor, decodeCursorTime } from '../db/cursor.js'
import type { ListQuery } from '../db/list.js'
import type { OfferStatus } from '../domain/statuses.js'
import { clickIdTime } from '../domain/click-ids.js'
import type { ClickCap } from '../domain/caps.js'

/** A click as the recorder buffers it, before it reaches the database. */
export interface ClickRecord {
  clickid: string
  offer_id: number
  affiliate_id: number
  tracking_link_id: number | null
  params: Record<string, string>
  ip: string
  user_agent: string
  referrer: string | null
  created_at: Date
}

/** The click with this id, or undefined. Conversions use it (and `clickRecorder.findBuffered` for the last instants). */
export function findClick (db: Db, clickid: string): Promise<ClickRow | undefined> {
  const at = clickIdTime(clickid)
  if (at === null) return Promise.resolve(undefined)
  // The id's second names the one partition that can hold the click (contract §1).
  return db.selectFrom('clicks').selectAll().where('clickid', '=', clickid)
    .where('created_at', '>=', at).where('created_at', '<', new Date(at.getTime() + 1000)).executeTakeFirst()
}

/**
 * Writes clicks in one statement: the batch travels as one JSON text (JSON.stringify is native and quicker
 * than building nine PostgreSQL array literals in JavaScript), so the statement is the same for 1 or 500
 * clicks. A click id written twice (a retry after a lost acknowledgement) is skipped rather than failing the batch.
 */
export async function insertClicks (db: Db, clicks: readonly ClickRecord[]): Promise<void> {
  if (clicks.length === 0) return
  await sql`${PREPARED}
    insert into clicks (clickid, offer_id, affiliate_id, tracking_link_id, params, ip, user_agent, referrer, created_at)
    select clickid, offer_id, affiliate_id, tracking_link_id, coalesce(params, '{}'::jsonb), ip, user_agent, referrer, created_at
    from json_to_recordset(${JSON.stringify(clicks)}::json) as c(
      clickid text, offer_id int, affiliate_id int, tracking_link_id int, params jsonb,
      ip text, user_agent text, referrer text, created_at timestamptz)
    on conflict (clickid, created_at) do nothing`.execute(db)
}

export interface ClickListQuery extends ListQuery {
  offer_id?: number
  affiliate_id?: number
}

/** Newest first by (created_at, clickid); the cursor carries both so equal instants page correctly. */
export function listClicks (db: Db, query: ClickListQuery) {
  let q = db.selectFrom('clicks').selectAll()
  if (query.offer_id !== undefined) q = q.where('offer_id', '=', query.offer_id)
  if (query.affiliate_id !== undefined) q = q.where('affiliate_id', '=', query.affiliate_id)
  q = createdWithin(q, 'created_at', query)
  if (query.cursor !== undefined) {
    const [at, clickid] = decodeCursor(query.cursor, ['string', 'string']) as [string, string]
    const after = decodeCursorTime(at)
    q = q.where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'clickid'), '<', tuple(after, clickid)))
  }
  return q.orderBy('created_at', 'desc').orderBy('clickid', 'desc').limit(query.limit + 1).execute()
}

/** What click validation needs to know about an offer. */
export interface OfferForClick {
  status: OfferStatus
  url: string
  trafficback_url: string | null
  /** The offer's clicks caps (empty for most offers: the click path then skips them). */
  clickCaps: ClickCap[]
}

export type { AffiliateStatus } from '../domain/statuses.js'

/** What a short URL stands for. These fields never change once a link has its code. */
export interface ShortLinkTarget {
  id: number
  offer_id: number
  affiliate_id: number
  params: Record<string, string>
}

/**
 * The snapshot's xmin: every transaction older than it has finished, so a read that starts after this one
 * sees all their changes. Rows written later carry a `change_xid` at least this large.
 */
export async function oldestRunningXact (db: Db): Promise<string> {
  const { rows } = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db)
  return (rows[0] as { xmin: string }).xmin
}

/**
 * One page, by id, of the rows written by transactions from `since` on (every row when null). The replica
 * reads each table this way at start and every refresh.
 */
export interface ReplicaPage {
  since: string | null
  afterId: number
  limit: number
}

export function offersForClicks (db: Db, page: ReplicaPage) {
  let q = db.selectFrom('offers').select(['id', 'status', 'url', 'trafficback_url', 'caps'])
  if (page.since !== null) q = q.where('change_xid', '>=', sql<string>`${page.since}::xid8`)
  return q.where('id', '>', page.afterId).orderBy('id').limit(page.limit).execute()
}

export function affiliatesForClicks (db: Db, page: ReplicaPage) {
  let q = db.selectFrom('affiliates').select(['id', 'status'])
  if (page.since !== null) q = q.where('change_xid', '>=', sql<string>`${page.since}::xid8`)
  return q.where('id', '>', page.afterId).orderBy('id').limit(page.limit).execute()
}

export function shortLinksForClicks (db: Db, page: ReplicaPage) {
  let q = db.selectFrom('tracking_links').select(['id', 'short_code', 'offer_id', 'affiliate_id', 'params']).where('short_code', 'is not', null)
  if (page.since !== null) q = q.where('change_xid', '>=', sql<string>`${page.since}::xid8`)
  return q.where('id', '>', page.afterId).orderBy('id').limit(page.limit).execute()
}

/** Offers and affiliates deleted by transactions from `since` on. */
export function deletionsSince (db: Db, since: string) {
  return db.selectFrom('click_replica_deletions').select(['kind', 'id']).where('change_xid', '>=', sql<string>`${since}::xid8`).execute()
}
