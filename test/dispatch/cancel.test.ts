import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, eventually, inject } from '../helpers/build.js'
import { asAffiliate, createPostback, listDeliveries } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { seedConversion } from '../helpers/seeds.js'
import { startSink } from '../helpers/sink.js'

const DELIVERIES = 40

/** 40 deliveries to a receiver that takes a second per request, then the postback deleted mid-way. */
async function deleteMidway (t: Test, remove: (app: FastifyInstance, postbackId: number, key: string) => Promise<number>) {
  // 4 slots: 2 at a time to the receiver, the rest parked behind it or waiting in the database.
  const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '4' } })
  const sink = await startSink(t)
  sink.on('/slow', { status: 200, delayMs: 1000 })
  const scene = await firingScene(app)
  const postback = await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/slow` })
  for (let i = 0; i < DELIVERIES; i++) await seedConversion(app, scene)
  await eventually(() => sink.requests.length >= 2, 5000, 'the first requests')

  const status = await remove(app, postback.id, scene.affiliate.api_key)
  t.ok(status === 204 || status === 200, `deleted (${status})`)
  const deletedAt = Date.now()

  // Every attempt under way when the delete answered ends within its second, and is recorded; the rest
  // must never go out, so a while after that the receiver's log is final.
  const inFlight = sink.requests.filter((request) => request.at <= deletedAt).length
  const deliveries = await eventually(async () => {
    const list = await listDeliveries(app, `?affiliate_id=${scene.affiliate.id}&limit=100`)
    const recorded = list.filter((d) => d.attempts > 0).length
    return list.length === DELIVERIES && recorded >= inFlight && list.every((d) => d.state !== 'pending') ? list : undefined
  }, 10_000, 'the attempts under way to be recorded')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const late = sink.requests.filter((request) => request.at > deletedAt + 50)
  t.same(late.map((r) => r.at - deletedAt), [], 'no request reached the receiver after the delete answered')

  const sent = deliveries.filter((d) => d.attempts > 0)
  t.ok(sent.length >= 2 && sent.length < DELIVERIES, `${sent.length} attempts were under way when it was deleted`)
  t.ok(sent.every((d) => d.state === 'delivered'), 'each of those keeps its own outcome (delivered)')
  const never = deliveries.filter((d) => d.attempts === 0)
  t.ok(never.every((d) => d.state === 'cancelled'), `the ${never.length} never sent are cancelled`)
  t.equal(sink.requests.length, sent.length, 'the receiver got exactly the attempts the log shows')
}

t.test('delete means stop: nothing is sent after DELETE /v1/postbacks/{id} answers', async (t) => {
  await deleteMidway(t, async (app, id) => (await inject(app, { method: 'DELETE', url: `/v1/postbacks/${id}` })).statusCode)
})

t.test('delete means stop, from the affiliate panel', async (t) => {
  await deleteMidway(t, async (app, id, key) =>
    (await inject(app, { method: 'DELETE', url: `/v1/affiliate/postbacks/${id}`, headers: asAffiliate({ api_key: key }) })).statusCode)
})
