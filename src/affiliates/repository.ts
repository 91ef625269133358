import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { ListQuery } from '../db/list.js'
import type { AffiliateStatus } from '../domain/statuses.js'
import type { AffiliateCreate, AffiliatePatch } from './schemas.js'

export function findAffiliate (db: Db, id: number) {
  return db.selectFrom('affiliates').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Another affiliate already using this email (ignoring case), other than `exceptId`. */
export function findAffiliateByEmail (db: Db, email: string, exceptId?: number) {
  let q = db.selectFrom('affiliates').select('id').where(sql<string>`lower(email)`, '=', email.toLowerCase())
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId)
  return q.executeTakeFirst()
}

export function listAffiliates (db: Db, query: ListQuery & { status?: AffiliateStatus }) {
  let q = db.selectFrom('affiliates').selectAll()
  if (query.status !== undefined) q = q.where('status', '=', query.status)
  return listWindow(q, 'affiliates', query).execute()
}

export function insertAffiliate (db: Db, input: AffiliateCreate, apiKeyHash: string) {
  return db
    .insertInto('affiliates')
    .values({ name: input.name, email: input.email, status: input.status, api_key_hash: apiKeyHash })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export function updateAffiliate (db: Db, id: number, patch: AffiliatePatch) {
  return db
    .updateTable('affiliates')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
}

/** Replaces the stored key hash; the old key stops working with the next request. */
export async function replaceAffiliateKey (db: Db, id: number, apiKeyHash: string): Promise<boolean> {
  const result = await db
    .updateTable('affiliates')
    .set({ api_key_hash: apiKeyHash, updated_at: new Date() })
    .where('id', '=', id)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * What still refers to the affiliate, or null. Clicks count too: a click whose affiliate is gone could
 * no longer be attributed, so an affiliate with traffic is deactivated or banned rather than deleted.
 */
export async function affiliateReference (db: Db, id: number): Promise<string | null> {
  if (await db.selectFrom('tracking_links').select('id').where('affiliate_id', '=', id).limit(1).executeTakeFirst()) return 'tracking links'
  if (await db.selectFrom('conversions').select('id').where('affiliate_id', '=', id).limit(1).executeTakeFirst()) return 'conversions'
  if (await db.selectFrom('postbacks').select('id').where('affiliate_id', '=', id).limit(1).executeTakeFirst()) return 'postbacks'
  if (await db.selectFrom('clicks').select('clickid').where('affiliate_id', '=', id).limit(1).executeTakeFirst()) return 'clicks'
  const capped = await db.selectFrom('offers').select('id')
    .where(sql<boolean>`caps @> ${JSON.stringify([{ affiliate_id: id }])}::jsonb`).limit(1).executeTakeFirst()
  if (capped !== undefined) return 'caps (on offer ' + String(capped.id) + ')'
  return null
}

export async function deleteAffiliate (db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('affiliates').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * Makes `key` the affiliate's signing key; false when the affiliate does not exist. The key it replaces keeps
 * signing for `overlapMs` (receivers roll over); one replaced earlier stops now, so at most two keys sign.
 * The affiliate's row lock orders rotations that race.
 */
export function rotateSigningSecret (db: Db, affiliateId: number, key: string, overlapMs: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const affiliate = await trx.selectFrom('affiliates').select('id').where('id', '=', affiliateId).forUpdate().executeTakeFirst()
    if (affiliate === undefined) return false
    await trx.deleteFrom('affiliate_signing_secrets').where('affiliate_id', '=', affiliateId).where('expires_at', 'is not', null).execute()
    await trx
      .updateTable('affiliate_signing_secrets')
      .set({ expires_at: sql<Date>`now() + ${overlapMs}::int * interval '1 millisecond'` })
      .where('affiliate_id', '=', affiliateId)
      .where('expires_at', 'is', null)
      .execute()
    await trx.insertInto('affiliate_signing_secrets').values({ affiliate_id: affiliateId, secret: key }).execute()
    return true
  })
}

/** Signing off at once: every key of the affiliate goes, the one still in its overlap too. False: no such affiliate. */
export async function deleteSigningSecrets (db: Db, affiliateId: number): Promise<boolean> {
  if ((await findAffiliate(db, affiliateId)) === undefined) return false
  await db.deleteFrom('affiliate_signing_secrets').where('affiliate_id', '=', affiliateId).execute()
  return true
}
