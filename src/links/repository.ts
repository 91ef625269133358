import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { TrackingLinkRow } from '../db/tables.js'
import type { ListQuery } from '../db/list.js'

export function findOfferForLink (db: Db, id: number) {
  return db.selectFrom('offers').select(['id', 'status', 'tracking_domain_id']).where('id', '=', id).executeTakeFirst()
}

export function findAffiliateForLink (db: Db, id: number) {
  return db.selectFrom('affiliates').select(['id', 'status']).where('id', '=', id).executeTakeFirst()
}

export function findDomainForLink (db: Db, id: number) {
  return db.selectFrom('tracking_domains').selectAll().where('id', '=', id).executeTakeFirst()
}

export function findDefaultDomainForLink (db: Db) {
  return db.selectFrom('tracking_domains').selectAll().where('is_default', '=', true).executeTakeFirst()
}

function selectLinks (db: Db) {
  return db.selectFrom('tracking_links').selectAll('tracking_links')
}

export function findLink (db: Db, id: number): Promise<TrackingLinkRow | undefined> {
  return selectLinks(db).where('tracking_links.id', '=', id).executeTakeFirst()
}

export interface LinkIdentity {
  offer_id: number
  affiliate_id: number
  tracking_domain_id: number | null
  params_key: string
}

export function findLinkByIdentity (db: Db, identity: LinkIdentity): Promise<TrackingLinkRow | undefined> {
  return selectLinks(db)
    .where('tracking_links.offer_id', '=', identity.offer_id)
    .where('tracking_links.affiliate_id', '=', identity.affiliate_id)
    .where(sql<number>`coalesce(tracking_links.tracking_domain_id, 0)`, '=', identity.tracking_domain_id ?? 0)
    .where('tracking_links.params_key', '=', identity.params_key)
    .executeTakeFirst()
}

export interface NewLink extends LinkIdentity {
  use_ssl: boolean
  params: Record<string, string>
  url: string
  short_code: string | null
  sent_at: Date | null
}

/**
 * Inserts the link unless one with the same identity exists (then returns undefined). The conflict target is
 * the `tracking_links_identity` index, so two racing requests create one link; a short-code collision still
 * raises its unique violation for the caller to retry with another code.
 */
export async function insertLinkIfNew (db: Db, link: NewLink): Promise<number | undefined> {
  const row = await db
    .insertInto('tracking_links')
    .values({ ...link, params: JSON.stringify(link.params) })
    .onConflict((oc) =>
      oc.expression(sql`offer_id, affiliate_id, coalesce(tracking_domain_id, 0), params_key`).doNothing())
    .returning('id')
    .executeTakeFirst()
  return row?.id
}

export function updateLink (
  db: Db, id: number, changes: Partial<Pick<TrackingLinkRow, 'use_ssl' | 'url'>>
) {
  return db.updateTable('tracking_links').set(changes).where('id', '=', id).execute()
}

/** Gives the link a short code unless it has one (two racing requests must not hand out two codes). */
export function setShortCodeIfMissing (db: Db, id: number, code: string) {
  return db.updateTable('tracking_links').set({ short_code: code }).where('id', '=', id).where('short_code', 'is', null).execute()
}

/** Marks the link sent unless it already was (the first sending time is kept). */
export function markLinkSent (db: Db, id: number) {
  return db.updateTable('tracking_links').set({ sent_at: new Date() }).where('id', '=', id).where('sent_at', 'is', null).execute()
}

export function listLinks (
  db: Db, filter: { offer_id: number; affiliate_id?: number; sentOnly?: boolean }, query: ListQuery
): Promise<TrackingLinkRow[]> {
  let q = selectLinks(db).where('tracking_links.offer_id', '=', filter.offer_id)
  if (filter.affiliate_id !== undefined) q = q.where('tracking_links.affiliate_id', '=', filter.affiliate_id)
  if (filter.sentOnly === true) q = q.where('tracking_links.sent_at', 'is not', null)
  return listWindow(q, 'tracking_links', query).execute()
}

/** True for PostgreSQL's unique violation (the caller retries with a fresh short code). */
export function isUniqueViolation (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505'
}
