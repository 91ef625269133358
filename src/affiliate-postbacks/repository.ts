import { sql, type Insertable, type Updateable } from 'kysely'
import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { ListQuery } from '../db/list.js'
import type { PostbacksTable } from '../db/tables.js'
import type { PostbackListFilters } from './schemas.js'
import { comparableHost, hasPublicOrigin } from '../domain/self-feed.js'
import { POSTBACKS_DELETED_CHANNEL } from '../dispatch/channels.js'
import type { OfferStatus } from '../domain/statuses.js'

/** Whose postbacks a query may see: `affiliateId` narrows to one affiliate (the panel). */
export interface Owner {
  affiliateId?: number
}

export function findPostback (db: Db, id: number, owner: Owner = {}) {
  let q = db.selectFrom('postbacks').selectAll().where('id', '=', id)
  if (owner.affiliateId !== undefined) q = q.where('affiliate_id', '=', owner.affiliateId)
  return q.executeTakeFirst()
}

/** The postback, row-locked for the rest of the transaction, so two patches judge one after the other. */
export function lockPostback (trx: Db, id: number, owner: Owner = {}) {
  let q = trx.selectFrom('postbacks').selectAll().where('id', '=', id)
  if (owner.affiliateId !== undefined) q = q.where('affiliate_id', '=', owner.affiliateId)
  return q.forUpdate().executeTakeFirst()
}

export function listPostbacks (db: Db, query: ListQuery & PostbackListFilters) {
  let q = db.selectFrom('postbacks').selectAll()
  if (query.affiliate_id !== undefined) q = q.where('affiliate_id', '=', query.affiliate_id)
  if (query.offer_id !== undefined) q = q.where('offer_id', '=', query.offer_id)
  if (query.scope === 'global') q = q.where('offer_id', 'is', null)
  if (query.scope === 'local') q = q.where('offer_id', 'is not', null)
  if (query.health === 'disabled') q = q.where('disabled_at', 'is not', null)
  if (query.health === 'failing') q = q.where('disabled_at', 'is', null).where('consecutive_failures', '>', 0)
  if (query.health === 'healthy') q = q.where('disabled_at', 'is', null).where('consecutive_failures', '=', 0)
  return listWindow(q, 'postbacks', query).execute()
}

export function insertPostback (trx: Db, values: Insertable<PostbacksTable>) {
  return trx.insertInto('postbacks').values(values).returningAll().executeTakeFirstOrThrow()
}

export function updatePostback (trx: Db, id: number, values: Updateable<PostbacksTable>) {
  return trx
    .updateTable('postbacks')
    .set({ ...values, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

const CANCEL_CHUNK = 10_000
/** Ids per notification: 500 of at most 11 characters stay under NOTIFY's 8,000-byte payload. */
const NOTIFY_CHUNK = 500

/**
 * Deletes the postbacks that match and, in the same transaction, cancels their deliveries still pending;
 * returns the deleted ids. Delivered, failed and cancelled rows, and every attempt, stay for the log. Two
 * statements on purpose: the cancelling one takes a fresh snapshot, so it also sees deliveries that an event
 * transaction holding the postback row committed while the delete waited for it. Every dispatcher hears of
 * the deleted ids at commit, and drops the rows of them it holds but has not sent yet.
 */
export async function deletePostbacks (db: Db, where: { id?: number; affiliateId?: number }): Promise<number[]> {
  if (where.id === undefined && where.affiliateId === undefined) throw new Error('deletePostbacks needs a filter')
  // A delete locks postbacks, then their pending deliveries; the dispatcher records attempts on deliveries, then
  // updates their postbacks' health, in one statement. Taken in opposite orders, the two can deadlock: PostgreSQL
  // then aborts one of them, and a delete so chosen runs again (the dispatcher's attempt is recorded again too).
  for (let round = 1; ; round++) {
    try {
      return await deletePostbacksOnce(db, where)
    } catch (err) {
      if (round >= DELETE_ROUNDS || (err as { code?: unknown }).code !== DEADLOCK_DETECTED) throw err
    }
  }
}

const DELETE_ROUNDS = 3
const DEADLOCK_DETECTED = '40P01'

function deletePostbacksOnce (db: Db, where: { id?: number; affiliateId?: number }): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    let q = trx.deleteFrom('postbacks')
    if (where.id !== undefined) q = q.where('id', '=', where.id)
    if (where.affiliateId !== undefined) q = q.where('affiliate_id', '=', where.affiliateId)
    const ids = (await q.returning('id').execute()).map((row) => row.id)
    for (let i = 0; i < ids.length; i += CANCEL_CHUNK) {
      await cancelPendingDeliveries(trx, ids.slice(i, i + CANCEL_CHUNK))
    }
    for (let i = 0; i < ids.length; i += NOTIFY_CHUNK) {
      await sql`select pg_notify(${POSTBACKS_DELETED_CHANNEL}, ${ids.slice(i, i + NOTIFY_CHUNK).join(',')})`.execute(trx)
    }
    return ids
  })
}

/**
 * `pending` → `cancelled`, off the schedule. An attempt already in flight records its own outcome (delivered,
 * or failed for good); one that would be retried stays cancelled.
 */
function cancelPendingDeliveries (trx: Db, postbackIds: number[]) {
  return trx
    .updateTable('postback_deliveries')
    .set({ state: 'cancelled', next_attempt_at: null, updated_at: sql<Date>`now()` })
    .where('postback_id', 'in', postbackIds)
    .where('state', '=', 'pending')
    .execute()
}

export interface OfferFacts {
  id: number
  status: OfferStatus
  goals: string[]
}

/**
 * The offer's status and goal values, share-locked until the transaction ends: an offer PATCH that would
 * drop a goal a postback names (it locks the offer for update) waits, then sees this postback.
 */
export async function lockOfferFacts (trx: Db, id: number): Promise<OfferFacts | undefined> {
  const offer = await trx.selectFrom('offers').select(['id', 'status']).where('id', '=', id).forShare().executeTakeFirst()
  if (offer === undefined) return undefined
  const goals = await trx.selectFrom('offer_goals').select('value').where('offer_id', '=', id).orderBy('position').execute()
  return { ...offer, goals: goals.map((goal) => goal.value) }
}

/** Share-locks the affiliate so it cannot be deleted under a postback being written; false when unknown. */
export async function lockAffiliate (trx: Db, id: number): Promise<boolean> {
  const row = await trx.selectFrom('affiliates').select('id').where('id', '=', id).forShare().executeTakeFirst()
  return row !== undefined
}

export async function affiliateExists (db: Db, id: number): Promise<boolean> {
  return (await db.selectFrom('affiliates').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
}

export function findOfferStatus (db: Db, id: number) {
  return db.selectFrom('offers').select(['id', 'status']).where('id', '=', id).executeTakeFirst()
}

/**
 * How `url` would feed this service's own intake: PUBLIC_URL's origin, or a tracking domain's host; null
 * when it does not. Postback writes (422) and manual resends (a refused attempt) word it each their way.
 */
export async function selfFeedTarget (
  db: Db, url: URL, publicUrl: string
): Promise<{ kind: 'public-url' } | { kind: 'tracking-domain'; host: string } | null> {
  if (hasPublicOrigin(url, publicUrl)) return { kind: 'public-url' }
  const host = comparableHost(url)
  return (await isTrackingDomainHost(db, host)) ? { kind: 'tracking-domain', host } : null
}

/** Every tracking domain's hostname, lower-case: the dispatcher refuses to send to them. */
export async function trackingDomainHostnames (db: Db): Promise<string[]> {
  const rows = await db.selectFrom('tracking_domains').select(sql<string>`lower(hostname)`.as('hostname')).execute()
  return rows.map((row) => row.hostname)
}

/** Whether a tracking domain has this hostname (stored lower-case, compared ignoring case). */
export async function isTrackingDomainHost (db: Db, hostname: string): Promise<boolean> {
  const row = await db
    .selectFrom('tracking_domains')
    .select('id')
    .where(sql<string>`lower(hostname)`, '=', hostname.toLowerCase())
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}
