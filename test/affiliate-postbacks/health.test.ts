import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, convert, createAffiliate, listDeliveries, settled, type PostbackJson } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { testClock } from '../helpers/clock.js'
import { startSink } from '../helpers/sink.js'

// Endpoint health through the whole loop (§5.7): conversions at intake, deliveries to a real receiver that fails,
// the postback disabled, its events logged `skipped`, re-enabled by PATCH, filters on the admin and panel lists.
const HOUR = 3_600_000

async function postbackOf (app: FastifyInstance, id: number): Promise<PostbackJson> {
  return (await inject(app, { method: 'GET', url: `/v1/postbacks/${id}` })).json()
}

t.test('a failing receiver: failing, then disabled over the span; skipped while disabled; PATCH enabled re-enables', async (t) => {
  const clock = testClock()
  // Two attempts per delivery, 100 ms apart: each conversion's delivery ends at once.
  const { app } = await build(t, { clock: clock.now, env: { POSTBACK_RETRY_SCHEDULE: '100ms', POSTBACK_DISABLE_AFTER: '2', POSTBACK_DISABLE_MIN_AGE: '1h' } })
  const sink = await startSink(t)
  let up = false
  sink.on('/pb', () => (up ? { status: 200 } : { status: 500 }))
  const scene = await firingScene(app)
  const healthy = await startSink(t)
  const res = await inject(app, { method: 'POST', url: `/v1/affiliates/${scene.affiliate.id}/postbacks`, payload: { url: `${sink.origin}/pb?c={conversion_id}` } })
  const postback = res.json() as PostbackJson
  const other = (await inject(app, {
    method: 'POST', url: `/v1/affiliates/${scene.affiliate.id}/postbacks`, payload: { url: `${healthy.origin}/ok`, offer_id: null },
  })).json() as PostbackJson
  t.equal(postback.health.state, 'healthy')

  const deliveryOf = async (conversionId: number) => {
    const [delivery] = await listDeliveries(app, `?conversion_id=${conversionId}&postback_id=${postback.id}`)
    return delivery!
  }

  // First failure: failing.
  const first = await convert(app, scene)
  t.match(await settled(app, (await deliveryOf(first)).id), { state: 'failed' })
  let health = (await postbackOf(app, postback.id)).health
  t.match(health, { state: 'failing', consecutive_failures: 1, disabled_at: null, last_success_at: null })
  t.equal(health.last_failure_at, clock.now().toISOString(), 'the failure is timed by the service clock')

  // The second failure reaches the count but not the span: still failing.
  const second = await convert(app, scene)
  t.match(await settled(app, (await deliveryOf(second)).id), { state: 'failed' })
  t.match((await postbackOf(app, postback.id)).health, { state: 'failing', consecutive_failures: 2 })

  // An hour later, a third: disabled.
  clock.advance(HOUR)
  const third = await convert(app, scene)
  t.match(await settled(app, (await deliveryOf(third)).id), { state: 'failed' })
  health = (await postbackOf(app, postback.id)).health
  t.match(health, { state: 'disabled', consecutive_failures: 3, disabled_at: clock.now().toISOString() })
  t.match(health.disabled_reason, /^3 consecutive deliveries failed since /)

  // Disabled: the next event writes a skipped delivery that is never sent; the other postback fires as before.
  const before = sink.to('/pb').length
  const fourth = await convert(app, scene)
  const skipped = await deliveryOf(fourth)
  t.match(skipped, { state: 'skipped', attempts: 0, next_attempt_at: null, delivered_at: null })
  t.match(skipped.url, new RegExp(`c=${fourth}$`), 'rendered as it would have been sent')
  await eventually(() => healthy.to('/ok').length === 4, 5000, 'the healthy postback\'s four deliveries')
  t.equal(sink.to('/pb').length, before, 'nothing sent to the disabled postback\'s receiver')
  const skippedList = await listDeliveries(app, `?state=skipped&postback_id=${postback.id}`)
  t.same(skippedList.map((d) => d.id), [skipped.id], 'the log filters on skipped')

  // Filters: admin lists and the panel's.
  const ids = async (url: string, headers?: Record<string, string>) => {
    const r = headers === undefined ? await inject(app, { method: 'GET', url }) : await app.inject({ method: 'GET', url, headers })
    t.equal(r.statusCode, 200, url)
    return (r.json().data as PostbackJson[]).map((p) => p.id)
  }
  t.same(await ids('/v1/postbacks?health=disabled'), [postback.id])
  t.same(await ids('/v1/postbacks?health=healthy'), [other.id])
  t.same(await ids('/v1/postbacks?health=failing'), [])
  t.same(await ids(`/v1/affiliates/${scene.affiliate.id}/postbacks?health=disabled`), [postback.id])
  t.same(await ids('/v1/affiliate/postbacks?health=disabled', asAffiliate(scene.affiliate)), [postback.id])
  t.same(await ids('/v1/affiliate/postbacks?health=healthy', asAffiliate(scene.affiliate)), [other.id])
  const stranger = await createAffiliate(app)
  t.same(await ids('/v1/affiliate/postbacks?health=disabled', asAffiliate(stranger)), [], 'another affiliate sees none of it')
  const bad = await inject(app, { method: 'GET', url: '/v1/postbacks?health=sick' })
  t.equal(bad.statusCode, 400, 'an unknown health state is a 400')

  // Another affiliate cannot re-enable it; its owner can, from the panel; the count is reset.
  const foreign = await app.inject({ method: 'PATCH', url: `/v1/affiliate/postbacks/${postback.id}`, headers: asAffiliate(stranger), payload: { enabled: true } })
  t.equal(foreign.statusCode, 404)
  const enabled = await app.inject({ method: 'PATCH', url: `/v1/affiliate/postbacks/${postback.id}`, headers: asAffiliate(scene.affiliate), payload: { enabled: true } })
  t.equal(enabled.statusCode, 200)
  t.match(enabled.json().health, { state: 'healthy', consecutive_failures: 0, disabled_at: null, disabled_reason: null })
  t.not(enabled.json().health.last_failure_at, null, 'the last failure stays on record')

  // Enabled again and the receiver back: delivered, last success recorded.
  up = true
  clock.advance(HOUR)
  const fifth = await convert(app, scene)
  t.match(await settled(app, (await deliveryOf(fifth)).id), { state: 'delivered' })
  t.match((await postbackOf(app, postback.id)).health, { state: 'healthy', consecutive_failures: 0, last_success_at: clock.now().toISOString() })
  t.match(await deliveryOf(fourth), { state: 'skipped' }, 'a skipped delivery stays skipped')

  // By hand: disabled by a manager, and re-enabled.
  const off = await inject(app, { method: 'PATCH', url: `/v1/postbacks/${postback.id}`, payload: { enabled: false } })
  t.match(off.json().health, { state: 'disabled', disabled_reason: 'Disabled by a manager' })
  const sixth = await convert(app, scene)
  t.match(await deliveryOf(sixth), { state: 'skipped' })
  const on = await inject(app, { method: 'PATCH', url: `/v1/postbacks/${postback.id}`, payload: { enabled: true } })
  t.match(on.json().health, { state: 'healthy' })
  const notBool = await inject(app, { method: 'PATCH', url: `/v1/postbacks/${postback.id}`, payload: { enabled: 'yes' } })
  t.equal(notBool.statusCode, 400, 'enabled must be a boolean')
})
