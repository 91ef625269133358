import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { inject } from './build.js'
import { asAffiliate, createAffiliate, createOffer, type AffiliateJson, type OfferJson } from './fixtures.js'

// Fixtures for the postback management tests: a small catalog and a request per place that creates postbacks.

export interface PostbackJson {
  id: number
  affiliate_id: number
  offer_id: number | null
  scope: 'local' | 'global'
  url: string
  method: 'GET' | 'POST'
  status: string
  goal: string | null
  integration_method: string
  force_global: boolean
  health: {
    state: 'healthy' | 'failing' | 'disabled'
    consecutive_failures: number
    last_success_at: string | null
    last_failure_at: string | null
    disabled_at: string | null
    disabled_reason: string | null
  }
  created_at: string
  updated_at: string
}

export const POSTBACK_KEYS = [
  'affiliate_id', 'created_at', 'force_global', 'goal', 'health', 'id', 'integration_method', 'method', 'offer_id', 'scope', 'status',
  'updated_at', 'url',
]

export interface Scene {
  offer: OfferJson
  other: OfferJson
  a: AffiliateJson
  b: AffiliateJson
}

/** Two active offers (the first with goals `Sale` and `lead`) and two affiliates. */
export async function scene (app: FastifyInstance): Promise<Scene> {
  const offer = await createOffer(app, {
    goals: [
      { value: 'Sale', title: 'Sale', type: 'fixed', revenue: 10, payout: 5 },
      { value: 'lead', title: 'Lead', type: 'fixed', revenue: 2, payout: 1 },
    ],
  })
  const other = await createOffer(app, { advertiser_id: offer.advertiser_id })
  return { offer, other, a: await createAffiliate(app, { name: 'A' }), b: await createAffiliate(app, { name: 'B' }) }
}

/** The five places a postback can be created, each as one request. */
export const places = {
  adminOffer: (app: FastifyInstance, offerId: number, affiliateId: number, body: Record<string, unknown>) =>
    inject(app, { method: 'POST', url: `/v1/offers/${offerId}/postbacks`, payload: { affiliate_id: affiliateId, ...body } }),
  adminAffiliate: (app: FastifyInstance, affiliateId: number, body: Record<string, unknown>) =>
    inject(app, { method: 'POST', url: `/v1/affiliates/${affiliateId}/postbacks`, payload: body }),
  panelOffer: (app: FastifyInstance, affiliate: AffiliateJson, offerId: number, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/v1/affiliate/offers/${offerId}/postbacks`, headers: asAffiliate(affiliate), payload: body }),
  panel: (app: FastifyInstance, affiliate: AffiliateJson, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/affiliate/postbacks', headers: asAffiliate(affiliate), payload: body }),
}

export function created (res: LightMyRequestResponse): PostbackJson {
  if (res.statusCode !== 201) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json() as PostbackJson
}

/** A delivery row written straight to the table, as the dispatcher would have enqueued it. */
export async function insertDelivery (
  app: FastifyInstance, postback: { id: number; affiliate_id: number }, state: 'pending' | 'delivered', eventId: number
) {
  const row = await app.db
    .insertInto('postback_deliveries')
    .values({
      postback_id: postback.id,
      conversion_id: 1,
      event_id: eventId,
      affiliate_id: postback.affiliate_id,
      method: 'GET',
      url: 'https://aff.example/pb?x=1',
      body: null,
      state,
      next_attempt_at: state === 'pending' ? new Date(Date.now() + 3_600_000) : null,
      delivered_at: state === 'delivered' ? new Date() : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export function deliveryState (app: FastifyInstance, id: number) {
  return app.db.selectFrom('postback_deliveries').select(['state', 'next_attempt_at']).where('id', '=', id).executeTakeFirstOrThrow()
}
