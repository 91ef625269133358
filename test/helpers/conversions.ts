import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { inject } from './build.js'
import { createAffiliate, createOffer, type AffiliateJson, type OfferJson } from './fixtures.js'

// Fixtures for conversion tests: a click through the real `GET /click`, and postbacks through `/postback`.

/** Records a click through `GET /click` and returns its click id (read from the redirect, whose URL carries `{clickid}`). */
export async function click (app: FastifyInstance, offerId: number, affiliateId: number, params: Record<string, string> = {}): Promise<string> {
  const query = new URLSearchParams({ pid: String(affiliateId), offer_id: String(offerId), ...params })
  const res = await app.inject({ method: 'GET', url: `/click?${query}`, headers: { 'user-agent': 'TestAgent/1.0' }, remoteAddress: '203.0.113.7' })
  if (res.statusCode !== 302) throw new Error(`click: ${res.statusCode} ${res.body}`)
  const clickid = new URL(String(res.headers.location)).searchParams.get('click')
  if (clickid === null || !/^[0-9a-f]{24}$/.test(clickid)) throw new Error(`click: no click id in ${res.headers.location}`)
  return clickid
}

export interface Scene {
  offer: OfferJson
  affiliate: AffiliateJson
  clickid: string
}

/** An offer (its URL carries `click={clickid}`), an active affiliate and one click of theirs. */
export async function scene (app: FastifyInstance, offerBody: Record<string, unknown> = {}, clickParams: Record<string, string> = {}): Promise<Scene> {
  const offer = await createOffer(app, offerBody)
  const affiliate = await createAffiliate(app)
  const clickid = await click(app, offer.id, affiliate.id, clickParams)
  return { offer, affiliate, clickid }
}

/** `GET /postback` with these parameters (no API key: the route is public). */
export function postback (app: FastifyInstance, params: Record<string, string | number>): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))
  return app.inject({ method: 'GET', url: `/postback?${query}` })
}

export async function getConversion (app: FastifyInstance, id: number) {
  const res = await inject(app, { method: 'GET', url: `/v1/conversions/${id}` })
  if (res.statusCode !== 200) throw new Error(`conversion ${id}: ${res.statusCode} ${res.body}`)
  return res.json() as Record<string, unknown> & { status: string; status_history: { from: string | null; to: string; source: string }[] }
}

export async function patchOffer (app: FastifyInstance, id: number, body: Record<string, unknown>) {
  const res = await inject(app, {
    method: 'PATCH', url: `/v1/offers/${id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body),
  })
  if (res.statusCode !== 200) throw new Error(`offer patch: ${res.statusCode} ${res.body}`)
  return res.json() as OfferJson
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
