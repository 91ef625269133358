import t from 'tap'
import { build, eventually, inject } from '../helpers/build.js'
import { createPostback, listDeliveries, settled } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery, seedConversion } from '../helpers/seeds.js'
import { closedPort, startSink } from '../helpers/sink.js'

const FAST_RETRIES = { POSTBACK_RETRY_SCHEDULE: '100ms,100ms' }

async function oneDelivery (app: Parameters<typeof listDeliveries>[0], conversionId: number) {
  const [delivery] = await eventually(async () => {
    const list = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return list.length > 0 ? list : undefined
  }, 2000, 'the delivery row')
  return delivery!
}

t.test('a 500 then a 200: retried per the schedule and delivered, every attempt in the log', async (t) => {
  const { app } = await build(t, { env: FAST_RETRIES })
  const sink = await startSink(t)
  sink.on('/flaky', (call) => (call === 1 ? { status: 500, body: 'boom' } : { status: 204 }))
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/flaky?c={conversion_id}` })
  const conversionId = await seedConversion(app, scene)
  const delivery = await settled(app, (await oneDelivery(app, conversionId)).id)

  t.match(delivery, { state: 'delivered', attempts: 2, last_http_code: 204, last_error: null, next_attempt_at: null })
  t.match(delivery.attempt_log, [
    { n: 1, http_code: 500, response_body: 'boom', error: 'HTTP 500' },
    { n: 2, http_code: 204, response_body: '', error: null },
  ])
  const [first, second] = sink.to('/flaky')
  t.equal(first!.headers['x-postback-delivery-id'], String(delivery.id))
  t.equal(second!.headers['x-postback-delivery-id'], String(delivery.id), 'the same delivery id on the retry')
  t.equal(first!.url, second!.url, 'every attempt sends exactly the same request')
  // 100 ms ± 10% jitter between the attempts.
  t.ok(second!.at - first!.at >= 85, `retried after the scheduled wait (${second!.at - first!.at} ms)`)
})

t.test('every attempt fails: failed after the schedule runs out (schedule length + 1 attempts)', async (t) => {
  const { app } = await build(t, { env: FAST_RETRIES })
  const sink = await startSink(t)
  sink.on('/down', { status: 503, body: 'x'.repeat(10_000) })
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/down` })
  const delivery = await settled(app, (await oneDelivery(app, await seedConversion(app, scene))).id)
  t.match(delivery, { state: 'failed', attempts: 3, last_http_code: 503, last_error: 'HTTP 503', next_attempt_at: null, delivered_at: null })
  t.same(delivery.attempt_log!.map((a) => a.n), [1, 2, 3])
  t.equal(delivery.attempt_log![0]!.response_body.length, 4096, 'the first 4 KiB of the answer are kept')
  t.equal(sink.to('/down').length, 3)
})

t.test('an answer longer than 4 KiB: the first 4 KiB are kept, and a complete answer keeps its connection', async (t) => {
  // One slot, one connection: every attempt goes out on the same connection unless one was dropped.
  const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '1' } })
  const sink = await startSink(t)
  const page = 'ok:' + 'x'.repeat(6000)
  sink.on('/big', { status: 200, body: page })
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/big?c={conversion_id}` })
  for (let i = 0; i < 3; i++) {
    const delivery = await settled(app, (await oneDelivery(app, await seedConversion(app, scene))).id)
    t.match(delivery, { state: 'delivered', attempts: 1, last_http_code: 200 })
    t.equal(delivery.attempt_log![0]!.response_body, page.slice(0, 4096))
  }
  const ports = new Set(sink.to('/big').map((r) => r.remotePort))
  t.equal(sink.to('/big').length, 3)
  t.equal(ports.size, 1, 'all three attempts went out on one kept-alive connection')
})

t.test('a redirect is a failed attempt and is not followed', async (t) => {
  const { app } = await build(t, { env: FAST_RETRIES })
  const sink = await startSink(t)
  sink.on('/moved', { redirect: `${sink.origin}/target`, status: 302 })
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/moved` })
  const delivery = await settled(app, (await oneDelivery(app, await seedConversion(app, scene))).id)
  t.match(delivery, { state: 'failed', attempts: 3, last_http_code: 302 })
  t.match(delivery.last_error, /redirects are not followed.*\/target/)
  t.equal(sink.to('/target').length, 0, 'the Location was never requested')
})

t.test('a receiver that does not answer within POSTBACK_TIMEOUT_MS: a timed-out attempt, then a retry', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_TIMEOUT_MS: '300', POSTBACK_RETRY_SCHEDULE: '100ms' } })
  const sink = await startSink(t)
  sink.on('/slow', (call) => (call === 1 ? { hang: true } : { status: 200 }))
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/slow` })
  const delivery = await settled(app, (await oneDelivery(app, await seedConversion(app, scene))).id)
  t.match(delivery, { state: 'delivered', attempts: 2 })
  const timedOut = delivery.attempt_log![0]!
  t.match(timedOut, { n: 1, http_code: null, error: /timeout/ })
  t.ok(timedOut.duration_ms >= 290 && timedOut.duration_ms < 2000, `gave up after the timeout (${timedOut.duration_ms} ms)`)
})

t.test('an answer whose body stalls: the status line decides, what arrived is kept, the attempt ends at the timeout', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_TIMEOUT_MS: '300', POSTBACK_RETRY_SCHEDULE: '100ms' } })
  const sink = await startSink(t)
  sink.on('/stalls-ok', { status: 200, stallAfter: 'accepted' })
  sink.on('/stalls-500', { status: 500, stallAfter: 'overloaded' })
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/stalls-ok` })
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/stalls-500` })
  const conversionId = await seedConversion(app, scene)
  const deliveries = await eventually(async () => {
    const list = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return list.length === 2 ? list : undefined
  }, 2000, 'both deliveries')
  const byPath = new Map<string, Awaited<ReturnType<typeof settled>>>()
  for (const d of deliveries) byPath.set(new URL(d.url).pathname, await settled(app, d.id))
  const ok = byPath.get('/stalls-ok')!
  t.match(ok, { state: 'delivered', attempts: 1, last_http_code: 200, last_error: null })
  t.match(ok.attempt_log, [{ n: 1, http_code: 200, response_body: 'accepted', error: null }])
  t.ok(ok.attempt_log![0]!.duration_ms >= 290, `held until the timeout (${ok.attempt_log![0]!.duration_ms} ms)`)
  const failing = byPath.get('/stalls-500')!
  t.match(failing, { state: 'failed', attempts: 2, last_http_code: 500, last_error: 'HTTP 500' })
  t.match(failing.attempt_log, [{ n: 1, response_body: 'overloaded' }, { n: 2, response_body: 'overloaded' }])
})

t.test('a refused connection is a failed attempt with the reason', async (t) => {
  const { app } = await build(t, { env: FAST_RETRIES })
  const port = await closedPort()
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `http://127.0.0.1:${port}/x` })
  const delivery = await settled(app, (await oneDelivery(app, await seedConversion(app, scene))).id)
  t.match(delivery, { state: 'failed', attempts: 3, last_http_code: null, last_error: /ECONNREFUSED/ })
})

t.test('SSRF guard on: loopback destinations are refused, by IP or by name, and never retried', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_ALLOW_PRIVATE_NETWORKS: 'false', ...FAST_RETRIES } })
  const sink = await startSink(t)
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/by-ip` })
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `http://localhost:${sink.port}/by-name` })
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `http://[::ffff:127.0.0.1]:${sink.port}/mapped` })
  const conversionId = await seedConversion(app, scene)
  const deliveries = await eventually(async () => {
    const list = await listDeliveries(app, `?conversion_id=${conversionId}`)
    return list.length === 3 && list.every((d) => d.state !== 'pending') ? list : undefined
  }, 5000, 'three refusals')
  for (const d of deliveries) {
    t.match(d, { state: 'failed', attempts: 1, last_http_code: null, next_attempt_at: null }, d.url)
    t.match(d.last_error, /^refused: .*(loopback|127\.0\.0\.1)/, d.url)
  }
  // Wait past the retry schedule: nothing is sent, nothing retried.
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(sink.requests.length, 0, 'the sink never heard from us')
  t.same((await listDeliveries(app, `?conversion_id=${conversionId}`)).map((d) => d.attempts), [1, 1, 1])
})

t.test('a cancelled delivery (its postback deleted) is never attempted again', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '300ms' } })
  const sink = await startSink(t)
  sink.on('/gone', { status: 500 })
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/gone` })
  const delivery = await oneDelivery(app, await seedConversion(app, scene))
  await eventually(() => sink.to('/gone').length === 1, 3000, 'the first attempt')
  await eventually(async () => (await listDeliveries(app, `?postback_id=${postback.id}`))[0]?.attempts === 1, 3000, 'the attempt recorded')

  const deleted = await inject(app, { method: 'DELETE', url: `/v1/postbacks/${postback.id}` })
  t.equal(deleted.statusCode, 204)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const after = await settled(app, delivery.id)
  t.match(after, { state: 'cancelled', attempts: 1 })
  t.equal(sink.to('/gone').length, 1, 'no attempt after the cancel')
})

t.test('a lease that expired (a crashed instance) is recovered by the sweeper; a live one is left alone', async (t) => {
  const { app } = await build(t)
  const sink = await startSink(t)
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/orphan` })
  const busy = await insertDelivery(app, scene, {
    postbackId: postback.id, url: `${sink.origin}/held`, lockedBy: 'live-instance', lockedUntil: new Date(Date.now() + 60_000),
  })
  // Claimed by an instance that died: its lease ran out a moment ago.
  const id = await insertDelivery(app, scene, {
    postbackId: postback.id, url: `${sink.origin}/orphan`, lockedBy: 'dead-instance', lockedUntil: new Date(Date.now() - 1_000),
  })
  const delivery = await settled(app, id, 5000)
  t.match(delivery, { state: 'delivered', attempts: 1 })
  t.equal(sink.to('/orphan').length, 1)
  // Past a poll or two: the live claim is still its holder's.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal(sink.to('/held').length, 0)
  const held = await app.db.selectFrom('postback_deliveries').select(['state', 'attempts', 'locked_by']).where('id', '=', busy).executeTakeFirstOrThrow()
  t.same(held, { state: 'pending', attempts: 0, locked_by: 'live-instance' })
})

t.test('a pending delivery to the service\'s own origin (PUBLIC_URL changed since it was rendered) is refused at send time', async (t) => {
  const { app } = await build(t, { env: FAST_RETRIES })
  const sink = await startSink(t)
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/pb` })
  const own = new URL(app.config.publicUrl)
  const port = own.port || (own.protocol === 'https:' ? '443' : '80')
  // The same origin written differently: upper-case host and an explicit default port; a trailing dot.
  for (const url of [
    `${own.protocol}//${own.hostname.toUpperCase()}:${port}/postback?clickid=abc`,
    `${own.protocol}//${own.hostname}.:${port}/postback?clickid=abc`,
  ]) {
    const delivery = await settled(app, await insertDelivery(app, scene, { postbackId: postback.id, url }))
    t.match(delivery, {
      state: 'failed',
      attempts: 1,
      last_http_code: null,
      last_error: 'refused: the URL points at this service itself (the origin of PUBLIC_URL)',
    }, url)
    t.equal(delivery.attempt_log!.length, 1, 'refused once, never retried')
  }
  t.equal(sink.requests.length, 0)
})
