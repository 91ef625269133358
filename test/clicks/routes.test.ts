import t from 'tap'
import { build, inject } from '../helpers/build.js'
import { asAffiliate, clickidIn, createAffiliate, createOffer, OFFER_URL, requestPublicPath, type ClickJson } from '../helpers/fixtures.js'

t.test('clicks API: list newest first with filters and a cursor over (created_at, clickid)', async (t) => {
  const { app } = await build(t)
  const offerA = await createOffer(app, { url: OFFER_URL })
  const offerB = await createOffer(app, { url: OFFER_URL })
  const first = await createAffiliate(app)
  const second = await createAffiliate(app)
  const made: { clickid: string; offer: number; affiliate: number }[] = []
  for (const [offer, affiliate] of [[offerA, first], [offerA, second], [offerB, first], [offerA, first], [offerB, second], [offerA, first], [offerA, first]] as const) {
    const res = await requestPublicPath(app, `/click?pid=${affiliate.id}&offer_id=${offer.id}`)
    made.push({ clickid: clickidIn(res.headers.location), offer: offer.id, affiliate: affiliate.id })
  }

  const all = await inject(app, { method: 'GET', url: '/v1/clicks?limit=500' })
  t.equal(all.statusCode, 200)
  const data = all.json().data as ClickJson[]
  t.equal(all.json().next_cursor, null)
  t.same(new Set(data.map((c) => c.clickid)), new Set(made.map((c) => c.clickid)))
  const sorted = [...data].sort((x, y) => (x.created_at === y.created_at ? (x.clickid < y.clickid ? 1 : -1) : x.created_at < y.created_at ? 1 : -1))
  t.same(data.map((c) => c.clickid), sorted.map((c) => c.clickid), 'ordered by created_at desc, clickid desc')
  t.match(data[0], { clickid: /^[0-9a-f]{24}$/, tracking_link_id: null, params: {}, ip: '127.0.0.1', referrer: null })

  const walked: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/clicks?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const page = await inject(app, { method: 'GET', url })
    t.equal(page.statusCode, 200)
    t.ok(page.json().data.length <= 2)
    walked.push(...page.json().data.map((c: ClickJson) => c.clickid))
    cursor = page.json().next_cursor
  } while (cursor !== null)
  t.same(walked, data.map((c) => c.clickid), 'pages walk every click once, in order')

  const ids = (url: string) => inject(app, { method: 'GET', url }).then((r) => new Set((r.json().data as ClickJson[]).map((c) => c.clickid)))
  const expect = (keep: (c: (typeof made)[number]) => boolean) => new Set(made.filter(keep).map((c) => c.clickid))
  t.same(await ids(`/v1/clicks?offer_id=${offerA.id}`), expect((c) => c.offer === offerA.id))
  t.same(await ids(`/v1/clicks?affiliate_id=${second.id}`), expect((c) => c.affiliate === second.id))
  t.same(await ids(`/v1/clicks?pid=${second.id}`), expect((c) => c.affiliate === second.id), 'pid is an alias')
  t.same(await ids(`/v1/clicks?offer_id=${offerA.id}&pid=${first.id}&affiliate_id=${first.id}`), expect((c) => c.offer === offerA.id && c.affiliate === first.id))
  t.same(await ids(`/v1/clicks?created_from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), new Set())
  t.same(await ids('/v1/clicks?created_to=2000-01-01T00:00:00Z'), new Set())

  const one = await inject(app, { method: 'GET', url: `/v1/clicks/${made[2]?.clickid}` })
  t.equal(one.statusCode, 200)
  t.same(one.json(), data.find((c) => c.clickid === made[2]?.clickid))
})

t.test('clicks API: bad input and access', async (t) => {
  const { app } = await build(t)
  const affiliate = await createAffiliate(app)
  const cases: { url: string; status: number; path?: string }[] = [
    { url: '/v1/clicks/XYZ', status: 400, path: '/clickid' },
    { url: '/v1/clicks/5EC25B044A4F2B0001211111', status: 400, path: '/clickid' },
    { url: `/v1/clicks/${'a'.repeat(25)}`, status: 400, path: '/clickid' },
    { url: '/v1/clicks/5ec25b044a4f2b0001211111', status: 404 },
    { url: '/v1/clicks?cursor=garbage', status: 400, path: '/cursor' },
    { url: `/v1/clicks?cursor=${Buffer.from('["not a date","x"]').toString('base64url')}`, status: 400, path: '/cursor' },
    { url: '/v1/clicks?pid=1&affiliate_id=2', status: 400, path: '/pid' },
    { url: '/v1/clicks?offer_id=abc', status: 400, path: '/offer_id' },
    { url: '/v1/clicks?limit=0', status: 400, path: '/limit' },
    { url: '/v1/clicks?colour=red', status: 400, path: '/colour' },
  ]
  for (const c of cases) {
    const res = await inject(app, { method: 'GET', url: c.url })
    t.equal(res.statusCode, c.status, c.url)
    t.match(res.headers['content-type'], /^application\/problem\+json/, c.url)
    if (c.path !== undefined) t.equal(res.json().errors?.[0]?.path, c.path, c.url)
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/clicks' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/clicks', headers: asAffiliate(affiliate) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/clicks/5ec25b044a4f2b0001211111', headers: asAffiliate(affiliate) })).statusCode, 403)
})
