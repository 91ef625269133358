import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { ListQuery } from '../db/list.js'
import type { TrackingDomainRow } from '../db/tables.js'

// Writes to tracking domains are serialised by this advisory lock (per transaction): two racing creations
// never both see "no default yet" (so the partial unique index never has to refuse one), and a postback
// write, which holds it shared while it judges its URL against the hostnames, never races a new hostname.
const TRACKING_DOMAINS_LOCK = 7_310_002

export function lockTrackingDomains (trx: Db) {
  return sql`select pg_advisory_xact_lock(${TRACKING_DOMAINS_LOCK})`.execute(trx)
}

/** Held by postback writes: hostnames cannot change until their transaction ends. */
export function lockTrackingDomainsShared (trx: Db) {
  return sql`select pg_advisory_xact_lock_shared(${TRACKING_DOMAINS_LOCK})`.execute(trx)
}

export function findTrackingDomain (db: Db, id: number) {
  return db.selectFrom('tracking_domains').selectAll().where('id', '=', id).executeTakeFirst()
}

export function findDefaultTrackingDomain (db: Db) {
  return db.selectFrom('tracking_domains').selectAll().where('is_default', '=', true).executeTakeFirst()
}

/** The domain with this hostname (already lowercased), other than `exceptId`. */
export function findTrackingDomainByHostname (db: Db, hostname: string, exceptId?: number) {
  let q = db.selectFrom('tracking_domains').select('id').where(sql<string>`lower(hostname)`, '=', hostname)
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId)
  return q.executeTakeFirst()
}

export function listTrackingDomains (db: Db, query: ListQuery) {
  return listWindow(db.selectFrom('tracking_domains').selectAll(), 'tracking_domains', query).execute()
}

export function clearDefaultFlag (trx: Db) {
  return trx.updateTable('tracking_domains').set({ is_default: false, updated_at: new Date() }).where('is_default', '=', true).execute()
}

export function insertTrackingDomain (
  trx: Db,
  values: { hostname: string; allow_http: boolean; allow_https: boolean; is_default: boolean }
) {
  return trx.insertInto('tracking_domains').values(values).returningAll().executeTakeFirstOrThrow()
}

export function updateTrackingDomain (
  trx: Db,
  id: number,
  values: Partial<Pick<TrackingDomainRow, 'hostname' | 'allow_http' | 'allow_https' | 'is_default'>>
) {
  return trx
    .updateTable('tracking_domains')
    .set({ ...values, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** What still refers to the domain ('offers', 'tracking links'), or null when nothing does. */
export async function trackingDomainReference (db: Db, id: number): Promise<string | null> {
  const offer = await db.selectFrom('offers').select('id').where('tracking_domain_id', '=', id).limit(1).executeTakeFirst()
  if (offer !== undefined) return 'offers'
  const link = await db.selectFrom('tracking_links').select('id').where('tracking_domain_id', '=', id).limit(1).executeTakeFirst()
  return link === undefined ? null : 'tracking links'
}

export async function deleteTrackingDomain (trx: Db, id: number) {
  await trx.deleteFrom('tracking_domains').where('id', '=', id).execute()
}

/** Makes the oldest remaining domain the default (after the default was deleted); no-op when none is left. */
export async function promoteOldestToDefault (trx: Db) {
  const oldest = await trx
    .selectFrom('tracking_domains')
    .select('id')
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .limit(1)
    .executeTakeFirst()
  if (oldest !== undefined) await updateTrackingDomain(trx, oldest.id, { is_default: true })
}
