import t from 'tap'
import { createTestDatabase, eventually } from '../helpers/build.js'
import { httpClick, httpConvert } from '../helpers/fixtures.js'
import { httpScene } from '../helpers/scenes.js'
import { deliveryStates } from '../helpers/seeds.js'
import { compileService, inParallel, NEEDS_POSTGRES, startService, type ServiceProcess } from '../helpers/service-process.js'
import { delayBetween, startSink } from '../helpers/sink.js'

// Two processes of the real service on one database, started together, take conversions turn about and
// share the delivery backlog through their leases: every delivery arrives, once.

const CONVERSIONS = 300

/** Delivery ids this process logged as delivered (the dispatcher's debug line per attempt). */
function deliveredBy (service: ServiceProcess): Set<number> {
  const ids = new Set<number>()
  for (const line of service.lines) {
    if (!line.includes('"postback attempt"')) continue
    const entry = JSON.parse(line) as { state?: string; deliveryId?: number }
    if (entry.state === 'delivered' && entry.deliveryId !== undefined) ids.add(entry.deliveryId)
  }
  return ids
}

t.test('two instances share one backlog: every delivery arrives, duplicates reported', NEEDS_POSTGRES, async (t) => {
  const t0 = Date.now()
  const entry = await compileService(t)
  t.comment(`service compiled (or found compiled) in ${Date.now() - t0} ms`)
  const databaseUrl = await createTestDatabase(t)
  const sink = await startSink(t, { otherwise: delayBetween(50, 150) })
  const env = { POSTBACK_RETRY_SCHEDULE: '200ms,200ms,500ms,1s,2s', POSTBACK_TIMEOUT_MS: '2000', POSTBACK_CONCURRENCY: '16', LOG_LEVEL: 'debug' }

  // Started together: the migration lock and the shared schema must hold for both.
  const [a, b] = await Promise.all([startService(t, { entry, databaseUrl, env }), startService(t, { entry, databaseUrl, env })])
  t.comment(`both answering /health ${Date.now() - t0} ms after the start of the test`)
  const scene = await httpScene(a.origin, databaseUrl, `${sink.origin}/pb`)
  const instances = [a, b]
  const clickids: string[] = []
  await inParallel(CONVERSIONS, 16, async (i) => { clickids.push(await httpClick(instances[i % 2]!.origin, scene)) })
  const started = Date.now()
  // Each conversion on the other instance than its click: intake must find clicks another instance recorded.
  await inParallel(CONVERSIONS, 16, (i) => httpConvert(instances[(i + 1) % 2]!.origin, clickids[i] as string, `order-${i}`))

  const expected = await deliveryStates(databaseUrl)
  t.equal(expected.length, CONVERSIONS, 'one delivery per conversion')
  await eventually(() => expected.every((d) => sink.arrivals.has(d.id)), 30_000, 'every delivery to arrive')
  t.comment(`${CONVERSIONS} conversions accepted and delivered in ${Date.now() - started} ms (receiver 50–150 ms per request)`)
  t.same(expected.filter((d) => !sink.arrivals.has(d.id)), [], 'zero lost')

  await eventually(async () => (await deliveryStates(databaseUrl)).every((d) => d.state === 'delivered' && d.attempts === 1), 10_000, 'every delivery recorded once as delivered')
  const byA = deliveredBy(a)
  const byB = deliveredBy(b)
  t.comment(`delivered by instance A: ${byA.size}, by instance B: ${byB.size}`)
  t.ok(byA.size > 0 && byB.size > 0, 'both instances took part of the backlog')
  t.same([...byA].filter((id) => byB.has(id)), [], 'no delivery was sent by both')

  const duplicates = sink.duplicates()
  t.comment(`duplicates: ${duplicates}`)
  t.equal(duplicates, 0, 'without a crash or an expired lease nothing is sent twice')
  const stopping = Date.now()
  t.same(await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]), [0, 0], 'both shut down cleanly on SIGTERM')
  t.comment(`shutdown took ${Date.now() - stopping} ms`)
})
