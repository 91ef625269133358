import t from 'tap'
import { build, eventually } from '../helpers/build.js'
import { maxConcurrent, startSink, type Sink } from '../helpers/sink.js'
import { createPostback, firingScene, insertDelivery, seedConversion } from '../helpers/dispatch.js'

// Both tests measure how long a fresh first attempt waits behind a backlog of slow work.

t.test('a slow receiver cannot take every slot: other origins are still served at once', async (t) => {
  // 8 slots, at most 4 per origin.
  const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '8' } })
  const slow = await startSink(t)
  const fast = await startSink(t)
  slow.on('/slow', { status: 200, delayMs: 1500 })
  const backlogScene = await firingScene(app)
  await createPostback(app, { affiliate_id: backlogScene.affiliate.id, url: `${slow.origin}/slow` })
  for (let i = 0; i < 20; i++) await seedConversion(app, backlogScene)
  await eventually(() => slow.requests.length >= 1, 3000, 'the backlog to start')

  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${fast.origin}/fast` })
  const started = Date.now()
  await seedConversion(app, scene)
  await eventually(() => fast.requests.length === 1, 5000, 'the fast postback')
  const waited = Date.now() - started
  t.ok(waited < 700, `the fast origin's postback arrived in ${waited} ms despite 20 slow ones queued`)
  const slowPeak = maxConcurrent(slow.requests)
  t.ok(slowPeak <= 4, `the slow origin never had more than its share in flight (${slowPeak})`)
})

t.test('a backlog of retries never starves first attempts', async (t) => {
  // 4 slots, at most 2 per origin, at most 2 for retries.
  const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '4' } })
  const slowSinks: Sink[] = []
  for (let i = 0; i < 4; i++) {
    const sink = await startSink(t)
    sink.on('/retry', { status: 500, delayMs: 1500 })
    slowSinks.push(sink)
  }
  const backlogScene = await firingScene(app)
  const backlogPostback = await createPostback(app, { affiliate_id: backlogScene.affiliate.id, url: `${slowSinks[0]!.origin}/retry` })
  // Retries already due, one slow origin each: without a separate lane they would fill all four slots.
  for (const sink of slowSinks) {
    for (let i = 0; i < 3; i++) {
      await insertDelivery(app, backlogScene, { postbackId: backlogPostback.id, url: `${sink.origin}/retry`, attempts: 1 })
    }
  }
  await eventually(() => slowSinks.filter((s) => s.requests.length > 0).length >= 2, 3000, 'the retry backlog to start')

  const fast = await startSink(t)
  const scene = await firingScene(app)
  await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${fast.origin}/first` })
  const started = Date.now()
  await seedConversion(app, scene)
  await eventually(() => fast.requests.length === 1, 5000, 'the first attempt')
  const waited = Date.now() - started
  t.ok(waited < 700, `a first attempt went out in ${waited} ms beside the retry backlog`)
  const retryPeak = maxConcurrent(slowSinks.flatMap((s) => s.requests))
  t.ok(retryPeak <= 2, `retries never held more than their share of slots (${retryPeak})`)
})
