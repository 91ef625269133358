import type { FastifyInstance } from 'fastify'
import { eventually } from './build.js'
import { click, postback } from './conversions.js'
import { createPostback, listDeliveries } from './dispatch.js'
import { createAffiliate, createOffer, type AffiliateJson, type OfferJson } from './fixtures.js'
import { createLink } from './links.js'

// A populated world for tests that roam every route: two affiliates, each with a sent tracking link,
// a click, a conversion, a global and a local postback and the deliveries they fired, on one shared offer.

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

/** `postbackOrigin` receives the deliveries (a local sink, or a closed port on 127.0.0.1). */
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
  const res = await postback(app, { clickid, action_id: `order-${marker}`, status: 1, comment: marker })
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

/** GET with a given key (or none), without the admin default. */
export function getAs (app: FastifyInstance, url: string, key: string | null) {
  return app.inject({ method: 'GET', url, headers: key === null ? {} : { 'api-key': key } })
}
