import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { eventually, inject } from './build.js'

// API fixtures: requests through the service's own routes that create one resource or read it back.
// Going through the API (never the tables) means a fixture gets exactly what an integrator would, defaults
// and validation included. A creator throws with the answer when the status is not the expected one, so a
// broken fixture fails where it was called rather than as a confusing assertion later; a request helper
// (postLink, mergePatch, requestPublicPath, ...) returns the raw response for the test to judge. Builders that
// combine several of these live in scenes.ts; rows written straight to the tables live in seeds.ts.

let unique = 0
/** A value unique within this test process (emails, hostnames). */
export function uniqueSuffix (): string {
  unique += 1
  return `${process.pid}-${unique}-${Math.random().toString(36).slice(2, 8)}`
}

// ---- Advertisers, offers, affiliates, tracking domains

export async function createAdvertiser (app: FastifyInstance, body: Record<string, unknown> = {}) {
  const res = await inject(app, { method: 'POST', url: '/v1/advertisers', payload: { name: 'Acme Ads', ...body } })
  if (res.statusCode !== 201) throw new Error(`advertiser: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; secure_code: string | null }
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

export async function patchOffer (app: FastifyInstance, id: number, body: Record<string, unknown>) {
  const res = await inject(app, {
    method: 'PATCH', url: `/v1/offers/${id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body),
  })
  if (res.statusCode !== 200) throw new Error(`offer patch: ${res.statusCode} ${res.body}`)
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

export interface TrackingDomainJson {
  id: number
  hostname: string
  allow_http: boolean
  allow_https: boolean
  is_default: boolean
  created_at: string
}

/** Creates a tracking domain with a unique hostname unless one is given. */
export async function createTrackingDomain (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<TrackingDomainJson> {
  const res = await inject(app, {
    method: 'POST',
    url: '/v1/tracking-domains',
    payload: { hostname: `t${uniqueSuffix()}.example.com`, ...body },
  })
  if (res.statusCode !== 201) throw new Error(`tracking domain: ${res.statusCode} ${res.body}`)
  return res.json() as TrackingDomainJson
}

// ---- Any resource

/** A JSON Merge Patch request with the proper media type. */
export function mergePatch (app: FastifyInstance, url: string, patch: unknown, headers: Record<string, string> = {}) {
  return inject(app, {
    method: 'PATCH',
    url,
    headers: { 'content-type': 'application/merge-patch+json', ...headers },
    payload: JSON.stringify(patch),
  })
}

/** Every id of a list, following `next_cursor` to the end. */
export async function collectIds (app: FastifyInstance, url: string, headers?: Record<string, string>): Promise<number[]> {
  const ids: number[] = []
  let cursor: string | null = null
  const separator = url.includes('?') ? '&' : '?'
  do {
    const page = await inject(app, { method: 'GET', url: cursor === null ? url : `${url}${separator}cursor=${cursor}`, headers })
    if (page.statusCode !== 200) throw new Error(`list ${url}: ${page.statusCode} ${page.body}`)
    const body = page.json() as { data: { id: number }[]; next_cursor: string | null }
    ids.push(...body.data.map((item) => item.id))
    cursor = body.next_cursor
  } while (cursor !== null)
  return ids
}

// ---- Tracking links and clicks

export interface TrackingLinkJson {
  id: number
  offer_id: number
  affiliate_id: number
  tracking_domain_id: number | null
  use_ssl: boolean
  params: Record<string, string>
  url: string
  short_url: string | null
  sent_at: string | null
  created_at: string
}

export interface ClickJson {
  clickid: string
  offer_id: number
  affiliate_id: number
  tracking_link_id: number | null
  params: Record<string, string>
  ip: string
  user_agent: string
  referrer: string | null
  created_at: string
}

/** An offer URL that puts the click id in `?c=`, where `clickidIn` finds it. */
export const OFFER_URL = 'https://adv.example/land?c={clickid}'

/** POST /v1/offers/{offerId}/tracking-links; returns the raw response. */
export function postLink (app: FastifyInstance, offerId: number, body: Record<string, unknown>) {
  return inject(app, { method: 'POST', url: `/v1/offers/${offerId}/tracking-links`, payload: body })
}

/** A link that must be created (201) or found (200). */
export async function createLink (app: FastifyInstance, offerId: number, body: Record<string, unknown>): Promise<TrackingLinkJson> {
  const res = await postLink(app, offerId, body)
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`tracking link: ${res.statusCode} ${res.body}`)
  return res.json() as TrackingLinkJson
}

/** A path and query relative to the service root, from an absolute link. */
export function pathOf (url: string): string {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

/** GET (or HEAD) a public tracking path without any key; returns the raw response. */
export function requestPublicPath (app: FastifyInstance, url: string, options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {}) {
  return app.inject({ method: options.method ?? 'GET', url, headers: options.headers })
}

/** The click id that a redirect's Location carries in `?c=` (offers with `OFFER_URL` put `{clickid}` there). */
export function clickidIn (location: string | undefined): string {
  const match = /[?&]c=([0-9a-f]{24})(?:&|$)/.exec(location ?? '')
  if (match === null) throw new Error(`no click id in ${location}`)
  return match[1] as string
}

/** GET /v1/clicks/{clickid}, or undefined while it is not visible. */
export async function readClick (app: FastifyInstance, clickid: string): Promise<ClickJson | undefined> {
  const res = await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })
  return res.statusCode === 200 ? (res.json() as ClickJson) : undefined
}

/**
 * Records a click through `GET /click` and returns its click id, read from the redirect: the offer's URL must
 * carry `click={clickid}` (as `createOffer`'s default does).
 */
export async function click (app: FastifyInstance, offerId: number, affiliateId: number, params: Record<string, string> = {}): Promise<string> {
  const query = new URLSearchParams({ pid: String(affiliateId), offer_id: String(offerId), ...params })
  const res = await app.inject({ method: 'GET', url: `/click?${query}`, headers: { 'user-agent': 'TestAgent/1.0' }, remoteAddress: '203.0.113.7' })
  if (res.statusCode !== 302) throw new Error(`click: ${res.statusCode} ${res.body}`)
  const clickid = new URL(String(res.headers.location)).searchParams.get('click')
  if (clickid === null || !/^[0-9a-f]{24}$/.test(clickid)) throw new Error(`click: no click id in ${res.headers.location}`)
  return clickid
}

// ---- Conversions

/** The advertiser's `GET /postback` with these parameters (no API key: the route is public). */
export function advertiserPostback (app: FastifyInstance, params: Record<string, string | number>): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))
  return app.inject({ method: 'GET', url: `/postback?${query}` })
}

/** A click then an approved conversion for it through `/postback`; returns the conversion id. */
export async function convert (
  app: FastifyInstance,
  scene: { offer: { id: number }; affiliate: { id: number } },
  postbackParams: Record<string, string | number> = {},
  clickParams: Record<string, string> = {}
): Promise<number> {
  const clickid = await click(app, scene.offer.id, scene.affiliate.id, clickParams)
  const res = await advertiserPostback(app, { clickid, status: 1, ...postbackParams })
  if (res.statusCode !== 200) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json().conversion_id as number
}

export async function getConversion (app: FastifyInstance, id: number) {
  const res = await inject(app, { method: 'GET', url: `/v1/conversions/${id}` })
  if (res.statusCode !== 200) throw new Error(`conversion ${id}: ${res.statusCode} ${res.body}`)
  return res.json() as Record<string, unknown> & { status: string; status_history: { from: string | null; to: string; source: string }[] }
}

export async function patchConversion (app: FastifyInstance, id: number, body: Record<string, unknown>) {
  return inject(app, {
    method: 'PATCH', url: `/v1/conversions/${id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body),
  })
}

/** The newest server-postback log entries (admin API). */
export async function serverPostbacks (app: FastifyInstance, query = '') {
  const res = await inject(app, { method: 'GET', url: `/v1/server-postbacks${query}` })
  if (res.statusCode !== 200) throw new Error(`server-postbacks: ${res.statusCode} ${res.body}`)
  return res.json().data as { id: number; method: string; params: Record<string, string>; result: string; http_status: number; detail: string | null; conversion_id: number | null }[]
}

// ---- Affiliate postbacks

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

/** The places a postback can be created, each as one request; `createdPostback` reads the answer. */
export const postbackPlaces = {
  adminOffer: (app: FastifyInstance, offerId: number, affiliateId: number, body: Record<string, unknown>) =>
    inject(app, { method: 'POST', url: `/v1/offers/${offerId}/postbacks`, payload: { affiliate_id: affiliateId, ...body } }),
  adminAffiliate: (app: FastifyInstance, affiliateId: number, body: Record<string, unknown>) =>
    inject(app, { method: 'POST', url: `/v1/affiliates/${affiliateId}/postbacks`, payload: body }),
  panelOffer: (app: FastifyInstance, affiliate: AffiliateJson, offerId: number, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/v1/affiliate/offers/${offerId}/postbacks`, headers: asAffiliate(affiliate), payload: body }),
  panel: (app: FastifyInstance, affiliate: AffiliateJson, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/affiliate/postbacks', headers: asAffiliate(affiliate), payload: body }),
}

export function createdPostback (res: LightMyRequestResponse): PostbackJson {
  if (res.statusCode !== 201) throw new Error(`postback: ${res.statusCode} ${res.body}`)
  return res.json() as PostbackJson
}

// ---- Deliveries

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

// ---- Against a running service process (its origin instead of an in-process app)

/** One click through `GET /click`; returns its click id (read from the redirect, which carries `click={clickid}`). */
export async function httpClick (origin: string, scene: { offerId: number; affiliateId: number }): Promise<string> {
  const res = await fetch(`${origin}/click?pid=${scene.affiliateId}&offer_id=${scene.offerId}&sub1=s`, { redirect: 'manual' })
  await res.arrayBuffer()
  const clickid = /[?&]click=([0-9a-f]{24})/.exec(res.headers.get('location') ?? '')?.[1]
  if (res.status !== 302 || clickid === undefined) throw new Error(`click: ${res.status} ${res.headers.get('location')}`)
  return clickid
}

/** An approved conversion for a click through `GET /postback`; returns the conversion id. */
export async function httpConvert (origin: string, clickid: string, actionId: string): Promise<number> {
  const res = await fetch(`${origin}/postback?clickid=${clickid}&action_id=${actionId}&status=1`)
  const body = (await res.json()) as { conversion_id?: number }
  if (res.status !== 200 || body.conversion_id === undefined) throw new Error(`postback: ${res.status} ${JSON.stringify(body)}`)
  return body.conversion_id
}
