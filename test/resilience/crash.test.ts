import t from 'tap'
import { createTestDatabase, eventually } from '../helpers/build.js'
import { httpClick, httpConvert } from '../helpers/fixtures.js'
import { httpScene } from '../helpers/scenes.js'
import { deliveryStates } from '../helpers/seeds.js'
import { compileService, inParallel, NEEDS_POSTGRES, startService } from '../helpers/service-process.js'
import { delayBetween, startSink } from '../helpers/sink.js'

// The real service is SIGKILLed while postbacks are in flight to a slow receiver and started again on the
// same database: every delivery must still arrive. The restarted service sees that the holder of the dead
// process's leases is gone (same host, pid no longer running) and takes them back at once; on another host
// they would come back when the lease expires (3 × POSTBACK_TIMEOUT_MS + 30 s).

const CONVERSIONS = 300
const TIMEOUT_MS = 1000
const LEASE_MS = 3 * TIMEOUT_MS + 30_000
const FIRST_CONCURRENCY = 32

t.test('SIGKILL mid-delivery, restart on the same database: every delivery arrives, none lost', NEEDS_POSTGRES, async (t) => {
  const entry = await compileService(t)
  const databaseUrl = await createTestDatabase(t)
  const sink = await startSink(t, { otherwise: delayBetween(100, 300) })
  const env = { POSTBACK_RETRY_SCHEDULE: '200ms,200ms,500ms,1s,2s', POSTBACK_TIMEOUT_MS: String(TIMEOUT_MS) }

  const first = await startService(t, { entry, databaseUrl, env: { ...env, POSTBACK_CONCURRENCY: String(FIRST_CONCURRENCY) } })
  const scene = await httpScene(first.origin, databaseUrl, `${sink.origin}/pb`)
  const started = Date.now()
  const clickids: string[] = []
  await inParallel(CONVERSIONS, 16, async () => { clickids.push(await httpClick(first.origin, scene)) })
  const clicked = Date.now()
  await inParallel(CONVERSIONS, 16, (i) => httpConvert(first.origin, clickids[i] as string, `order-${i}`))
  t.comment(`${CONVERSIONS} clicks in ${clicked - started} ms, then ${CONVERSIONS} conversions in ${Date.now() - clicked} ms`)

  // Mid-delivery: the receiver holds requests open and part of the backlog is still waiting.
  await eventually(() => sink.inFlight > 0, 10_000, 'a postback in flight')
  const arrivedBeforeKill = sink.arrivals.size
  const inFlightAtKill = sink.inFlight
  t.equal(await first.kill('SIGKILL'), 'SIGKILL')
  t.ok(arrivedBeforeKill < CONVERSIONS, `killed mid-delivery: ${arrivedBeforeKill} of ${CONVERSIONS} had arrived, ${inFlightAtKill} in flight`)

  const restartedAt = Date.now()
  const second = await startService(t, { entry, databaseUrl, env })
  const expected = await deliveryStates(databaseUrl)
  t.equal(expected.length, CONVERSIONS, 'one delivery was enqueued per conversion, in the conversion\'s transaction')

  await eventually(() => expected.every((d) => sink.arrivals.has(d.id)), LEASE_MS + 15_000, 'every delivery to arrive')
  const lost = expected.filter((d) => !sink.arrivals.has(d.id))
  t.same(lost, [], 'zero lost')
  t.ok(Date.now() - restartedAt < LEASE_MS, 'the dead process\'s leases came back at the restart, not when they expired')
  t.comment(`all ${expected.length} deliveries arrived ${Date.now() - restartedAt} ms after the restart`)

  const settled = await eventually(async () => {
    const states = await deliveryStates(databaseUrl)
    return states.every((d) => d.state === 'delivered') ? states : undefined
  }, 10_000, 'every delivery to be recorded as delivered')
  t.equal(settled.length, CONVERSIONS)
  const unexpected = [...sink.arrivals.keys()].filter((id) => !expected.some((d) => d.id === id))
  t.same(unexpected, [], 'nothing arrived that was not enqueued')

  const duplicates = sink.duplicates()
  t.comment(`duplicates: ${duplicates} (in flight at the kill: ${inFlightAtKill}; receivers de-duplicate on X-Postback-Delivery-Id)`)
  t.ok(duplicates <= FIRST_CONCURRENCY, 'only deliveries the killed process had claimed can arrive twice')
  await second.kill('SIGTERM')
})
