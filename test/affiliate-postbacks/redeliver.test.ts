import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, createAffiliate, createPostback, settled } from '../helpers/fixtures.js'
import { firingScene, type FiringScene } from '../helpers/scenes.js'
import { insertDelivery, seedConversion } from '../helpers/seeds.js'
import { startSink } from '../helpers/sink.js'
import { redeliver } from '../../src/affiliate-postbacks/redeliver.js'

/** Deliveries of a postback that already ended in `state` after `attempts` attempts, created at `createdAt`. */
async function endedDeliveries (
  app: FastifyInstance, scene: FiringScene, postbackId: number, url: string, n: number,
  ended: { state: 'failed' | 'cancelled' | 'delivered'; attempts: number; createdAt?: Date }
): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push(await insertDelivery(app, scene, { postbackId, url, nextAttemptAt: new Date(Date.now() + 86_400_000) }))
  await app.db.updateTable('postback_deliveries')
    .set({ state: ended.state, attempts: ended.attempts, next_attempt_at: null, last_http_code: 503, ...(ended.createdAt === undefined ? {} : { created_at: ended.createdAt } as never) })
    .where('id', 'in', ids).execute()
  return ids
}

async function rows (app: FastifyInstance, ids: readonly number[]) {
  return app.db.selectFrom('postback_deliveries').select(['id', 'state', 'attempts']).where('id', 'in', [...ids]).orderBy('id').execute()
}

t.test('redeliver: the failed deliveries of the window get exactly one more attempt each, nothing else moves', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '100ms,100ms,100ms' } })
  const sink = await startSink(t)
  const scene = await firingScene(app)
  const url = `${sink.origin}/back`
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url })
  const otherPostback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/other` })
  const since = new Date(Date.now() - 3_600_000)

  const failed = await endedDeliveries(app, scene, postback.id, url, 12, { state: 'failed', attempts: 4 })
  const cancelled = await endedDeliveries(app, scene, postback.id, url, 2, { state: 'cancelled', attempts: 1 })
  const delivered = await endedDeliveries(app, scene, postback.id, url, 2, { state: 'delivered', attempts: 1 })
  const before = await endedDeliveries(app, scene, postback.id, url, 2, { state: 'failed', attempts: 4, createdAt: new Date(since.getTime() - 60_000) })
  const ofOther = await endedDeliveries(app, scene, otherPostback.id, `${sink.origin}/other`, 2, { state: 'failed', attempts: 4 })

  const res = await inject(app, { method: 'POST', url: `/v1/postbacks/${postback.id}/redeliver`, payload: { since: since.toISOString() } })
  t.equal(res.statusCode, 202, res.body)
  t.same(res.json(), { queued: 12 })
  for (const id of failed) await settled(app, id, 8000)
  t.same((await rows(app, failed)).map((r) => [r.state, r.attempts]), Array(12).fill(['delivered', 5]), 'one more attempt each')
  t.equal(sink.to('/back').length, 12, 'each sent once')
  t.same((await rows(app, cancelled)).map((r) => r.state), ['cancelled', 'cancelled'], 'another state: untouched')
  t.same((await rows(app, delivered)).map((r) => [r.state, r.attempts]), [['delivered', 1], ['delivered', 1]], 'delivered: never again')
  t.same((await rows(app, before)).map((r) => r.state), ['failed', 'failed'], 'before the window: untouched')
  t.same((await rows(app, ofOther)).map((r) => r.state), ['failed', 'failed'], 'another postback: untouched')

  const again = await inject(app, { method: 'POST', url: `/v1/postbacks/${postback.id}/redeliver`, payload: { since: since.toISOString() } })
  t.same(again.json(), { queued: 0 }, 'nothing failed is left: a second call queues nothing')

  // Cancelled ones, which still had retries in the schedule, also get one attempt only: it fails, and stays failed.
  sink.on('/back', { status: 500 })
  const cancelledRes = await inject(app, {
    method: 'POST', url: `/v1/postbacks/${postback.id}/redeliver`, payload: { since: since.toISOString(), until: new Date(Date.now() + 1000).toISOString(), state: 'cancelled' },
  })
  t.same(cancelledRes.json(), { queued: 2 })
  for (const id of cancelled) await settled(app, id, 5000)
  t.same((await rows(app, cancelled)).map((r) => [r.state, r.attempts]), [['failed', 2], ['failed', 2]], 'one attempt settles it, failed')
  t.equal(sink.to('/back').length, 14, 'no schedule retries after the redelivery attempt')
})

t.test('redeliver: bounded batches walk the whole window; the window bounds count', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  // A closed receiver address keeps the rows failing: only the counts and states matter here.
  const url = 'http://127.0.0.1:9/never'
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url })
  const ids = await endedDeliveries(app, scene, postback.id, url, 23, { state: 'failed', attempts: 7 })
  await app.dispatcher.close(1000) // nothing is sent: the batches alone are under test
  const window = { postbackId: postback.id, state: 'failed' as const, since: new Date(Date.now() - 60_000), until: new Date(Date.now() + 60_000) }
  t.equal(await redeliver(app.db, window, 5), 23, 'batches of 5 cover all 23')
  const after = await rows(app, ids)
  t.ok(after.every((r) => r.state === 'pending' && r.attempts === 7), 'pending again, attempts unchanged until the attempt')
  const flags = await app.db.selectFrom('postback_deliveries').select('final_attempt').where('id', 'in', ids).execute()
  t.ok(flags.every((f) => f.final_attempt))
  t.equal(await redeliver(app.db, window, 5), 0)
})

t.test('redeliver: fair beside live traffic; a slow receiver\'s redeliveries do not hold up a fresh delivery elsewhere', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '8' } })
  const slow = await startSink(t)
  const live = await startSink(t)
  slow.on('/slow', { status: 200, delayMs: 300 })
  const scene = await firingScene(app)
  const slowPostback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${slow.origin}/slow` })
  await endedDeliveries(app, scene, slowPostback.id, `${slow.origin}/slow`, 200, { state: 'failed', attempts: 7 })
  const res = await inject(app, { method: 'POST', url: `/v1/postbacks/${slowPostback.id}/redeliver`, payload: { since: new Date(Date.now() - 60_000).toISOString() } })
  t.same(res.json(), { queued: 200 })
  await eventually(() => slow.to('/slow').length > 0, 5000, 'redeliveries under way')

  const liveScene = { offer: scene.offer, affiliate: await createAffiliate(app) }
  await createPostback(app, { affiliate_id: liveScene.affiliate.id, url: `${live.origin}/live` })
  const started = Date.now()
  await seedConversion(app, liveScene)
  await eventually(() => live.to('/live').length === 1, 5000, 'the live delivery')
  const waited = live.to('/live')[0]!.at - started
  t.ok(waited < 1000, `the live delivery went out within a second (${waited} ms)`)
  t.ok(slow.to('/slow').length < 200, 'while redeliveries were still going')
})

t.test('redeliver: bad input and isolation', async (t) => {
  const { app } = await build(t)
  const scene = await firingScene(app)
  const other = await createAffiliate(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: 'https://aff.example/pb' })
  const since = new Date(Date.now() - 60_000).toISOString()
  const admin = (body: unknown, id = postback.id) => inject(app, { method: 'POST', url: `/v1/postbacks/${id}/redeliver`, payload: body as object })
  const panel = (who: { api_key: string }, id: number, body: unknown) =>
    app.inject({ method: 'POST', url: `/v1/affiliate/postbacks/${id}/redeliver`, headers: asAffiliate(who), payload: body as object })
  const cases: [string, Promise<{ statusCode: number; json(): { errors?: { path: string }[] } }>, number, string?][] = [
    ['no since', admin({}), 400, '/since'],
    ['since not a time', admin({ since: 'yesterday' }), 400, '/since'],
    ['bad state', admin({ since, state: 'pending' }), 400, '/state'],
    ['unknown field', admin({ since, extra: 1 }), 400, '/extra'],
    ['until before since', admin({ since, until: new Date(Date.now() - 120_000).toISOString() }), 422, '/until'],
    ['since in the future, no until', admin({ since: new Date(Date.now() + 60_000).toISOString() }), 422, '/since'],
    ['unknown postback', admin({ since }, 999999), 404],
    ['another affiliate\'s postback from the panel', panel(other, postback.id, { since }), 404],
    ['admin key on the panel route', inject(app, { method: 'POST', url: `/v1/affiliate/postbacks/${postback.id}/redeliver`, payload: { since } }), 403],
    ['affiliate key on the admin route', app.inject({ method: 'POST', url: `/v1/postbacks/${postback.id}/redeliver`, headers: asAffiliate(scene.affiliate), payload: { since } }), 403],
  ]
  for (const [name, request, status, path] of cases) {
    const res = await request
    t.equal(res.statusCode, status, name)
    if (path !== undefined) t.equal(res.json().errors?.[0]?.path, path, `${name}: path`)
  }
  const own = await panel(scene.affiliate, postback.id, { since })
  t.equal(own.statusCode, 202)
  t.same(own.json(), { queued: 0 })
})
