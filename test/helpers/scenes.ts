import type { FastifyInstance } from 'fastify'
import { eventually } from './build.js'
import {
  advertiserPostback, click, createAffiliate, createLink, createOffer, createPostback, listDeliveries, type AffiliateJson, type OfferJson,
} from './fixtures.js'
import { insertGlobalPostback } from './seeds.js'
import { call } from './service-process.js'

// Scenes: the small networks tests start from, built step by step through the API fixtures as an integrator
// would build them (advertiser, offer, affiliate, link, postback, click, conversion). A scene returns every
// object it made so a test names what it checks instead of repeating the setup. Single requests live in
// fixtures.ts; rows the API cannot make on demand come from seeds.ts.

/** An active offer (with the given body, e.g. a URL template) and an active affiliate. */
export async function offerAndAffiliate (
  app: FastifyInstance, offer: Record<string, unknown> = {}
): Promise<{ offer: OfferJson; affiliate: AffiliateJson }> {
  return { offer: await createOffer(app, offer), affiliate: await createAffiliate(app) }
}

export interface FiringScene {
  offer: OfferJson
  affiliate: AffiliateJson
}

/** An offer with a fixed goal `1` (payout 9.998) and an active affiliate: conversions of theirs fire postbacks with money. */
export async function firingScene (app: FastifyInstance, offerBody: Record<string, unknown> = {}): Promise<FiringScene> {
  const offer = await createOffer(app, {
    goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 12.5, payout: 9.998 }], ...offerBody,
  })
  const affiliate = await createAffiliate(app)
  return { offer, affiliate }
}

export interface ClickScene {
  offer: OfferJson
  affiliate: AffiliateJson
  clickid: string
}

/** An offer (its URL carries `click={clickid}`), an active affiliate and one click of theirs. */
export async function clickScene (app: FastifyInstance, offerBody: Record<string, unknown> = {}, clickParams: Record<string, string> = {}): Promise<ClickScene> {
  const offer = await createOffer(app, offerBody)
  const affiliate = await createAffiliate(app)
  const clickid = await click(app, offer.id, affiliate.id, clickParams)
  return { offer, affiliate, clickid }
}

export interface TwoOffersScene {
  offer: OfferJson
  other: OfferJson
  a: AffiliateJson
  b: AffiliateJson
}

/** Two active offers of one advertiser (the first with goals `Sale` and `lead`) and two affiliates. */
export async function twoOffersScene (app: FastifyInstance): Promise<TwoOffersScene> {
  const offer = await createOffer(app, {
    goals: [
      { value: 'Sale', title: 'Sale', type: 'fixed', revenue: 10, payout: 5 },
      { value: 'lead', title: 'Lead', type: 'fixed', revenue: 2, payout: 1 },
    ],
  })
  const other = await createOffer(app, { advertiser_id: offer.advertiser_id })
  return { offer, other, a: await createAffiliate(app, { name: 'A' }), b: await createAffiliate(app, { name: 'B' }) }
}

// ---- A populated world, for tests that roam every route

export interface AffiliateWorld {
  affiliate: AffiliateJson
  key: string
  linkId: number
  shortcode: string
  clickid: string
  conversionId: number
  postbackIds: number[]
  deliveryIds: number[]
  /** A string that appears in this affiliate's objects and nowhere else. */
  marker: string
}

export interface World {
  offer: OfferJson
  advertiserId: number
  a: AffiliateWorld
  b: AffiliateWorld
}

/**
 * Two affiliates on one shared offer, each with a sent tracking link, a click, a conversion, a global and a
 * local postback and the deliveries they fired. `postbackOrigin` receives the deliveries (a local sink, or a
 * closed port on 127.0.0.1).
 */
export async function populateWorld (app: FastifyInstance, postbackOrigin: string): Promise<World> {
  const offer = await createOffer(app, { title: 'Shared offer', goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 2, payout: 1 }] })
  const a = await affiliateWorld(app, offer, postbackOrigin, 'alpha')
  const b = await affiliateWorld(app, offer, postbackOrigin, 'bravo')
  return { offer, advertiserId: offer.advertiser_id, a, b }
}

async function affiliateWorld (app: FastifyInstance, offer: OfferJson, postbackOrigin: string, name: string): Promise<AffiliateWorld> {
  const marker = `mk${name}${Math.random().toString(36).slice(2, 8)}`
  const affiliate = await createAffiliate(app, { name: `Affiliate ${marker}` })
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true, send: true, params: { sub1: marker } })
  const shortcode = new URL(link.short_url ?? '').pathname.slice(1)
  const global = await createPostback(app, { affiliate_id: affiliate.id, url: `${postbackOrigin}/global?m=${marker}&c={clickid}` })
  const local = await createPostback(app, { affiliate_id: affiliate.id, offer_id: offer.id, url: `${postbackOrigin}/local?m=${marker}&c={clickid}` })
  const clickid = await click(app, offer.id, affiliate.id, { sub1: marker })
  const res = await advertiserPostback(app, { clickid, action_id: `order-${marker}`, status: 1, comment: marker })
  if (res.statusCode !== 200) throw new Error(`conversion: ${res.statusCode} ${res.body}`)
  const conversionId = res.json().conversion_id as number
  const deliveries = await eventually(async () => {
    const rows = await listDeliveries(app, `?affiliate_id=${affiliate.id}`)
    return rows.length > 0 ? rows : undefined
  }, 5000, 'the conversion\'s deliveries')
  return {
    affiliate,
    key: affiliate.api_key,
    linkId: link.id,
    shortcode,
    clickid,
    conversionId,
    postbackIds: [global.id, local.id],
    deliveryIds: deliveries.map((d) => d.id),
    marker,
  }
}

// ---- A scene in a running service process, through its HTTP API

export interface HttpScene {
  offerId: number
  affiliateId: number
  affiliateKey: string
  postbackId: number
}

/**
 * An active offer (its URL carries `{clickid}`), an affiliate and one global GET postback of theirs to
 * `postbackUrl`. The postback goes through the admin API; where the service has no such route, straight into
 * the table as the API would write it.
 */
export async function httpScene (origin: string, databaseUrl: string, postbackUrl: string, label = 'a'): Promise<HttpScene> {
  const advertiser = await must(call(origin, 'POST', '/v1/advertisers', { name: `Advertiser ${label}` }), 201)
  const offer = await must(call(origin, 'POST', '/v1/offers', {
    advertiser_id: advertiser.id, title: `Offer ${label}`, url: 'https://adv.example/land?click={clickid}',
  }), 201)
  const affiliate = await must(call(origin, 'POST', '/v1/affiliates', {
    name: `Affiliate ${label}`, email: `aff-${label}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
  }), 201)
  const url = `${postbackUrl}?click={clickid}&conv={conversion_id}&status={status}`
  const created = await call(origin, 'POST', `/v1/affiliates/${affiliate.id}/postbacks`, { url })
  let postbackId: number
  if (created.status === 201) postbackId = created.json.id
  else if (created.status === 404 && /No route/.test(JSON.stringify(created.json))) postbackId = await insertGlobalPostback(databaseUrl, affiliate.id, url)
  else throw new Error(`postback: ${created.status} ${JSON.stringify(created.json)}`)
  return { offerId: offer.id, affiliateId: affiliate.id, affiliateKey: affiliate.api_key, postbackId }
}

async function must (response: Promise<{ status: number; json: any }>, status: number): Promise<any> {
  const res = await response
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.json)}`)
  return res.json
}
