/**
 * A typed client for s2s-tracker, running the README's walk-through: an advertiser, an offer, an affiliate, a
 * tracking link sent to its panel, its postback, a click, the advertiser's conversion postback, and the delivery log.
 *
 * The client is openapi-fetch over `api.d.ts`, which openapi-typescript generates from the served document
 * (`npm run openapi` writes openapi/openapi.json, then this file's types). Request fields that have a `default`
 * are optional, so the types are generated with `--default-non-nullable false`: openapi-typescript otherwise makes
 * them required in request bodies too. The service's responses carry no defaults, so nothing else changes.
 *
 *   npm run example -- http://localhost:3000 "$(cat data/admin-api-key)"
 */
import { pathToFileURL } from 'node:url'
import createClient from 'openapi-fetch'
import type { components, paths } from './api.js'

type Schemas = components['schemas']

export interface WalkThrough {
  advertiser: Schemas['Advertiser']
  offer: Schemas['Offer']
  affiliate: Schemas['AffiliateCreated']
  link: Schemas['TrackingLink']
  /** The links the affiliate sees in its panel, with its own key. */
  panelLinks: Schemas['TrackingLink'][]
  postback: Schemas['Postback']
  /** Where the click redirected: the offer URL with `{clickid}` and `{sub1}` filled in. */
  location: string
  clickid: string
  conversion: Schemas['PostbackAccepted']
  /** The conversion's affiliate postback deliveries, once the first attempt was made. */
  deliveries: Schemas['PostbackDelivery'][]
}

export interface WalkThroughOptions {
  /** Where the affiliate receives its postbacks. */
  receiverUrl?: string
  /** How long to wait for the first delivery attempt. */
  deliveryTimeoutMs?: number
  /** The fetch both clients use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>
}

/** The answer's data, or an error carrying the problem+json the service answered instead. */
function ok<T> (result: { data?: T; error?: unknown; response: Response }, step: string): T {
  if (result.data === undefined) {
    throw new Error(`${step}: HTTP ${result.response.status} ${JSON.stringify(result.error ?? null)}`)
  }
  return result.data
}

export async function walkThrough (baseUrl: string, adminKey: string, options: WalkThroughOptions = {}): Promise<WalkThrough> {
  const receiverUrl = options.receiverUrl ?? 'https://partner.example/pb'
  const api = createClient<paths>({ baseUrl, fetch: options.fetch, headers: { 'API-Key': adminKey } })

  // An advertiser, and an offer whose URL receives our click id.
  const advertiser = ok(await api.POST('/v1/advertisers', { body: { name: 'Acme Ads' } }), 'create the advertiser')
  const offer = ok(await api.POST('/v1/offers', {
    body: {
      advertiser_id: advertiser.id,
      title: 'Acme app install',
      url: 'https://advertiser.example/land?cid={clickid}&s={sub1}',
      goals: [{ value: '1', title: 'Install', type: 'fixed', revenue: 2.5, payout: 1.8 }],
    },
  }), 'create the offer')

  // An affiliate: the answer carries its API key, shown only this once.
  const affiliate = ok(await api.POST('/v1/affiliates', { body: { name: 'Partner One', email: 'ops@partner.example' } }), 'create the affiliate')

  // A tracking link for them, sent to their panel, where their own key finds it.
  const link = ok(await api.POST('/v1/offers/{offer_id}/tracking-links', {
    params: { path: { offer_id: offer.id } },
    body: { affiliate_id: affiliate.id, params: { sub1: '{their_click_id}' }, send: true },
  }), 'generate the tracking link')
  const panel = createClient<paths>({ baseUrl, fetch: options.fetch, headers: { 'API-Key': affiliate.api_key } })
  const panelLinks = ok(await panel.GET('/v1/affiliate/offers/{offer_id}/tracking-links', {
    params: { path: { offer_id: offer.id } },
  }), 'list the links in the panel').data

  // The affiliate's postback: fires on every approved conversion, with their click id back in {sub1}.
  const postback = ok(await api.POST('/v1/affiliates/{affiliate_id}/postbacks', {
    params: { path: { affiliate_id: affiliate.id } },
    body: { url: `${receiverUrl}?cid={sub1}&payout={sum}&status={status}`, status: 'approved' },
  }), 'create the postback')

  // A click: a 302 to the offer URL, whose `cid` is the click id the advertiser will send back.
  const click = await api.GET('/click', {
    params: { query: { pid: String(affiliate.id), offer_id: String(offer.id), sub1: 'abc' } },
    redirect: 'manual',
  })
  const location = click.response.headers.get('location')
  if (click.response.status !== 302 || location === null) throw new Error(`click: HTTP ${click.response.status}, no redirect`)
  const clickid = new URL(location).searchParams.get('cid') ?? ''

  // The advertiser's conversion postback (no key: a secure code would come as `secure`).
  const conversion = ok(await api.GET('/postback', {
    params: { query: { clickid, goal: '1', status: '1' } },
  }), 'send the conversion postback')

  // The delivery log: the approved conversion fired the affiliate's postback.
  const deadline = Date.now() + (options.deliveryTimeoutMs ?? 10_000)
  let deliveries: Schemas['PostbackDelivery'][]
  for (;;) {
    deliveries = ok(await api.GET('/v1/postback-deliveries', {
      params: { query: { conversion_id: conversion.conversion_id } },
    }), 'read the delivery log').data
    if (deliveries.length > 0 && deliveries.every((delivery) => delivery.attempts > 0)) break
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return { advertiser, offer, affiliate, link, panelLinks, postback, location, clickid, conversion, deliveries }
}

// Run directly: print each step's result.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [baseUrl = 'http://localhost:3000', adminKey = process.env.API_KEY ?? ''] = process.argv.slice(2)
  const result = await walkThrough(baseUrl, adminKey)
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
}
