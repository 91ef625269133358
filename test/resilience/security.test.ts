import { readFile } from 'node:fs/promises'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { secureMatches } from '../../src/intake/service.js'
import { ADMIN_KEY, build, createDataDir, createTestDatabase, eventually, inject, TEST_ENGINE } from '../helpers/build.js'
import { advertiserPostback, asAffiliate, click, createAdvertiser, createAffiliate, createLink, createOffer, createPostback, listDeliveries, readClick, uniqueSuffix } from '../helpers/fixtures.js'
import { populateWorld, type AffiliateWorld } from '../helpers/scenes.js'
import { startSink } from '../helpers/sink.js'
import { SQL_INJECTIONS, UNICODE_SAMPLES } from '../helpers/hostile.js'
import { apiRoutes, fillPath, type ApiRoute } from '../helpers/openapi-routes.js'

// Security properties as tests: injection strings stored verbatim, affiliate isolation on every panel route,
// no key or secure code in any log line, and secure codes compared in constant time.

const HOSTILE_TEXT = [...SQL_INJECTIONS, ...UNICODE_SAMPLES]
/** URLs cannot hold whitespace: the same strings with it replaced, for URL query strings. */
const noSpace = (s: string) => s.replace(/\s/g, '+')

t.test('SQL-injection and unicode strings in every text field are stored and returned verbatim', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t, { otherwise: { delayMs: 0 } })
  for (const text of HOSTILE_TEXT) {
    const advertiser = await createAdvertiser(app, { name: text, secure_code: text })
    t.match(advertiser, { name: text, secure_code: text }, `advertiser ${JSON.stringify(text)}`)
    const offerUrl = `https://adv.example/land?q=${noSpace(text)}&c={clickid}`
    const offer = await createOffer(app, {
      advertiser_id: advertiser.id,
      title: text,
      url: offerUrl,
      secure_code: null,
      goals: [{ value: 'g1', title: text, type: 'fixed', revenue: 1, payout: 1 }],
    })
    const offerBack = (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })).json()
    t.match(offerBack, { title: text, url: offerUrl, goals: [{ title: text }] }, 'offer title, URL query and goal title')
    const affiliate = await createAffiliate(app, { name: text })
    t.equal((await inject(app, { method: 'GET', url: `/v1/affiliates/${affiliate.id}` })).json().name, text, 'affiliate name')

    const params = { sub1: text, ext1: text, custom_param: text }
    const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, params })
    t.same(link.params, params, 'link params')

    const postbackUrl = `${sink.origin}/pb?x=${noSpace(text)}&c={clickid}`
    const created = await createPostback(app, { affiliate_id: affiliate.id, url: postbackUrl })
    t.equal((await inject(app, { method: 'GET', url: `/v1/postbacks/${created.id}` })).json().url, postbackUrl, 'postback URL query')

    const query = new URLSearchParams({ pid: String(affiliate.id), offer_id: String(offer.id), sub1: text, sub8: text, ext3: text })
    const redirect = await app.inject({ method: 'GET', url: `/click?${query}` })
    t.equal(redirect.statusCode, 302)
    const clickid = /[?&]c=([0-9a-f]{24})/.exec(String(redirect.headers.location))?.[1] as string
    const stored = await eventually(() => readClick(app, clickid), 3000, 'the click')
    t.match(stored.params, { sub1: text, sub8: text, ext3: text }, 'click subs')

    const actionId = text.slice(0, 200)
    const converted = await advertiserPostback(app, { clickid, action_id: actionId, goal: 'g1', secure: text, comment: text, custom_field1: text, custom_field15: text })
    t.equal(converted.statusCode, 200, converted.statusCode === 200 ? 'conversion accepted' : converted.body)
    const conversion = (await inject(app, { method: 'GET', url: `/v1/conversions/${converted.json().conversion_id}` })).json()
    t.match(conversion, { comment: text, action_id: actionId, custom_fields: { custom_field1: text, custom_field15: text } }, 'comment, action_id and custom fields')
    const found = await inject(app, { method: 'GET', url: `/v1/conversions?action_id=${encodeURIComponent(actionId)}` })
    t.same(found.json().data.map((c: { id: number }) => c.id), [conversion.id], 'a filter by that action_id finds exactly it')
  }
  for (const table of ['offers', 'affiliates', 'advertisers', 'conversions', 'clicks', 'postbacks']) {
    const res = await inject(app, { method: 'GET', url: `/v1/${table === 'clicks' ? 'clicks' : table}?limit=1` })
    t.equal(res.statusCode, 200, `${table} still there`)
  }
  const tracking = await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: "x'; drop table offers; --" } })
  t.equal(tracking.statusCode, 400, 'a hostname that is not a DNS name is refused, not run')
})

/**
 * The other affiliate's object that a panel path's `{id}` names (by the segment before it); undefined for
 * paths without one of an affiliate's own objects, null for a kind this test has no fixture for.
 */
function ownedId (route: ApiRoute, other: AffiliateWorld): number | string | null | undefined {
  const match = /\/([a-z-]+)\/\{([a-z_]+)\}/.exec(route.path)
  if (match === null) return undefined
  const [, segment, param] = match
  if (param === 'offer_id') return undefined // offers are shared: scoped lists, checked for leaks instead
  switch (segment) {
    case 'postbacks': return other.postbackIds[0]
    case 'postback-deliveries': return other.deliveryIds[0]
    case 'conversions': return other.conversionId
    case 'tracking-links': return other.linkId
    case 'clicks': return other.clickid
    default: return null
  }
}

/** Every `affiliate_id` anywhere in a JSON value. */
function affiliateIds (value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) for (const item of value) affiliateIds(item, out)
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'affiliate_id' && typeof inner === 'number') out.push(inner)
      else affiliateIds(inner, out)
    }
  }
  return out
}

t.test('affiliate isolation on every /v1/affiliate/... route of the OpenAPI document', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t, { otherwise: { delayMs: 0 } })
  const world = await populateWorld(app, sink.origin)
  const { a: me, b: other } = world
  const routes = apiRoutes(app).filter((route) => route.panel)
  t.ok(routes.length >= 10, `${routes.length} panel routes`)
  // The world's deliveries go out on their own; the snapshot is taken once they have.
  await eventually(async () => (await listDeliveries(app, `?affiliate_id=${other.affiliate.id}`)).every((d) => d.state === 'delivered'), 5000, 'the other affiliate\'s deliveries to arrive')
  const otherBefore = JSON.stringify(await snapshot(app, other))

  // Bulk deletes of one's own objects run last, so the other checks see a full world.
  const ordered = [...routes].sort((x, y) => Number(x.method === 'DELETE' && x.pathParams.length === 0) - Number(y.method === 'DELETE' && y.pathParams.length === 0))
  for (const route of ordered) {
    const name = `${route.method} ${route.path}`
    const foreign = ownedId(route, other)
    if (foreign === null) {
      t.fail(`${name}: no isolation fixture for this kind of object; add one to security.test.ts`)
      continue
    }
    const values = Object.fromEntries(route.pathParams.map((p) => [p, p === 'offer_id' ? String(world.offer.id) : String(foreign)]))
    const url = fillPath(route.path, values)
    const body = panelBody(route, sink.origin)
    const res = await app.inject({
      method: route.method as 'GET',
      url,
      headers: asAffiliate({ api_key: me.key }),
      ...(body === undefined ? {} : { payload: body }),
    })
    if (foreign !== undefined) {
      t.equal(res.statusCode, 404, `${name} with the other affiliate's ${route.pathParams.join(', ')}: 404`)
      t.notMatch(res.body, other.marker, `${name}: nothing of the other's in the answer`)
      continue
    }
    t.ok(res.statusCode < 300, `${name}: ${res.statusCode} for one's own scope ${res.statusCode >= 300 ? res.body : ''}`)
    t.notMatch(res.body, other.marker, `${name}: no data of the other affiliate`)
    const foreignIds = affiliateIds(res.body === '' ? null : res.json()).filter((id) => id !== me.affiliate.id)
    t.same(foreignIds, [], `${name}: every affiliate_id in the answer is the caller's`)
    if (route.method === 'POST') {
      const smuggled = await app.inject({
        method: 'POST', url, headers: asAffiliate({ api_key: me.key }), payload: { url: `${sink.origin}/x`, affiliate_id: other.affiliate.id },
      })
      t.equal(smuggled.statusCode, 400, `${name}: affiliate_id in the body is refused, not obeyed`)
    }
  }
  t.equal(JSON.stringify(await snapshot(app, other)), otherBefore, 'the other affiliate\'s postbacks, conversion and deliveries are untouched')
})

/** A body each panel write accepts from its own affiliate: a postback URL, a redelivery window, or none. */
function panelBody (route: ApiRoute, sinkOrigin: string): Record<string, unknown> | undefined {
  if (route.method === 'PATCH') return { url: 'http://127.0.0.1:9/hijacked' }
  if (route.method !== 'POST' || route.path.endsWith('/signing-secret')) return undefined
  if (route.path.endsWith('/redeliver')) return { since: '2000-01-01T00:00:00Z' }
  return { url: `${sinkOrigin}/mine` }
}

async function snapshot (app: Parameters<typeof inject>[0], world: AffiliateWorld) {
  const get = async (url: string) => (await inject(app, { method: 'GET', url })).json()
  return {
    postbacks: await Promise.all(world.postbackIds.map((id) => get(`/v1/postbacks/${id}`))),
    conversion: await get(`/v1/conversions/${world.conversionId}`),
    link: (await get(`/v1/offers/${(await get(`/v1/conversions/${world.conversionId}`)).offer_id}/tracking-links?affiliate_id=${world.affiliate.id}`)).data,
    deliveries: (await listDeliveries(app, `?affiliate_id=${world.affiliate.id}`)).map((d) => ({ id: d.id, url: d.url, state: d.state })),
  }
}

t.test('an affiliate key opens no admin route', async (t) => {
  const { app } = await build(t)
  const world = await populateWorld(app, 'http://127.0.0.1:9')
  const routes = apiRoutes(app).filter((route) => !route.panel && route.path.startsWith('/v1/'))
  const wrong: string[] = []
  for (const route of routes) {
    const url = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, p === 'clickid' ? world.b.clickid : String(world.b.affiliate.id)])))
    const res = await app.inject({ method: route.method as 'GET', url, headers: asAffiliate({ api_key: world.a.key }), ...(route.body === null ? {} : { payload: {} }) })
    if (res.statusCode !== 403) wrong.push(`${route.method} ${route.path}: ${res.statusCode}`)
  }
  t.same(wrong, [], `all ${routes.length} admin routes answer 403 to an affiliate key`)
})

t.test('no API key and no secure code ever reaches the log, even at trace level', { skip: TEST_ENGINE !== 'postgres' && 'needs PostgreSQL' }, async (t) => {
  const lines: string[] = []
  const config = loadConfig({
    ADMIN_API_KEYS: ADMIN_KEY,
    LOG_LEVEL: 'trace',
    DATA_DIR: await createDataDir(t),
    DATABASE_URL: await createTestDatabase(t),
    POSTBACK_ALLOW_PRIVATE_NETWORKS: 'true',
    POSTBACK_RETRY_SCHEDULE: '100ms',
  })
  // pino writes one JSON line per call to this destination.
  const app = await buildApp(config, { logStream: { write: (chunk: string) => { lines.push(...chunk.split('\n').filter(Boolean)) } } })
  await app.ready()
  t.teardown(() => app.close())
  const sink = await startSink(t, { otherwise: { delayMs: 0 } })
  const SECURE = `sec-${uniqueSuffix()}-code`
  const WRONG_SECURE = `wrong-${uniqueSuffix()}-guess`
  const WRONG_KEY = `aff_not-a-real-key-${uniqueSuffix()}`

  const advertiser = await createAdvertiser(app, { name: 'Logged advertiser', secure_code: SECURE })
  const offer = await createOffer(app, { advertiser_id: advertiser.id })
  const affiliate = await createAffiliate(app)
  const rotated = (await inject(app, { method: 'POST', url: `/v1/affiliates/${affiliate.id}/api-key` })).json().api_key as string
  const keys = { admin: ADMIN_KEY, first: affiliate.api_key, rotated, wrong: WRONG_KEY }
  const postbackRow = await createPostback(app, { affiliate_id: affiliate.id, url: `${sink.origin}/pb?c={clickid}&s={sum}` })
  await createLink(app, offer.id, { affiliate_id: affiliate.id, send: true, shortlink: true })
  const clickid = await click(app, offer.id, affiliate.id)
  t.equal((await advertiserPostback(app, { clickid, action_id: 'a1', secure: WRONG_SECURE })).statusCode, 403)
  t.equal((await advertiserPostback(app, { clickid, action_id: 'a1', secure: SECURE, status: 2 })).statusCode, 200)
  const form = await app.inject({
    method: 'POST',
    url: '/postback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `clickid=${clickid}&action_id=a1&status=1&secure=${SECURE}`,
  })
  t.equal(form.statusCode, 200, 'form postback')
  const json = await app.inject({ method: 'POST', url: `/postback?secure=${SECURE}`, payload: { clickid, action_id: 'a2', secure: WRONG_SECURE } })
  // The name percent-encoded (the intake decodes it, so it is the secure code all the same) and upper-cased.
  t.equal((await app.inject({ method: 'GET', url: `/postback?clickid=${clickid}&action_id=a3&%73ecure=${SECURE}` })).statusCode, 200)
  await app.inject({ method: 'GET', url: `/postback?clickid=${clickid}&action_id=a4&SECUR%45=${WRONG_SECURE}` })
  t.ok(json.statusCode < 500, 'JSON postback')
  await eventually(() => sink.arrivals.size >= 2, 5000, 'deliveries')
  for (const key of [rotated, affiliate.api_key, WRONG_KEY, ADMIN_KEY]) {
    await app.inject({ method: 'GET', url: '/v1/affiliate/conversions', headers: { 'api-key': key } })
    await app.inject({ method: 'GET', url: '/v1/advertisers?limit=1', headers: { 'api-key': key } })
  }
  await inject(app, { method: 'POST', url: `/v1/postbacks/${postbackRow.id}/test`, payload: {} })
  await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}` })
  await app.inject({ method: 'GET', url: '/v1/affiliate/me', headers: { 'api-key': rotated, 'x-api-key': rotated, authorization: `Bearer ${rotated}` } })
  await app.close()

  t.ok(lines.length > 30, `the log was captured (${lines.length} lines)`)
  t.ok(lines.some((line) => line.includes('[REDACTED]')), 'the secure parameter shows as [REDACTED]')
  for (const [name, key] of Object.entries(keys)) {
    t.same(lines.filter((line) => line.includes(key)).map((line) => line.slice(0, 300)), [], `the ${name} API key is in no log line`)
  }
  for (const [name, secret] of Object.entries({ secure: SECURE, wrongSecure: WRONG_SECURE })) {
    t.same(lines.filter((line) => line.includes(secret)).map((line) => line.slice(0, 300)), [], `the ${name} value is in no log line`)
  }
})

t.test('secure codes are compared in constant time: the code and the behaviour', async (t) => {
  const source = await readFile(new URL('../../src/intake/service.ts', import.meta.url), 'utf8')
  t.match(source, /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/, 'timingSafeEqual comes from node:crypto')
  const body = /export function secureMatches[\s\S]*?\n\}/.exec(source)?.[0] ?? ''
  t.match(body, /timingSafeEqual\(/, 'secureMatches compares with timingSafeEqual')
  t.match(body, /digest\(/, 'on fixed-length digests, so the length of a guess tells nothing')
  for (const file of ['parse.ts', 'service.ts', 'public-routes.ts']) {
    const text = await readFile(new URL(`../../src/intake/${file}`, import.meta.url), 'utf8')
    // String literals out first: comparing a parameter's name with 'secure' is not comparing a code.
    const plain = text.split('\n').map((line) => line.replace(/'[^']*'/g, "''"))
      .filter((line) => /secure/i.test(line) && /[!=]==/.test(line))
      .filter((line) => !/secure(_code)?\s*[!=]==\s*(null|undefined)\b/.test(line.replace(/\w+\.secure/g, 'secure')))
    t.same(plain, [], `${file}: no plain === on a secure code (only null checks)`)
  }
  t.equal(secureMatches('abc', 'abc'), true)
  t.equal(secureMatches('abd', 'abc'), false)
  t.equal(secureMatches(null, 'abc'), false)
  t.equal(secureMatches('', 'abc'), false)

  const { app } = await build(t)
  const code = 'K7-secure-code-0123456789'
  const offer = await createOffer(app, { secure_code: code })
  const affiliate = await createAffiliate(app)
  const guesses = [
    ...Array.from({ length: 41 }, (_v, n) => 'x'.repeat(n)).filter((g) => g !== ''),
    code.slice(0, -1), `${code}x`, code.toUpperCase(), `${code.slice(0, -1)}8`, ` ${code}`, `${code} `, code.slice(1),
  ]
  const answers = new Set<string>()
  const timings: number[] = []
  for (const guess of guesses) {
    const clickid = await click(app, offer.id, affiliate.id)
    const started = performance.now()
    const res = await advertiserPostback(app, { clickid, action_id: `g-${guess.length}`, secure: guess })
    timings.push(performance.now() - started)
    t.equal(res.statusCode, 403, `a wrong code of length ${guess.length}: 403`)
    const { type, title, status, detail } = res.json()
    answers.add(JSON.stringify({ type, title, status, detail }))
  }
  const clickid = await click(app, offer.id, affiliate.id)
  const missing = await advertiserPostback(app, { clickid, action_id: 'none' })
  answers.add(JSON.stringify((({ type, title, status, detail }) => ({ type, title, status, detail }))(missing.json())))
  t.equal(answers.size, 1, `every wrong or missing code gets the same answer: ${[...answers][0]}`)
  const repeated = await app.inject({ method: 'GET', url: `/postback?clickid=${clickid}&action_id=rep&secure=wrong&secure=${code}` })
  t.equal(repeated.statusCode, 403, 'a repeated parameter: the first value counts, a right second one does not open the door')
  t.equal((await advertiserPostback(app, { clickid, action_id: 'right', secure: code })).statusCode, 200, 'the right code passes')
  timings.sort((x, y) => x - y)
  t.comment(`403 answer time over ${timings.length} wrong codes: median ${timings[timings.length >> 1]?.toFixed(2)} ms ` +
    `(min ${timings[0]?.toFixed(2)}, max ${timings.at(-1)?.toFixed(2)}); the code itself is compared on SHA-256 digests`)
})
