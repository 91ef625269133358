import { sql, type Insertable, type Updateable } from 'kysely'
import type { Db } from '../db/database.js'
import { listWindow } from '../db/list.js'
import type { ListQuery } from '../db/list.js'
import type { OfferGoalRow, OfferRow, OffersTable, StoredCap, TrackingDomainRow } from '../db/tables.js'
import type { OfferListQuery } from './schemas.js'

/** An offer with its goals in their stored order. */
export type OfferWithGoals = OfferRow & { goals: OfferGoalRow[] }

/** A goal ready for the table: money already exact numeric(18,4) strings. */
export type GoalValues = Omit<OfferGoalRow, 'offer_id' | 'position'>

async function attachGoals (db: Db, offers: OfferRow[]): Promise<OfferWithGoals[]> {
  if (offers.length === 0) return []
  const goals = await db
    .selectFrom('offer_goals')
    .selectAll()
    .where('offer_id', 'in', offers.map((offer) => offer.id))
    .orderBy('offer_id')
    .orderBy('position')
    .execute()
  const byOffer = new Map<number, OfferGoalRow[]>()
  for (const goal of goals) {
    const list = byOffer.get(goal.offer_id)
    if (list === undefined) byOffer.set(goal.offer_id, [goal])
    else list.push(goal)
  }
  return offers.map((offer) => ({ ...offer, goals: byOffer.get(offer.id) ?? [] }))
}

/** The offer and its goals (ordered), or undefined. Used wherever an offer's payout rules are needed. */
export async function findOfferWithGoals (db: Db, id: number): Promise<OfferWithGoals | undefined> {
  const offer = await db.selectFrom('offers').selectAll().where('id', '=', id).executeTakeFirst()
  if (offer === undefined) return undefined
  return (await attachGoals(db, [offer]))[0]
}

/** Locks the offer row for the rest of the transaction (goal replacement vs. postbacks naming a goal). */
export function lockOffer (trx: Db, id: number) {
  return trx.selectFrom('offers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function listOffers (db: Db, query: ListQuery & OfferListQuery): Promise<OfferWithGoals[]> {
  let q = db.selectFrom('offers').selectAll()
  if (query.status !== undefined) q = q.where('status', '=', query.status)
  if (query.advertiser_id !== undefined) q = q.where('advertiser_id', '=', query.advertiser_id)
  return attachGoals(db, await listWindow(q, 'offers', query).execute())
}

export async function advertiserExists (db: Db, id: number): Promise<boolean> {
  return (await db.selectFrom('advertisers').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
}

/** The ids among these that name no affiliate. */
export async function unknownAffiliates (db: Db, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return []
  const found = await db.selectFrom('affiliates').select('id').where('id', 'in', ids).execute()
  const known = new Set(found.map((row) => row.id))
  return ids.filter((id) => !known.has(id))
}

/**
 * Drops what the offer's counters hold for caps no longer among `caps`: a cap removed and later set again
 * counts afresh (conversions from the conversions of its period) instead of resuming a count that missed
 * the traffic in between. A counter stays while some cap counts the same traffic.
 */
export async function dropCountersOfRemovedCaps (trx: Db, offerId: number, caps: StoredCap[]): Promise<void> {
  await sql`
    delete from cap_counters k
    where k.offer_id = ${offerId} and not exists (
      select 1 from jsonb_to_recordset(${JSON.stringify(caps)}::jsonb)
        as c(metric text, period text, goal text, per_affiliate boolean, affiliate_id integer)
      where c.metric = k.metric and c.period = k.period and coalesce(lower(c.goal), '') = k.goal
        and case when k.affiliate_id = 0 then not c.per_affiliate and c.affiliate_id is null
          else c.per_affiliate or c.affiliate_id = k.affiliate_id end)`.execute(trx)
}

export async function trackingDomainExists (db: Db, id: number): Promise<boolean> {
  return (await db.selectFrom('tracking_domains').select('id').where('id', '=', id).executeTakeFirst()) !== undefined
}

export async function insertOffer (trx: Db, values: Insertable<OffersTable>, goals: GoalValues[]): Promise<OfferWithGoals> {
  const offer = await trx.insertInto('offers').values(values).returningAll().executeTakeFirstOrThrow()
  await insertGoals(trx, offer.id, goals)
  return (await attachGoals(trx, [offer]))[0] as OfferWithGoals
}

export function updateOffer (trx: Db, id: number, values: Updateable<OffersTable>) {
  return trx
    .updateTable('offers')
    .set({ ...values, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

async function insertGoals (trx: Db, offerId: number, goals: GoalValues[]) {
  await trx
    .insertInto('offer_goals')
    .values(goals.map((goal, position) => ({ ...goal, offer_id: offerId, position })))
    .execute()
}

export async function replaceGoals (trx: Db, offerId: number, goals: GoalValues[]) {
  await trx.deleteFrom('offer_goals').where('offer_id', '=', offerId).execute()
  await insertGoals(trx, offerId, goals)
}

export async function withGoals (db: Db, offer: OfferRow): Promise<OfferWithGoals> {
  return (await attachGoals(db, [offer]))[0] as OfferWithGoals
}

/** The goal values that this offer's postbacks name (as stored). */
export async function goalsNamedByPostbacks (db: Db, offerId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('postbacks')
    .select('goal')
    .distinct()
    .where('offer_id', '=', offerId)
    .where('goal', 'is not', null)
    .execute()
  return rows.map((row) => row.goal as string)
}

/**
 * What still refers to the offer, or null. Clicks count too: a conversion could no longer find the offer
 * of a click, so an offer with traffic is stopped rather than deleted.
 */
export async function offerReference (db: Db, id: number): Promise<string | null> {
  if (await db.selectFrom('tracking_links').select('id').where('offer_id', '=', id).limit(1).executeTakeFirst()) return 'tracking links'
  if (await db.selectFrom('conversions').select('id').where('offer_id', '=', id).limit(1).executeTakeFirst()) return 'conversions'
  if (await db.selectFrom('postbacks').select('id').where('offer_id', '=', id).limit(1).executeTakeFirst()) return 'postbacks'
  if (await db.selectFrom('clicks').select('clickid').where('offer_id', '=', id).limit(1).executeTakeFirst()) return 'clicks'
  return null
}

export async function deleteOffer (db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('offers').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** What computing `advertiser_postback_url` needs for a set of offers, in two queries. */
export interface PostbackUrlContext {
  advertiserCodes: Map<number, string | null>
  domains: Map<number, TrackingDomainRow>
  defaultDomain: TrackingDomainRow | undefined
}

export async function loadPostbackUrlContext (db: Db, offers: OfferRow[]): Promise<PostbackUrlContext> {
  const advertiserIds = [...new Set(offers.map((offer) => offer.advertiser_id))]
  const domainIds = [...new Set(offers.flatMap((offer) => (offer.tracking_domain_id === null ? [] : [offer.tracking_domain_id])))]
  const advertisers = advertiserIds.length === 0
    ? []
    : await db.selectFrom('advertisers').select(['id', 'secure_code']).where('id', 'in', advertiserIds).execute()
  let domainQuery = db.selectFrom('tracking_domains').selectAll()
  domainQuery = domainIds.length === 0
    ? domainQuery.where('is_default', '=', true)
    : domainQuery.where((eb) => eb.or([eb('is_default', '=', true), eb('id', 'in', domainIds)]))
  const domains = await domainQuery.execute()
  return {
    advertiserCodes: new Map(advertisers.map((row) => [row.id, row.secure_code])),
    domains: new Map(domains.map((row) => [row.id, row])),
    defaultDomain: domains.find((row) => row.is_default),
  }
}
