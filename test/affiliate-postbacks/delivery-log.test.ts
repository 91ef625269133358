import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, convert, createAffiliate, createOffer, createPostback, getDelivery, listDeliveries, mergePatch, settled, type Delivery } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery, seedConversion } from '../helpers/seeds.js'
import { startSink } from '../helpers/sink.js'

function retry (app: Parameters<typeof inject>[0], id: number) {
  return inject(app, { method: 'POST', url: `/v1/postback-deliveries/${id}/retry` })
}

t.test('delivery log: list with filters, one with its attempts, the affiliate panel sees only its own', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const mine = await firingScene(app)
  const theirs = await firingScene(app)
  const pbMine = await createPostback(app, { affiliate_id: mine.affiliate.id, url: `${sink.origin}/mine` })
  await createPostback(app, { affiliate_id: theirs.affiliate.id, url: `${sink.origin}/theirs` })
  const c1 = await seedConversion(app, mine)
  const c2 = await seedConversion(app, mine)
  const c3 = await seedConversion(app, theirs)
  await eventually(() => sink.requests.length === 3, 5000, 'three deliveries')
  await eventually(async () => (await listDeliveries(app, '?state=delivered')).length === 3, 5000, 'all recorded')

  const all = await listDeliveries(app)
  t.same(all.map((d) => d.conversion_id), [c3, c2, c1], 'newest first')
  t.same(Object.keys(all[0]!).sort(), [
    'attempts', 'body', 'conversion_id', 'created_at', 'delivered_at', 'event_id', 'id', 'last_error', 'last_http_code',
    'method', 'next_attempt_at', 'postback_id', 'state', 'url',
  ])
  t.same((await listDeliveries(app, `?conversion_id=${c2}`)).map((d) => d.conversion_id), [c2])
  t.same((await listDeliveries(app, `?postback_id=${pbMine.id}`)).map((d) => d.conversion_id), [c2, c1])
  t.same((await listDeliveries(app, `?affiliate_id=${theirs.affiliate.id}`)).map((d) => d.conversion_id), [c3])
  t.same(await listDeliveries(app, '?state=failed'), [])
  const page = await inject(app, { method: 'GET', url: '/v1/postback-deliveries?limit=2' })
  t.equal(page.json().data.length, 2)
  const rest = await inject(app, { method: 'GET', url: `/v1/postback-deliveries?limit=2&cursor=${page.json().next_cursor}` })
  t.same(rest.json().data.map((d: Delivery) => d.conversion_id), [c1])
  t.equal(rest.json().next_cursor, null)

  const one = await getDelivery(app, all[2]!.id)
  t.match(one, { id: all[2]!.id, state: 'delivered', attempts: 1, attempt_log: [{ n: 1, http_code: 200, response_body: 'ok', error: null }] })
  t.match(one.attempt_log![0]!.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.type(one.attempt_log![0]!.duration_ms, 'number')

  const panel = await app.inject({ method: 'GET', url: '/v1/affiliate/postback-deliveries', headers: asAffiliate(mine.affiliate) })
  t.equal(panel.statusCode, 200)
  t.same(panel.json().data.map((d: Delivery) => d.conversion_id), [c2, c1], 'own deliveries only')
  const snoop = await app.inject({ method: 'GET', url: `/v1/affiliate/postback-deliveries?affiliate_id=${theirs.affiliate.id}`, headers: asAffiliate(mine.affiliate) })
  t.equal(snoop.statusCode, 400, 'no affiliate_id filter on the panel')
  const adminOnPanel = await inject(app, { method: 'GET', url: '/v1/affiliate/postback-deliveries' })
  t.equal(adminOnPanel.statusCode, 403)
  const affiliateOnAdmin = await app.inject({ method: 'GET', url: '/v1/postback-deliveries', headers: asAffiliate(mine.affiliate) })
  t.equal(affiliateOnAdmin.statusCode, 403)

  for (const [url, status] of [
    ['/v1/postback-deliveries/999999', 404],
    ['/v1/postback-deliveries/abc', 400],
    ['/v1/postback-deliveries?state=sent', 400],
    ['/v1/postback-deliveries?colour=red', 400],
    ['/v1/postback-deliveries?conversion_id=-1', 400],
  ] as const) {
    const res = await inject(app, { method: 'GET', url })
    t.equal(res.statusCode, status, url)
    t.match(res.headers['content-type'], /application\/problem\+json/)
  }
})

t.test('manual resend: one attempt now, same delivery id, from any state; 404 for an unknown delivery', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '1h' } })
  const sink = await startSink(t)
  let answer = 500
  sink.on('/pb', () => ({ status: answer }))
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/pb` })
  const conversionId = await seedConversion(app, scene)
  await eventually(async () => (await listDeliveries(app, `?conversion_id=${conversionId}`))[0]?.attempts === 1, 5000, 'the first attempt')
  const [pending] = await listDeliveries(app, `?conversion_id=${conversionId}`)
  t.match(pending, { state: 'pending', attempts: 1, last_http_code: 500 })
  t.ok(Date.parse(pending!.next_attempt_at!) > Date.now() + 50 * 60_000, 'next attempt an hour away')

  // Pending, failing: the resend decides the delivery: failed, no more scheduled attempts.
  const failedResend = await retry(app, pending!.id)
  t.equal(failedResend.statusCode, 200)
  t.match(failedResend.json(), { id: pending!.id, state: 'failed', attempts: 2, last_http_code: 500, next_attempt_at: null })
  t.equal(failedResend.json().attempt_log.length, 2)

  // Failed, now answered: delivered.
  answer = 200
  const delivered = await retry(app, pending!.id)
  t.match(delivered.json(), { state: 'delivered', attempts: 3, last_http_code: 200, last_error: null, next_attempt_at: null })
  t.ok(delivered.json().delivered_at)

  // Delivered: sent again all the same (the receiver de-duplicates on the id).
  const again = await retry(app, pending!.id)
  t.match(again.json(), { state: 'delivered', attempts: 4 })
  t.same(again.json().attempt_log.map((a: { n: number }) => a.n), [1, 2, 3, 4])

  // Cancelled: resent on request, and the attempt decides its state.
  await app.db.updateTable('postback_deliveries').set({ state: 'cancelled' }).where('id', '=', pending!.id).execute()
  const fromCancelled = await retry(app, pending!.id)
  t.match(fromCancelled.json(), { state: 'delivered', attempts: 5 })

  const ids = sink.to('/pb').map((r) => r.headers['x-postback-delivery-id'])
  t.equal(ids.length, 5)
  t.same(new Set(ids), new Set([String(pending!.id)]), 'every attempt carries the same delivery id')

  t.equal((await retry(app, 999999)).statusCode, 404)
  t.equal((await retry(app, 0)).statusCode, 404, 'an id no delivery can have is unknown too')
})

t.test('resend answers 409 while an attempt of the delivery is in flight', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  sink.on('/slow', { status: 200, delayMs: 800 })
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/slow` })
  const conversionId = await seedConversion(app, scene)
  await eventually(() => sink.requests.length === 1, 5000, 'the scheduled attempt in flight')
  const [delivery] = await listDeliveries(app, `?conversion_id=${conversionId}`)

  const during = await retry(app, delivery!.id)
  t.equal(during.statusCode, 409, 'the scheduled attempt holds the delivery')
  t.match(during.json(), { type: /conflict/, status: 409 })
  await settled(app, delivery!.id)

  const [a, b] = await Promise.all([retry(app, delivery!.id), retry(app, delivery!.id)])
  t.same([a.statusCode, b.statusCode].sort(), [200, 409], 'of two resends at once, one runs and the other is refused')
  t.equal((await getDelivery(app, delivery!.id)).attempts, 2)
  t.equal(sink.requests.length, 2)
})

t.test('test fire: a sample or a given conversion, rendered and sent once, recording nothing', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  sink.on('/test', { status: 202, body: 'got it' })
  const scene = await firingScene(app)
  const local = await createPostback(app, {
    affiliate_id: scene.affiliate.id, offer_id: scene.offer.id, url: `${sink.origin}/test?cid={sub1}&sum={sum}&status={status}&offer={offer_id}&conv={conversion_id}`,
  })
  const global = await createPostback(app, { affiliate_id: scene.affiliate.id, method: 'POST', url: `${sink.origin}/test?g={goal}&o={offer_id}` })

  const sample = await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test` })
  t.equal(sample.statusCode, 200)
  t.match(sample.json(), {
    method: 'GET',
    body: null,
    http_code: 202,
    response_body: 'got it',
    error: null,
    duration_ms: Number,
    url: `${sink.origin}/test?cid=sample-sub1&sum=1.5&status=1&offer=${scene.offer.id}&conv=0`,
  })
  t.equal(sink.requests[0]!.headers['x-postback-test'], 'true')
  t.equal(sink.requests[0]!.headers['x-postback-delivery-id'], undefined)

  const post = await inject(app, { method: 'POST', url: `/v1/postbacks/${global.id}/test`, payload: {} })
  t.match(post.json(), { method: 'POST', url: `${sink.origin}/test`, body: 'g=1&o=0', http_code: 202 })
  t.equal(sink.requests[1]!.body, 'g=1&o=0')

  // A real conversion of this affiliate on this offer.
  const conversionId = await convert(app, scene, {}, { sub1: 'their click' })
  await eventually(() => sink.requests.length >= 3, 5000, 'the conversion\'s own deliveries')
  const before = (await listDeliveries(app)).length
  const real = await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test`, payload: { conversion_id: conversionId } })
  t.equal(real.statusCode, 200)
  t.equal(real.json().url, `${sink.origin}/test?cid=their%20click&sum=9.998&status=1&offer=${scene.offer.id}&conv=${conversionId}`)
  t.equal((await listDeliveries(app)).length, before, 'no delivery recorded for a test fire')

  // Another affiliate's conversion, or another offer's for a local postback: 422.
  const other = await firingScene(app)
  await createPostback(app, { affiliate_id: other.affiliate.id, url: `${sink.origin}/other` })
  const othersConversion = await seedConversion(app, other)
  const foreign = await inject(app, { method: 'POST', url: `/v1/postbacks/${global.id}/test`, payload: { conversion_id: othersConversion } })
  t.equal(foreign.statusCode, 422)
  t.equal(foreign.json().errors[0].path, '/conversion_id')
  const otherOffer = await createOffer(app, { goals: [{ value: '1', title: 'Sale', type: 'fixed', revenue: 1, payout: 1 }] })
  const onOtherOffer = await seedConversion(app, { offer: otherOffer, affiliate: scene.affiliate })
  t.equal((await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test`, payload: { conversion_id: onOtherOffer } })).statusCode, 422)
  t.equal((await inject(app, { method: 'POST', url: `/v1/postbacks/${global.id}/test`, payload: { conversion_id: onOtherOffer } })).statusCode, 200,
    'a global postback takes any conversion of its affiliate')
  t.equal((await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test`, payload: { conversion_id: 99999999 } })).statusCode, 422)

  t.equal((await inject(app, { method: 'POST', url: '/v1/postbacks/999999/test' })).statusCode, 404)
  const bad = await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test`, payload: { conversion_id: 'x' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].path, '/conversion_id')
  t.equal((await inject(app, { method: 'POST', url: `/v1/postbacks/${local.id}/test`, payload: { extra: 1 } })).statusCode, 400)
  const affiliate = await createAffiliate(app)
  t.equal((await app.inject({ method: 'POST', url: `/v1/postbacks/${local.id}/test`, headers: asAffiliate(affiliate) })).statusCode, 403)
})

t.test('test fire and resend obey the SSRF guard', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'false' } })
  const sink = await startSink(t)
  const scene = await firingScene(app)
  const pb = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `http://localhost:${sink.port}/x` })
  const fired = await inject(app, { method: 'POST', url: `/v1/postbacks/${pb.id}/test` })
  t.equal(fired.statusCode, 200)
  t.match(fired.json(), { http_code: null, response_body: '', error: /^refused: localhost resolves to (127\.0\.0\.1|::1)/ })

  const conversionId = await seedConversion(app, scene)
  const [delivery] = await eventually(async () => {
    const list = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return list[0]?.state === 'failed' ? list : undefined
  }, 5000, 'the refusal')
  const resent = await retry(app, delivery!.id)
  t.match(resent.json(), { state: 'failed', attempts: 2, last_error: /^refused/ })
  t.equal(sink.requests.length, 0)
})

t.test('manual resend never feeds our own intake: a host that became a tracking domain, or PUBLIC_URL, is refused', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '1h' } })
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: 'https://loop.example.net/pb?c={clickid}' })
  // Rendered while the host was the affiliate's; it failed, so it does not keep the hostname from becoming ours.
  const old = await insertDelivery(app, scene, { postbackId: postback.id, url: 'https://loop.example.net/pb?c=abc', attempts: 1 })
  await app.db.updateTable('postback_deliveries').set({ state: 'failed', next_attempt_at: null }).where('id', '=', old).execute()
  t.equal((await mergePatch(app, `/v1/postbacks/${postback.id}`, { url: 'https://affiliate.example.org/pb' })).statusCode, 200)
  t.equal((await inject(app, { method: 'POST', url: '/v1/tracking-domains', payload: { hostname: 'Loop.Example.net' } })).statusCode, 201)

  const resent = await retry(app, old)
  t.equal(resent.statusCode, 200)
  t.match(resent.json(), {
    id: old,
    state: 'failed',
    attempts: 2,
    last_http_code: null,
    last_error: 'refused: loop.example.net is a tracking domain of this service; a postback must not feed its own intake',
  })
  // The helper wrote the first attempt's count, not its log entry: the log holds the refused one alone.
  t.same(resent.json().attempt_log.map((a: { n: number }) => a.n), [2])

  const toPublicUrl = await insertDelivery(app, scene, { postbackId: postback.id, url: `${app.config.publicUrl}/postback?clickid=abc`, attempts: 1 })
  await app.db.updateTable('postback_deliveries').set({ state: 'failed', next_attempt_at: null }).where('id', '=', toPublicUrl).execute()
  const refused = await retry(app, toPublicUrl)
  t.match(refused.json(), { state: 'failed', attempts: 2, last_error: /^refused: the URL points at this service itself/ })
})
