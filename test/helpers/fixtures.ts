import type { FastifyInstance } from 'fastify'
import { inject } from './build.js'

// Small creators for the objects most tests need; each returns the API's JSON.

export async function createAdvertiser (app: FastifyInstance, body: Record<string, unknown> = {}) {
  const res = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Acme Ads', ...body } })
  if (res.statusCode !== 201) throw new Error(`advertiser: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; secure_code: string | null }
}

let unique = 0
/** A value unique within this test process (emails, hostnames). */
export function uniqueSuffix (): string {
  unique += 1
  return `${process.pid}-${unique}-${Math.random().toString(36).slice(2, 8)}`
}

export interface OfferJson {
  id: number
  advertiser_id: number
  url: string
  status: string
  currency: string
  goals: { value: string; title: string; type: string; revenue: number; payout: number }[]
  advertiser_postback_url: string
  [key: string]: unknown
}

/** Creates an offer (and an advertiser when none is given). */
export async function createOffer (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<OfferJson> {
  const advertiserId = body.advertiser_id ?? (await createAdvertiser(app)).id
  const res = await inject(app, {
    method: 'POST',
    url: '/v1/offers',
    payload: { title: 'Test offer', url: 'https://adv.example/land?click={clickid}', ...body, advertiser_id: advertiserId },
  })
  if (res.statusCode !== 201) throw new Error(`offer: ${res.statusCode} ${res.body}`)
  return res.json() as OfferJson
}

export interface AffiliateJson {
  id: number
  name: string
  email: string
  status: string
  api_key: string
}

/** Creates an affiliate; the answer carries its `api_key`. */
export async function createAffiliate (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<AffiliateJson> {
  const res = await inject(app, {
    method: 'POST',
    url: '/v1/affiliates',
    payload: { name: 'Partner', email: `partner-${uniqueSuffix()}@example.com`, ...body },
  })
  if (res.statusCode !== 201) throw new Error(`affiliate: ${res.statusCode} ${res.body}`)
  return res.json() as AffiliateJson
}

/** Headers for an affiliate-panel call. */
export function asAffiliate (affiliate: { api_key: string }) {
  return { 'api-key': affiliate.api_key }
}
