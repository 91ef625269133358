import pg from 'pg'
import { call } from './service-process.js'

// A tracking scene built through a running service's HTTP API: what an integrator would do by hand.

export interface HttpScene {
  offerId: number
  affiliateId: number
  affiliateKey: string
  postbackId: number
}

/**
 * An active offer (its URL carries `{clickid}`), an affiliate and one global GET postback of theirs to
 * `postbackUrl`. The postback goes through the admin API; while that route is missing, straight into the
 * table as the API would write it.
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
  else if (created.status === 404 && /No route/.test(JSON.stringify(created.json))) postbackId = await insertPostback(databaseUrl, affiliate.id, url)
  else throw new Error(`postback: ${created.status} ${JSON.stringify(created.json)}`)
  return { offerId: offer.id, affiliateId: affiliate.id, affiliateKey: affiliate.api_key, postbackId }
}

async function must (response: Promise<{ status: number; json: any }>, status: number): Promise<any> {
  const res = await response
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.json)}`)
  return res.json
}

async function insertPostback (databaseUrl: string, affiliateId: number, url: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query(
      `insert into postbacks (affiliate_id, offer_id, url, method, status, goal, integration_method, force_global)
       values ($1, null, $2, 'GET', 'any', null, 'all', false) returning id`, [affiliateId, url])
    return Number(result.rows[0].id)
  } finally {
    await client.end()
  }
}

/** One click through `GET /click`; returns its click id (read from the redirect). */
export async function httpClick (origin: string, scene: HttpScene): Promise<string> {
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

/** Runs `task(i)` for i in [0, count) with at most `parallel` at once. */
export async function inParallel (count: number, parallel: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
}

/** Delivery ids and states straight from the database. */
export async function deliveryStates (databaseUrl: string): Promise<{ id: number; state: string; attempts: number }[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query('select id, state, attempts from postback_deliveries order by id')
    return result.rows.map((row) => ({ id: Number(row.id), state: String(row.state), attempts: Number(row.attempts) }))
  } finally {
    await client.end()
  }
}
