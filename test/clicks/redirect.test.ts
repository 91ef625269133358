import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { clickidIn, createAffiliate, createLink, createOffer, OFFER_URL, pathOf, readClick, requestPublicPath } from '../helpers/fixtures.js'
import { countClicks } from '../helpers/seeds.js'

const EVERY_MACRO =
  'https://adv.example/p/{offer_id}/land?c={clickid}&c2={click_id}&pid={pid}&o={offer_id}&o2={offerid}' +
  '&s1={sub1}&s2={sub2}&s3={sub3}&s4={sub4}&s5={sub5}&s6={sub6}&s7={sub7}&s8={sub8}&r={ref_id}' +
  '&e1={ext1}&e2={ext2}&e3={ext3}&ip={ip}&ua={device_ua}&ref={referrer}&rand={rand}&t={time}&u={unknown}&v=%41{sub1}'

t.test('click: 302 to the offer URL with every macro substituted and encoded', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: EVERY_MACRO })
  const affiliate = await createAffiliate(app)
  const before = Math.floor(Date.now() / 1000)
  const res = await requestPublicPath(
    app,
    `/click?pid=${affiliate.id}&offer_id=${offer.id}&sub1=a%20b&sub2=%C3%A9&sub3=x%26y%3Dz&sub4=4&sub5=5&sub6=6&sub7=7` +
      '&sub8=8&ref_id=r%2Fs&ext1=e1&ext2=e2&ext3=%7Bclickid%7D&custom=kept',
    { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux)', referer: 'https://pub.example/page?a=1&b=2' } }
  )
  t.equal(res.statusCode, 302)
  t.equal(res.headers['cache-control'], 'no-store')
  const location = res.headers.location as string
  const shape = /[?&]c=([0-9a-f]{24})&.*&rand=([0-9a-f-]{36})&t=(\d+)&/.exec(location)
  t.ok(shape, `location has a click id, a UUID and a time: ${location}`)
  const [, clickid, rand, time] = shape as unknown as [string, string, string, string]
  t.match(rand, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.ok(Number(time) >= before && Number(time) <= Math.floor(Date.now() / 1000), '{time} is now, in unix seconds')
  t.equal(
    location,
    `https://adv.example/p/${offer.id}/land?c=${clickid}&c2=${clickid}&pid=${affiliate.id}&o=${offer.id}&o2=${offer.id}` +
      '&s1=a%20b&s2=%C3%A9&s3=x%26y%3Dz&s4=4&s5=5&s6=6&s7=7&s8=8&r=r%2Fs&e1=e1&e2=e2&e3=%7Bclickid%7D&ip=127.0.0.1' +
      '&ua=Mozilla%2F5.0%20%28X11%3B%20Linux%29&ref=https%3A%2F%2Fpub.example%2Fpage%3Fa%3D1%26b%3D2' +
      `&rand=${rand}&t=${time}&u=&v=%41a%20b`
  )

  const recorded = await readClick(app, clickid)
  t.match(recorded, {
    clickid,
    offer_id: offer.id,
    affiliate_id: affiliate.id,
    tracking_link_id: null,
    ip: '127.0.0.1',
    user_agent: 'Mozilla/5.0 (X11; Linux)',
    referrer: 'https://pub.example/page?a=1&b=2',
  })
  t.same(recorded?.params, {
    sub1: 'a b',
    sub2: 'é',
    sub3: 'x&y=z',
    sub4: '4',
    sub5: '5',
    sub6: '6',
    sub7: '7',
    sub8: '8',
    ref_id: 'r/s',
    ext1: 'e1',
    ext2: 'e2',
    ext3: '{clickid}',
    custom: 'kept',
  })

  // Without a user agent or referrer the macros are empty, never "undefined".
  const bare = await app.inject({ method: 'GET', url: `/click?pid=${affiliate.id}&offer_id=${offer.id}`, headers: { 'user-agent': '' } })
  t.match(bare.headers.location, /&s1=&s2=&.*&ua=&ref=&rand=/)
})

t.test('click: every click gets its own unguessable id', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const ids = new Set<string>()
  for (let i = 0; i < 50; i++) {
    ids.add(clickidIn((await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)).headers.location))
  }
  t.equal(ids.size, 50)
})

t.test('click: a short URL redirects as its link; extra params never override the link', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: 'https://adv.example/land?c={clickid}&pid={pid}&o={offer_id}&s1={sub1}&s5={sub5}' })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true, params: { sub1: 'stored' } })
  const shortPath = pathOf(link.short_url as string)

  const res = await requestPublicPath(app, `${shortPath}?sub1=override&sub5=extra&pid=999&offer_id=999`)
  t.equal(res.statusCode, 302)
  t.equal(res.headers['cache-control'], 'no-store')
  const clickid = clickidIn(res.headers.location)
  t.equal(res.headers.location, `https://adv.example/land?c=${clickid}&pid=${affiliate.id}&o=${offer.id}&s1=stored&s5=extra`)
  const recorded = await readClick(app, clickid)
  t.match(recorded, { offer_id: offer.id, affiliate_id: affiliate.id, tracking_link_id: link.id })
  t.same(recorded?.params, { sub1: 'stored', sub5: 'extra' })

  // The full link gives the same redirect (with its own click id).
  const full = await requestPublicPath(app, pathOf(link.url))
  const fullId = clickidIn(full.headers.location)
  t.equal(full.headers.location, `https://adv.example/land?c=${fullId}&pid=${affiliate.id}&o=${offer.id}&s1=stored&s5=`)
})

t.test('click: invalid clicks go to the offer\'s trafficback, else 404, and are not recorded', async (t) => {
  const { app } = await build(t)
  const withTrafficback = await createOffer(app, { url: OFFER_URL, trafficback_url: 'https://tb.example/offer?x={sub1}' })
  const plain = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const inactive = await createAffiliate(app, { status: 'inactive' })
  await inject(app, { method: 'PATCH', url: `/v1/offers/${plain.id}`, payload: { status: 'paused' } })

  const toOfferTrafficback = [
    `/click?offer_id=${withTrafficback.id}`,
    `/click?offer_id=${withTrafficback.id}&pid=abc`,
    `/click?offer_id=${withTrafficback.id}&pid=999999`,
    `/click?offer_id=${withTrafficback.id}&pid=${inactive.id}`,
  ]
  for (const url of toOfferTrafficback) {
    const res = await requestPublicPath(app, url)
    t.equal(res.statusCode, 302, url)
    t.equal(res.headers.location, 'https://tb.example/offer?x={sub1}', `${url}: verbatim trafficback`)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const toNotFound = [
    '/click', `/click?pid=${affiliate.id}`, `/click?pid=${affiliate.id}&offer_id=abc`, `/click?pid=${affiliate.id}&offer_id=999999`,
    `/click?pid=${affiliate.id}&offer_id=${plain.id}`, '/ZZZZZZZZZZ',
  ]
  for (const url of toNotFound) {
    const res = await requestPublicPath(app, url)
    t.equal(res.statusCode, 404, url)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { type: 'https://s2s-tracker.dev/problems/not-found', status: 404, detail: /^Invalid click: / })
  }
  await app.clickRecorder.flush()
  t.equal(await countClicks(app), 0, 'nothing recorded')
  t.same({ ...app.clickRecorder.invalid }, {
    missing_pid: 1,
    invalid_pid: 1,
    unknown_affiliate: 1,
    affiliate_inactive: 1,
    missing_offer_id: 2,
    invalid_offer_id: 1,
    unknown_offer: 1,
    offer_inactive: 1,
    unknown_shortcode: 1,
  })
})

t.test('click: TRAFFICBACK_URL catches what the offer does not', async (t) => {
  const { app } = await build(t, { env: { TRAFFICBACK_URL: 'https://fallback.example/tb' } })
  const offer = await createOffer(app, { url: OFFER_URL, status: 'stopped' })
  const own = await createOffer(app, { url: OFFER_URL, status: 'paused', trafficback_url: 'https://own.example/' })
  const affiliate = await createAffiliate(app)
  const banned = await createAffiliate(app, { status: 'banned' })
  for (const url of [
    '/click', '/click?offer_id=x1', '/click?offer_id=0&pid=1', `/click?offer_id=999999&pid=${affiliate.id}`,
    `/click?offer_id=${offer.id}&pid=${affiliate.id}`, '/unknownCode123',
  ]) {
    const res = await requestPublicPath(app, url)
    t.equal(res.statusCode, 302, url)
    t.equal(res.headers.location, 'https://fallback.example/tb', url)
  }
  t.equal((await requestPublicPath(app, `/click?offer_id=${own.id}&pid=${banned.id}`)).headers.location, 'https://own.example/', 'the offer\'s wins')
})

t.test('click: HEAD answers like GET and records nothing', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  const link = await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true })
  for (const url of [`/click?pid=${affiliate.id}&offer_id=${offer.id}`, pathOf(link.short_url as string)]) {
    const res = await requestPublicPath(app, url, { method: 'HEAD' })
    t.equal(res.statusCode, 302, url)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.body, '')
    const clickid = clickidIn(res.headers.location)
    t.equal(app.clickRecorder.findBuffered(clickid), undefined)
    t.equal((await inject(app, { method: 'GET', url: `/v1/clicks/${clickid}` })).statusCode, 404, 'not recorded')
  }
  t.equal((await requestPublicPath(app, '/click?offer_id=999', { method: 'HEAD' })).statusCode, 404)
  await app.clickRecorder.flush()
  t.equal(await countClicks(app), 0)
  t.equal(app.clickRecorder.recorded, 0)
})

t.test('click: short codes never shadow the service\'s own paths', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: OFFER_URL })
  const affiliate = await createAffiliate(app)
  await createLink(app, offer.id, { affiliate_id: affiliate.id, shortlink: true })

  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  t.equal((await app.inject({ method: 'HEAD', url: '/health' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
  const openapi = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(openapi.statusCode, 200)
  t.equal(openapi.json().openapi, '3.1.0')
  t.ok(openapi.json().paths['/{shortcode}'], 'the short URL route is documented')
  t.ok(openapi.json().paths['/click'].get, 'the click route is documented')
  t.ok((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, '/docs')
  t.equal((await app.inject({ method: 'GET', url: '/v1/clicks' })).statusCode, 401, '/v1 routes keep their auth')
  t.match((await app.inject({ method: 'GET', url: '/click' })).json().detail, /offer_id is missing/, '/click is the click')

  // Paths that are not short codes at all.
  for (const url of ['/abc12', '/favicon.ico', '/a-b-c-d-e-f', `/${'a'.repeat(65)}`]) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 404, url)
    t.match(res.json().detail, /^No route for GET/, url)
  }
  // Not UTF-8 once decoded: the router refuses it before any route runs.
  t.equal((await app.inject({ method: 'GET', url: '/%FF%FE%FD%FC%FB%FA' })).statusCode, 400)
})

t.test('click: the IP comes from the connection, or X-Forwarded-For per TRUST_PROXY', async (t) => {
  const direct = (await build(t)).app
  const proxied = (await build(t, { env: { TRUST_PROXY: '127.0.0.1' } })).app
  const oneHop = (await build(t, { env: { TRUST_PROXY: '1' } })).app
  const twoHops = (await build(t, { env: { TRUST_PROXY: '2' } })).app
  // The leftmost entry is the client's own claim: only as many hops as configured are believed.
  for (const [app, expected] of [[direct, '127.0.0.1'], [proxied, '203.0.113.7'], [oneHop, '203.0.113.7'], [twoHops, '198.51.100.9']] as const) {
    const offer = await createOffer(app, { url: 'https://adv.example/?c={clickid}&ip={ip}' })
    const affiliate = await createAffiliate(app)
    const res = await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`, {
      headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' },
    })
    t.match(res.headers.location, new RegExp(`&ip=${expected}$`))
    t.equal((await readClick(app, clickidIn(res.headers.location)))?.ip, expected)
  }
  // A forwarded hop that is no address is not the client's: the connection's address is used instead.
  const offer = await createOffer(proxied, { url: 'https://adv.example/?c={clickid}&ip={ip}' })
  const affiliate = await createAffiliate(proxied)
  for (const forwarded of ['garbage', '<script>', '198.51.100.9, not-an-ip']) {
    const res = await requestPublicPath(proxied, `/click?pid=${affiliate.id}&offer_id=${offer.id}`, { headers: { 'x-forwarded-for': forwarded } })
    t.match(res.headers.location, /&ip=127\.0\.0\.1$/, forwarded)
    t.equal((await readClick(proxied, clickidIn(res.headers.location)))?.ip, '127.0.0.1', forwarded)
  }
  // Some proxies forward the client's port too: the address is kept without it.
  const withPorts: [string, string][] = [['203.0.113.7:5678', '203.0.113.7'], ['[2001:db8::7]:443', '2001:db8::7'], ['[2001:db8::8]', '2001:db8::8']]
  for (const [forwarded, expected] of withPorts) {
    const res = await requestPublicPath(proxied, `/click?pid=${affiliate.id}&offer_id=${offer.id}`, { headers: { 'x-forwarded-for': forwarded } })
    t.equal((await readClick(proxied, clickidIn(res.headers.location)))?.ip, expected, forwarded)
  }
})

t.test('click: a user agent and referrer sent in UTF-8 are stored as UTF-8, latin1 ones as latin1', async (t) => {
  const { app } = await build(t)
  const offer = await createOffer(app, { url: 'https://adv.example/?c={clickid}' })
  const affiliate = await createAffiliate(app)
  // Node hands header bytes over as latin1 characters: this is how UTF-8 `é` arrives.
  const asReceived = (text: string) => Buffer.from(text, 'utf8').toString('latin1')
  const cases = [
    { sent: asReceived('Mozilla/5.0 (Linux; fr-FR) Navigateur \u00e9l\u00e9gant'), stored: 'Mozilla/5.0 (Linux; fr-FR) Navigateur \u00e9l\u00e9gant' },
    { sent: 'Old/1.0 caf\u00e9', stored: 'Old/1.0 caf\u00e9' },
    { sent: 'Plain/1.0', stored: 'Plain/1.0' },
    // Decoded, then cut at 2,048 characters, never inside a character (a whole é fits, half an emoji does not).
    { sent: asReceived(`${'x'.repeat(2047)}\u00e9tail`), stored: `${'x'.repeat(2047)}\u00e9` },
    { sent: asReceived(`${'x'.repeat(2047)}\u{1F600}tail`), stored: 'x'.repeat(2047) },
  ]
  for (const c of cases) {
    const res = await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`, {
      headers: { 'user-agent': c.sent, referer: c.sent },
    })
    const row = await readClick(app, clickidIn(res.headers.location))
    t.equal(row?.user_agent, c.stored, c.stored.slice(0, 40))
    t.equal(row?.referrer, c.stored, `referrer: ${c.stored.slice(0, 40)}`)
  }
})
