import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually } from '../helpers/build.js'
import { createPostback, getDelivery, settled } from '../helpers/fixtures.js'
import { firingScene, type FiringScene } from '../helpers/scenes.js'
import { insertDelivery } from '../helpers/seeds.js'
import { startSink } from '../helpers/sink.js'

// §5.7: a 429 or 503 with Retry-After delays that delivery's next attempt (capped at the schedule's longest wait)
// and holds back the receiver's other deliveries for as long, without spending their attempts.

async function attemptsOf (app: FastifyInstance, ids: readonly number[]) {
  const rows = await app.db.selectFrom('postback_deliveries').select(['id', 'attempts', 'state']).where('id', 'in', [...ids]).execute()
  return rows
}

async function deliveriesTo (app: FastifyInstance, scene: FiringScene, url: string, n: number): Promise<number[]> {
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url })
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push(await insertDelivery(app, scene, { postbackId: postback.id, url }))
  return ids
}

t.test('429 with Retry-After: the delivery waits as asked, the origin\'s others wait without spending attempts, other origins flow', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '100ms,10s' } })
  const busy = await startSink(t)
  const other = await startSink(t)
  // Long enough for the rows below to be written inside the hold, even on the embedded database.
  busy.on('/first', (call) => (call === 1 ? { status: 429, headers: { 'retry-after': '5' } } : { status: 200 }))
  const scene = await firingScene(app)

  const [first] = await deliveriesTo(app, scene, `${busy.origin}/first`, 1)
  await eventually(() => busy.to('/first').length === 1, 5000, 'the 429')
  const askedAt = busy.to('/first')[0]!.at
  const held = await deliveriesTo(app, scene, `${busy.origin}/held`, 5)
  const elsewhere = await deliveriesTo(app, scene, `${other.origin}/free`, 3)

  // Another receiver is not held: its deliveries go out at once.
  await eventually(() => other.to('/free').length === 3, 1500, 'the other origin\'s deliveries')
  t.ok(Date.now() - askedAt < 4000, 'still inside the hold')
  t.equal(busy.to('/held').length, 0, 'nothing sent to the held origin meanwhile')
  const during = await attemptsOf(app, held)
  t.same(during.map((r) => [r.state, r.attempts]), Array(5).fill(['pending', 0]), 'held rows spent no attempt')
  const hold = await app.db.selectFrom('origin_holds').selectAll().executeTakeFirstOrThrow()
  t.equal(hold.origin, busy.origin.slice('http://'.length), 'the hold is shared through the database')

  for (const id of [first!, ...held]) await settled(app, id, 10_000)
  const after = busy.to('/held')
  t.equal(after.length, 5)
  for (const request of after) t.ok(request.at - askedAt >= 4900, `held back for the time asked (${request.at - askedAt} ms)`)
  t.same((await attemptsOf(app, held)).map((r) => [r.state, r.attempts]), Array(5).fill(['delivered', 1]), 'one attempt each')
  const delivery = await getDelivery(app, first!)
  t.match(delivery, { state: 'delivered', attempts: 2 })
  t.match(delivery.attempt_log, [{ n: 1, http_code: 429 }, { n: 2, http_code: 200 }])
  const retriedAfter = busy.to('/first')[1]!.at - askedAt
  t.ok(retriedAfter >= 4900, `its own retry waited the 5 s asked, not the 100 ms scheduled (${retriedAfter} ms)`)
  t.same((await attemptsOf(app, elsewhere)).map((r) => r.state), ['delivered', 'delivered', 'delivered'])
})

t.test('Retry-After a year ahead is capped at the longest scheduled wait; garbage and past dates leave the schedule alone', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '100ms,2s' } })
  const sink = await startSink(t)
  const yearAhead = new Date(Date.now() + 365 * 86_400_000).toUTCString()
  sink.on('/year', (call) => (call === 1 ? { status: 503, headers: { 'retry-after': yearAhead } } : { status: 200 }))
  const scene = await firingScene(app)
  const [year] = await deliveriesTo(app, scene, `${sink.origin}/year`, 1)
  await eventually(() => sink.to('/year').length === 2, 8000, 'the capped retry')
  const wait = sink.to('/year')[1]!.at - sink.to('/year')[0]!.at
  t.ok(wait >= 1900 && wait < 4000, `capped at the 2 s of the schedule's longest wait (${wait} ms)`)
  t.match(await settled(app, year!), { state: 'delivered', attempts: 2 })

  // Garbage, a past date and a 429 without the header: the schedule's 100 ms, and no hold on the origin.
  const second = await startSink(t)
  const answers = ['soon', 'Thu, 01 Jan 2015 00:00:00 GMT', '-1', undefined]
  answers.forEach((value, i) => {
    const headers: Record<string, string> = value === undefined ? {} : { 'retry-after': value }
    second.on(`/g${i}`, (call) => (call === 1 ? { status: 429, headers } : { status: 200 }))
  })
  const ids: number[] = []
  for (let i = 0; i < answers.length; i++) ids.push(...(await deliveriesTo(app, scene, `${second.origin}/g${i}`, 1)))
  for (const id of ids) t.match(await settled(app, id, 5000), { state: 'delivered', attempts: 2 })
  for (let i = 0; i < answers.length; i++) {
    const [a, b] = second.to(`/g${i}`)
    t.ok(b!.at - a!.at < 1500, `${answers[i] ?? 'no header'}: retried on the schedule (${b!.at - a!.at} ms)`)
  }
  const holds = await app.db.selectFrom('origin_holds').select('origin').execute()
  t.notOk(holds.some((h) => h.origin === second.origin.slice('http://'.length)), 'no hold for unusable values')
})

t.test('a 429 on the last attempt fails the delivery; Retry-After buys no extra attempt', async (t) => {
  const { app } = await build(t, { env: { POSTBACK_RETRY_SCHEDULE: '100ms' } })
  const sink = await startSink(t)
  sink.on('/always', { status: 429, headers: { 'retry-after': '1' } })
  const scene = await firingScene(app)
  const [id] = await deliveriesTo(app, scene, `${sink.origin}/always`, 1)
  const done = await settled(app, id!, 6000)
  t.match(done, { state: 'failed', attempts: 2, last_http_code: 429 })
  t.equal(sink.to('/always').length, 2)
})
