import net from 'node:net'
import t, { type Test } from 'tap'
import { build, eventually } from '../helpers/build.js'
import { createPostback } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { insertDelivery, seedConversion } from '../helpers/seeds.js'
import { maxConcurrent, startSink, type Sink } from '../helpers/sink.js'

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
  // Interleaved, so that each claim of the retry lane brings rows of different receivers.
  for (let i = 0; i < 3; i++) {
    for (const sink of slowSinks) {
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

/** A receiver that accepts and then writes its status line one byte every half second: a trickle, never an answer. */
async function startTrickler (t: Test): Promise<{ origin: string; connections: () => number }> {
  const sockets = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((socket) => {
    connections++
    sockets.add(socket)
    const line = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'
    let sent = 0
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= line.length) return clearInterval(timer)
      socket.write(line[sent++] as string)
    }, 500)
    socket.on('close', () => clearInterval(timer))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  return { origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections }
}

for (const hanging of [2, 4]) {
  t.test(`${hanging} hanging receivers and a trickling one cannot delay a healthy one's deliveries by a second`, async (t) => {
    const { app } = await build(t, { env: { POSTBACK_CONCURRENCY: '8', POSTBACK_TIMEOUT_MS: '4000' } })
    const hostileOrigins: string[] = []
    for (let i = 0; i < hanging; i++) {
      const sink = await startSink(t)
      sink.on('/hang', { hang: true })
      hostileOrigins.push(`${sink.origin}/hang`)
    }
    const trickler = await startTrickler(t)
    hostileOrigins.push(`${trickler.origin}/trickle`)
    for (const url of hostileOrigins) {
      const scene = await firingScene(app)
      await createPostback(app, { affiliate_id: scene.affiliate.id, url })
      for (let i = 0; i < 20; i++) await seedConversion(app, scene)
    }
    await eventually(() => trickler.connections() >= 1, 3000, 'the hostile receivers to be busy')

    const healthy = await startSink(t)
    const scene = await firingScene(app)
    await createPostback(app, { affiliate_id: scene.affiliate.id, url: `${healthy.origin}/ok` })
    const waits: number[] = []
    for (let i = 0; i < 20; i++) {
      const started = Date.now()
      await seedConversion(app, scene)
      await eventually(() => healthy.requests.length === i + 1, 5000, `healthy delivery ${i + 1}`)
      waits.push(Date.now() - started)
    }
    const worst = Math.max(...waits)
    t.ok(worst < 1000, `every healthy delivery arrived within a second (worst ${worst} ms, median ${waits.sort((a, b) => a - b)[10]} ms)`)
  })
}
