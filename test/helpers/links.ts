import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { ADMIN_KEY, createDataDir, createTestDatabase, inject, TEST_ENGINE, type TestContext } from './build.js'
import { createAffiliate, createOffer, uniqueSuffix, type AffiliateJson, type OfferJson } from './fixtures.js'

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

/** Creates a tracking domain (a unique hostname unless given). */
export async function createTrackingDomain (app: FastifyInstance, body: Record<string, unknown> = {}) {
  const res = await inject(app, {
    method: 'POST', url: '/v1/tracking-domains', payload: { hostname: `trk-${uniqueSuffix()}.example.com`, ...body },
  })
  if (res.statusCode !== 201) throw new Error(`tracking domain: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; hostname: string; allow_http: boolean; allow_https: boolean; is_default: boolean }
}

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

/** An active offer (with the given URL template) and an active affiliate. */
export async function offerAndAffiliate (
  app: FastifyInstance, offer: Record<string, unknown> = {}
): Promise<{ offer: OfferJson; affiliate: AffiliateJson }> {
  return { offer: await createOffer(app, offer), affiliate: await createAffiliate(app) }
}

/** A path and query relative to the service root, from an absolute link. */
export function pathOf (url: string): string {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

/** GET /v1/clicks/{clickid}, or undefined while it is not visible. */
export async function readClick (app: FastifyInstance, clickid: string): Promise<ClickJson | undefined> {
  const res = await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })
  return res.statusCode === 200 ? (res.json() as ClickJson) : undefined
}

/** GET (or HEAD) a public tracking path without any key. */
export function click (app: FastifyInstance, url: string, options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {}) {
  return app.inject({ method: options.method ?? 'GET', url, headers: options.headers })
}

/** The click id that a redirect's Location carries in `?c=` (the offers these tests create put `{clickid}` there). */
export function clickidIn (location: string | undefined): string {
  const match = /[?&]c=([0-9a-f]{24})(?:&|$)/.exec(location ?? '')
  if (match === null) throw new Error(`no click id in ${location}`)
  return match[1] as string
}

/** Rows in the clicks table, straight from the database. */
export async function countClicks (app: FastifyInstance): Promise<number> {
  const row = await app.db.selectFrom('clicks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

export const OFFER_URL = 'https://adv.example/land?c={clickid}'

/**
 * Like `build`, with Config fields that have no environment variable (e.g. a flush interval so long that only
 * shutdown writes clicks). Not closed on teardown: the test closes it.
 */
export async function buildWithConfig (t: TestContext, overrides: Partial<Config>) {
  const dataDir = await createDataDir(t)
  const databaseUrl = TEST_ENGINE === 'postgres' ? await createTestDatabase(t) : undefined
  const config = loadConfig({ ADMIN_API_KEYS: ADMIN_KEY, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', DATA_DIR: dataDir, DATABASE_URL: databaseUrl })
  const app = await buildApp({ ...config, ...overrides })
  await app.ready()
  return { app, databaseUrl, dataDir }
}
