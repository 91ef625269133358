import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate, createLink, createOffer, createTrackingDomain, postLink, type TrackingLinkJson } from '../helpers/fixtures.js'
import { offerAndAffiliate } from '../helpers/scenes.js'

const SHORT_CODE = '[0-9A-Za-z]{6,}'

t.test('links: exact strings with SSL on and off, and the protocol rules', async (t) => {
  const { app } = await build(t)
  const both = await createTrackingDomain(app, { hostname: 'trk.example.com' })
  const httpOnly = await createTrackingDomain(app, { hostname: 'plain.example.com', allow_https: false })
  const httpsOnly = await createTrackingDomain(app, { hostname: 'secure.example.com', allow_http: false })
  const { offer, affiliate } = await offerAndAffiliate(app)
  const a = affiliate.id
  const o = offer.id

  const created = await postLink(app, o, { affiliate_id: a })
  t.equal(created.statusCode, 201)
  const link = created.json() as TrackingLinkJson
  t.equal(link.url, `https://trk.example.com/click?pid=${a}&offer_id=${o}`, 'default domain, https when allowed')
  t.match(link, { offer_id: o, affiliate_id: a, tracking_domain_id: both.id, use_ssl: true, params: {}, short_url: null, sent_at: null })
  t.match(link.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  // The protocol is not part of the identity: asking again for http switches the same link.
  const plain = await postLink(app, o, { affiliate_id: a, use_ssl: false })
  t.equal(plain.statusCode, 200)
  t.equal(plain.json().id, link.id)
  t.equal(plain.json().url, `http://trk.example.com/click?pid=${a}&offer_id=${o}`)
  t.equal(plain.json().use_ssl, false)
  // Left out, use_ssl means https when the domain allows it (§3), on a repeat as on a first request.
  const unsaid = await postLink(app, o, { affiliate_id: a })
  t.equal(unsaid.json().id, link.id)
  t.equal(unsaid.json().url, `https://trk.example.com/click?pid=${a}&offer_id=${o}`, 'a repeat without use_ssl is https again')
  t.equal(unsaid.json().use_ssl, true)

  // A renamed domain keeps the stored text until the link is asked for again.
  const renamed = await inject(app, {
    method: 'PATCH',
    url: `/v1/tracking-domains/${both.id}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ hostname: 'renamed.example.com' }),
  })
  t.equal(renamed.statusCode, 200)
  const listed = await inject(app, { method: 'GET', url: `/v1/offers/${o}/tracking-links` })
  t.equal(listed.json().data.find((l: TrackingLinkJson) => l.id === link.id).url, `https://trk.example.com/click?pid=${a}&offer_id=${o}`)
  const refreshed = await postLink(app, o, { affiliate_id: a })
  t.equal(refreshed.json().id, link.id)
  t.equal(refreshed.json().url, `https://renamed.example.com/click?pid=${a}&offer_id=${o}`)

  const onHttp = await createLink(app, o, { affiliate_id: a, tracking_domain_id: httpOnly.id })
  t.equal(onHttp.url, `http://plain.example.com/click?pid=${a}&offer_id=${o}`, 'http when https is not allowed')
  t.equal(onHttp.use_ssl, false)
  const onHttps = await createLink(app, o, { affiliate_id: a, tracking_domain_id: httpsOnly.id, use_ssl: true })
  t.equal(onHttps.url, `https://secure.example.com/click?pid=${a}&offer_id=${o}`)

  const noHttps = await postLink(app, o, { affiliate_id: a, tracking_domain_id: httpOnly.id, use_ssl: true })
  t.equal(noHttps.statusCode, 422)
  t.equal(noHttps.json().errors[0].path, '/use_ssl')
  const noHttp = await postLink(app, o, { affiliate_id: a, tracking_domain_id: httpsOnly.id, use_ssl: false })
  t.equal(noHttp.statusCode, 422)
  t.equal(noHttp.json().errors[0].path, '/use_ssl')
})

t.test('links: PUBLIC_URL (with a port and a path) when no tracking domain exists', async (t) => {
  const { app } = await build(t, { env: { PUBLIC_URL: 'https://go.example.net:8443/track' } })
  const { offer, affiliate } = await offerAndAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true, params: { sub1: 'a' } })
  t.equal(link.url, `https://go.example.net:8443/track/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=a`)
  t.match(link.short_url, new RegExp(`^https://go\\.example\\.net:8443/track/${SHORT_CODE}$`))
  t.equal(link.tracking_domain_id, null)
  t.equal(link.use_ssl, true)
  const wrongProtocol = await postLink(app, offer.id, { affiliate_id: affiliate.id, use_ssl: false })
  t.equal(wrongProtocol.statusCode, 422, 'PUBLIC_URL offers only its own protocol')
})

t.test('links: the domain is the body\'s, else the offer\'s, else the default', async (t) => {
  const { app } = await build(t)
  const byDefault = await createTrackingDomain(app, { hostname: 'default.example.com' })
  const offerDomain = await createTrackingDomain(app, { hostname: 'offer.example.com' })
  const chosen = await createTrackingDomain(app, { hostname: 'chosen.example.com' })
  t.ok(byDefault.is_default)
  const withDomain = await createOffer(app, { tracking_domain_id: offerDomain.id })
  const withoutDomain = await createOffer(app)
  const affiliate = await createAffiliate(app)

  t.match((await createLink(app, withDomain.id, { affiliate_id: affiliate.id })).url, /^https:\/\/offer\.example\.com\/click\?/)
  t.match((await createLink(app, withoutDomain.id, { affiliate_id: affiliate.id })).url, /^https:\/\/default\.example\.com\/click\?/)
  const explicit = await createLink(app, withDomain.id, { affiliate_id: affiliate.id, tracking_domain_id: chosen.id })
  t.match(explicit.url, /^https:\/\/chosen\.example\.com\/click\?/)
  t.equal(explicit.tracking_domain_id, chosen.id)

  const unknown = await postLink(app, withDomain.id, { affiliate_id: affiliate.id, tracking_domain_id: 999999 })
  t.equal(unknown.statusCode, 422)
  t.equal(unknown.json().errors[0].path, '/tracking_domain_id')
})

t.test('links: params in the fixed order, RFC 3986 encoded, macro tokens literal', async (t) => {
  const { app } = await build(t)
  await createTrackingDomain(app, { hostname: 'trk.example.com' })
  const { offer, affiliate } = await offerAndAffiliate(app)
  const params = {
    zeta: 'z',
    ext1: 'e1',
    sub2: 'two words',
    ref_id: 'r',
    sub1: '{clickid}',
    alpha: 'x{sub1}y z',
    sub10: 'ten',
    sub8: 'a&b=c/d?é',
    ext3: "!'()*~-._",
    sub3: '{not a macro}',
    B_upper: '',
  }
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, params })
  t.equal(
    link.url,
    `https://trk.example.com/click?pid=${affiliate.id}&offer_id=${offer.id}` +
      '&sub1={clickid}&sub2=two%20words&sub3=%7Bnot%20a%20macro%7D&sub8=a%26b%3Dc%2Fd%3F%C3%A9&ref_id=r&ext1=e1' +
      '&ext3=%21%27%28%29%2A~-._&B_upper=&alpha=x{sub1}y%20z&sub10=ten&zeta=z'
  )
  t.same(link.params, params)
  t.same(Object.keys(link.params), ['sub1', 'sub2', 'sub3', 'sub8', 'ref_id', 'ext1', 'ext3', 'B_upper', 'alpha', 'sub10', 'zeta'])
})

t.test('links: one link per (offer, affiliate, domain, params); 201 then 200', async (t) => {
  const { app } = await build(t)
  await createTrackingDomain(app)
  const other = await createTrackingDomain(app)
  const { offer, affiliate } = await offerAndAffiliate(app)
  const second = await createAffiliate(app)

  const first = await postLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'a', sub2: 'b' } })
  t.equal(first.statusCode, 201)
  const again = await postLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub2: 'b', sub1: 'a' } })
  t.equal(again.statusCode, 200, 'the same params in another order are the same link')
  t.same(again.json(), first.json())

  const ids = new Set([first.json().id])
  for (const body of [
    { affiliate_id: affiliate.id, params: { sub1: 'a' } },
    { affiliate_id: affiliate.id, params: { sub1: 'a', sub2: 'c' } },
    { affiliate_id: affiliate.id, params: { sub1: 'a', sub2: 'b' }, tracking_domain_id: other.id },
    { affiliate_id: second.id, params: { sub1: 'a', sub2: 'b' } },
  ]) {
    const res = await postLink(app, offer.id, body)
    t.equal(res.statusCode, 201, JSON.stringify(body))
    ids.add(res.json().id)
  }
  t.equal(ids.size, 5)

  // Racing identical requests still make exactly one link.
  const racing = await Promise.all(
    Array.from({ length: 8 }, () => postLink(app, offer.id, { affiliate_id: second.id, params: { race: '1' }, shortlink: true }))
  )
  t.same(racing.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 201])
  t.equal(new Set(racing.map((r) => r.json().id)).size, 1)
  t.equal(new Set(racing.map((r) => r.json().short_url)).size, 1, 'and one short code')
})

t.test('links: shortlinks are stable and distinct', async (t) => {
  const { app } = await build(t)
  await createTrackingDomain(app, { hostname: 'trk.example.com' })
  const { offer, affiliate } = await offerAndAffiliate(app)

  const plain = await createLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x' } })
  t.equal(plain.short_url, null)
  const shortened = await postLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x' }, shortlink: true })
  t.equal(shortened.statusCode, 200, 'asking for a shortlink later adds it to the same link')
  t.equal(shortened.json().id, plain.id)
  const shortUrl = shortened.json().short_url as string
  t.match(shortUrl, new RegExp(`^https://trk\\.example\\.com/${SHORT_CODE}$`))
  t.equal((await createLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x' }, shortlink: true })).short_url, shortUrl)
  t.equal((await createLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x' } })).short_url, shortUrl, 'kept once made')
  const http = await createLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x' }, use_ssl: false })
  t.equal(http.short_url, shortUrl.replace('https://', 'http://'), 'the short URL follows the link\'s protocol')

  const codes = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub2: String(i) }, shortlink: true })
    codes.add((link.short_url as string).split('/').pop() as string)
  }
  t.equal(codes.size, 20)
})

t.test('links: 404 and 422 cases', async (t) => {
  const { app } = await build(t)
  const { offer, affiliate } = await offerAndAffiliate(app)
  const inactive = await createAffiliate(app, { status: 'inactive' })
  const banned = await createAffiliate(app, { status: 'banned' })
  const paused = await createOffer(app, { status: 'paused' })
  const stopped = await createOffer(app, { status: 'stopped' })

  const cases: { name: string; offer: number; body: Record<string, unknown>; status: number; path?: string }[] = [
    { name: 'unknown offer', offer: 999999, body: { affiliate_id: affiliate.id }, status: 404 },
    { name: 'unknown affiliate', offer: offer.id, body: { affiliate_id: 999999 }, status: 422, path: '/affiliate_id' },
    { name: 'inactive affiliate', offer: offer.id, body: { affiliate_id: inactive.id }, status: 422, path: '/affiliate_id' },
    { name: 'banned affiliate', offer: offer.id, body: { affiliate_id: banned.id }, status: 422, path: '/affiliate_id' },
    { name: 'paused offer', offer: paused.id, body: { affiliate_id: affiliate.id }, status: 422 },
    { name: 'stopped offer', offer: stopped.id, body: { affiliate_id: affiliate.id }, status: 422 },
    { name: 'unknown domain', offer: offer.id, body: { affiliate_id: affiliate.id, tracking_domain_id: 999999 }, status: 422, path: '/tracking_domain_id' },
  ]
  for (const c of cases) {
    const res = await postLink(app, c.offer, c.body)
    t.equal(res.statusCode, c.status, c.name)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', c.name)
    if (c.path !== undefined) t.equal(res.json().errors?.[0]?.path, c.path, c.name)
  }
})

t.test('links: params and body rules are 400s', async (t) => {
  const { app } = await build(t)
  const { offer, affiliate } = await offerAndAffiliate(app)
  const many = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`p${i}`, 'v']))
  const thirty = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, 'v']))
  const cases: { name: string; body: Record<string, unknown>; path: string }[] = [
    { name: 'name with a dash', body: { params: { 'bad-name': 'x' } }, path: '/params/bad-name' },
    { name: 'empty name', body: { params: { '': 'x' } }, path: '/params/' },
    { name: 'name too long', body: { params: { ['n'.repeat(65)]: 'x' } }, path: `/params/${'n'.repeat(65)}` },
    { name: 'pid', body: { params: { pid: '5' } }, path: '/params/pid' },
    { name: 'offer_id', body: { params: { offer_id: '5' } }, path: '/params/offer_id' },
    { name: 'number value', body: { params: { sub1: 5 } }, path: '/params/sub1' },
    { name: 'value too long', body: { params: { sub1: 'x'.repeat(1025) } }, path: '/params/sub1' },
    { name: '31 params', body: { params: many }, path: '/params' },
    { name: 'a link over 8,000 characters', body: { params: { ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`p${i}`, 'x'.repeat(1000)])) } }, path: '/params' },
    { name: 'params not an object', body: { params: ['a'] }, path: '/params' },
    { name: 'unknown field', body: { colour: 'red' }, path: '/colour' },
    { name: 'use_ssl as a string', body: { use_ssl: 'true' }, path: '/use_ssl' },
    { name: 'affiliate_id as a string', body: { affiliate_id: String(affiliate.id) }, path: '/affiliate_id' },
  ]
  for (const c of cases) {
    const res = await postLink(app, offer.id, { affiliate_id: affiliate.id, ...c.body })
    t.equal(res.statusCode, 400, c.name)
    t.equal(res.json().errors?.[0]?.path, c.path, c.name)
  }
  const missing = await postLink(app, offer.id, {})
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().errors[0].path, '/affiliate_id')
  t.equal((await postLink(app, offer.id, { affiliate_id: affiliate.id, params: thirty })).statusCode, 201, '30 params are fine')
  t.equal((await postLink(app, offer.id, { affiliate_id: affiliate.id, params: { sub1: 'x'.repeat(1024) } })).statusCode, 201)
  t.equal((await inject(app, { method: 'POST', url: '/v1/offers/abc/tracking-links', payload: { affiliate_id: 1 } })).statusCode, 400)
})

t.test('links: send, and each affiliate sees only the links sent to it', async (t) => {
  const { app } = await build(t)
  const { offer, affiliate: first } = await offerAndAffiliate(app)
  const second = await createAffiliate(app)
  const otherOffer = await createOffer(app)

  const sentToFirst = await createLink(app, offer.id, { affiliate_id: first.id, send: true })
  t.match(sentToFirst.sent_at, /^\d{4}-\d\d-\d\dT/)
  const unsentFirst = await createLink(app, offer.id, { affiliate_id: first.id, params: { sub1: 'draft' } })
  t.equal(unsentFirst.sent_at, null)
  const forSecond = await createLink(app, offer.id, { affiliate_id: second.id })
  await createLink(app, otherOffer.id, { affiliate_id: first.id, send: true })

  const panel = (affiliate: { api_key: string }, offerId = offer.id) =>
    inject(app, { method: 'GET', url: `/v1/affiliate/offers/${offerId}/tracking-links`, headers: asAffiliate(affiliate) })

  t.same((await panel(first)).json().data.map((l: TrackingLinkJson) => l.id), [sentToFirst.id])
  t.same((await panel(second)).json(), { data: [], next_cursor: null }, 'nothing sent to the second yet')

  const sent = await inject(app, { method: 'POST', url: `/v1/tracking-links/${forSecond.id}/send` })
  t.equal(sent.statusCode, 200)
  t.match(sent.json().sent_at, /^\d{4}-\d\d-\d\dT/)
  const resent = await inject(app, { method: 'POST', url: `/v1/tracking-links/${forSecond.id}/send` })
  t.equal(resent.json().sent_at, sent.json().sent_at, 'sending again keeps the first time')
  t.same((await panel(second)).json().data.map((l: TrackingLinkJson) => l.id), [forSecond.id])
  t.same((await panel(first)).json().data.map((l: TrackingLinkJson) => l.id), [sentToFirst.id], 'still only its own')

  // send: true on a repeat marks an existing link sent.
  const repeat = await postLink(app, offer.id, { affiliate_id: first.id, params: { sub1: 'draft' }, send: true })
  t.equal(repeat.statusCode, 200)
  t.equal(repeat.json().id, unsentFirst.id)
  t.same((await panel(first)).json().data.map((l: TrackingLinkJson) => l.id), [unsentFirst.id, sentToFirst.id])

  t.equal((await panel(first, 999999)).statusCode, 404)
  t.equal((await inject(app, { method: 'POST', url: '/v1/tracking-links/999999/send' })).statusCode, 404)
  t.equal((await inject(app, { method: 'GET', url: `/v1/affiliate/offers/${offer.id}/tracking-links` })).statusCode, 403, 'admin key on a panel route')
  t.equal(
    (await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/tracking-links`, headers: asAffiliate(first) })).statusCode,
    403, 'affiliate key on an admin route'
  )
  t.equal((await inject(app, { method: 'POST', url: `/v1/tracking-links/${forSecond.id}/send`, headers: asAffiliate(second) })).statusCode, 403)
})

t.test('links: the admin list per offer, filtered by affiliate, paginated', async (t) => {
  const { app } = await build(t)
  const { offer, affiliate: first } = await offerAndAffiliate(app)
  const second = await createAffiliate(app)
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await createLink(app, offer.id, { affiliate_id: first.id, params: { sub1: String(i) } })).id)
  const secondsLink = await createLink(app, offer.id, { affiliate_id: second.id })

  const all = await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/tracking-links` })
  t.equal(all.statusCode, 200)
  t.same(all.json().data.map((l: TrackingLinkJson) => l.id), [secondsLink.id, ...[...ids].reverse()])

  const seen: number[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/offers/${offer.id}/tracking-links?affiliate_id=${first.id}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const page = await inject(app, { method: 'GET', url })
    t.equal(page.statusCode, 200)
    seen.push(...page.json().data.map((l: TrackingLinkJson) => l.id))
    cursor = page.json().next_cursor
  } while (cursor !== null)
  t.same(seen, [...ids].reverse())

  t.equal((await inject(app, { method: 'GET', url: '/v1/offers/999999/tracking-links' })).statusCode, 404)
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/tracking-links?pid=1` })).statusCode, 400)
  t.equal((await inject(app, { method: 'GET', url: `/v1/offers/${offer.id}/tracking-links?affiliate_id=x` })).statusCode, 400)
})
