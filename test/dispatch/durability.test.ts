import t from 'tap'
import { build, eventually, TEST_ENGINE } from '../helpers/build.js'
import { createPostback, listDeliveries } from '../helpers/fixtures.js'
import { firingScene } from '../helpers/scenes.js'
import { seedConversion } from '../helpers/seeds.js'
import { startSink, type Sink } from '../helpers/sink.js'

t.test('shutdown lets attempts in flight finish and records them', async (t) => {
  const first = await build(t, { env: { POSTBACK_TIMEOUT_MS: '5000' } })
  const sink = await startSink(t)
  sink.on('/slowish', { status: 200, delayMs: 700 })
  const scene = await firingScene(first.app)
  await createPostback(first.app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/slowish` })
  for (let i = 0; i < 5; i++) await seedConversion(first.app, scene)
  await eventually(() => sink.to('/slowish').length === 5, 5000, 'all five attempts in flight')
  const closing = Date.now()
  await first.app.close()
  t.ok(Date.now() - closing < 5000, 'closed once they finished, well before the timeout')

  const second = await build(t, { databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  const list = await listDeliveries(second.app, `?affiliate_id=${scene.affiliate.id}`)
  t.equal(list.length, 5)
  for (const d of list) t.match(d, { state: 'delivered', attempts: 1 }, `delivery ${d.id} finished before shutdown`)
  t.equal(sink.to('/slowish').length, 5, 'nothing sent twice')
})

t.test('at least once across a restart: attempts that outlast the shutdown grace are released and sent by the next start', async (t) => {
  // A timeout above the 10 s grace, so the hanging attempts are still in flight when the grace ends.
  const env = { POSTBACK_TIMEOUT_MS: '15000' }
  const first = await build(t, { env })
  let restarted = false
  // Five receivers, one attempt each: a receiver that does not answer is given one slot at a time.
  const sinks: Sink[] = []
  const scene = await firingScene(first.app)
  for (let i = 0; i < 5; i++) {
    const sink = await startSink(t)
    sink.on('/slow', () => (restarted ? { status: 200 } : { hang: true }))
    await createPostback(first.app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/slow?c={conversion_id}` })
    sinks.push(sink)
  }
  const conversion = await seedConversion(first.app, scene)
  const requests = () => sinks.flatMap((sink) => sink.to('/slow'))
  await eventually(() => requests().length === 5, 5000, 'all five attempts in flight')

  const closing = Date.now()
  await first.app.close()
  const closeMs = Date.now() - closing
  t.ok(closeMs >= 9_500 && closeMs < 14_000, `shutdown waited the bounded grace, not the timeout (${closeMs} ms)`)

  restarted = true
  const second = await build(t, { env, databaseUrl: first.databaseUrl, dataDir: first.dataDir })
  const delivered = await eventually(async () => {
    const list = await listDeliveries(second.app, `?affiliate_id=${scene.affiliate.id}`)
    return list.length === 5 && list.every((d) => d.state === 'delivered') ? list : undefined
  }, 5_000, 'every delivery after the restart')
  for (const d of delivered) {
    t.equal(d.attempts, 1, 'the attempt cut short by shutdown is not counted as an answer')
    const seen = requests().filter((r) => r.headers['x-postback-delivery-id'] === String(d.id))
    t.equal(seen.length, 2, `delivery ${d.id}: sent before the restart and again after, with the same id`)
    t.equal(d.conversion_id, conversion)
  }
})

t.test('two instances on one database deliver every delivery exactly once between them', { skip: TEST_ENGINE === 'pglite' ? 'PGlite is single-process' : false }, async (t) => {
  const one = await build(t, { env: { POSTBACK_CONCURRENCY: '8' } })
  const two = await build(t, { env: { POSTBACK_CONCURRENCY: '8' }, databaseUrl: one.databaseUrl })
  const sink = await startSink(t)
  sink.on('/pb', { status: 200, delayMs: 20 })
  const scene = await firingScene(one.app)
  await createPostback(one.app, { affiliate_id: scene.affiliate.id, url: `${sink.origin}/pb?c={conversion_id}` })

  const holders = new Set<string>()
  let sampling = true
  const sampler = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- set false by the test once the deliveries are in
    while (sampling) {
      const rows = await one.app.db.selectFrom('postback_deliveries').select('locked_by').distinct().where('locked_by', 'is not', null).execute()
      for (const row of rows) holders.add(row.locked_by as string)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()

  const total = 200
  await Promise.all(Array.from({ length: total }, (_, i) => seedConversion(i % 2 === 0 ? one.app : two.app, scene)))
  await eventually(async () => {
    const count = await one.app.db.selectFrom('postback_deliveries').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'delivered').executeTakeFirstOrThrow()
    return Number(count.n) === total
  }, 20_000, 'every delivery delivered')
  sampling = false
  await sampler

  const ids = sink.to('/pb').map((r) => r.headers['x-postback-delivery-id'])
  t.equal(ids.length, total, 'the receiver got one request per delivery')
  t.equal(new Set(ids).size, total, 'no delivery id twice')
  t.equal(holders.size, 2, 'both instances held claims')
  const attempts = await one.app.db.selectFrom('postback_attempts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(attempts.n), total, 'one recorded attempt per delivery')
})
