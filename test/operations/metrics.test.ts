import t from 'tap'
import { ADMIN_KEY, build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, convert, createPostback } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery } from '../helpers/seeds.js'
import { startSink } from '../helpers/sink.js'

const TOKEN = 'metrics-token-0123456789'

/** The value of one series (name and exact label text) in Prometheus text, or 0 when absent. */
function value (text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

t.test('/metrics: admin key or bearer token; an affiliate key 403, else 401; every listed series moves with the traffic', async (t) => {
  const { app } = await build(t, { env: { METRICS_TOKEN: TOKEN } })
  const scene = await firingScene(app)

  for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { 'api-key': 'not-a-key-0123456789' }]) {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers })
    t.equal(res.statusCode, 401, `refused: ${JSON.stringify(Object.keys(headers))}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
  }
  const byAffiliate = await app.inject({ method: 'GET', url: '/metrics', headers: asAffiliate(scene.affiliate) })
  t.equal(byAffiliate.statusCode, 403, 'an affiliate key is known but not enough, as on every admin route')
  t.match(byAffiliate.headers['content-type'], /application\/problem\+json/)
  const byToken = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(byToken.statusCode, 200, 'the bearer token reads it')
  t.match(byToken.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const before = byToken.body

  const sink = await startSink(t)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/pb` })
  await convert(app, scene)
  await inject(app, { method: 'GET', url: '/click?pid=999999&offer_id=1' })
  await inject(app, { method: 'GET', url: '/postback?clickid=000000000000000000000000' })
  await eventually(() => sink.requests.length === 1, 5000, 'the postback')

  const after = await eventually(async () => {
    const res = await inject(app, { method: 'GET', url: '/metrics', headers: { 'api-key': ADMIN_KEY } })
    return value(res.body, 's2s_delivery_attempts_total{outcome="delivered"}') >= 1 ? res.body : undefined
  }, 5000, 'the attempt to be counted')
  t.equal(value(after, 's2s_clicks_total{result="valid",reason=""}') - value(before, 's2s_clicks_total{result="valid",reason=""}'), 1, 'a valid click')
  t.match(after, /s2s_clicks_total\{result="invalid",reason="[a-z_]+"\} 1/, 'an invalid click, with its reason')
  t.equal(value(after, 's2s_conversions_total{result="created"}'), 1, 'a conversion created')
  t.equal(value(after, 's2s_conversions_total{result="rejected"}'), 1, 'a postback rejected')
  t.equal(value(after, 's2s_delivery_attempts_total{outcome="delivered"}'), 1, 'a delivery')
  t.equal(value(after, 's2s_delivery_attempt_duration_seconds_count'), 1, 'its duration observed')
  for (const series of ['s2s_click_buffer_size', 's2s_clicks_dropped_total', 's2s_deliveries_due', 's2s_deliveries_oldest_due_seconds',
    's2s_stats_clicks_unfolded_seconds', 's2s_db_pool_connections', 's2s_nodejs_eventloop_lag_seconds', 's2s_process_cpu_seconds_total', 's2s_dispatcher_in_flight']) {
    t.match(after, new RegExp(`^# TYPE ${series} `, 'm'), `${series} is exposed`)
  }
  t.notMatch(after, /clickid=|https?:\/\//, 'no ids or URLs in labels')
})

t.test('built without metrics (the metrics benchmark\'s baseline): no /metrics, and conversions are still accepted', async (t) => {
  const { app } = await build(t, { options: { metrics: false } })
  const scene = await firingScene(app)
  t.ok(await convert(app, scene) > 0, 'a conversion')
  const res = await inject(app, { method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 404)
})

t.test('/metrics counts the deliveries due and the age of the oldest', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: 'https://aff.example/pb' })
  const scrape = async () => (await inject(app, { method: 'GET', url: '/metrics', headers: { 'api-key': ADMIN_KEY } })).body
  t.equal(value(await scrape(), 's2s_deliveries_due'), 0, 'nothing due yet')
  // Due for a minute, but leased to an instance that does not exist: no dispatcher takes them.
  const lease = { nextAttemptAt: new Date(Date.now() - 60_000), lockedBy: 'absent-instance', lockedUntil: new Date(Date.now() + 3_600_000) }
  for (let i = 0; i < 3; i++) await insertDelivery(app, scene, { postbackId: postback.id, url: 'https://aff.example/pb', ...lease })
  const text = await eventually(async () => {
    const body = await scrape()
    return value(body, 's2s_deliveries_due') === 3 ? body : undefined
  }, 5000, 'the three due deliveries to be counted')
  t.ok(value(text, 's2s_deliveries_oldest_due_seconds') >= 59, 'the oldest has been due for a minute')
})

t.test('/metrics shows how far the statistics\' click fold is behind', async (t) => {
  const { app } = await build(t, { env: { SERVICE_ROLES: 'http,dispatcher' } })
  const scrape = async () => (await inject(app, { method: 'GET', url: '/metrics', headers: { 'api-key': ADMIN_KEY } })).body
  await eventually(async () => value(await scrape(), 's2s_stats_clicks_unfolded_seconds') > 86_400, 5000, 'never folded: far behind')
  await app.statsFolding.runOnce()
  const text = await eventually(async () => {
    const body = await scrape()
    return value(body, 's2s_stats_clicks_unfolded_seconds') < 60 ? body : undefined
  }, 5000, 'the fold to show')
  t.ok(value(text, 's2s_stats_clicks_unfolded_seconds') >= 5, 'a fold stops a few seconds behind now')
})
