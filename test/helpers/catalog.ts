import type { FastifyInstance } from 'fastify'
import { inject } from './build.js'
import { conversionRow } from './conversion-rows.js'
import { uniqueSuffix } from './fixtures.js'
import { newClickId } from '../../src/domain/click-ids.js'

// Fixtures for tracking domains, offers and affiliates beyond the shared ones in fixtures.ts.

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

// Rows that refer to an offer or affiliate, written straight to the tables so that the catalog's
// delete and goal rules can be tested before (and independently of) the routes that create them.

export function insertTrackingLinkRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number; tracking_domain_id?: number | null }) {
  return app.db.insertInto('tracking_links').values({
    tracking_domain_id: null, use_ssl: false, params: '{}', params_key: `k${uniqueSuffix()}`, url: 'http://localhost/click', ...row,
  }).execute()
}

export function insertPostbackRow (app: FastifyInstance, row: { affiliate_id: number; offer_id: number | null; goal?: string | null }) {
  return app.db.insertInto('postbacks').values({
    url: 'https://aff.example/pb', method: 'GET', status: 'any', integration_method: 'all', force_global: false, goal: null, ...row,
  }).execute()
}

export function insertConversionRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number }) {
  return app.db.insertInto('conversions').values(conversionRow(row)).execute()
}

export function insertClickRow (app: FastifyInstance, row: { offer_id: number; affiliate_id: number }) {
  const createdAt = new Date()
  return app.db.insertInto('clicks').values({
    clickid: newClickId(createdAt), params: '{}', ip: '127.0.0.1', user_agent: '', created_at: createdAt, ...row,
  }).execute()
}
