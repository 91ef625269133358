import type { FastifyInstance } from 'fastify'
import type { Transaction } from 'kysely'
import type { Database } from '../../src/db/tables.js'
import { enqueueDeliveries } from '../../src/affiliate-postbacks/enqueue.js'
import { eventually, inject } from './build.js'
import { conversionRow } from './conversion-rows.js'
import { click, postback as advertiserPostback } from './conversions.js'
import { createAffiliate, createOffer, type AffiliateJson, type OfferJson } from './fixtures.js'

// Fixtures for dispatcher and delivery-log tests: postbacks, conversions that fire them, and waiting on deliveries.

export interface PostbackSpec {
  affiliate_id: number
  offer_id?: number | null
  url: string
  method?: 'GET' | 'POST'
  status?: string
  goal?: string | null
  integration_method?: string
  force_global?: boolean
}

/** Creates a postback through the admin API (`POST /v1/affiliates/{id}/postbacks`). */
export async function createPostback (app: FastifyInstance, spec: PostbackSpec): Promise<{ id: number }> {
  const { affiliate_id: affiliateId, ...body } = spec
  const res = await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliateId}/postbacks`, payload: body })
  if (res.statusCode !== 201) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number }
}

export interface Delivery {
  id: number
  postback_id: number
  conversion_id: number
  event_id: number
  method: 'GET' | 'POST'
  url: string
  body: string | null
  state: string
  attempts: number
  last_http_code: number | null
  last_error: string | null
  next_attempt_at: string | null
  created_at: string
  delivered_at: string | null
  attempt_log?: { n: number; at: string; http_code: number | null; duration_ms: number; response_body: string; error: string | null }[]
}

export async function listDeliveries (app: FastifyInstance, query = ''): Promise<Delivery[]> {
  const res = await inject(app, { method: 'GET', url: `/v1/postback-deliveries${query}` })
  if (res.statusCode !== 200) throw new Error(`deliveries: ${res.statusCode} ${res.body}`)
  return res.json().data as Delivery[]
}

export async function getDelivery (app: FastifyInstance, id: number): Promise<Delivery> {
  const res = await inject(app, { method: 'GET', url: `/v1/postback-deliveries/${id}` })
  if (res.statusCode !== 200) throw new Error(`delivery ${id}: ${res.statusCode} ${res.body}`)
  return res.json() as Delivery
}

/** Waits until the delivery leaves `pending` (or reaches `state`) and returns it with its attempt log. */
export async function settled (app: FastifyInstance, id: number, timeoutMs = 5000, state?: string): Promise<Delivery> {
  return eventually(async () => {
    const d = await getDelivery(app, id)
    return (state === undefined ? d.state !== 'pending' : d.state === state) ? d : undefined
  }, timeoutMs, `delivery ${id} to settle`)
}

export interface FiringScene {
  offer: OfferJson
  affiliate: AffiliateJson
}

/** An offer with a fixed goal `1` (payout 9.998) and an active affiliate. */
export async function firingScene (app: FastifyInstance, offerBody: Record<string, unknown> = {}): Promise<FiringScene> {
  const offer = await createOffer(app, {
    goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 12.5, payout: 9.998 }], ...offerBody,
  })
  const affiliate = await createAffiliate(app)
  return { offer, affiliate }
}

/** A click then an approved conversion for it through `/postback`; returns the conversion id. */
export async function convert (
  app: FastifyInstance, scene: FiringScene, postbackParams: Record<string, string | number> = {}, clickParams: Record<string, string> = {}
): Promise<number> {
  const clickid = await click(app, scene.offer.id, scene.affiliate.id, clickParams)
  const res = await advertiserPostback(app, { clickid, status: 1, ...postbackParams })
  if (res.statusCode !== 200) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json().conversion_id as number
}

/**
 * A conversion and its creation event written straight into the database, with enqueueDeliveries in
 * the same transaction (as intake does): for tests that need many, fast, or no click at all.
 */
export async function seedConversion (app: FastifyInstance, scene: FiringScene, status: 'approved' | 'pending' = 'approved'): Promise<number> {
  return app.db.transaction().execute(async (trx) => {
    const { conversionId, eventId } = await insertConversionRow(trx, scene, status, { revenue: '12.5000', payout: '9.9980' })
    await enqueueDeliveries(trx, [{ id: eventId, conversionId }])
    return conversionId
  })
}

/** A conversion row and its creation event, as intake writes them, with no delivery. */
async function insertConversionRow (
  trx: Transaction<Database>, scene: FiringScene, status: 'approved' | 'pending', money: { revenue: string; payout: string }
): Promise<{ conversionId: number; eventId: number }> {
  const conversion = await trx
    .insertInto('conversions')
    .values(conversionRow({ offer_id: scene.offer.id, affiliate_id: scene.affiliate.id, status, ...money }))
    .returning('id')
    .executeTakeFirstOrThrow()
  const event = await trx
    .insertInto('conversion_events')
    .values({ conversion_id: conversion.id, kind: 'created', from_status: null, to_status: status, source: 'advertiser' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { conversionId: conversion.id, eventId: event.id }
}

export interface RawDelivery {
  postbackId: number
  url: string
  method?: 'GET' | 'POST'
  body?: string | null
  attempts?: number
  nextAttemptAt?: Date
  lockedBy?: string | null
  lockedUntil?: Date | null
}

/**
 * A delivery row in a given condition (a retry already due, a claim left by a dead instance), with
 * the conversion and event it belongs to: for engine tests that need a state intake never produces on demand.
 */
export async function insertDelivery (app: FastifyInstance, scene: FiringScene, raw: RawDelivery): Promise<number> {
  return app.db.transaction().execute(async (trx) => {
    const { conversionId, eventId } = await insertConversionRow(trx, scene, 'approved', { revenue: '1.0000', payout: '1.0000' })
    const delivery = await trx
      .insertInto('postback_deliveries')
      .values({
        postback_id: raw.postbackId,
        conversion_id: conversionId,
        event_id: eventId,
        affiliate_id: scene.affiliate.id,
        method: raw.method ?? 'GET',
        url: raw.url,
        body: raw.body ?? null,
        state: 'pending',
        attempts: raw.attempts ?? 0,
        next_attempt_at: raw.nextAttemptAt ?? new Date(Date.now() - 1000),
        locked_by: raw.lockedBy ?? null,
        locked_until: raw.lockedUntil ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    return delivery.id
  })
}
