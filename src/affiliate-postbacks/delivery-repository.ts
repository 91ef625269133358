import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import { CONTEXT_COLUMNS } from './context.js'
import type { DeliveryListQuery } from './delivery-schemas.js'

export function listDeliveries (db: Db, query: DeliveryListQuery) {
  let q = db.selectFrom('postback_deliveries').selectAll()
  if (query.conversion_id !== undefined) q = q.where('conversion_id', '=', query.conversion_id)
  if (query.postback_id !== undefined) q = q.where('postback_id', '=', query.postback_id)
  if (query.affiliate_id !== undefined) q = q.where('affiliate_id', '=', query.affiliate_id)
  if (query.state !== undefined) q = q.where('state', '=', query.state)
  return listWindow(q, 'postback_deliveries', query).execute()
}

export function findDelivery (db: Db, id: number) {
  return db.selectFrom('postback_deliveries').selectAll().where('id', '=', id).executeTakeFirst()
}

export function listAttempts (db: Db, deliveryId: number) {
  return db
    .selectFrom('postback_attempts')
    .select(['n', 'at', 'http_code', 'duration_ms', 'response_body', 'error'])
    .where('delivery_id', '=', deliveryId)
    .orderBy('n')
    .orderBy('id')
    .execute()
}

export function findPostback (db: Db, id: number) {
  return db.selectFrom('postbacks').selectAll().where('id', '=', id).executeTakeFirst()
}

/** A conversion with what its postbacks render from. */
export function findConversionContext (db: Db, conversionId: number) {
  return db
    .selectFrom('conversions as c')
    .innerJoin('offers as o', 'o.id', 'c.offer_id')
    .select(CONTEXT_COLUMNS)
    .where('c.id', '=', conversionId)
    .executeTakeFirst()
}

export function findOfferSummary (db: Db, offerId: number) {
  return db.selectFrom('offers').select(['id', 'title', 'currency']).where('id', '=', offerId).executeTakeFirst()
}
